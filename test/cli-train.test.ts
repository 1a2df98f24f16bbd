// `sdd-torch train` on one of the authors' YAML configs as it is, over a small synthetic CIFAR-100
// (binary format, written here byte-exact to the spec), and `sdd-torch eval` on its checkpoint.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sdd from '../lib/index.js';
import { waitForExit, waitForOutput } from './helpers/child.js';
import { writeCifarRun } from './helpers/cifar.js';
import { presetPath } from './helpers/fixtures.js';

const root = path.resolve(__dirname, '..');
const cli = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), ...args], { cwd, encoding: 'utf8', timeout: 300_000 });

let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sdd-cli-'));
  await writeCifarRun(dir);
});

afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

describe('sdd-torch train', () => {
  it('runs the reference SD-KD config (res32x4 -> res8x4) for a few steps and writes a run folder', () => {
    const config = presetPath('cifar100/sdd_kd/res32x4_res8x4.yaml');
    const r = cli(['train', '--config', config, '--set', 'SOLVER.EPOCHS=1', '--set', 'SOLVER.BATCH_SIZE=16', '--set', 'DATASET.TEST.BATCH_SIZE=16',
      '--teacher-checkpoint', 'teacher.safetensors', '--data', 'data', '--out', 'run', '--limit-batches', '2', '--M', '1,2,4', '--threads', '1', '--no-progress'], dir);
    expect(r.stderr).not.toMatch(/Error|error/);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('sdd-torch train: sdd_kd | teacher resnet32x4_sdd | student resnet8x4_sdd | M [1,2,4]');
    expect(r.stdout).toMatch(/epoch 1\/1 .* test top1/);
    const metrics = readFileSync(path.join(dir, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics[0].epoch).toBe(1);
    expect(metrics[0].train.terms).toHaveProperty('kd');
    expect(existsSync(path.join(dir, 'run', 'latest.safetensors'))).toBe(true);
  });

  it('--no-augment --teacher-outputs: computes the teacher outputs once, reads them on the next run, refuses them with augmentation', () => {
    const config = presetPath('cifar100/sdd_kd/res32x4_res8x4.yaml');
    const base = ['train', '--config', config, '--set', 'SOLVER.EPOCHS=1', '--set', 'SOLVER.BATCH_SIZE=16', '--set', 'DATASET.TEST.BATCH_SIZE=16',
      '--teacher-checkpoint', 'teacher.safetensors', '--data', 'data', '--limit-batches', '2', '--threads', '1', '--no-progress'];
    const first = cli([...base, '--no-augment', '--teacher-outputs', 'outputs.safetensors', '--out', 'run-offline'], dir);
    expect(first.status, first.stdout + first.stderr).toBe(0);
    const stored = sdd.distillers.OfflineTeacher.load(path.join(dir, 'outputs.safetensors'));
    expect([stored.length, stored.numClasses, stored.regions]).toEqual([64, 100, 21]);
    expect(stored.provenance.transforms).toEqual(['normalize(mean [0.5071,0.4867,0.4408], std [0.2675,0.2565,0.2761])']);
    expect(stored.provenance.teacher).toBe('resnet32x4_sdd teacher.safetensors');
    stored.dispose();
    const second = cli([...base, '--no-augment', '--teacher-outputs', 'outputs.safetensors', '--out', 'run-offline-2'], dir);
    expect(second.status, second.stdout + second.stderr).toBe(0);
    const augmented = cli([...base, '--teacher-outputs', 'outputs.safetensors', '--out', 'run-offline-3'], dir);
    expect(augmented.status).toBe(1);
    expect(augmented.stderr).toMatch(/the pipeline has random transforms \(randomCrop.*randomHorizontalFlip.*--no-augment/);
    expect(augmented.stderr).not.toMatch(/delete/);
    const fresh = cli([...base, '--teacher-outputs', 'fresh.safetensors', '--out', 'run-offline-4'], dir);
    expect(fresh.status).toBe(1);
    expect(fresh.stderr).toMatch(/random transforms \(randomCrop.*--no-augment/);
    expect(existsSync(path.join(dir, 'fresh.safetensors'))).toBe(false);
  });

  it('Ctrl-C finishes the current step, writes a checkpoint, and --resume completes the run', async () => {
    const config = presetPath('cifar100/sdd_kd/res32x4_res8x4.yaml');
    const args = ['train', '--config', config, '--set', 'SOLVER.EPOCHS=1', '--set', 'SOLVER.BATCH_SIZE=8', '--set', 'DATASET.TEST.BATCH_SIZE=16',
      '--teacher-checkpoint', 'teacher.safetensors', '--data', 'data', '--out', 'run-int', '--threads', '1', '--no-progress'];
    const child = spawn(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), ...args], { cwd: dir });
    // fails at once (with the child's output) if it exits before starting the run
    await waitForOutput(child, 'run folder', { stream: 'stdout', timeoutMs: 120_000 });
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const { code, stdout, stderr } = await waitForExit(child, { timeoutMs: 120_000 });
    expect(code, stdout + stderr).toBe(130);
    expect(stderr).toContain('finishing the current step and writing a checkpoint');
    expect(stdout).toMatch(/stopped \(SIGINT\) at epoch 1, batch \d+/);
    expect(existsSync(path.join(dir, 'run-int', 'latest.safetensors'))).toBe(true);
    const r = cli([...args, '--resume'], dir);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/epoch 1\/1 .* test top1/);
  });

  it('evaluates a checkpoint with `sdd-torch eval`', async () => {
    sdd.manualSeed(1);
    const m = sdd.models.create('resnet8x4', { numClasses: 100 });
    await sdd.save(m.stateDict(), path.join(dir, 'student.safetensors'));
    const r = cli(['eval', '--model', 'resnet8x4', '--checkpoint', 'student.safetensors', '--data', 'data', '--json'], dir);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.count).toBe(32);
    expect(out.top1).toBeGreaterThanOrEqual(0);
  });

  it('names a bad key, a wrong type, an unknown section and a missing teacher clearly', () => {
    const config = presetPath('cifar100/sdd_kd/res32x4_res8x4.yaml');
    let r = cli(['train', '--config', config, '--set', 'SOLVER.LRR=0.1'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('unknown key SOLVER.LRR (known keys of SOLVER: TRAINER, BATCH_SIZE');
    r = cli(['train', '--config', config, '--set', 'SOLVER.LR=fast'], dir);
    expect(r.stderr).toContain('SOLVER.LR must be a number, got string "fast"');
    // a section of a reference method sdd-torch does not run (CC): the one message listing the supported ones
    writeFileSync(path.join(dir, 'cc.yaml'), 'DISTILLER:\n  TYPE: CC\nCC:\n  FEAT_DIM: 128\n');
    r = cli(['train', '--config', 'cc.yaml'], dir);
    expect(r.stderr).toContain('section CC (method CC) is not supported (NONE, KD, DKD, NKD, SDD_KD, SDD_DKD, SDD_NKD, AT, FITNET');
    r = cli(['train', '--config', config, '--data', 'data'], dir);
    expect(r.stderr).toContain('SDD_KD needs a trained teacher: pass --teacher-checkpoint');
  });
});
