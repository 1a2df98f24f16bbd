// What a prebuilt binary needs, and whether this machine has it. One module for the three places that
// ask: `npm run prebuild` (writes the tag), the install script (decides: prebuild or compile) and the
// loader lib/core/native.ts (tries the matching prebuild first, and says what to install when none loads).
//
// A prebuild is prebuilds/<platform>-<arch>/sdd-torch.<tag>.napi.node with <same name>.json beside it:
//   { binary, tag, torch: { version, cuda, cxx11Abi }, needs: [sonames], libDirs, debianPackages,
//     sourceHash, napi, builtAt }
// The tag (e.g. torch1_13-cpu-cxx11) is what node-gyp-build ignores and we read: a binary only links
// with the libtorch it was built against (same major.minor, same CUDA flavour, same C++ ABI).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const platformDir = `${process.platform}-${process.arch}`;

/** Files whose content decides whether a binary is current: CMakeLists.txt and native/*. */
function sourceFiles(root) {
  const dir = path.join(root, 'native');
  const native = existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')).sort().map((f) => `native/${f}`) : [];
  return ['CMakeLists.txt', ...native];
}

/** SHA-256 of the native sources (names and contents): staleness by content, never by file times
 *  (npm writes every packed file with the same fixed time). */
export function sourceHash(root) {
  const h = createHash('sha256');
  for (const rel of sourceFiles(root)) {
    const file = path.join(root, rel);
    if (!existsSync(file)) continue;
    h.update(rel).update('\0').update(readFileSync(file)).update('\0');
  }
  return h.digest('hex');
}

/** The tag of a binary from its buildInfo(): torch<major>_<minor>-<cpu|cu<ver>>-<cxx11|precxx11>. */
export function tagFor(info) {
  const [major, minor] = String(info.torchVersion).split('.');
  const flavour = info.builtWithCuda ? `cu${String(info.cudaVersion ?? '').replace(/\./g, '') || 'da'}` : 'cpu';
  return `torch${major}_${minor}-${flavour}-${info.cxx11Abi === false ? 'precxx11' : 'cxx11'}`;
}

/** The prebuilds shipped for this platform: [{ file, meta }] (meta null for an untagged binary). */
export function listPrebuilds(root) {
  const dir = path.join(root, 'prebuilds', platformDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.node')).sort().map((f) => {
    const sidecar = path.join(dir, f.replace(/\.node$/, '.json'));
    let meta = null;
    try { meta = JSON.parse(readFileSync(sidecar, 'utf8')); } catch { /* untagged (older) prebuild */ }
    return { file: path.join(dir, f), meta };
  });
}

/** "libtorch 1.13 (CPU, C++11 ABI)" */
export function describeNeeds(meta) {
  if (!meta) return 'an unknown libtorch (no tag beside the binary)';
  const [major, minor] = String(meta.torch.version).split('.');
  const flavour = meta.torch.cuda ? `CUDA ${meta.torch.cuda}` : meta.torch.builtWithCuda ? 'CUDA' : 'CPU';
  return `libtorch ${major}.${minor} (${flavour}, ${meta.torch.cxx11Abi === false ? 'pre-C++11' : 'C++11'} ABI)`;
}

function ldConfDirs() {
  const dirs = [];
  const read = (file) => {
    let text;
    try { text = readFileSync(file, 'utf8'); } catch { return; }
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) continue;
      if (line.startsWith('include ')) {
        const pattern = line.slice(8).trim();
        const d = path.dirname(pattern);
        const re = new RegExp(`^${path.basename(pattern).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
        try { for (const f of readdirSync(d).filter((n) => re.test(n)).sort()) read(path.join(d, f)); } catch { /* no such dir */ }
      } else dirs.push(line);
    }
  };
  read('/etc/ld.so.conf');
  return dirs;
}

/** Where the dynamic loader looks (approximately: RUNPATH, LD_LIBRARY_PATH, ld.so.conf, the defaults). */
function librarySearchDirs(meta) {
  const multiarch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  return [
    ...(meta?.libDirs ?? []),
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    ...ldConfDirs(),
    `/lib/${multiarch}`, `/usr/lib/${multiarch}`, '/lib', '/usr/lib', '/lib64', '/usr/lib64', '/usr/local/lib',
  ];
}

/** The libtorch libraries this prebuild needs that are nowhere the loader looks ([] = all there). */
export function missingLibraries(meta) {
  if (!meta?.needs) return [];
  const dirs = librarySearchDirs(meta);
  return meta.needs.filter((lib) => !dirs.some((d) => existsSync(path.join(d, lib))));
}

/** Lines that say what to install so that this prebuild loads. */
export function installHint(meta) {
  if (!meta) return ['  rebuild from source: npm rebuild sdd-torch'];
  const lines = [];
  if (meta.debianPackages?.length) lines.push(`  Debian/Ubuntu: sudo apt-get install ${meta.debianPackages.join(' ')}`);
  const [major, minor] = String(meta.torch.version).split('.');
  if (meta.torch.builtWithCuda || meta.torch.cuda) lines.push(`  pip: pip install 'torch==${major}.${minor}.*' (the CUDA ${meta.torch.cuda ?? ''} build), then LIBTORCH=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')`);
  else if (!meta.debianPackages?.length) lines.push(`  pip: pip install 'torch==${major}.${minor}.*'`);
  return lines;
}

/** Prebuilds in the order to try: current sources only (when `hash` is given), those whose libtorch
 *  libraries are present first. */
export function orderPrebuilds(list, hash) {
  const usable = hash ? list.filter((p) => p.meta?.sourceHash === hash) : list;
  const present = (p) => (p.meta ? missingLibraries(p.meta).length === 0 : true);
  return [...usable.filter(present), ...usable.filter((p) => !present(p))];
}
