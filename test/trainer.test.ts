// The Trainer: epochs, evaluation, checkpoints, bit-exact resume, interruption, crash safety.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sdd from '../lib/index.js';
import { waitForExit, watchChild } from './helpers/child.js';

class SmallNet extends sdd.nn.Module {
  conv: sdd.nn.Conv2d;
  bn: sdd.nn.BatchNorm2d;
  fc: sdd.nn.Linear;
  constructor(width: number) {
    super();
    this.conv = new sdd.nn.Conv2d(3, width, 3, { padding: 1, bias: false });
    this.bn = new sdd.nn.BatchNorm2d(width);
    this.fc = new sdd.nn.Linear(width, 10);
  }
  override forward(x: sdd.Tensor) {
    const features = (this.bn.forward(this.conv.forward(x)) as sdd.Tensor).relu();
    const logits = this.fc.forward(features.mean([2, 3])) as sdd.Tensor;
    const scaleLogits = sdd.scaleLogits(features, this.fc.weight, this.fc.bias, { scales: [1, 2] });
    return { logits, scaleLogits };
  }
}

function dataset(n: number, seed: number) {
  sdd.manualSeed(seed);
  const images = sdd.randint(0, 256, [n, 3, 8, 8], { dtype: 'uint8' });
  const targets = sdd.randint(0, 10, [n]);
  return new sdd.data.TensorDataset(images, targets);
}

function setup(outDir: string | undefined, epochs = 2) {
  sdd.setNumThreads(1);
  sdd.manualSeed(5);
  const teacher = new SmallNet(12);
  teacher.eval();
  const student = new SmallNet(6);
  const optimizer = sdd.optim.sgd(student.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const distiller = sdd.distillers.create('sdd_kd', { teacher, student, optimizer });
  const train = new sdd.data.DataLoader(dataset(96, 1), { batchSize: 16, shuffle: true, seed: 3, transforms: [sdd.transforms.randomHorizontalFlip(), sdd.transforms.normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])] });
  const test = new sdd.data.DataLoader(dataset(32, 2), { batchSize: 16, transforms: [sdd.transforms.normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])] });
  const losses: number[] = [];
  const trainer = new sdd.Trainer({
    distiller, train, test, epochs, outDir, progress: false, log: () => {},
    schedule: sdd.schedules.multiStep({ milestones: [1], gamma: 0.5 }),
    onStep: (e) => losses.push(e.loss),
  });
  return { trainer, student, losses };
}

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'sdd-trainer-'));

/**
 * 2 epochs straight, and 1 epoch + resume (from a fresh set of objects, as a new process would
 * build them) + 1 epoch in a run folder; `between` looks at the folder after the first epoch.
 */
async function straightAndResumed<R extends { trainer: sdd.Trainer; losses: number[] }>(make: (outDir: string | undefined, epochs: number) => R,
  between: (dir: string, first: R) => void = () => {}): Promise<{ straight: R; first: R; second: R }> {
  const straight = make(undefined, 2);
  await straight.trainer.fit();
  const dir = tmp();
  try {
    const first = make(dir, 1);
    await first.trainer.fit();
    between(dir, first);
    const second = make(dir, 2);
    await second.trainer.resume(dir);
    return { straight, first, second };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('Trainer', () => {
  it('trains, evaluates, tracks the best model and writes checkpoints and metrics', async () => {
    const dir = tmp();
    try {
      const { trainer, losses } = setup(dir, 2);
      const r = await trainer.fit();
      expect(r.epochs).toBe(2);
      expect(losses.length).toBe(12);
      expect(r.history[1]!.lr).toBeCloseTo(0.025, 12); // multiStep: halved after epoch 1
      expect(r.history[0]!.test!.count).toBe(32);
      for (const f of ['latest.safetensors', 'best.safetensors', 'metrics.jsonl']) expect(existsSync(path.join(dir, f))).toBe(true);
      const lines = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.epoch)).toEqual([1, 2]);
      expect(lines[0].test.top1).toBeGreaterThanOrEqual(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resume continues bit-exactly: 2 epochs straight = 1 epoch + stop + resume + 1 epoch', async () => {
    const { straight: a, first, second } = await straightAndResumed(setup);
    expect([...first.losses, ...second.losses]).toEqual(a.losses);
    const p1 = a.student.stateDict();
    const p2 = second.student.stateDict();
    for (const k of Object.keys(p1)) expect(p1[k]!.equal(p2[k]!), k).toBe(true);
  });

  it('an abort mid-epoch finishes the step, checkpoints, and resumes from that batch exactly', async () => {
    const straight = setup(undefined, 2);
    await straight.trainer.fit();
    const dir = tmp();
    try {
      const ac = new AbortController();
      const first = setup(dir, 2);
      let steps = 0;
      (first.trainer.opts as { onStep?: (e: sdd.StepEvent) => void }).onStep = (e) => { first.losses.push(e.loss); if (++steps === 4) ac.abort(); };
      (first.trainer.opts as { signal?: AbortSignal }).signal = ac.signal;
      const r = await first.trainer.fit();
      expect(r.interrupted).toBe(true);
      expect(first.losses.length).toBe(4);
      const second = setup(dir, 2);
      await second.trainer.resume(dir);
      expect([...first.losses, ...second.losses]).toEqual(straight.losses);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SIGKILL during checkpoint writes never leaves a torn checkpoint', async () => {
    const dir = tmp();
    try {
      const { trainer } = setup(dir, 1);
      await trainer.fit();
      const file = path.join(dir, 'latest.safetensors');
      const good = readFileSync(file);
      // a child rewrites the checkpoint in a loop; kill it at random moments
      const script = `
        import * as sdd from ${JSON.stringify(path.resolve('dist/index.js'))};
        const sd = { w: sdd.randn([512, 1024]) };
        for (;;) await sdd.save(sd, ${JSON.stringify(file)}, { metadata: { 'sdd-torch': 'x' } });`;
      for (let i = 0; i < 5; i++) {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
        watchChild(child);
        await new Promise((r) => setTimeout(r, 300 + 97 * i));
        child.kill('SIGKILL');
        // it loops forever: anything but our SIGKILL (a crash, a missing dist/) fails here with its output
        const r = await waitForExit(child, { timeoutMs: 30_000 });
        expect(r.signal, `child exited by itself (code ${r.code}):\n${r.stdout}${r.stderr}`).toBe('SIGKILL');
        // whatever moment the kill hit, the file is a complete checkpoint: the old one or a new one
        const size = statSync(file).size;
        const contents = sdd.readSafetensors(file);
        expect(Object.keys(contents.tensors).length).toBeGreaterThan(0);
        sdd.dispose(contents.tensors);
        expect(size === good.length || size > 2_000_000).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("checkpoints a distiller's own modules (distiller.*) and an optimizer over more than the student, and resumes them exactly", async () => {
    /** A method with a module of its own: the student's logits through a connector, matched to the teacher's. */
    class WithConnector extends sdd.distillers.Distiller {
      readonly name = 'with_connector';
      connector!: sdd.nn.Linear;
      protected losses(s: { logits: sdd.Tensor }, t: { logits: sdd.Tensor } | undefined, y: sdd.Tensor) {
        const hint = (this.connector.forward(s.logits) as sdd.Tensor).sub(t!.logits).pow(2).mean();
        return { terms: { ce: sdd.losses.crossEntropy(s.logits, y), hint } };
      }
      override stateDict() { return this.connector.stateDict({ prefix: 'connector.' }); }
      override loadStateDict(sd: Record<string, sdd.Tensor>, o?: { strict?: boolean }) {
        const own = Object.fromEntries(Object.entries(sd).map(([k, v]) => [k.replace(/^connector\./, ''), v]));
        return this.connector.loadStateDict(own, o);
      }
    }
    const make = (outDir: string | undefined, epochs: number) => {
      const { trainer, student } = setup(undefined, epochs);
      const connector = new sdd.nn.Linear(10, 10);
      const optimizer = sdd.optim.sgd([...student.parameters(), ...connector.parameters()], { lr: 0.05, momentum: 0.9 });
      const distiller = new WithConnector({ teacher: trainer.opts.distiller.teacher, student, optimizer });
      distiller.connector = connector;
      const losses: number[] = [];
      const t = new sdd.Trainer({ ...trainer.opts, distiller, outDir, onStep: (e) => losses.push(e.loss) });
      return { trainer: t, connector, optimizer, losses };
    };
    const { straight, first, second } = await straightAndResumed(make, (dir, first) => {
      const saved = sdd.checkpoint.loadSync(path.join(dir, 'latest.safetensors'));
      const n = first.optimizer.params.length;
      expect(Object.keys(saved)).toEqual(expect.arrayContaining(['distiller.connector.weight', 'distiller.connector.bias', `optim.${n - 1}.momentumBuffer`]));
      sdd.dispose(saved);
    });
    expect([...first.losses, ...second.losses]).toEqual(straight.losses);
    expect(second.connector.weight.equal(straight.connector.weight)).toBe(true);
  });


  it('explains bad options', () => {

    expect(() => new sdd.Trainer({} as never)).toThrow(/Expected a distiller/);
    const { trainer } = setup(undefined, 1);
    expect(() => new sdd.Trainer({ ...trainer.opts, epochs: 0 })).toThrow(/Expected an integer >= 1 for options.epochs/);
  });
});
