// `npm run experiment -- --seeds 3`: the demo's comparison over several seeds and all methods
// (vanilla, KD, SD-KD, DKD, SD-DKD, NKD, SD-NKD) on Fashion-MNIST. One teacher (resnet20, seed 0)
// is trained first (or loaded with --teacher); each method trains the student (resnet8) once per
// seed; seed s fixes the student's initial weights and the data order, so methods are compared on
// paired runs. Reports the last epoch's test top-1 (never the best epoch: choosing an epoch on the
// test split would be tuning on it) as mean ± sample std, in Markdown and JSON.
// A finished run is kept (<out>/<method>-seed<s>/result.json): re-running with the same --out
// resumes an interrupted experiment instead of starting over.
// Options: --seeds <n> (default 3), --methods a,b,... , --epochs <n> (3), --teacher-epochs <n> (3),
//          --train <n> (10000), --test <n> (10000), --teacher <resnet20.safetensors>, --out <dir>,
//          --threads <n>, --device cpu|cuda
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sdd from 'sdd-torch';
import { OPTIMIZER_TEXT, intOption, loadFashionMnist, option, testLoader, trainRun } from './fashion-mnist-runs.mjs';

const ALL_METHODS = ['vanilla', 'kd', 'sdd_kd', 'dkd', 'sdd_dkd', 'nkd', 'sdd_nkd'];
const LABEL = { vanilla: 'student alone', kd: 'KD', sdd_kd: 'SD-KD', dkd: 'DKD', sdd_dkd: 'SD-DKD', nkd: 'NKD', sdd_nkd: 'SD-NKD' };
const seeds = intOption('seeds', 3);
const methods = option('methods', ALL_METHODS.join(',')).split(',').map((m) => m.trim()).filter(Boolean);
for (const m of methods) {
  if (!ALL_METHODS.includes(m)) {
    console.error(`--methods: unknown method "${m}"; expected some of ${ALL_METHODS.join(', ')}`);
    process.exit(2);
  }
}
const epochs = intOption('epochs', 3);
const teacherEpochs = intOption('teacher-epochs', 3);
const nTrain = intOption('train', 10000);
const nTest = intOption('test', 10000);
const teacherFile = option('teacher', undefined);
const device = option('device', sdd.cuda.isAvailable() ? 'cuda' : 'cpu');
const threads = intOption('threads', Math.max(1, os.availableParallelism()));
const out = option('out', path.join('runs', `experiment-${new Date().toISOString().replace(/[:.]/g, '-')}`));
sdd.setNumThreads(threads);
mkdirSync(out, { recursive: true });

// The reference warms the DKD-family losses up over 20 of 240 epochs; scaled to this schedule that is
// under one epoch, i.e. full weight from the first epoch (the Trainer passes whole 1-based epochs).
// It is DKD.WARMUP, which only the DKD family (DKD, SD-DKD, SD-NKD) reads.
const warmup = (20 * epochs) / 240;

const data = await loadFashionMnist(nTrain, nTest);
const { trainSet, testSet } = data;
const command = `npm run experiment -- ${process.argv.slice(2).join(' ')}`.trim();
const config = { dataset: 'fashion-mnist (Debian dataset-fashion-mnist)', trainImages: trainSet.length, testImages: testSet.length,
  teacher: 'resnet20', student: 'resnet8', epochs, teacherEpochs, seeds: Array.from({ length: seeds }, (_, i) => i), methods,
  device, threads, optimizer: OPTIMIZER_TEXT, settings: 'reference defaults of each method (sdd-method.md §6); DKD-family warm-up scaled to the schedule',
  warmup, metric: 'test top-1 of the last epoch' };
writeFileSync(path.join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
console.log(`sdd-torch experiment: ${methods.length} methods × ${seeds} seeds, Fashion-MNIST ${trainSet.length} training / ${testSet.length} test images, ${epochs} epochs, ${device}, ${threads} thread(s); run folder ${out}`);

// The teacher: loaded, or trained once (seed 0) and kept in the run folder.
const teacherPath = teacherFile ?? path.join(out, 'teacher', 'final.safetensors');
let teacher;
let teacherTop1;
if (existsSync(teacherPath)) {
  teacher = sdd.models.create('resnet20', { numClasses: 10 });
  teacher.loadStateDict(await sdd.checkpoint.load(teacherPath));
  teacher.to(device).freeze();
  console.log(`teacher: resnet20 from ${teacherPath}`);
} else {
  if (teacherFile) {
    console.error(`--teacher: ${teacherFile} does not exist`);
    process.exit(2);
  }
  console.log(`teacher: training resnet20, ${teacherEpochs} epochs`);
  const r = await trainRun({ name: 'teacher', method: 'vanilla', model: 'resnet20', epochs: teacherEpochs, seed: 0, device, data, out });
  teacher = r.student.freeze();
}
teacherTop1 = (await sdd.evaluate(teacher, testLoader(testSet, device))).top1;
console.log(`teacher test top-1 ${(100 * teacherTop1).toFixed(2)}%`);

const runs = [];
const total = methods.length * seeds;
for (let seed = 0; seed < seeds; seed++) {
  for (const method of methods) {
    const name = `${method}-seed${seed}`;
    const resultFile = path.join(out, name, 'result.json');
    const k = runs.length + 1;
    if (existsSync(resultFile)) {
      runs.push(JSON.parse(readFileSync(resultFile, 'utf8')));
      console.log(`${k}/${total} ${LABEL[method]}, seed ${seed}: kept from an earlier run (${resultFile})`);
      continue;
    }
    console.log(`${k}/${total} ${LABEL[method]}, seed ${seed}`);
    const r = await trainRun({ name, method, model: 'resnet8', teacher: method === 'vanilla' ? undefined : teacher, epochs, seed, device, data, out, warmup });

    const row = { method, seed, top1: r.top1, best: r.best, seconds: r.seconds, history: r.history };
    writeFileSync(resultFile, `${JSON.stringify(row, null, 2)}\n`);
    runs.push(row);
  }
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (x) => (100 * x).toFixed(2);
const summary = methods.map((method) => {
  const mine = runs.filter((r) => r.method === method).sort((a, b) => a.seed - b.seed);
  const top1 = mine.map((r) => r.top1);
  return { method, label: LABEL[method], n: mine.length, top1Mean: mean(top1), top1Std: std(top1), perSeed: top1, secondsMean: mean(mine.map((r) => r.seconds)) };
});
// SDD against its base method on the same seeds (paired differences).
const paired = [['sdd_kd', 'kd'], ['sdd_dkd', 'dkd'], ['sdd_nkd', 'nkd']].filter(([a, b]) => methods.includes(a) && methods.includes(b)).map(([a, b]) => {
  const d = [];
  for (let s = 0; s < seeds; s++) {
    const x = runs.find((r) => r.method === a && r.seed === s), y = runs.find((r) => r.method === b && r.seed === s);
    if (x && y) d.push(x.top1 - y.top1);
  }
  return { sdd: a, base: b, deltaMean: mean(d), deltaStd: std(d), perSeed: d, wins: d.filter((v) => v > 0).length, n: d.length };
});

const lines = [
  `Fashion-MNIST, resnet20 teacher (test top-1 ${pct(teacherTop1)}%) → resnet8 student; ${trainSet.length} training / ${testSet.length} test images, ${epochs} epochs, ${seeds} seeds, ${device}.`,
  '',
  '| method | test top-1 (mean ± std) | per seed | time per run |',
  '|---|---:|---|---:|',
  ...summary.map((s) => `| ${s.label} | ${pct(s.top1Mean)} ± ${pct(s.top1Std)} % | ${s.perSeed.map(pct).join(', ')} | ${s.secondsMean.toFixed(0)} s |`),
  '',
  '| SDD vs its base, same seeds | Δ top-1 (mean ± std) | per seed | SDD better |',
  '|---|---:|---|---:|',
  ...paired.map((p) => `| ${LABEL[p.sdd]} − ${LABEL[p.base]} | ${p.deltaMean >= 0 ? '+' : ''}${pct(p.deltaMean)} ± ${pct(p.deltaStd)} pt | ${p.perSeed.map((v) => (v >= 0 ? '+' : '') + pct(v)).join(', ')} | ${p.wins}/${p.n} |`),
];
const markdown = `${lines.join('\n')}\n`;
writeFileSync(path.join(out, 'results.md'), markdown);
writeFileSync(path.join(out, 'results.json'), `${JSON.stringify({ command, config, teacher: { model: 'resnet20', top1: teacherTop1, file: teacherPath }, summary, paired, runs }, null, 2)}\n`);
console.log(`\n${markdown}\nrun folder: ${out} (results.md, results.json, config.json, <method>-seed<s>/metrics.jsonl, result.json, final.safetensors)`);
