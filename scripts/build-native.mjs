// Compiles the addon with cmake-js against the libtorch that find-libtorch.mjs reports.
// Usage: node scripts/build-native.mjs [--rebuild] [--debug]
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch } from './find-libtorch.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function buildNative({ rebuild = false, debug = false } = {}) {
  const torch = findLibtorch();
  console.error(`sdd-torch: building against libtorch at ${torch.dir} (found via ${torch.source})`);
  const cmakeJs = path.join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
  if (!existsSync(cmakeJs)) throw new Error('sdd-torch: cmake-js is missing from node_modules; run `npm install` first');
  const buildDir = path.join(root, 'build');
  const cache = path.join(buildDir, 'CMakeCache.txt');
  // Reconfigure when libtorch moved: a stale cache would keep linking the old one.
  const cached = existsSync(cache) ? /^Torch_DIR:[A-Z]+=(.*)$/m.exec(readFileSync(cache, 'utf8'))?.[1] : undefined;
  const stale = cached !== undefined && path.resolve(cached) !== path.resolve(torch.dir);
  const args = [cmakeJs, rebuild || stale ? 'rebuild' : 'compile', '--out', buildDir, `--CDTorch_DIR=${torch.dir}`];
  if (debug) args.push('--debug');
  const env = { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length)) };
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) throw new Error(`sdd-torch: the native build failed (cmake-js exited with ${r.status}); see the compiler output above`);
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(path.join(buildDir, 'libtorch.json'), JSON.stringify({ ...torch, builtAt: new Date().toISOString() }, null, 2));
  return torch;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    buildNative({ rebuild: process.argv.includes('--rebuild'), debug: process.argv.includes('--debug') });
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
