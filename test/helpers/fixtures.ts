// The one place that knows where the tests' reference data lives: test/fixtures/ (vendored from the
// project's reference material, see test/fixtures/README.md) and presets/ (the authors' YAML
// configs). Everything is inside the repository; JSON is stored as <name>.json.gz and read through
// here transparently. Only node: built-ins.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES_DIR = path.join(REPO_ROOT, 'test', 'fixtures');
/** Losses and gradients of the authors' code (golden/README.md). */
export const GOLDEN_DIR = path.join(FIXTURES_DIR, 'golden');
/** Three training steps of each feature-distillation baseline of the authors' code (feature/README.md). */
export const FEATURE_DIR = path.join(FIXTURES_DIR, 'feature');
/** Checkpoints, model outputs and the training trajectory of the authors' code (reference/README.md). */
export const REFERENCE_DIR = path.join(FIXTURES_DIR, 'reference');
/** The authors' YAML configs, shipped with the package. */
export const PRESETS_DIR = path.join(REPO_ROOT, 'presets');
export const MANIFEST_FILE = path.join(FIXTURES_DIR, 'manifest.json');

/** A path relative to the repository root, for messages and test names. */
export const repoRelative = (p: string): string => path.relative(REPO_ROOT, p).split(path.sep).join('/');

function missing(file: string): Error {
  return new Error(`vendored test data missing: ${repoRelative(file)} (${file}). It is part of the repository ` +
    '(see test/fixtures/README.md and test/fixtures/manifest.json); restore it with `git checkout -- test/fixtures presets`.');
}

/** The absolute path of a vendored file (e.g. 'reference/model_resnet8_sdd.pth'); throws naming it when it is absent. */
export function fixturePath(rel: string): string {
  const file = path.join(FIXTURES_DIR, rel);
  if (!existsSync(file)) throw missing(file);
  return file;
}

/** The absolute path of a preset config (e.g. 'cifar100/sdd_kd/res32x4_res8x4.yaml'); throws naming it when it is absent. */
export function presetPath(rel: string): string {
  const file = path.join(PRESETS_DIR, rel);
  if (!existsSync(file)) throw missing(file);
  return file;
}

/**
 * The bytes of a vendored file. `rel` names the original ('golden/kd.json'); when only
 * '<rel>.gz' is stored, it is decompressed. Throws naming the vendored path when neither exists.
 */
export function readFixture(rel: string): Buffer {
  const file = path.join(FIXTURES_DIR, rel);
  if (existsSync(`${file}.gz`)) {
    try {
      return gunzipSync(readFileSync(`${file}.gz`));
    } catch (e) {
      throw new Error(`vendored test data corrupt: ${repoRelative(file)}.gz does not decompress (${(e as Error).message}); ` +
        'test/fixtures.test.ts checks it against test/fixtures/manifest.json');
    }
  }
  if (existsSync(file)) return readFileSync(file);
  throw missing(`${file}.gz`);
}

const jsonCache = new Map<string, unknown>();

/** Parses a vendored JSON file (stored as .json.gz), cached per process. */
export function readFixtureJson<T = unknown>(rel: string): T {
  const hit = jsonCache.get(rel);
  if (hit !== undefined) return hit as T;
  const doc = JSON.parse(readFixture(rel).toString('utf8')) as T;
  jsonCache.set(rel, doc);
  return doc;
}
