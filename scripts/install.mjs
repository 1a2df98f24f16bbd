// `npm install` hook: use a prebuilt binary when one loads here, else find libtorch (installing
// Debian's libtorch-dev when allowed) and compile the addon with cmake-js.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function prebuildLoads() {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!existsSync(dir)) return false;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.node'))) {
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
