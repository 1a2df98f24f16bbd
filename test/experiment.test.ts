// sdd.experiment: a config (preset name, YAML file or object) → data sets, models, distiller,
// optimizer, schedule and Trainer, the wiring `sdd-torch train` runs; `--seed` / options.seed fixes
// the student's initialisation, the data order and the augmentation.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sdd from '../lib/index.js';
import { writeCifarRun } from './helpers/cifar.js';

const root = path.resolve(__dirname, '..');
let dir = '';

beforeAll(async () => {
  sdd.setNumThreads(1);
  dir = mkdtempSync(path.join(os.tmpdir(), 'sdd-experiment-'));
  await writeCifarRun(dir);
});

afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** A small student alone on the synthetic CIFAR-100: 2 steps of 16 images. */
const SMALL = {
  DATASET: { TYPE: 'cifar100', TEST: { BATCH_SIZE: 16 } },
  DISTILLER: { TYPE: 'NONE', STUDENT: 'resnet8' },
  SOLVER: { EPOCHS: 1, BATCH_SIZE: 16 },
};

async function losses(seed: number, out: string): Promise<{ losses: number[]; firstBatch: Float32Array; result: sdd.FitResult }> {
  const steps: number[] = [];
  const experiment = await sdd.experiment.build(SMALL, {
    data: path.join(dir, 'data'), seed, limitBatches: 2, out: path.join(dir, out), progress: false,
    trainer: { onStep: (e) => steps.push(e.loss), log: () => {} },
  });
  let firstBatch = new Float32Array();
  for await (const b of experiment.loaders.train.epoch(1)) {
    firstBatch = b.images.toTypedArray() as Float32Array;
    sdd.dispose([b.images, b.targets]);
    break;
  }
  const result = await experiment.run();
  return { losses: steps, firstBatch, result };
}

describe('sdd.experiment.build', () => {
  it('wires a config object into a Trainer run, with the settings the config names', async () => {
    const e = await sdd.experiment.build({ ...SMALL, DISTILLER: { TYPE: 'SDD_DKD', TEACHER: 'resnet32x4', STUDENT: 'resnet8x4' }, DKD: { BETA: 2 } }, {
      data: path.join(dir, 'data'), teacherCheckpoint: path.join(dir, 'teacher.safetensors'), out: path.join(dir, 'wired'), progress: false,
    });
    expect(e.method).toBe('sdd_dkd');
    expect(e.settings).toMatchObject({ beta: 2, alpha: 1, temperature: 4, warmup: 20 });
    expect(e.distiller.name).toBe('sdd_dkd');
    expect(e.dataset.classes).toBe(100);
    expect(e.loaders.train.length).toBe(4); // 64 images, batch 16
    expect(e.schedule.name).toContain('multiStep');
    expect(e.summary).toContain('sdd_dkd | teacher resnet32x4 | student resnet8x4 | M [1,2,4] | 64 train / 32 test images');
    expect(e.trainer.opts.config).toMatchObject({ seed: 0, M: [1, 2, 4] });
  });

  it('the same seed trains alike (initialisation, data order, augmentation); another seed does not', async () => {
    const a = await losses(3, 'seed3-a');
    const b = await losses(3, 'seed3-b');
    const c = await losses(4, 'seed4');
    expect(a.losses.length).toBe(2);
    expect(b.losses).toEqual(a.losses);
    expect(b.firstBatch).toEqual(a.firstBatch);
    expect(c.losses).not.toEqual(a.losses);
    expect(c.firstBatch).not.toEqual(a.firstBatch);
  });

  it('`sdd-torch train --seed` runs the same experiment', async () => {
    const inProcess = await losses(5, 'seed5');
    const r = spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), 'train', '--set', 'DISTILLER.STUDENT=resnet8',
      '--set', 'SOLVER.EPOCHS=1', '--set', 'SOLVER.BATCH_SIZE=16', '--set', 'DATASET.TEST.BATCH_SIZE=16', '--data', 'data', '--out', 'cli-seed5',
      '--limit-batches', '2', '--threads', '1', '--seed', '5', '--no-progress'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const metrics = JSON.parse(readFileSync(path.join(dir, 'cli-seed5', 'metrics.jsonl'), 'utf8').trim().split('\n')[0]!);
    expect(metrics.train.loss).toBe(inProcess.result.history[0]!.train.loss);
    const bad = spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), 'train', '--seed', 'x', '--data', 'data'], { cwd: dir, encoding: 'utf8' });
    expect(bad.stderr).toContain('--seed must be a non-negative integer, got x');
  });

  it('reads a preset name, a YAML file or sections; errors name the key', () => {
    expect(sdd.experiment.resolveConfig('cifar100/sdd_kd/res32x4_res8x4').DISTILLER).toMatchObject({ TYPE: 'SDD_KD', STUDENT: 'resnet8x4_sdd' });
    const file = path.join(dir, 'mine.yaml');
    writeFileSync(file, 'SOLVER:\n  EPOCHS: 7\n  SCHEDULE: cosine\n');
    const cfg = sdd.experiment.resolveConfig(file, ['SOLVER.LR=0.1']);
    expect(cfg.SOLVER).toMatchObject({ EPOCHS: 7, SCHEDULE: 'cosine', LR: 0.1, BATCH_SIZE: 64 });
    expect(sdd.experiment.resolveConfig({ KD: { TEMPERATURE: 2 } }).KD).toEqual({ TEMPERATURE: 2, LOSS: { CE_WEIGHT: 0.1, KD_WEIGHT: 0.9 } });
    expect(() => sdd.experiment.resolveConfig({ SOLVER: { LRR: 1 } })).toThrow('unknown key SOLVER.LRR');
    expect(() => sdd.experiment.resolveConfig('cifar100/sdd_kd/nope')).toThrow('no such preset');
    expect(() => sdd.experiment.resolveConfig('./missing.yaml')).toThrow('cannot read config ./missing.yaml');
  });

  it('each distiller reads its own config section; registered ones bring their reader', () => {
    const cfg = sdd.experiment.configFrom({ DISTILLER: { TYPE: 'SDD_NKD' }, DKD: { BETA: 3, T: 2 } });
    expect(sdd.distillers.fromConfig(cfg)).toEqual({ name: 'sdd_nkd', settings: { ceWeight: 1, temperature: 2, gamma: 3, warmup: 20 } });
    expect(sdd.distillers.fromConfig(sdd.experiment.configFrom({ DISTILLER: { TYPE: 'kd' } })).settings).toEqual({ ceWeight: 0.1, kdWeight: 0.9, temperature: 4 });
    sdd.distillers.register('kd_t2', (o) => new sdd.distillers.KD({ ...o, temperature: 2 }), { fromConfig: (c) => ({ kdWeight: c.KD.LOSS.KD_WEIGHT }) });
    expect(sdd.distillers.fromConfig(sdd.experiment.configFrom({ DISTILLER: { TYPE: 'kd_t2' } }))).toEqual({ name: 'kd_t2', settings: { kdWeight: 0.9 } });
    expect(() => sdd.distillers.fromConfig(sdd.experiment.configFrom({ DISTILLER: { TYPE: 'XYZ' } }))).toThrow(/DISTILLER.TYPE XYZ is not supported \(NONE, KD, DKD, NKD, SDD_KD, SDD_DKD, SDD_NKD/);
  });

  it('data sets: one table of classes, a recipe per DATASET.TYPE', () => {
    expect(sdd.data.NUM_CLASSES).toMatchObject({ cifar100: 100, cifar10: 10, cub200: 200, imagenet: 1000, 'fashion-mnist': 10 });
    expect(sdd.experiment.datasetRecipe('imagenet')).toMatchObject({ classes: 1000, family: 'imagenet' });
    expect(sdd.models.create('resnet8', { dataset: 'cifar10' }).forward(sdd.zeros([1, 3, 32, 32])).logits.shape).toEqual([1, 10]);
    expect(() => sdd.experiment.datasetRecipe('svhn')).toThrow('DATASET.TYPE svhn is not supported (cifar100, cifar10, cub200, imagenet, fashion-mnist)');
  });
});
