// `npm install` hook. A prebuild of the current sources whose libtorch is here is used as it is
// (nothing compiled); on Debian/Ubuntu as root, a missing libtorch runtime is installed for it with
// apt-get (runtime packages only). Otherwise the addon is compiled against the libtorch that
// find-libtorch.mjs finds (installing Debian's -dev packages only then).
// The loader (lib/core/native.ts) picks the prebuild again at load time, so `npm install --ignore-scripts`
// works too when a matching prebuild is shipped.
// Environment: SDD_TORCH_SKIP_BUILD=1 (do nothing), SDD_TORCH_FORCE_BUILD=1 (always compile),
// SDD_TORCH_NO_APT=1 (never apt-get).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeNeeds, installHint, listPrebuilds, missingLibraries, orderPrebuilds, sourceHash } from './prebuilds.mjs';
import { aptInstall, aptRefusal, IMAGE_RUNTIME } from './system-packages.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (m) => console.error(m);
// The published package has no test/: only a development checkout gets the tests' and demo's data set.
const developmentCheckout = existsSync(path.join(root, 'test'));

/** Loads the binary in a child process: one whose libtorch is missing must not take this one down. */
function tryLoad(file) {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)}).buildInfo()`], { encoding: 'utf8' });
  if (r.status === 0) return null;
  return (r.stderr.split('\n').find((l) => /Error|error while loading/.test(l)) ?? r.stderr).trim();
}

/** The first prebuild of the current sources that loads here, or null (reasons logged). */
function usablePrebuild() {
  const all = listPrebuilds(root);
  if (all.length === 0) return null;
  const hash = sourceHash(root);
  for (const p of all) {
    const name = path.basename(p.file);
    if (!p.meta) log(`sdd-torch: ${name} has no tag (.json) beside it: not used`);
    else if (p.meta.sourceHash !== hash) log(`sdd-torch: ${name} was built from other native sources (a development checkout that changed): not used`);
  }
  const candidates = orderPrebuilds(all, hash);
  const attempt = () => {
    for (const p of candidates) {
      const error = tryLoad(p.file);
      if (!error) return p;
      log(`sdd-torch: ${path.basename(p.file)} needs ${describeNeeds(p.meta)} and does not load here: ${error}`);
    }
    return null;
  };
  const found = attempt();
  if (found || candidates.length === 0) return found;
  // Debian/Ubuntu as root: bring the runtime libraries of the first prebuild that says which.
  const withPackages = candidates.find((p) => p.meta?.debianPackages?.length);
  const refusal = aptRefusal();
  if (withPackages && !refusal) {
    const missing = missingLibraries(withPackages.meta);
    if (aptInstall(withPackages.meta.debianPackages, `the runtime of the prebuilt binary (${describeNeeds(withPackages.meta)}${missing.length ? `: ${missing.join(', ')} missing` : ''})`, log)) {
      return attempt();
    }
  } else if (withPackages) {
    log(`sdd-torch: to use the prebuilt binary instead of compiling (${refusal}):\n${installHint(withPackages.meta).join('\n')}`);
  }
  return null;
}

function main() {
  if (process.env.SDD_TORCH_SKIP_BUILD === '1') {
    log('sdd-torch: SDD_TORCH_SKIP_BUILD=1, not building the native addon');
    return;
  }
  if (developmentCheckout) aptInstall(['dataset-fashion-mnist'], "the tests' and the demo's data set", log);
  const started = Date.now();
  if (process.env.SDD_TORCH_FORCE_BUILD !== '1') {
    const prebuild = usablePrebuild();
    if (prebuild) {
      aptInstall(IMAGE_RUNTIME, 'JPEG/PNG decoding for image folders', log);
      log(`sdd-torch: using the prebuilt binary ${path.relative(root, prebuild.file)} (${describeNeeds(prebuild.meta)}); nothing to compile`);
      return;
    }
  }
  return import('./build-native.mjs').then(({ buildNative }) => {
    log('sdd-torch: compiling the native addon from source (a few minutes)');
    buildNative();
    log(`sdd-torch: native addon compiled in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  });
}

try {
  await main();
} catch (e) {
  console.error(`\n${e.message}\n`);
  process.exit(1);
}
