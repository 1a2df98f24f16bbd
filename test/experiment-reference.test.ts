// The experiment layer reads the authors' configs as the reference does: NKD's and SDD_DKD's
// settings, the scale lists, and the messages for a wrong data folder or teacher file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as sdd from '../lib/index.js';
import { writeCifar100 } from './helpers/cifar.js';
import { png } from './helpers/png.js';

const cfg = (sections: Record<string, unknown>) => sdd.experiment.configFrom(sections);

describe('config semantics of the reference', () => {
  it("NKD reads DKD.CE_WEIGHT and DKD.WARMUP (the reference's NKDLoss)", () => {
    const { settings } = sdd.distillers.fromConfig(cfg({ DISTILLER: { TYPE: 'NKD' }, DKD: { CE_WEIGHT: 0, WARMUP: 5 } }));
    expect(settings).toEqual({ ceWeight: 0, warmup: 5 });
  });
  it("SDD_DKD's warm-up is the reference's --warmup (default 20), not DKD.WARMUP; SDD_NKD and DKD read DKD.WARMUP", () => {
    expect(sdd.distillers.fromConfig(cfg({ DISTILLER: { TYPE: 'SDD_DKD' }, DKD: { WARMUP: 1 } })).settings.warmup).toBe(20);
    expect(sdd.distillers.fromConfig(cfg({ DISTILLER: { TYPE: 'SDD_NKD' }, DKD: { WARMUP: 1 } })).settings.warmup).toBe(1);
    expect(sdd.distillers.fromConfig(cfg({ DISTILLER: { TYPE: 'DKD' }, DKD: { WARMUP: 1 } })).settings.warmup).toBe(1);
  });
  it('the feature sections have the reference defaults; an unsupported method gets the one message', () => {
    const c = sdd.experiment.defaultConfig();
    for (const s of ['AT', 'FITNET', 'KDSVD', 'NST', 'PKT', 'RKD', 'SP']) expect(c[s], s).toBeTypeOf('object');
    expect(c.FITNET).toEqual({ HINT_LAYER: 2, INPUT_SIZE: [32, 32], LOSS: { CE_WEIGHT: 1.0, FEAT_WEIGHT: 100.0 } });
    expect(() => cfg({ CC: { X: 1 } })).toThrow(/section CC \(method CC\) is not supported \(NONE, KD, .*AT, FITNET.*: the methods sdd-torch runs\)/);
    expect(() => sdd.distillers.fromConfig(cfg({ DISTILLER: { TYPE: 'GL_DKD' } }))).toThrow(/reference has no GL_DKD distiller: it cannot run them either/);
  });
  it('SOLVER.TRAINER: base and crd (the instance-sample data set) are known, others are errors', async () => {
    await expect(sdd.experiment.build({ SOLVER: { TRAINER: 'fancy' } })).rejects.toThrow(/SOLVER.TRAINER fancy is not supported/);
  });
});

describe('scales, data folders and teacher files', () => {
  let dir = '';
  let data = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sdd-expref-'));
    data = path.join(dir, 'data');
    mkdirSync(path.join(data, 'cifar-100-binary'), { recursive: true });
    writeCifar100(path.join(data, 'cifar-100-binary', 'train.bin'), 4, 1);
    writeCifar100(path.join(data, 'cifar-100-binary', 'test.bin'), 2, 2);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const vanilla = (student: string) => ({ DISTILLER: { TYPE: 'NONE', STUDENT: student } });

  it("the reference's scale lists: MobileNetV2 (2x2 map) with [1, 2, 4] replicates as the reference; other lists need the opt-ins", async () => {
    const e = await sdd.experiment.build(vanilla('MobileNetV2'), { data, scales: [1, 2, 4], out: path.join(dir, 'r1'), progress: false });
    expect(e.scales).toEqual([1, 2, 4]);
    await expect(sdd.experiment.build(vanilla('resnet8x4'), { data, scales: [1, 3] })).rejects.toThrow(/allow-any-scales/);
    await expect(sdd.experiment.build(vanilla('MobileNetV2'), { data, scales: [1, 4], allowAnyScales: true })).rejects.toThrow(/replicate/i);
    const ok = await sdd.experiment.build(vanilla('MobileNetV2'), { data, scales: [1, 4], allowAnyScales: true, allowReplicate: true, out: path.join(dir, 'r2'), progress: false });
    expect(ok.scales).toEqual([1, 4]);
    expect(() => sdd.experiment.parseScales('1,3')).toThrow(/allow-any-scales/);
    expect(sdd.experiment.parseScales('1,3', { allowAnyScales: true })).toEqual([1, 3]);
  });

  it('a CUB folder given to a CIFAR config says DATASET.TYPE and what the folder holds', async () => {
    const cub = path.join(dir, 'cub');
    mkdirSync(path.join(cub, 'CUB_200_2011', 'images'), { recursive: true });
    await expect(sdd.experiment.build(vanilla('resnet8x4'), { data: cub })).rejects.toThrow(/no CIFAR-100 files found[^]*DATASET.TYPE is cifar100 \(the default when the config has no DATASET.TYPE[^]*CUB_200_2011 \(the CUB-200-2011 layout\)/);
  });

  it("FitNet on CUB-200 sizes its regressor at the student's 224x224 input (FITNET.INPUT_SIZE [32, 32] is the CIFAR default)", async () => {
    const cub = path.join(dir, 'cubdata', 'CUB_200_2011');
    const w = (f: string, b: Uint8Array | string) => { mkdirSync(path.dirname(path.join(cub, f)), { recursive: true }); writeFileSync(path.join(cub, f), b); };
    w('images/001.A/a.png', png(12, 10, 1)); w('images/002.B/b.png', png(12, 10, 2));
    w('images.txt', '1 001.A/a.png\n2 002.B/b.png\n'); w('image_class_labels.txt', '1 1\n2 2\n'); w('train_test_split.txt', '1 1\n2 0\n'); w('classes.txt', '1 001.A\n2 002.B\n');
    const sections = { DATASET: { TYPE: 'cub200' }, DISTILLER: { TYPE: 'FITNET', TEACHER: 'resnet32x4', STUDENT: 'resnet8x4' } };
    const teacher = sdd.models.create('resnet32x4', { numClasses: 200, dataset: 'cub200' }).freeze();
    const e = await sdd.experiment.build(sections, { data: path.dirname(cub), teacher, out: path.join(dir, 'r3'), progress: false });
    expect(e.settings.inputSize).toEqual([224, 224]);
    expect((e.student as { cub200?: boolean }).cub200).toBe(true);
    const set = await sdd.experiment.build(sections, { data: path.dirname(cub), teacher, set: ['FITNET.INPUT_SIZE=[112, 112]'], out: path.join(dir, 'r4'), progress: false });
    expect(set.settings.inputSize).toEqual([112, 112]);
  });

  it('a missing teacher file names the file and the option; a teacher of another architecture says so', async () => {
    const kd = { DISTILLER: { TYPE: 'KD', TEACHER: 'wrn_40_2', STUDENT: 'resnet8x4' } };
    const missing = path.join(dir, 'nope.pth');
    await expect(sdd.experiment.build(kd, { data, teacherCheckpoint: missing })).rejects.toThrow(new RegExp(`teacher checkpoint ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(--teacher-checkpoint, options.teacherCheckpoint\\) does not exist.*wrn_40_2`));
    const other = path.join(dir, 'resnet32x4.safetensors');
    await sdd.save(sdd.models.create('resnet32x4', { numClasses: 100 }).stateDict(), other);
    await expect(sdd.experiment.build(kd, { data, teacherCheckpoint: other })).rejects.toThrow(/looks like a different model than DISTILLER.TEACHER wrn_40_2: only \d+ of its \d+ keys[^]*CIFAR ResNet[^]*wrn_40_2 has \d+ keys[^]*WideResNet/);
  });
});
