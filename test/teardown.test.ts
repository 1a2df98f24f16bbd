// Stopping a busy worker, or exiting the process while a worker computes, must end the way it was
// asked to: never `terminate called after throwing an instance of 'Napi::Error'` (exit 134). When
// an environment is torn down, Node-API calls in flight fail and the errors they raise can no longer
// be thrown into JS; the addon is built to drop them (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS) and
// its weak references are released by an env cleanup hook. Each case runs in a child process, so
// an abort cannot take vitest down.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const entry = path.resolve('dist/index.js');

// What the worker runs; `started()` tells the parent that the work is under way.
const WORK = {
  op: `const a = sdd.randn([96, 96]);
    started();
    for (;;) a.matmul(a).relu().sum();`,
  // the teacher's forward (inside noGrad, a JS callback run by native code) takes most of a step
  step: `const teacher = sdd.models.create('resnet32x4', { numClasses: 10 });
    const student = sdd.models.create('resnet8', { numClasses: 10 });
    const d = sdd.distillers.create('sdd_kd', { teacher, student, optimizer: sdd.optim.sgd(student.parameters(), { lr: 0.01, momentum: 0.9 }) });
    const images = sdd.randn([8, 3, 32, 32]);
    const targets = sdd.randint(0, 10, [8]);
    started();
    for (;;) d.step({ images, targets });`,
  loader: `const ds = new sdd.data.TensorDataset(sdd.randint(0, 256, [256, 3, 32, 32], { dtype: 'uint8' }),
      Int32Array.from({ length: 256 }, (_, i) => i % 10));
    const loader = new sdd.data.DataLoader(ds, { batchSize: 32, shuffle: true, workers: 2,
      transforms: sdd.transforms.cifarTrain('cifar10') });
    (async () => {
      for (let e = 0; ; e++) for await (const b of loader.epoch(e)) { started(); b.images.dispose(); b.targets.dispose(); }
    })();`,
  transform: `const images = sdd.randint(0, 256, [64, 3, 32, 32], { dtype: 'uint8' });
    const ts = sdd.transforms.cifarTrain('cifar10');
    (async () => {
      for (let e = 0; ; e++) { const out = await sdd.transforms.apply(images, ts, { epoch: e }); started(); out.dispose(); }
    })();`,
} as const;

type Work = keyof typeof WORK;

/** A child process that starts a worker doing `work`, waits `delayMs` once it has started, then
 * terminates it and exits with 7 ('terminate') or calls process.exit(3) at once ('exit'). */
function run(work: Work, how: 'terminate' | 'exit', delayMs: number) {
  const worker = `
    const { parentPort } = require('node:worker_threads');
    let told = false;
    const started = () => { if (!told) { told = true; parentPort.postMessage('started'); } };
    import(${JSON.stringify(entry)}).then((sdd) => {
      sdd.setNumThreads(1);
      ${WORK[work]}
    }).catch((e) => parentPort.postMessage('error: ' + (e && e.stack || e)));`;
  const main = `
    import { Worker } from 'node:worker_threads';
    const w = new Worker(${JSON.stringify(worker)}, { eval: true, execArgv: [] }); // CommonJS, not --input-type's ESM
    w.on('error', (e) => { console.error('worker error: ' + e); process.exit(9); });
    w.on('message', (m) => {
      if (m !== 'started') { console.error(m); process.exit(9); }
      setTimeout(async () => {
        if (${JSON.stringify(how)} === 'exit') process.exit(3);
        const code = await w.terminate();
        console.log('terminated ' + code);
        process.exit(7);
      }, ${delayMs});
    });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', main], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function expectClean(r: ReturnType<typeof run>, code: number): void {
  expect(r.stderr).not.toMatch(/terminate called|FATAL ERROR|Aborted/);
  expect(r.signal, r.stderr).toBeNull();
  expect(r.status, r.stderr).toBe(code);
}

describe('teardown', () => {
  for (const work of Object.keys(WORK) as Work[]) {
    it(`worker.terminate() mid-${work} ends cleanly`, () => {
      for (const delayMs of [50, 300]) {
        const r = run(work, 'terminate', delayMs);
        expectClean(r, 7);
        expect(r.stdout).toContain('terminated 1');
      }
    });
  }

  for (const work of ['op', 'step', 'loader'] as Work[]) {
    it(`process.exit(3) on the main thread while a worker runs a ${work} exits with 3`, () => {
      for (const delayMs of [50, 300]) expectClean(run(work, 'exit', delayMs), 3);
    });
  }
});
