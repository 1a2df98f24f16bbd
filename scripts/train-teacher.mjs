// `npm run train-teacher`: the Fashion-MNIST teacher this repository ships (teachers/fashion-mnist-resnet20/).
// resnet20 on all 60 000 training images (3-channel, padded to 32x32, random crop + flip), seed 0,
// SGD lr 0.1 momentum 0.9 weight decay 5e-4, batch 128, cosine schedule over --epochs (default 10),
// evaluated on the 10 000 test images each epoch. The run folder keeps the Trainer's checkpoints, so
// an interrupted run resumes where it stopped (same command). At the end the final weights, the
// training log and teacher.json (accuracy, command, SHA-256 of the weights) are written to --dest.
// Options: --epochs <n> (10), --threads <n>, --out <run folder> (runs/teacher-fashion-mnist-resnet20),
//          --dest <dir> (teachers/fashion-mnist-resnet20)
import { copyFileSync, createReadStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import * as sdd from 'sdd-torch';
import { intOption, loadFashionMnist, option } from './fashion-mnist-runs.mjs';

const epochs = intOption('epochs', 10);
const threads = intOption('threads', Math.max(1, os.availableParallelism()));
const out = option('out', path.join('runs', 'teacher-fashion-mnist-resnet20'));
const dest = option('dest', path.join('teachers', 'fashion-mnist-resnet20'));
const seed = 0;
sdd.setNumThreads(threads);

const data = await loadFashionMnist(60000, 10000);
const config = {
  DATASET: { TYPE: 'fashion-mnist', TEST: { BATCH_SIZE: 512 } },
  DISTILLER: { TYPE: 'vanilla', TEACHER: 'resnet20', STUDENT: 'resnet20' },
  SOLVER: { BATCH_SIZE: 128, EPOCHS: epochs, LR: 0.1, MOMENTUM: 0.9, WEIGHT_DECAY: 5e-4, SCHEDULE: 'cosine' },
};
const experiment = await sdd.experiment.build(config, {
  datasets: { train: data.trainSet, test: data.testSet }, seed, out, progress: 'auto', trainer: { log: (l) => console.log(`  ${l}`) },
});
const resume = existsSync(path.join(out, 'latest.safetensors'));
console.log(`${experiment.summary}${resume ? ' (resuming)' : ''}`);
const t0 = performance.now();
const result = await experiment.run({ resume });
const minutes = (performance.now() - t0) / 60000;
if (result.interrupted) process.exit(1);

mkdirSync(dest, { recursive: true });
const weights = path.join(dest, 'resnet20.safetensors');
await sdd.checkpoint.save(experiment.student.stateDict(), weights);
copyFileSync(path.join(out, 'metrics.jsonl'), path.join(dest, 'train-log.jsonl'));
const sha256 = await new Promise((resolve, reject) => {
  const h = createHash('sha256');
  createReadStream(weights).on('data', (b) => h.update(b)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
});
const last = result.history[result.history.length - 1];
const info = {
  model: 'resnet20', numClasses: 10, dataset: 'fashion-mnist', trainImages: data.trainSet.length, testImages: data.testSet.length,
  input: '3x32x32: the gray channel repeated, padded by 2, normalised (sdd.experiment.datasetRecipe("fashion-mnist"))',
  top1: last.test.top1, epochs, seed, solver: config.SOLVER, augmentation: 'random crop 32 (padding 2) + horizontal flip',
  command: `npm run train-teacher -- ${process.argv.slice(2).join(' ')}`.trim(), minutes: +minutes.toFixed(1), threads,
  machine: `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores`, file: 'resnet20.safetensors', sha256,
};
writeFileSync(path.join(dest, 'teacher.json'), `${JSON.stringify(info, null, 2)}\n`);
console.log(`teacher: test top-1 ${(100 * last.test.top1).toFixed(2)}% after ${epochs} epochs (${minutes.toFixed(1)} min); ${weights} sha256 ${sha256}`);
