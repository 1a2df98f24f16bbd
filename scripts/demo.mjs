// `npm run demo`: the main job on real data. Fashion-MNIST (Debian's dataset-fashion-mnist) as
// 3-channel 32x32 images; a teacher (resnet20) is trained first, then the same student (resnet8)
// three ways: alone, with KD, with SD-KD. Prints a table and writes a run folder (config, metrics
// JSONL per run, final checkpoints, results.json, a learning-curve SVG).
// Options: --train <n> (training images, default 10000), --test <n> (default 5000), --epochs <n>
//          (default 3), --teacher-epochs <n> (default 3), --out <dir>, --threads <n>, --seed <n>, --device cpu|cuda
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sdd from 'sdd-torch';
import { learningCurveSvgAsync } from './demo-plot.mjs';

const arg = (name, d) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : d; };
const nTrain = Number(arg('train', '10000'));
const nTest = Number(arg('test', '5000'));
const epochs = Number(arg('epochs', '3'));
const teacherEpochs = Number(arg('teacher-epochs', '3'));
const seed = Number(arg('seed', '0'));
const device = arg('device', sdd.cuda.isAvailable() ? 'cuda' : 'cpu');
const threads = Number(arg('threads', String(Math.max(1, os.availableParallelism()))));
const out = arg('out', path.join('runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`));
sdd.setNumThreads(threads);
mkdirSync(out, { recursive: true });

const root = '/usr/share/datasets/fashion-mnist';
let train, test;
try {
  [train, test] = await Promise.all([sdd.data.fashionMnist(root, { split: 'train' }), sdd.data.fashionMnist(root, { split: 'test' })]);
} catch (e) {
  console.error(`${e.message}\nInstall the data set: apt-get install dataset-fashion-mnist (npm install does it as root on Debian/Ubuntu).`);
  process.exit(1);
}

/** The zoo's CIFAR models take 3x32x32: repeat the gray channel (the transforms pad 28 -> 32). */
function threeChannels(ds, n) {
  const count = Math.min(n, ds.length);
  const images = sdd.tidy(() => ds.images.narrow(0, 0, count).unsqueeze(1).expand([count, 3, 28, 28]).contiguous());
  return new sdd.data.TensorDataset(images, ds.targets.subarray(0, count), { classes: ds.classes, owned: true });
}
const trainSet = threeChannels(train, nTrain);
const testSet = threeChannels(test, nTest);
const mean = [0.286, 0.286, 0.286], std = [0.353, 0.353, 0.353];
const T = sdd.transforms;
const trainLoader = new sdd.data.DataLoader(trainSet, { batchSize: 64, shuffle: true, seed, device,
  transforms: [T.pad(2), T.randomCrop(32, { padding: 2 }), T.randomHorizontalFlip(), T.normalize(mean, std)] });
const testLoader = new sdd.data.DataLoader(testSet, { batchSize: 256, device, transforms: [T.pad(2), T.normalize(mean, std)] });

const config = { dataset: 'fashion-mnist (Debian dataset-fashion-mnist)', trainImages: trainSet.length, testImages: testSet.length,
  teacher: 'resnet20', student: 'resnet8', epochs, teacherEpochs, batchSize: 64, seed, device, threads,
  optimizer: 'SGD lr 0.05 momentum 0.9 weight decay 5e-4, cosine schedule', kd: { temperature: 4, ceWeight: 0.1, kdWeight: 0.9 }, sdd: { scales: [1, 2, 4], complementaryWeight: 2 } };
writeFileSync(path.join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
console.log(`sdd-torch demo: Fashion-MNIST, ${trainSet.length} training / ${testSet.length} test images, ${device}, ${threads} thread(s); run folder ${out}`);

async function run(name, method, model, teacher, nEpochs) {
  sdd.manualSeed(seed);
  const student = sdd.models.create(model, { numClasses: 10 }).to(device);
  const optimizer = sdd.optim.sgd(student.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const distiller = sdd.distillers.create(method, { teacher, student, optimizer });
  const trainer = new sdd.Trainer({ distiller, train: trainLoader, test: testLoader, epochs: nEpochs, outDir: path.join(out, name),
    schedule: sdd.schedules.cosine({ epochs: nEpochs }), config: { ...config, run: name, method, model },
    log: (l) => console.log(`  [${name}] ${l}`) });
  const t0 = performance.now();
  const r = await trainer.fit();
  const seconds = (performance.now() - t0) / 1000;
  await sdd.save(student.stateDict(), path.join(out, name, 'final.safetensors'));
  const last = r.history[r.history.length - 1];
  return { name, method, model, top1: last.test.top1, best: r.best.top1, seconds, history: r.history.map((h) => ({ epoch: h.epoch, top1: h.test.top1, loss: h.train.loss })), student };
}

console.log(`1/4 teacher: resnet20, ${teacherEpochs} epochs`);
const teacherRun = await run('teacher', 'vanilla', 'resnet20', undefined, teacherEpochs);
const teacher = teacherRun.student.freeze();
const results = [teacherRun];
console.log(`2/4 student alone: resnet8, ${epochs} epochs`);
results.push(await run('student', 'vanilla', 'resnet8', undefined, epochs));
console.log('3/4 KD: resnet8 from the teacher');
results.push(await run('kd', 'kd', 'resnet8', teacher, epochs));
console.log('4/4 SD-KD: resnet8 from the teacher, scales [1, 2, 4]');
results.push(await run('sdd_kd', 'sdd_kd', 'resnet8', teacher, epochs));

const rows = results.map((r) => ({ run: r.name, model: r.model, method: r.method, top1: +(100 * r.top1).toFixed(2), best: +(100 * r.best).toFixed(2), seconds: +r.seconds.toFixed(1), history: r.history }));
writeFileSync(path.join(out, 'results.json'), `${JSON.stringify({ config, results: rows }, null, 2)}\n`);
writeFileSync(path.join(out, 'learning-curves.svg'), await learningCurveSvgAsync(rows));
console.log('\n| run | model | method | test top-1 (last) | best | time |');
console.log('|---|---|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.run} | ${r.model} | ${r.method} | ${r.top1.toFixed(2)}% | ${r.best.toFixed(2)}% | ${r.seconds.toFixed(0)} s |`);
console.log(`\nrun folder: ${out} (config.json, results.json, learning-curves.svg, <run>/metrics.jsonl, <run>/final.safetensors)`);
