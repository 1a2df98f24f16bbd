// The package as a dependency, the way users meet it: `npm pack`, then `npm install <tarball>` in an
// empty project (dependencies from the registry npm already uses), then a strict TypeScript (NodeNext)
// ESM consumer and a CommonJS require run a real SD-KD step on the shipped types.
//   a. a matching prebuild ships: the install compiles nothing (a cmake shim on PATH records any run),
//      also with --ignore-scripts (the loader picks the prebuild at load time);
//   b. no matching prebuild (the tarball carries one tagged for another libtorch): the install
//      compiles from source, with cmake-js and node-addon-api wherever npm hoisted them.
// Then the README's command-line examples run against the installed package (smoke flags appended).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeCifar100 } from './helpers/cifar.js';

const root = path.resolve(__dirname, '..');
const platformDir = `${process.platform}-${process.arch}`;
const work = mkdtempSync(path.join(os.tmpdir(), 'sdd-torch-install-'));
const shimDir = path.join(work, 'bin');
const cmakeLog = path.join(work, 'cmake-runs.log');
const timings: Record<string, number> = {};

interface Run { status: number | null; stdout: string; stderr: string; ms: number }
function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 600_000): Run {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, {
    cwd, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20,
    // the cmake shim first; npm's own settings (registry, cache) as the developer has them
    env: { ...process.env, PATH: `${shimDir}:${process.env.PATH}`, SDD_TORCH_NO_APT: '1', npm_config_audit: 'false', npm_config_fund: 'false', ...env },
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: Date.now() - t0 };
}
const explain = (r: Run) => `exit ${r.status}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-6000)}`;

/** An empty consumer project with its own package.json. */
function consumer(name: string, type: 'module' | 'commonjs' = 'module'): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type }, null, 2));
  return dir;
}

function npmInstall(dir: string, specs: string[], extra: string[] = [], env: NodeJS.ProcessEnv = {}): Run {
  const r = sh('npm', ['install', '--foreground-scripts', '--no-audit', '--no-fund', ...extra, ...specs], dir, env);
  expect(r.status, explain(r)).toBe(0);
  return r;
}

const cmakeRuns = () => (existsSync(cmakeLog) ? readFileSync(cmakeLog, 'utf8').trim().split('\n').filter(Boolean) : []);

// A real SD-KD step: teacher and student from the zoo, the distiller, one optimizer step.
const STEP_TS = `
import * as sdd from 'sdd-torch';

sdd.manualSeed(0);
const teacher: sdd.models.SddModel = sdd.models.create('resnet8x4', { numClasses: 10, scales: [1, 2, 4] });
teacher.freeze();
const student = sdd.models.create('resnet8', { numClasses: 10, scales: [1, 2, 4] });
const optimizer = sdd.optim.sgd(student.parameters(), { lr: 0.05, momentum: 0.9 });
const distiller = sdd.distillers.create('sdd_kd', { teacher, student, optimizer });
const images: sdd.Tensor = sdd.randn([4, 3, 32, 32]);
const targets = sdd.randint(0, 10, [4]);
const out = distiller.step({ images, targets, epoch: 1 });
const loss: number = out.loss;
// the student as ONNX (sdd.onnx, through the onnx-proto dependency)
const onnx = sdd.onnx.toBytes(student, { outputs: ['logits', 'scaleLogits'] }).result;
console.log(JSON.stringify({ loss, finite: Number.isFinite(loss), terms: Object.keys(out.terms).sort(), onnx: onnx.outputs.map((o) => o.name) }));
`;

function runStep(dir: string): { loss: number; finite: boolean; terms: string[]; onnx: string[] } {
  const esm = sh(process.execPath, ['step.js'], dir);
  expect(esm.status, explain(esm)).toBe(0);
  return JSON.parse(esm.stdout.trim().split('\n').at(-1)!);
}

let tarball = '';

beforeAll(() => {
  mkdirSync(shimDir, { recursive: true });
  // Records every cmake run, then runs the real one: "compiles nothing" is then a fact, not a hope.
  const realCmake = spawnSync('sh', ['-c', 'command -v cmake'], { encoding: 'utf8' }).stdout.trim() || '/usr/bin/cmake';
  writeFileSync(path.join(shimDir, 'cmake'), `#!/bin/sh\necho "$*" >> '${cmakeLog}'\nexec '${realCmake}' "$@"\n`);
  chmodSync(path.join(shimDir, 'cmake'), 0o755);
  const prebuilds = path.join(root, 'prebuilds', platformDir);
  expect(existsSync(prebuilds) && readdirSync(prebuilds).some((f) => f.endsWith('.node')),
    `no prebuild in ${prebuilds}: run \`npm run prebuild\` (npm test runs it through pretest)`).toBe(true);
  // --ignore-scripts: dist/ and prebuilds/ are already current (npm ci built them, pretest refreshed the prebuild)
  const r = sh('npm', ['pack', '--ignore-scripts', '--pack-destination', work, '--json'], root);
  expect(r.status, explain(r)).toBe(0);
  const info = JSON.parse(r.stdout)[0] as { filename: string; size: number; unpackedSize: number; entryCount: number; files: { path: string }[] };
  tarball = path.join(work, info.filename);
  console.log(`npm pack: ${info.filename}, ${(info.size / 1e6).toFixed(2)} MB packed, ${(info.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${info.entryCount} files`);
}, 300_000);

afterAll(() => {
  console.log(`install times: ${JSON.stringify(timings)}`);
  if (!process.env.SDD_TORCH_KEEP_INSTALL_TEST) rmSync(work, { recursive: true, force: true });
});

describe('the published tarball', () => {
  it('holds what a user runs, and nothing of the repository\'s own tooling', () => {
    const r = sh('tar', ['-tzf', tarball], work);
    expect(r.status, explain(r)).toBe(0);
    const files = r.stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    for (const f of ['package.json', 'README.md', 'LICENSE', 'CMakeLists.txt', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js',
      'scripts/install.mjs', 'scripts/build-native.mjs', 'scripts/prebuilds.mjs', 'native/sdd.cc', 'presets/cifar100/sdd_kd/res32x4_res8x4.yaml']) {
      expect(files, f).toContain(f);
    }
    expect(files.some((f) => f.startsWith(`prebuilds/${platformDir}/`) && f.endsWith('.node'))).toBe(true);
    expect(files.some((f) => f.startsWith(`prebuilds/${platformDir}/`) && f.endsWith('.json'))).toBe(true);
    for (const f of files) {
      expect(f, 'tests, fixtures, benchmarks, experiments and docs stay in the repository').not.toMatch(/^(test|bench|docs|examples)\/|^scripts\/(bench|fuzz|experiment|demo|leak|fashion)/);
    }
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies)).not.toContain('vega');
    expect(Object.keys(pkg.dependencies)).not.toContain('vega-lite');
  });
});

describe('a. a matching prebuild ships', () => {
  let dir = '';
  it('npm install <tarball> compiles nothing and loads the prebuild', () => {
    dir = consumer('consumer-prebuild');
    const before = cmakeRuns().length;
    // the consumer's TypeScript toolchain comes from the registry too
    const r = npmInstall(dir, [tarball, 'typescript@5.9', '@types/node@20']);
    timings.prebuildInstallMs = r.ms;
    console.log(`a. npm install with a matching prebuild (incl. typescript, @types/node): ${(r.ms / 1000).toFixed(1)} s`);
    expect(cmakeRuns().length, `cmake ran during a prebuild install:\n${cmakeRuns().join('\n')}`).toBe(before);
    const pkgDir = path.join(dir, 'node_modules', 'sdd-torch');
    expect(existsSync(path.join(pkgDir, 'build')), 'a build/ folder appeared').toBe(false);
    expect(r.stdout + r.stderr).toMatch(/using the prebuilt binary prebuilds\/.+\.node \(libtorch \d+\.\d+ \(CPU|CUDA/);
  });

  it('a strict TypeScript ESM consumer (NodeNext) compiles and runs an SD-KD step on the shipped types', () => {
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true, noImplicitOverride: true, skipLibCheck: false, types: ['node'], outDir: '.' },
      files: ['step.ts'],
    }, null, 2));
    writeFileSync(path.join(dir, 'step.ts'), STEP_TS);
    const tsc = sh(process.execPath, [path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir);
    expect(tsc.status, explain(tsc)).toBe(0);
    const out = runStep(dir);
    expect(out.finite).toBe(true);
    expect(out.loss).toBeGreaterThan(0);
    expect(out.terms).toEqual(['ce', 'kd']);
    expect(out.onnx).toEqual(['logits', 'scaleLogits']);
    // a type error in the consumer's code is caught by the shipped types
    writeFileSync(path.join(dir, 'bad.ts'), "import * as sdd from 'sdd-torch';\nconst n: string = sdd.tensor([1]).item();\nconsole.log(n);\n");
    const bad = sh(process.execPath, [path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--types', 'node', 'bad.ts'], dir);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/bad\.ts\(2,7\): error TS2322: Type 'number.*' is not assignable to type 'string'/);
  });

  it('a CommonJS consumer require()s it and runs the same step; the binary is the prebuild', () => {
    const cjs = path.join(work, 'consumer-prebuild'); // the project of the first test, a .cjs file in it
    writeFileSync(path.join(cjs, 'step.cjs'), `
const sdd = require('sdd-torch');
sdd.manualSeed(0);
const teacher = sdd.models.create('resnet8x4', { numClasses: 10, scales: [1, 2, 4] });
teacher.freeze();
const student = sdd.models.create('resnet8', { numClasses: 10, scales: [1, 2, 4] });
const optimizer = sdd.optim.sgd(student.parameters(), { lr: 0.05, momentum: 0.9 });
const distiller = sdd.distillers.create('sdd_kd', { teacher, student, optimizer });
const out = distiller.step({ images: sdd.randn([4, 3, 32, 32]), targets: sdd.randint(0, 10, [4]), epoch: 1 });
console.log(JSON.stringify({ loss: out.loss }));
`);
    const r = sh(process.execPath, ['step.cjs'], cjs);
    expect(r.status, explain(r)).toBe(0);
    expect(Number.isFinite(JSON.parse(r.stdout.trim()).loss)).toBe(true);
    const doctor = sh(process.execPath, [path.join(cjs, 'node_modules', '.bin', 'sdd-torch'), 'doctor', '--json'], cjs);
    expect(doctor.status, explain(doctor)).toBe(0);
    const report = JSON.parse(doctor.stdout);
    expect(report.binary.kind).toBe('prebuild');
    expect(report.binary.file).toContain(path.join('node_modules', 'sdd-torch', 'prebuilds', platformDir));
  });

  it('npm install --ignore-scripts works too: the prebuild is picked at load time', () => {
    const dir2 = consumer('consumer-ignore-scripts');
    const before = cmakeRuns().length;
    const r = npmInstall(dir2, [tarball], ['--ignore-scripts']);
    timings.ignoreScriptsInstallMs = r.ms;
    console.log(`a. npm install --ignore-scripts: ${(r.ms / 1000).toFixed(1)} s`);
    expect(cmakeRuns().length).toBe(before);
    const s = sh(process.execPath, ['--input-type=module', '-e', `
      import * as sdd from 'sdd-torch';
      const t = sdd.tensor([1, 2, 3]);
      console.log(JSON.stringify({ sum: t.sum().item() }));`], dir2);
    expect(s.status, explain(s)).toBe(0);
    expect(JSON.parse(s.stdout).sum).toBe(6);
    const doctor = sh(process.execPath, [path.join(dir2, 'node_modules', '.bin', 'sdd-torch'), 'doctor', '--json'], dir2);
    expect(JSON.parse(doctor.stdout).binary.kind).toBe('prebuild');
  });

  it("the README's command-line examples run against the installed package (smoke: 1 epoch, 2 batches)", async () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### The command line'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
    const commands = block.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter((l) => l.startsWith('npx sdd-torch'));
    expect(commands.length).toBeGreaterThanOrEqual(3);
    // what the examples name: a CIFAR-100 folder and the authors' teacher checkpoint (.pth, {'model': ...})
    mkdirSync(path.join(dir, 'data', 'cifar-100-binary'), { recursive: true });
    writeCifar100(path.join(dir, 'data', 'cifar-100-binary', 'train.bin'), 64, 1);
    writeCifar100(path.join(dir, 'data', 'cifar-100-binary', 'test.bin'), 32, 2);
    const mk = sh(process.execPath, ['--input-type=module', '-e', `
      import * as sdd from 'sdd-torch';
      const t = sdd.models.create('resnet32x4_sdd', { numClasses: 100 });
      await sdd.save(t.stateDict(), 'resnet32x4_teacher.pth', { key: 'model' });`], dir);
    expect(mk.status, explain(mk)).toBe(0);
    const outputs: string[] = [];
    for (const cmd of commands) {
      const argv = cmd.split(/\s+/).slice(1); // after npx
      // a training run of a preset gets the smoke flags; listing presets and eval run as written
      const smoke = argv[1] === 'train' && argv.at(-1) !== '--preset' ? ['--set', 'SOLVER.EPOCHS=1', '--limit-batches', '2', '--threads', '1', '--no-progress'] : [];
      const r = sh('npx', ['--no-install', ...argv, ...smoke], dir);
      expect(r.status, `${cmd}\n${explain(r)}`).toBe(0);
      outputs.push(r.stdout);
    }
    expect(outputs[0]).toContain('132 presets');
    expect(outputs[0]).toMatch(/cifar100\/sdd_kd\/res32x4_res8x4 +sdd_kd +resnet32x4_sdd -> resnet8x4_sdd/);
    expect(outputs[1]).toContain('sdd-torch train: sdd_kd | teacher resnet32x4_sdd | student resnet8x4_sdd | M [1,2,4]');
    expect(existsSync(path.join(dir, 'runs', 'res32x4_res8x4', 'best.safetensors'))).toBe(true);
  });
});

describe('b. no matching prebuild', () => {
  it('npm install <tarball> compiles from source, with cmake-js and node-addon-api where npm hoisted them', () => {
    // The same package, but its only prebuild is tagged for a libtorch this machine does not have.
    const unpack = path.join(work, 'unpacked');
    mkdirSync(unpack, { recursive: true });
    expect(sh('tar', ['-xzf', tarball, '-C', unpack], work).status).toBe(0);
    const pre = path.join(unpack, 'package', 'prebuilds', platformDir);
    for (const f of readdirSync(pre).filter((n) => n.endsWith('.json'))) {
      const meta = JSON.parse(readFileSync(path.join(pre, f), 'utf8'));
      const other = { ...meta, tag: 'torch9_9-cpu-cxx11', binary: 'sdd-torch.torch9_9-cpu-cxx11.napi.node', torch: { ...meta.torch, version: '9.9.0' },
        needs: ['libtorch_cpu.so.9.9', 'libc10.so.9.9'], debianPackages: ['libtorch9.9'] };
      rmSync(path.join(pre, f));
      renameSync(path.join(pre, f.replace(/\.json$/, '.node')), path.join(pre, other.binary));
      // a binary that cannot load here, as one linked against libtorch 9.9 would not
      writeFileSync(path.join(pre, other.binary), 'not an ELF file: built for libtorch 9.9');
      writeFileSync(path.join(pre, other.binary.replace(/\.node$/, '.json')), JSON.stringify(other, null, 2));
    }
    const other = path.join(work, 'sdd-torch-other-libtorch.tgz');
    expect(sh('tar', ['-czf', other, '-C', unpack, 'package'], work).status).toBe(0);

    const dir = consumer('consumer-source');
    const before = cmakeRuns().length;
    const r = npmInstall(dir, [other]);
    timings.sourceInstallMs = r.ms;
    console.log(`b. npm install compiling from source: ${(r.ms / 1000).toFixed(1)} s`);
    const log = r.stdout + r.stderr;
    expect(log).toContain('needs libtorch 9.9 (CPU, C++11 ABI) and does not load here');
    expect(log).toContain('compiling the native addon from source');
    expect(cmakeRuns().length, 'cmake did not run').toBeGreaterThan(before);
    // hoisted: npm put cmake-js and node-addon-api beside sdd-torch, not inside it
    expect(existsSync(path.join(dir, 'node_modules', 'cmake-js'))).toBe(true);
    expect(existsSync(path.join(dir, 'node_modules', 'sdd-torch', 'node_modules', 'cmake-js'))).toBe(false);
    expect(existsSync(path.join(dir, 'node_modules', 'node-addon-api'))).toBe(true);
    expect(existsSync(path.join(dir, 'node_modules', 'sdd-torch', 'build', 'Release', 'sdd_torch.node'))).toBe(true);

    writeFileSync(path.join(dir, 'step.js'), STEP_TS.replace(/: sdd\.models\.SddModel|: sdd\.Tensor|: number(?= =)/g, ''));
    const out = runStep(dir);
    expect(out.finite).toBe(true);
    const doctor = sh(process.execPath, [path.join(dir, 'node_modules', '.bin', 'sdd-torch'), 'doctor', '--json'], dir);
    expect(doctor.status, explain(doctor)).toBe(0);
    expect(JSON.parse(doctor.stdout).binary.kind).toBe('local build');
  });

  it('with no usable prebuild and no build, loading says which libtorch each prebuild needs and what to install', () => {
    const dir = consumer('consumer-no-build');
    const unpack = path.join(work, 'unpacked'); // from the previous test: a prebuild for libtorch 9.9 only
    const other = path.join(work, 'sdd-torch-other-libtorch.tgz');
    expect(existsSync(path.join(unpack, 'package'))).toBe(true);
    npmInstall(dir, [other], ['--ignore-scripts']);
    const r = sh(process.execPath, ['--input-type=module', '-e', "import('sdd-torch').catch((e) => console.log(e.message))"], dir);
    expect(r.stdout).toContain('could not load the native addon');
    expect(r.stdout).toMatch(/sdd-torch\.torch9_9-cpu-cxx11\.napi\.node \(prebuild\) \[needs libtorch 9\.9 \(CPU, C\+\+11 ABI\); not found here: libtorch_cpu\.so\.9\.9, libc10\.so\.9\.9\]/);
    expect(r.stdout).toContain('Debian/Ubuntu: sudo apt-get install libtorch9.9');
    expect(r.stdout).toContain('npm rebuild sdd-torch');
  });
});
