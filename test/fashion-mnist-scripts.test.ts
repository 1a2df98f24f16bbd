// The shipped Fashion-MNIST teacher (teachers/fashion-mnist-resnet20) and the scripts built on it:
// the weights are the ones teacher.json describes (SHA-256) and score its recorded test top-1 on the
// real test set; `npm run demo` and `npm run experiment` run end to end on small settings, the
// experiment skips recorded runs when run again and refuses records of another setting.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sdd from '../lib/index.js';
import { waitForExit, waitForOutput } from './helpers/child.js';

const root = path.resolve(__dirname, '..');
const TEACHER = path.join(root, 'teachers', 'fashion-mnist-resnet20');
const FASHION = '/usr/share/datasets/fashion-mnist';
let dir = '';

beforeAll(() => {
  sdd.setNumThreads(2);
  dir = mkdtempSync(path.join(os.tmpdir(), 'sdd-fmnist-scripts-'));
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const node = (args: string[], timeout = 600_000) => spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout, env: { ...process.env, FORCE_COLOR: '0' } });

describe('the shipped teacher', () => {
  const info = JSON.parse(readFileSync(path.join(TEACHER, 'teacher.json'), 'utf8')) as { sha256: string; top1: number; model: string; trainImages: number; epochs: number };

  it('is the file teacher.json describes, trained on all 60 000 images, with its log', () => {
    const bytes = readFileSync(path.join(TEACHER, 'resnet20.safetensors'));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(info.sha256);
    expect(info.model).toBe('resnet20');
    expect(info.trainImages).toBe(60000);
    const log = readFileSync(path.join(TEACHER, 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { test?: { top1: number } });
    const epochs = log.filter((l) => l.test);
    expect(epochs.length).toBe(info.epochs);
    expect(epochs.at(-1)!.test!.top1).toBe(info.top1);
  });

  it('scores its recorded test top-1 on the Fashion-MNIST test set', async () => {
    expect(existsSync(path.join(FASHION, 't10k-images-idx3-ubyte.gz')), `${FASHION} is missing: apt-get install dataset-fashion-mnist`).toBe(true);
    const teacher = sdd.models.create('resnet20', { numClasses: 10 });
    teacher.loadStateDict(await sdd.checkpoint.load(path.join(TEACHER, 'resnet20.safetensors')));
    teacher.freeze();
    const test = await sdd.experiment.openDataset('fashion-mnist', FASHION, 'test');
    const loader = new sdd.data.DataLoader(test, { batchSize: 500, transforms: sdd.experiment.datasetRecipe('fashion-mnist').transforms('test') });
    const { top1, count } = await sdd.evaluate(teacher, loader);
    expect(count).toBe(10000);
    expect(top1).toBeGreaterThan(0.9);
    // the same weights and data: the same images right, up to a rare float tie (a few images at most)
    expect(Math.abs(top1 - info.top1)).toBeLessThanOrEqual(0.0005);
  });
});

describe('npm run experiment', () => {
  const record = () => path.join(dir, 'record');
  const args = (epochs = '1') => ['scripts/experiment.mjs', '--train', '256', '--test', '256', '--epochs', epochs, '--seeds', '1', '--jobs', '1',
    '--only', 'resnet8-sdd_kd-seed0', '--record', record(), '--out', path.join(dir, 'exp')];

  it('runs, records each run, and a second call only reports', () => {
    const first = node(args());
    expect(first.status, first.stderr + first.stdout).toBe(0);
    expect(first.stdout).toMatch(/0 runs recorded in .*, 1 to run, 1 at a time/);
    expect(first.stdout).toMatch(/\| SD-KD \| \d+\.\d\d ± 0\.00 % \| 1 \|/);
    const rec = JSON.parse(readFileSync(path.join(record(), 'resnet8-sdd_kd-seed0.json'), 'utf8')) as { method: string; beta: number; setting: { trainImages: number }; history: unknown[] };
    expect(rec).toMatchObject({ method: 'sdd_kd', beta: 2, setting: { trainImages: 256 } });
    expect(rec.history.length).toBe(1);
    expect(existsSync(path.join(dir, 'exp', 'teacher-outputs.safetensors'))).toBe(true);
    const again = node(args());
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/1 runs recorded in .*, 0 to run/);
    expect(readdirSync(record()).filter((f) => f.endsWith('.json') && f.startsWith('resnet8')).length).toBe(1);
  });

  it('refuses records made with another setting', () => {
    const other = node(args('2'));
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/was made with another setting .*use another --record folder/);
  });
});

describe('npm run demo', () => {
  it('distils from the shipped teacher through stored outputs and prints the table', () => {
    const out = path.join(dir, 'demo');
    const r = node(['scripts/demo.mjs', '--train', '256', '--test', '256', '--epochs', '1', '--out', out]);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/teacher: resnet20 from .*resnet20\.safetensors, test top-1 \d+\.\d\d%/);
    expect(r.stdout).toMatch(/stored 256 × \(10 global \+ 10×21 region logits\)/);
    for (const row of ['student | resnet8 | vanilla', 'kd | resnet8 | kd', 'sdd_kd | resnet8 | sdd_kd']) expect(r.stdout).toContain(row);
    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as { results: { run: string }[] };
    expect(results.results.map((x) => x.run)).toEqual(['teacher', 'student', 'kd', 'sdd_kd']);
    expect(readFileSync(path.join(out, 'learning-curves.svg'), 'utf8')).toMatch(/^<svg/);
    writeFileSync(path.join(dir, 'demo.log'), r.stdout);
  });

  it('SIGTERM stops the whole demo after the current step (exit 143), not only the run it is in', async () => {
    const out = path.join(dir, 'demo-term');
    const child = spawn(process.execPath, ['scripts/demo.mjs', '--train', '4096', '--test', '256', '--epochs', '3', '--out', out], { cwd: root, env: { ...process.env, FORCE_COLOR: '0' } });
    await waitForOutput(child, '2/4 student alone', { timeoutMs: 300_000 });
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGTERM');
    const r = await waitForExit(child, { timeoutMs: 120_000 });
    expect(r.code, r.all).toBe(143);
    expect(r.stderr).toMatch(/\[student\] interrupted by SIGTERM: stopped/);
    expect(r.stdout).not.toContain('3/4 KD');
    expect(existsSync(path.join(out, 'student', 'latest.safetensors'))).toBe(true);
  });
});

