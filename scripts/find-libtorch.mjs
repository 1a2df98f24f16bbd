// Finds a libtorch CMake config in the documented order and reports where it came from:
//   1. LIBTORCH (an unpacked libtorch or a prefix) or Torch_DIR in the environment
//   2. the Python torch on PATH (torch.utils.cmake_prefix_path: how most CUDA users have libtorch)
//   3. the system (Debian/Ubuntu libtorch-dev: /usr/lib/<triplet>/cmake/Torch)
//   4. none: on Debian/Ubuntu as root, apt-get install libtorch-dev and the other build packages (unless SDD_TORCH_NO_APT=1)
// Usage: node scripts/find-libtorch.mjs [--no-install] [--json]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { aptInstall, aptRefusal, BUILD_DEPS } from './system-packages.mjs';

const CONFIG = 'TorchConfig.cmake';

function configIn(dir) {
  if (!dir) return null;
  const candidates = [dir, path.join(dir, 'Torch'), path.join(dir, 'share/cmake/Torch'), path.join(dir, 'lib/cmake/Torch')];
  for (const c of candidates) if (existsSync(path.join(c, CONFIG))) return path.resolve(c);
  return null;
}

function pythonTorch() {
  for (const py of ['python3', 'python']) {
    const r = spawnSync(py, ['-c', 'import torch;print(torch.utils.cmake_prefix_path);print(torch.__version__)'], {
      encoding: 'utf8', timeout: 60_000,
    });
    if (r.status === 0) {
      const [prefix, version] = r.stdout.trim().split('\n');
      const dir = configIn(prefix);
      if (dir) return { dir, version, python: py };
    }
  }
  return null;
}

function triplets() {
  const out = new Set();
  try { out.add(execFileSync('gcc', ['-dumpmachine'], { encoding: 'utf8' }).trim()); } catch { /* no gcc: fall through */ }
  try { out.add(execFileSync('dpkg-architecture', ['-qDEB_HOST_MULTIARCH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()); } catch { /* not Debian */ }
  out.add(`${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`);
  return [...out].filter(Boolean);
}

function systemTorch() {
  // SDD_TORCH_SYSTEM_DIRS (colon-separated) replaces the list: for unusual layouts, and for tests.
  const override = process.env.SDD_TORCH_SYSTEM_DIRS;
  const dirs = override !== undefined ? override.split(':').filter(Boolean) : [
    ...triplets().map((t) => `/usr/lib/${t}/cmake/Torch`),
    '/usr/lib/cmake/Torch', '/usr/local/lib/cmake/Torch', '/usr/share/cmake/Torch', '/usr/local/share/cmake/Torch',
  ];
  for (const d of dirs) if (existsSync(path.join(d, CONFIG))) return d;
  return null;
}

export const searched = [
  'LIBTORCH / Torch_DIR environment variables',
  'the Python torch on PATH (python3 -c "import torch; print(torch.utils.cmake_prefix_path)")',
  'the system: /usr/lib/<triplet>/cmake/Torch, /usr/local/lib/cmake/Torch, /usr/share/cmake/Torch',
];

export function howToProvide() {
  return [
    'Provide libtorch in one of three ways, then run `npm install` (or `npm rebuild sdd-torch`) again:',
    '  1. Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas-dev   (CPU, libtorch 1.13)',
    '  2. pip install torch   (CPU or CUDA; found through python3 on PATH)',
    '  3. download libtorch from pytorch.org, unpack it and set LIBTORCH=/path/to/libtorch',
    '     (or Torch_DIR=/path/to/libtorch/share/cmake/Torch)',
  ].join('\n');
}

/** Finds libtorch; returns { dir, source, version? } or throws an Error with a multi-line message. */
export function findLibtorch({ install = true, log = (m) => console.error(m) } = {}) {
  const envDir = process.env.LIBTORCH || process.env.Torch_DIR;
  if (envDir) {
    const dir = configIn(envDir);
    if (!dir) {
      const name = process.env.LIBTORCH ? 'LIBTORCH' : 'Torch_DIR';
      throw new Error(`sdd-torch: ${name}=${envDir} does not contain ${CONFIG} (looked in it and in Torch/, share/cmake/Torch/, lib/cmake/Torch/).\n` +
        'Point it at an unpacked libtorch (the folder holding share/cmake/Torch) or at the folder holding TorchConfig.cmake.');
    }
    return { dir, source: process.env.LIBTORCH ? 'LIBTORCH' : 'Torch_DIR' };
  }
  const py = pythonTorch();
  if (py) return { dir: py.dir, source: `python (${py.python}, torch ${py.version})`, version: py.version };
  const sys = systemTorch();
  if (sys) return { dir: sys, source: 'system' };
  const refusal = install ? aptRefusal() : null;
  if (install && !refusal && aptInstall(BUILD_DEPS, 'no libtorch found', log)) {
    const after = systemTorch();
    if (after) return { dir: after, source: 'system (installed by sdd-torch with apt-get)' };
  }
  const why = !install ? '' : refusal ? `(${refusal})\n` : '(apt-get install failed)\n';
  throw new Error(['sdd-torch: libtorch was not found.', 'Searched:', ...searched.map((s) => `  - ${s}`), why + howToProvide()].join('\n'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const found = findLibtorch({ install: !process.argv.includes('--no-install') });
    console.log(process.argv.includes('--json') ? JSON.stringify(found) : `${found.dir}\t${found.source}`);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
