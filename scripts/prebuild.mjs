// `npm run prebuild`: prebuildify with cmake-js as its backend, then the binary is tagged with the
// libtorch it needs (scripts/prebuilds.mjs). prebuildify only knows node-gyp, so PREBUILD_NODE_GYP
// points at a shim that accepts node-gyp's arguments and runs our cmake-js build.
// Output: prebuilds/<platform>-<arch>/sdd-torch.<tag>.napi.node + .json (loads with no local build).
// --if-stale: do nothing when a prebuild of the current sources (by content hash) loads here.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listPrebuilds, platformDir, sourceHash, tagFor } from './prebuilds.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shim = path.join(root, 'scripts', 'node-gyp-shim.mjs');
const outArg = process.argv.indexOf('--out');
const out = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : root;
const dir = path.join(out, 'prebuilds', platformDir);
const hash = sourceHash(root);

const loads = (file) => spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { encoding: 'utf8' }).status === 0;

if (process.argv.includes('--if-stale')) {
  const current = listPrebuilds(out).filter((p) => p.meta?.sourceHash === hash);
  if (current.some((p) => loads(p.file))) {
    console.error('sdd-torch: prebuild is up to date');
    process.exit(0);
  }
}

// prebuildify writes sdd-torch.node (sdd-torch.napi.node in some versions); an older untagged one
// would be taken for ours.
const untagged = ['sdd-torch.node', 'sdd-torch.napi.node'];
for (const f of untagged) rmSync(path.join(dir, f), { force: true });
const prebuildify = createRequire(import.meta.url).resolve('prebuildify/bin.js');
const r = spawnSync(process.execPath, [prebuildify, '--napi', '--strip', '--out', out], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PREBUILD_NODE_GYP: `${process.execPath} ${shim}`, PREBUILD_SHELL: '/bin/sh' },
});
if (r.status !== 0) {
  console.error(`sdd-torch: prebuildify failed (exit ${r.status})`);
  process.exit(r.status ?? 1);
}
const made = untagged.map((f) => path.join(dir, f)).find((f) => existsSync(f));
if (!made) {
  console.error(`sdd-torch: prebuildify produced nothing in ${dir} (found: ${existsSync(dir) ? readdirSync(dir).join(', ') : 'no folder'})`);
  process.exit(1);
}

// What the binary is: ask it (buildInfo) and the ELF headers (NEEDED, RUNPATH).
const info = JSON.parse(spawnSync(process.execPath, ['-e', `const b = require(${JSON.stringify(made)}).buildInfo(); console.log(JSON.stringify({ ...b, config: undefined, parallelInfo: undefined }))`], { encoding: 'utf8' }).stdout || 'null');
if (!info) {
  console.error(`sdd-torch: the new prebuild ${made} does not load here`);
  process.exit(1);
}
const elf = spawnSync('readelf', ['-d', made], { encoding: 'utf8' }).stdout ?? '';
const needed = [...elf.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
const torchLibs = needed.filter((l) => /^lib(torch|c10)/.test(l));
const runpath = /\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]/.exec(elf)?.[1] ?? '';
const libDirs = runpath.split(':').filter((d) => d && !d.includes('$ORIGIN'));

/** Debian packages that hold the libraries the binary loads (and the BLAS libtorch uses), so an
 *  install with this prebuild brings runtime packages only. Empty off Debian or for a pip libtorch. */
function debianPackages() {
  if (!existsSync('/usr/bin/dpkg-query')) return [];
  const ldd = spawnSync('ldd', [made], { encoding: 'utf8' }).stdout ?? '';
  const paths = torchLibs.map((l) => new RegExp(`^\\s*${l.replace(/\./g, '\\.')} => (\\S+)`, 'm').exec(ldd)?.[1]).filter(Boolean);
  const blas = spawnSync('readlink', ['-f', `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/libblas.so.3`], { encoding: 'utf8' }).stdout.trim();
  if (blas) paths.push(blas);
  const owners = new Set();
  for (const p of paths) {
    const s = spawnSync('dpkg-query', ['-S', p], { encoding: 'utf8' });
    if (s.status === 0) for (const line of s.stdout.split('\n')) if (line.includes(':')) owners.add(line.split(':')[0].trim());
  }
  return [...owners].filter((p) => !/^lib(c6|stdc\+\+6|gcc-s1)$/.test(p)).sort();
}

const tag = tagFor(info);
const binary = `sdd-torch.${tag}.napi.node`;
const meta = {
  binary,
  tag,
  torch: { version: info.torchVersion, cuda: info.cudaVersion ?? null, builtWithCuda: info.builtWithCuda, cxx11Abi: info.cxx11Abi },
  needs: torchLibs,
  libDirs,
  debianPackages: debianPackages(),
  sourceHash: hash,
  napi: 8,
  builtAt: new Date().toISOString(),
};
renameSync(made, path.join(dir, binary));
writeFileSync(path.join(dir, binary.replace(/\.node$/, '.json')), `${JSON.stringify(meta, null, 2)}\n`);

// prebuildify moved the binary out of build/Release: put a copy back so the local build stays usable.
mkdirSync(path.join(root, 'build', 'Release'), { recursive: true });
copyFileSync(path.join(dir, binary), path.join(root, 'build', 'Release', 'sdd_torch.node'));
console.error(`sdd-torch: prebuild written to ${path.join(dir, binary)} (needs ${torchLibs.join(', ') || 'no libtorch library?'}${meta.debianPackages.length ? `; Debian: ${meta.debianPackages.join(' ')}` : ''})`);
