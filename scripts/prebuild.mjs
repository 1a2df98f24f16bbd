// `npm run prebuild`: prebuildify with cmake-js as its backend. prebuildify only knows node-gyp, so
// we point PREBUILD_NODE_GYP at a shim that accepts node-gyp's arguments and runs our cmake-js build.
// Output: prebuilds/<platform>-<arch>/sdd-torch.napi.node (loads with no local build).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shim = path.join(root, 'scripts', 'node-gyp-shim.mjs');
const outArg = process.argv.indexOf('--out');
const out = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : root;

// --if-stale: skip when a prebuild exists that is newer than every native source (used by pretest).
if (process.argv.includes('--if-stale')) {
  const dir = path.join(out, 'prebuilds', `${process.platform}-${process.arch}`);
  const built = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node')).map((f) => statSync(path.join(dir, f)).mtimeMs) : [];
  const sources = [path.join(root, 'CMakeLists.txt'), ...readdirSync(path.join(root, 'native')).map((f) => path.join(root, 'native', f))];
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  if (built.length > 0 && Math.min(...built) >= newest) {
    console.error('sdd-torch: prebuild is up to date');
    process.exit(0);
  }
}

const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'prebuildify', 'bin.js'), '--napi', '--strip', '--out', out], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PREBUILD_NODE_GYP: `${process.execPath} ${shim}`, PREBUILD_SHELL: '/bin/sh' },
});
if (r.status !== 0) {
  console.error(`sdd-torch: prebuildify failed (exit ${r.status})`);
  process.exit(r.status ?? 1);
}
// prebuildify moved the binary out of build/Release: put a copy back so the local build stays usable.
const dir = path.join(out, 'prebuilds', `${process.platform}-${process.arch}`);
const made = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node')) : [];
if (made.length === 0) {
  console.error(`sdd-torch: prebuildify produced nothing in ${dir}`);
  process.exit(1);
}
mkdirSync(path.join(root, 'build', 'Release'), { recursive: true });
copyFileSync(path.join(dir, made[0]), path.join(root, 'build', 'Release', 'sdd_torch.node'));
console.error(`sdd-torch: prebuild written to ${path.join(dir, made[0])}`);
