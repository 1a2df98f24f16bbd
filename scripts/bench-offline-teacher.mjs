// `npm run bench:offline-teacher`: what stored teacher outputs save per training step. One SD-KD step
// (and one KD step) of a student from a resnet20 teacher, the teacher run on the batch (live) or its
// outputs read by sample index (sdd.distillers.OfflineTeacher), interleaved round by round (live and
// stored alternate, the order reversed every other round) so load from other processes hits both.
// Reports the median step time of each and the median per-round ratio stored/live.
// Options: --threads <n> (1), --rounds <n> (7), --iters <n> (steps per round and side, 5), --batch <n> (128),
//          --students a,b (resnet8,MobileNetV2)
import * as sdd from 'sdd-torch';
import { intOption, option } from './fashion-mnist-runs.mjs';

const threads = intOption('threads', 1);
const rounds = intOption('rounds', 7);
const iters = intOption('iters', 5);
const batch = intOption('batch', 128);
const students = option('students', 'resnet8,MobileNetV2').split(',');
sdd.setNumThreads(threads);

const N = 4 * batch;
sdd.manualSeed(0);
const images = sdd.randint(0, 256, [N, 3, 32, 32], { dtype: 'uint8' });
const trainSet = new sdd.data.TensorDataset(images, Array.from({ length: N }, (_, i) => i % 10), { owned: true });
const transforms = [sdd.transforms.normalize('fashion-mnist')];
const teacher = sdd.models.create('resnet20', { numClasses: 10 }).freeze();
const offline = await sdd.distillers.teacherOutputs(teacher, trainSet, { transforms });
const loader = new sdd.data.DataLoader(trainSet, { batchSize: batch, transforms });
const batches = [];
for await (const b of loader.epoch(1)) batches.push(b);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`stored vs live teacher outputs: resnet20 teacher, batch ${batch}, ${threads} thread(s), ${rounds} rounds × ${iters} steps\n`);
console.log('| method | student | live teacher, ms/step | stored outputs, ms/step | stored / live |');
console.log('|---|---|---:|---:|---:|');
for (const method of ['sdd_kd', 'kd']) {
  for (const name of students) {
    const make = (t) => {
      sdd.manualSeed(1);
      const student = sdd.models.create(name, { numClasses: 10, allowReplicate: true });
      return sdd.distillers.create(method, { teacher: t, student, optimizer: sdd.optim.sgd(student, { lr: 0.01, momentum: 0.9 }) });
    };
    const sides = { live: make(teacher), stored: make(offline) };
    const time = (side) => {
      const d = sides[side];
      const t0 = performance.now();
      for (let i = 0; i < iters; i++) {
        const b = batches[i % batches.length];
        d.step({ images: b.images, targets: b.targets, indices: b.indices });
      }
      return (performance.now() - t0) / iters;
    };
    time('live'); time('stored'); // warm-up
    const ms = { live: [], stored: [] };
    const ratios = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? ['live', 'stored'] : ['stored', 'live'];
      const t = {};
      for (const side of order) t[side] = time(side);
      ms.live.push(t.live); ms.stored.push(t.stored);
      ratios.push(t.stored / t.live);
    }
    console.log(`| ${method} | ${name} | ${median(ms.live).toFixed(0)} | ${median(ms.stored).toFixed(0)} | ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) |`);
  }
}
