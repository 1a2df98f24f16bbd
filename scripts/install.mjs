// `npm install` hook: use a prebuilt binary when one loads here, else find libtorch (installing
// Debian's libtorch-dev when allowed) and compile the addon with cmake-js.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Newest modification time of the native sources (a checkout where they changed must rebuild). */
function newestSource() {
  const files = [path.join(root, 'CMakeLists.txt'), ...readdirSync(path.join(root, 'native')).map((f) => path.join(root, 'native', f))];
  return Math.max(...files.filter((f) => existsSync(f)).map((f) => statSync(f).mtimeMs));
}

function prebuildLoads() {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!existsSync(dir)) return false;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.node'))) {
    if (statSync(path.join(dir, f)).mtimeMs < newestSource()) {
      console.error(`sdd-torch: the prebuilt binary ${f} is older than native/ (a development checkout): building from source`);
      continue;
    }
    // Load in a child: a prebuild whose libtorch is missing must not take this process down.
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(dir, f))})`], { encoding: 'utf8' });
    if (r.status === 0) {
      console.error(`sdd-torch: using the prebuilt binary ${path.relative(root, path.join(dir, f))}`);
      return true;
    }
    console.error(`sdd-torch: the prebuilt binary ${f} does not load here (${(r.stderr.split('\n').find((l) => l.includes('Error')) ?? r.stderr).trim()}); building from source`);
  }
  return false;
}

// Debian/Ubuntu as root: make sure the system packages the addon and its data paths use are there
// (libtorch + OpenBLAS; Gloo headers for sdd.dist; libjpeg-turbo and libpng headers for image decoding; Fashion-MNIST, the
// demo's and the tests' real data set). SDD_TORCH_NO_APT=1 leaves the system alone.
const WANTED = ['libtorch-dev', 'libgloo-dev', 'libopenblas-dev', 'libjpeg62-turbo-dev', 'libpng-dev', 'dataset-fashion-mnist'];
function ensureSystemPackages() {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || process.env.SDD_TORCH_NO_APT === '1') return;
  if (!existsSync('/usr/bin/dpkg-query') || !existsSync('/usr/bin/apt-get')) return;
  const missing = WANTED.filter((p) => spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout.trim() !== 'install ok installed');
  if (missing.length === 0) return;
  console.error(`sdd-torch: installing ${missing.join(' ')} with apt-get (set SDD_TORCH_NO_APT=1 to prevent this)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-q', ...missing], { stdio: ['ignore', 'inherit', 'inherit'], env }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (!install()) console.error(`sdd-torch: apt-get could not install ${missing.join(' ')}; continuing (the build reports what is missing)`);
  }
}

ensureSystemPackages();

if (process.env.SDD_TORCH_SKIP_BUILD === '1') {
  console.error('sdd-torch: SDD_TORCH_SKIP_BUILD=1, not building the native addon');
} else if (process.env.SDD_TORCH_FORCE_BUILD === '1' || !prebuildLoads()) {
  const { buildNative } = await import('./build-native.mjs');
  try {
    buildNative();
  } catch (e) {
    console.error(`\n${e.message}\n`);
    process.exit(1);
  }
}
