// Compiles the addon with cmake-js against the libtorch that find-libtorch.mjs reports.
// Usage: node scripts/build-native.mjs [--rebuild] [--debug]
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { findLibtorch } from './find-libtorch.mjs';
import { sourceHash } from './prebuilds.mjs';
import { aptInstall, BUILD_DEPS } from './system-packages.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** cmake-js wherever npm put it (inside this package, or hoisted into the consumer's node_modules). */
function resolveCmakeJs() {
  try {
    const pkg = createRequire(path.join(root, 'package.json')).resolve('cmake-js/package.json');
    const bin = path.join(path.dirname(pkg), 'bin', 'cmake-js');
    if (existsSync(bin)) return bin;
  } catch { /* not installed */ }
  throw new Error('sdd-torch: cmake-js was not found from ' + root + ' (it is a dependency of sdd-torch: run `npm install` in your project)');
}

export function buildNative({ rebuild = false, debug = false } = {}) {
  const torch = findLibtorch();
  console.error(`sdd-torch: building against libtorch at ${torch.dir} (found via ${torch.source})`);
  // Debian's libtorch: the headers beside it (Gloo for sdd.dist, libjpeg/libpng for image decoding).
  if (torch.source.startsWith('system')) aptInstall(BUILD_DEPS, "compiling against Debian's libtorch");
  const cmakeJs = resolveCmakeJs();
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
  writeFileSync(path.join(buildDir, 'libtorch.json'), JSON.stringify({ ...torch, sourceHash: sourceHash(root), builtAt: new Date().toISOString() }, null, 2));
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
