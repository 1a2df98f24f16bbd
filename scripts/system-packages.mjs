// Debian/Ubuntu packages, installed by the install script only when the chosen path needs them and
// only as root (SDD_TORCH_NO_APT=1 leaves the system alone).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Runtime libraries a prebuild dlopens for image decoding (the loader works without them). */
export const IMAGE_RUNTIME = ['libjpeg62-turbo', 'libpng16-16'];
/** What compiling against Debian's libtorch needs: libtorch and BLAS, Gloo headers for sdd.dist,
 *  libjpeg-turbo and libpng headers for image decoding. */
export const BUILD_DEPS = ['libtorch-dev', 'libgloo-dev', 'libopenblas-dev', 'libjpeg62-turbo-dev', 'libpng-dev'];

export function isDebianLike() {
  if (process.platform !== 'linux') return false;
  try {
    return /^(ID|ID_LIKE)=.*(debian|ubuntu)/m.test(readFileSync('/etc/os-release', 'utf8'));
  } catch {
    return existsSync('/etc/debian_version');
  }
}

/** Why apt-get may not be used here, or null when it may. */
export function aptRefusal() {
  if (process.env.SDD_TORCH_NO_APT === '1') return 'SDD_TORCH_NO_APT=1: apt-get not attempted';
  if (!isDebianLike()) return 'not Debian/Ubuntu: nothing installed';
  if (process.getuid?.() !== 0) return 'not root: apt-get not attempted';
  if (!existsSync('/usr/bin/apt-get') || !existsSync('/usr/bin/dpkg-query')) return 'no apt-get here';
  return null;
}

export function missingPackages(packages) {
  if (!existsSync('/usr/bin/dpkg-query')) return [...packages];
  return packages.filter((p) => spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout.trim() !== 'install ok installed');
}

/** Installs what is missing of `packages` (apt-get update once if the first try fails). True when all are there. */
export function aptInstall(packages, why, log = (m) => console.error(m)) {
  const missing = missingPackages(packages);
  if (missing.length === 0) return true;
  if (aptRefusal()) return false;
  log(`sdd-torch: installing ${missing.join(' ')} with apt-get (${why}; set SDD_TORCH_NO_APT=1 to prevent this)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-q', ...missing], { stdio: ['ignore', 'inherit', 'inherit'], env }).status === 0;
  if (install()) return true;
  spawnSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'inherit', 'inherit'], env });
  if (install()) return true;
  log(`sdd-torch: apt-get could not install ${missing.join(' ')}`);
  return false;
}
