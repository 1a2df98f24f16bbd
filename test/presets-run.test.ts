// Every one of the authors' 132 presets through the experiment layer: one training step each on
// small synthetic data of its layout (CIFAR-100 binary 32x32; CUB-200-2011 and ImageNet folders of
// tiny PNGs, resized to 224 by the transforms), with an untrained teacher saved to a file (one per
// architecture). Presets of methods sdd-torch does not run fail with the one unsupported-method
// message; the three GL_DKD presets (a method the reference does not have either) say so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import * as sdd from '../lib/index.js';
import { writeCifar100 } from './helpers/cifar.js';
import { png } from './helpers/png.js';

const { presetNames, presetFile } = sdd.experiment;

const write = (file: string, bytes: Uint8Array | string) => { mkdirSync(path.dirname(file), { recursive: true }); writeFileSync(file, bytes); };

let dir = '';
const roots: Record<'cifar100' | 'cub200' | 'imagenet', string> = { cifar100: '', cub200: '', imagenet: '' };

function writeData(): void {
  roots.cifar100 = path.join(dir, 'cifar');
  mkdirSync(path.join(roots.cifar100, 'cifar-100-binary'), { recursive: true });
  writeCifar100(path.join(roots.cifar100, 'cifar-100-binary', 'train.bin'), 4, 1);
  writeCifar100(path.join(roots.cifar100, 'cifar-100-binary', 'test.bin'), 2, 2);
  // CUB-200-2011: 4 images of 3 classes, 2 train and 2 test
  roots.cub200 = path.join(dir, 'cub');
  const cub = path.join(roots.cub200, 'CUB_200_2011');
  const imgs = [[1, '001.A/a1.png', 1, 1], [2, '002.B/b1.png', 2, 1], [3, '001.A/a2.png', 1, 0], [4, '200.C/c1.png', 200, 0]] as const;
  for (const [id, rel] of imgs) write(path.join(cub, 'images', rel), png(12, 10, id));
  write(path.join(cub, 'images.txt'), imgs.map(([id, rel]) => `${id} ${rel}`).join('\n') + '\n');
  write(path.join(cub, 'image_class_labels.txt'), imgs.map(([id, , c]) => `${id} ${c}`).join('\n') + '\n');
  write(path.join(cub, 'train_test_split.txt'), imgs.map(([id, , , t]) => `${id} ${t}`).join('\n') + '\n');
  write(path.join(cub, 'classes.txt'), '1 001.A\n2 002.B\n200 200.C\n');
  // ImageNet: train/ and val/, two classes, one image each
  roots.imagenet = path.join(dir, 'imagenet');
  let k = 10;
  for (const split of ['train', 'val']) for (const c of ['n01440764', 'n01443537']) write(path.join(roots.imagenet, split, c, `${k}.png`), png(12, 12, k++));
}

interface Raw { DATASET?: { TYPE?: string }; DISTILLER?: { TYPE?: string; TEACHER?: string }; SOLVER?: { TRAINER?: string } }
const raw = (name: string): Raw => parse(readFileSync(presetFile(name), 'utf8')) as Raw;
const datasetOf = (r: Raw): 'cifar100' | 'cub200' | 'imagenet' => (r.DATASET?.TYPE ?? 'cifar100') as 'cifar100' | 'cub200' | 'imagenet';

/** A method sdd-torch runs: DISTILLER.TYPE resolves in the registry. */
const registered = (type: string): boolean => {
  try { sdd.distillers.fromConfig(sdd.experiment.configFrom({ DISTILLER: { TYPE: type } })); return true; } catch { return false; }
};
const instanceSample = existsSync(path.join(__dirname, '..', 'lib', 'data', 'instance-sample.ts'));

/** An untrained teacher per (data set, architecture), saved once. */
const teachers = new Map<string, string>();
async function teacherFile(dataset: 'cifar100' | 'cub200' | 'imagenet', name: string): Promise<string> {
  const key = `${dataset}:${name}`;
  let file = teachers.get(key);
  if (!file) {
    file = path.join(dir, `teacher-${teachers.size}.safetensors`);
    sdd.manualSeed(0);
    const t = sdd.models.create(name, { numClasses: sdd.data.NUM_CLASSES[dataset], scales: [1, 2, 4], dataset, allowReplicate: true });
    await sdd.save(t.stateDict(), file);
    teachers.set(key, file);
  }
  return file;
}

const names = presetNames();
const expectedFailures: string[] = [];

describe('every preset trains one step', () => {
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sdd-presets-'));
    writeData();
  });
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('there are the 132 presets of the reference', () => {
    expect(names.length).toBe(132);
    expect(names.filter((n) => raw(n).DISTILLER?.TYPE === 'GL_DKD')).toEqual([
      'cifar100/sdd_dkd/resnet32_mobinetv2', 'cifar100/sdd_kd/resnet32_mobinetv2', 'cifar100/sdd_nkd/resnet32_mobinetv2']);
  });

  for (const name of names) {
    it(name, async () => {
      const r = raw(name);
      const type = r.DISTILLER?.TYPE ?? 'NONE';
      const dataset = datasetOf(r);
      const opts = async () => ({
        data: roots[dataset], out: path.join(dir, 'runs', name), progress: false as const, workers: 1, limitBatches: 1, seed: 0,
        set: ['SOLVER.BATCH_SIZE=2', 'SOLVER.EPOCHS=1', 'DATASET.TEST.BATCH_SIZE=2'],
        trainer: { log: () => {} },
        ...(type === 'NONE' ? {} : { teacherCheckpoint: await teacherFile(dataset, r.DISTILLER!.TEACHER!) }),
      });
      if (type === 'GL_DKD') {
        await expect(sdd.experiment.build(name, { data: roots[dataset] })).rejects.toThrow(/GL_DKD is not supported \(.*\).*the reference has no GL_DKD distiller: it cannot run them either/);
        return;
      }
      if (!registered(type)) {
        expectedFailures.push(`${name} (${type})`);
        await expect(sdd.experiment.build(name, { data: roots[dataset] })).rejects.toThrow(new RegExp(`${type}.* is not supported \\(NONE, KD, .*: the methods sdd-torch runs\\)`));
        return;
      }
      if (r.SOLVER?.TRAINER === 'crd' && !instanceSample) {
        expectedFailures.push(`${name} (SOLVER.TRAINER crd)`);
        await expect(sdd.experiment.build(name, await opts())).rejects.toThrow(/SOLVER.TRAINER crd .*CRD training cannot run/);
        return;
      }
      const ends: { train: { loss?: number; terms: Record<string, number> } }[] = [];
      const o = await opts();
      const exp = await sdd.experiment.build(name, { ...o, trainer: { ...o.trainer, onEpochEnd: (e: never) => { ends.push(e); } } });
      const result = await exp.run();
      expect(result.epochs).toBe(1);
      expect(ends.length).toBe(1);
      for (const v of Object.values(ends[0]!.train.terms)) expect(Number.isFinite(v)).toBe(true);
    }, 60_000);
  }

  it('lists the presets that fail as expected', () => {
    // methods not registered (CRD, ...) and the CRD trainer
    console.log(`presets expected to fail (${expectedFailures.length}): ${expectedFailures.join(', ')}`);
    expect(expectedFailures.every((f) => /CRD|REVIEWKD|OFD|VID|SOLVER\.TRAINER/.test(f))).toBe(true);
  });
});
