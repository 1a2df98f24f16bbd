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
import { OPTIMIZER_TEXT, intOption, loadFashionMnist, option, trainRun } from './fashion-mnist-runs.mjs';

const nTrain = intOption('train', 10000);
const nTest = intOption('test', 5000);
const epochs = intOption('epochs', 3);
const teacherEpochs = intOption('teacher-epochs', 3);
const seed = Number(option('seed', '0'));
const device = option('device', sdd.cuda.isAvailable() ? 'cuda' : 'cpu');
const threads = intOption('threads', Math.max(1, os.availableParallelism()));
const out = option('out', path.join('runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`));
sdd.setNumThreads(threads);
mkdirSync(out, { recursive: true });

const data = await loadFashionMnist(nTrain, nTest);
const { trainSet, testSet } = data;
const config = { dataset: 'fashion-mnist (Debian dataset-fashion-mnist)', trainImages: trainSet.length, testImages: testSet.length,
  teacher: 'resnet20', student: 'resnet8', epochs, teacherEpochs, batchSize: 64, seed, device, threads,
  optimizer: OPTIMIZER_TEXT, kd: { temperature: 4, ceWeight: 0.1, kdWeight: 0.9 }, sdd: { scales: [1, 2, 4], complementaryWeight: 2 } };
writeFileSync(path.join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
console.log(`sdd-torch demo: Fashion-MNIST, ${trainSet.length} training / ${testSet.length} test images, ${device}, ${threads} thread(s); run folder ${out}`);

const run = (name, method, model, teacher, nEpochs) => trainRun({ name, method, model, teacher, epochs: nEpochs, seed, device, data, out });


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
