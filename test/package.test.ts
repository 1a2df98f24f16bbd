// The package as users get it: self-reference import/require, the loader, prebuilds, install, CLI.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const node = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  spawnSync(process.execPath, args, { cwd: opts.cwd ?? root, env: opts.env ?? process.env, encoding: 'utf8', timeout: 120_000 });

describe('package entry points', () => {
  it("import * as sdd from 'sdd-torch' works inside the repo (self-reference)", () => {
    const r = node(['--input-type=module', '-e', "import * as sdd from 'sdd-torch'; console.log(sdd.tensor([1, 2]).sum().item())"]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('3');
  });

  it("require('sdd-torch') works too", () => {
    const r = node(['-e', "const sdd = require('sdd-torch'); console.log(sdd.ones([3]).sum().item())"]);
    expect(r.stdout.trim()).toBe('3');
  });
});

function freshCopy(withPrebuilds: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdd-torch-copy-'));
  // what the published package holds of JS: the compiled lib and the prebuild-tag reader it imports
  for (const f of ['package.json', 'dist', 'scripts']) cpSync(path.join(root, f), path.join(dir, f), { recursive: true });
  if (withPrebuilds) cpSync(path.join(root, 'prebuilds'), path.join(dir, 'prebuilds'), { recursive: true });
  // the installed dependencies; no build/ folder, no compiler involved
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

describe('binary loading', () => {
  it('a fresh copy of the package loads from the prebuild alone (npm run prebuild)', () => {
    const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    expect(existsSync(dir), `no prebuild in ${dir}: run \`npm run prebuild\` (npm test runs it through pretest)`).toBe(true);
    expect(readdirSync(dir).some((f) => f.endsWith('.node'))).toBe(true);
    const copy = freshCopy(true);
    try {
      expect(existsSync(path.join(copy, 'build'))).toBe(false);
      const r = node(['--input-type=module', '-e', `
        import * as sdd from './dist/index.js';
        import { binary } from './dist/core/native.js';
        const b = binary();
        console.log(JSON.stringify({ kind: b.kind, file: b.file, sum: sdd.ones([4]).sum().item() }));`], { cwd: copy });
      expect(r.stderr).toBe('');
      const out = JSON.parse(r.stdout);
      expect(out.kind).toBe('prebuild');
      expect(out.file.startsWith(path.join(copy, 'prebuilds'))).toBe(true);
      expect(out.sum).toBe(4);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('without any binary, loading fails with a message that says what was tried and what to do', () => {
    const copy = freshCopy(false);
    try {
      const r = node(['--input-type=module', '-e', "import('./dist/index.js').catch((e) => { console.log(e.message); })"], { cwd: copy });
      expect(r.stdout).toContain(`sdd-torch: could not load the native addon for ${process.platform}-${process.arch}`);
      expect(r.stdout).toContain('Tried:');
      expect(r.stdout).toContain(path.join(copy, 'prebuilds'));
      expect(r.stdout).toContain('Expected libtorch:');
      expect(r.stdout).toContain('npm rebuild sdd-torch');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('a prebuild whose libraries are missing reports the loader error', () => {
    const copy = freshCopy(false);
    try {
      const dir = path.join(copy, 'prebuilds', `${process.platform}-${process.arch}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'sdd-torch.node'), 'not an ELF file');
      const r = node(['--input-type=module', '-e', "import('./dist/index.js').catch((e) => { console.log(e.message); })"], { cwd: copy });
      expect(r.stdout).toContain(`${path.join(dir, 'sdd-torch.node')} (prebuild) [needs an unknown libtorch (no tag beside the binary)]:`);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('finding libtorch', () => {
  const find = (env: NodeJS.ProcessEnv) => node([path.join(root, 'scripts', 'find-libtorch.mjs'), '--json'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });

  it('takes LIBTORCH / Torch_DIR first', () => {
    const r = find({ Torch_DIR: '/usr/lib/x86_64-linux-gnu/cmake/Torch' });
    if (!existsSync('/usr/lib/x86_64-linux-gnu/cmake/Torch')) return; // only on Debian x86_64
    expect(JSON.parse(r.stdout)).toMatchObject({ dir: '/usr/lib/x86_64-linux-gnu/cmake/Torch', source: 'Torch_DIR' });
  });

  it('explains a LIBTORCH that does not hold libtorch', () => {
    const r = find({ LIBTORCH: '/nonexistent/libtorch' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('LIBTORCH=/nonexistent/libtorch does not contain TorchConfig.cmake');
  });

  it('with nothing found and apt disabled, fails with what was searched and the three ways to provide it', () => {
    const r = find({ PATH: '/nonexistent', SDD_TORCH_SYSTEM_DIRS: '/nonexistent', SDD_TORCH_NO_APT: '1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('sdd-torch: libtorch was not found.');
    expect(r.stderr).toContain('Searched:');
    expect(r.stderr).toContain('the Python torch on PATH');
    expect(r.stderr).toContain('SDD_TORCH_NO_APT=1: apt-get not attempted');
    expect(r.stderr).toMatch(/1\. Debian\/Ubuntu: sudo apt-get install libtorch-dev[\s\S]*2\. pip install torch[\s\S]*3\. download libtorch/);
  });

  it('finds the system libtorch (Debian libtorch-dev) when nothing else is set', () => {
    const r = find({ PATH: '/usr/local/bin:/bin' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).source).toMatch(/^(system|python)/);
  });
});

describe('sdd-torch doctor', () => {
  it('reports versions, libtorch origin, BLAS, CUDA, threads and the binary', () => {
    const r = node([path.join(root, 'dist', 'cli', 'main.js'), 'doctor']);
    expect(r.status).toBe(0);
    for (const key of ['sdd-torch', 'node', 'libtorch', 'libtorch from', 'BLAS (build)', 'BLAS (loaded)', 'CUDA', 'distributed', 'threads', 'binary']) {
      expect(r.stdout).toMatch(new RegExp(`^${key.replace(/[()]/g, '\\$&')}\\s+\\S`, 'm'));
    }
    const j = node([path.join(root, 'dist', 'cli', 'main.js'), 'doctor', '--json']);
    const report = JSON.parse(j.stdout);
    expect(report.libtorch.version).toMatch(/^\d+\.\d+/);
    expect(typeof report.cuda.available).toBe('boolean');
    expect(report.threads.intraOp).toBeGreaterThanOrEqual(1);
    expect(report.dist).toEqual({ gloo: true, nccl: false }); // Debian's CPU libtorch + libgloo-dev
  });

  it('prints help', () => {
    const r = node([path.join(root, 'dist', 'cli', 'main.js'), '--help']);
    expect(r.stdout).toContain('doctor');
  });
});

describe('prebuild tags and staleness by content', () => {
  it('the tag says libtorch major.minor, CPU/CUDA flavour and C++ ABI', async () => {
    const { tagFor, describeNeeds } = await import('../scripts/prebuilds.mjs');
    expect(tagFor({ torchVersion: '1.13.0', builtWithCuda: false, cudaVersion: null, cxx11Abi: true })).toBe('torch1_13-cpu-cxx11');
    expect(tagFor({ torchVersion: '2.11.0', builtWithCuda: true, cudaVersion: '13.0', cxx11Abi: true })).toBe('torch2_11-cu130-cxx11');
    expect(tagFor({ torchVersion: '2.1.2', builtWithCuda: false, cxx11Abi: false })).toBe('torch2_1-cpu-precxx11');
    const meta = { torch: { version: '2.11.0', cuda: '13.0', builtWithCuda: true, cxx11Abi: true } };
    expect(describeNeeds(meta as never)).toBe('libtorch 2.11 (CUDA 13.0, C++11 ABI)');
  });

  it("this machine's prebuild is tagged with what its binary reports, and its libraries are found", async () => {
    const { listPrebuilds, missingLibraries, sourceHash, tagFor } = await import('../scripts/prebuilds.mjs');
    const list = listPrebuilds(root).filter((p) => p.meta);
    expect(list.length).toBeGreaterThan(0);
    const current = list.find((p) => p.meta!.sourceHash === sourceHash(root));
    expect(current, 'no prebuild of the current native sources').toBeDefined();
    const r = node(['-e', `const b = require(${JSON.stringify(current!.file)}).buildInfo(); console.log(JSON.stringify(b))`]);
    const info = JSON.parse(r.stdout);
    expect(path.basename(current!.file)).toBe(`sdd-torch.${tagFor(info)}.napi.node`);
    expect(current!.meta!.needs.some((l) => l.startsWith('libtorch_cpu.so'))).toBe(true);
    expect(missingLibraries(current!.meta)).toEqual([]);
    expect(missingLibraries({ ...current!.meta!, needs: ['libtorch_cpu.so.9.9'], libDirs: [] })).toEqual(['libtorch_cpu.so.9.9']);
  });

  it('staleness is decided by the sources\' content: new file times alone do not rebuild, a changed byte does', async () => {
    const { sourceHash } = await import('../scripts/prebuilds.mjs');
    const copy = mkdtempSync(path.join(os.tmpdir(), 'sdd-torch-hash-'));
    try {
      cpSync(path.join(root, 'native'), path.join(copy, 'native'), { recursive: true });
      cpSync(path.join(root, 'CMakeLists.txt'), path.join(copy, 'CMakeLists.txt'));
      const h = sourceHash(copy);
      expect(h).toBe(sourceHash(root));
      const file = path.join(copy, 'native', 'addon.cc');
      utimesSync(file, new Date(), new Date(Date.now() + 3600_000));
      expect(sourceHash(copy)).toBe(h);
      writeFileSync(file, `${readFileSync(file, 'utf8')}\n// changed\n`);
      expect(sourceHash(copy)).not.toBe(h);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
    // the repository's own check (pretest) agrees: its prebuild is current
    const r = node([path.join(root, 'scripts', 'prebuild.mjs'), '--if-stale']);
    expect(r.stderr).toContain('prebuild is up to date');
  });
});
