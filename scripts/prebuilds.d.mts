// Types of scripts/prebuilds.mjs for lib/core/native.ts.
export interface PrebuildMeta {
  binary: string;
  tag: string;
  torch: { version: string; cuda: string | null; builtWithCuda: boolean; cxx11Abi: boolean };
  needs: string[];
  libDirs: string[];
  debianPackages: string[];
  sourceHash: string;
  napi: number;
  builtAt: string;
}
export interface Prebuild { file: string; meta: PrebuildMeta | null }
export const platformDir: string;
export function sourceHash(root: string): string;
export function tagFor(info: { torchVersion: string; builtWithCuda: boolean; cudaVersion?: string | null; cxx11Abi?: boolean }): string;
export function listPrebuilds(root: string): Prebuild[];
export function describeNeeds(meta: PrebuildMeta | null): string;
export function missingLibraries(meta: PrebuildMeta | null): string[];
export function installHint(meta: PrebuildMeta | null): string[];
export function orderPrebuilds(list: Prebuild[], hash?: string): Prebuild[];
