// `npm run experiment`: does SDD help, measured where it can show? The shipped Fashion-MNIST teacher
// (teachers/fashion-mnist-resnet20, resnet20) distils into a homogeneous student (resnet8) and a
// heterogeneous one (MobileNetV2, the reference's CIFAR variant), each with KD, SD-KD, DKD, SD-DKD and
// alone, plus SDD's complementary weight beta in {1, 2, 4} on resnet8 (beta = 1: multi-scale KD
// without the decoupling), over several seeds. Seed s fixes the student's initial weights and the
// data order, so methods are compared on paired runs.
// The training pipeline is deterministic (the test transforms: no crop or flip), so the teacher's
// global and multi-scale logits are computed once (<out>/teacher-outputs.safetensors) and every run
// reads them instead of running the teacher (sdd.distillers.OfflineTeacher).
// Resumable: each finished run is recorded in --record (default docs/results/fashion-mnist, committed);
// the same command skips recorded runs and runs the rest. --jobs N runs N runs at a time (one thread each).
// Reports the last epoch's test top-1 (never the best epoch: choosing one on the test split would be
// tuning on it) as mean ± sample std, and SDD minus its base per seed.
// Options: --seeds <n> (3), --train <n> (10000), --test <n> (10000), --epochs <n> (8), --jobs <n> (2),
//          --threads <n> (per job; 1 when jobs > 1), --only <pattern> (run ids containing it),
//          --report (no training: the tables from the record), --out <dir> (runs/experiment-fashion-mnist),
//          --record <dir>, --teacher <resnet20.safetensors>, --device cpu|cuda
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sdd from 'sdd-torch';
import { intOption, loadFashionMnist, loadTeacher, option, testLoader, trainRun } from './fashion-mnist-runs.mjs';
import { learningCurveSvgAsync } from './demo-plot.mjs';

const LABEL = { vanilla: 'student alone', kd: 'KD', sdd_kd: 'SD-KD', dkd: 'DKD', sdd_dkd: 'SD-DKD' };
/** The plan: each student with its methods; beta variants of SD-KD on the homogeneous pair. */
export const PLAN = [
  { pair: 'homogeneous', student: 'resnet8', runs: ['vanilla', 'kd', 'sdd_kd', 'dkd', 'sdd_dkd', 'sdd_kd@1', 'sdd_kd@4'] },
  { pair: 'heterogeneous', student: 'MobileNetV2', runs: ['vanilla', 'kd', 'sdd_kd', 'dkd', 'sdd_dkd'] },
];
const BATCH = 128, LR = 0.1;
const OPTIMIZER = `SGD lr ${LR} momentum 0.9 weight decay 5e-4, cosine schedule, batch ${BATCH}`;

const seeds = intOption('seeds', 3);
const nTrain = intOption('train', 10000);
const nTest = intOption('test', 10000);
const epochs = intOption('epochs', 8);
const jobs = intOption('jobs', 2);
const threads = intOption('threads', jobs > 1 ? 1 : Math.max(1, os.availableParallelism()));
const only = option('only', '');
const reportOnly = process.argv.includes('--report');
const worker = option('worker', '');
const out = option('out', path.join('runs', 'experiment-fashion-mnist'));
const record = option('record', path.join('docs', 'results', 'fashion-mnist'));
const device = option('device', sdd.cuda.isAvailable() ? 'cuda' : 'cpu');
sdd.setNumThreads(threads);
mkdirSync(out, { recursive: true });
mkdirSync(record, { recursive: true });

/** Every run of the plan, seed-major (a partial experiment has whole seeds first). */
function allRuns() {
  const runs = [];
  for (let seed = 0; seed < seeds; seed++) {
    for (const { pair, student, runs: methods } of PLAN) {
      for (const m of methods) {
        const [method, beta] = m.split('@');
        const id = `${student}-${method}${beta ? `-beta${beta}` : ''}-seed${seed}`;
        runs.push({ id, pair, student, method, beta: beta ? Number(beta) : method.startsWith('sdd') ? 2 : null, seed });
      }
    }
  }
  return only ? runs.filter((r) => r.id.includes(only)) : runs;
}

// the first nTrain training images (the IDX order: 942 to 1 027 per class for 10 000)
const data = await loadFashionMnist(nTrain, nTest);
const { trainSet } = data;
const runData = { trainSet, testSet: data.testSet };
const { teacher, file: teacherFile } = await loadTeacher(option('teacher', undefined), device);
const teacherSha = createHash('sha256').update(readFileSync(teacherFile)).digest('hex');
// what a recorded run must share with this command to count as one of its runs
const setting = { trainImages: trainSet.length, testImages: data.testSet.length, epochs, batch: BATCH, lr: LR, teacherSha256: teacherSha };
const transforms = sdd.experiment.datasetRecipe('fashion-mnist').transforms('test');
const offline = await sdd.distillers.OfflineTeacher.loadOrCompute(path.join(out, 'teacher-outputs.safetensors'), teacher, trainSet,
  { transforms, device, teacherName: `resnet20 ${teacherFile}` });

const recordFile = (id) => path.join(record, `${id}.json`);
function recorded(id) {
  if (!existsSync(recordFile(id))) return null;
  const r = JSON.parse(readFileSync(recordFile(id), 'utf8'));
  if (JSON.stringify(r.setting) !== JSON.stringify(setting)) {
    console.error(`${recordFile(id)} was made with another setting (${JSON.stringify(r.setting)}; this command: ${JSON.stringify(setting)}): ` +
      'use another --record folder, or remove the old records');
    process.exit(2);
  }
  return r;
}

async function runOne(run) {
  const t = run.method === 'vanilla' ? undefined : offline;
  const r = await trainRun({
    name: run.id, method: run.method, model: run.student, teacher: t, epochs, seed: run.seed, device, data: runData, out, augment: false,
    batchSize: BATCH, lr: LR, quiet: true, ...(run.method.includes('dkd') ? { warmup: 1 } : {}),
    ...(run.method.startsWith('sdd') ? { settings: { complementaryWeight: run.beta } } : {}),
  });
  r.student.dispose?.();
  const row = { ...run, setting, top1: r.top1, best: r.best, seconds: r.seconds, threads, history: r.history, finished: new Date().toISOString() };
  writeFileSync(recordFile(run.id), `${JSON.stringify(row, null, 2)}\n`);
  return row;
}

if (worker) {
  // one of --jobs processes: its share of the runs not recorded yet
  const [k, n] = worker.split('/').map(Number);
  const todo = allRuns().filter((r) => !recorded(r.id)).filter((_, i) => i % n === k);
  for (const run of todo) {
    const t0 = Date.now();
    console.log(`[job ${k}] ${run.id} ...`);
    const row = await runOne(run);
    console.log(`[job ${k}] ${run.id}: top-1 ${(100 * row.top1).toFixed(2)}% (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  process.exit(0);
}

const teacherTop1 = (await sdd.evaluate(teacher, testLoader(data.testSet, device))).top1;
const todo = allRuns().filter((r) => !recorded(r.id));
console.log(`sdd-torch experiment: Fashion-MNIST, ${trainSet.length} training / ${data.testSet.length} test images, ${epochs} epochs, ` +
  `${seeds} seeds; teacher resnet20 ${(100 * teacherTop1).toFixed(2)}% (stored outputs: ${path.join(out, 'teacher-outputs.safetensors')}); ` +
  `${allRuns().length - todo.length} runs recorded in ${record}, ${todo.length} to run, ${jobs} at a time`);
if (!reportOnly && todo.length > 0) {
  const script = fileURLToPath(import.meta.url);
  const args = process.argv.slice(2).filter((a, i, all) => a !== '--jobs' && all[i - 1] !== '--jobs');
  const codes = await Promise.all(Array.from({ length: Math.min(jobs, todo.length) }, (_, k) => new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args, '--jobs', String(jobs), '--worker', `${k}/${Math.min(jobs, todo.length)}`], { stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => child.kill(sig));
  })));
  if (codes.some((c) => c !== 0)) {
    console.error(`a job failed (exit codes ${codes.join(', ')}); the finished runs are recorded: run the same command again to go on`);
    process.exit(1);
  }
}

// ---------------------------------------------------------------- report
const rows = allRuns().map((r) => recorded(r.id)).filter(Boolean);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (x) => (100 * x).toFixed(2);
const signed = (x) => `${x >= 0 ? '+' : '−'}${pct(Math.abs(x))}`;
const label = (r) => `${LABEL[r.method]}${r.method.startsWith('sdd') && r.beta !== 2 ? ` (β = ${r.beta})` : ''}`;
const key = (r) => `${r.method}@${r.beta}`;
const lines = [
  `Fashion-MNIST: teacher resnet20 (shipped, test top-1 ${pct(teacherTop1)}%); students trained on the first ${trainSet.length} training images ` +
  `for ${epochs} epochs (${OPTIMIZER}; no augmentation: the teacher's outputs are stored once), tested on ${data.testSet.length} images; ` +
  `seeds ${[...new Set(rows.map((r) => r.seed))].sort().join(', ')} (the "seeds" column: how many each method has); last-epoch test top-1.`, '',
];
const summary = [];
for (const { pair, student } of PLAN) {
  const mine = rows.filter((r) => r.student === student);
  if (mine.length === 0) continue;
  const groups = [...new Set(mine.map(key))];
  lines.push(`### resnet20 → ${student} (${pair})`, '', '| method | test top-1 (mean ± std) | seeds | per seed | epoch before last | time per run |', '|---|---:|---:|---|---:|---:|');
  for (const g of groups) {
    const rs = mine.filter((r) => key(r) === g).sort((a, b) => a.seed - b.seed);
    const top1 = rs.map((r) => r.top1);
    const prev = rs.map((r) => r.history.at(-2)?.top1 ?? Number.NaN);
    summary.push({ student, method: rs[0].method, beta: rs[0].beta, n: rs.length, top1Mean: mean(top1), top1Std: std(top1), perSeed: top1 });
    lines.push(`| ${label(rs[0])} | ${pct(mean(top1))} ± ${pct(std(top1))} % | ${rs.length} | ${top1.map(pct).join(', ')} | ${pct(mean(prev))} % | ${mean(rs.map((r) => r.seconds)).toFixed(0)} s |`);
  }
  lines.push('', '| comparison, same seeds | Δ top-1 (mean ± std) | per seed | first better |', '|---|---:|---|---:|');
  const pairs = [['sdd_kd@2', 'kd@null'], ['sdd_dkd@2', 'dkd@null'], ['kd@null', 'vanilla@null'], ['sdd_kd@2', 'sdd_kd@1'], ['sdd_kd@4', 'sdd_kd@2']];
  for (const [a, b] of pairs) {
    const d = [];
    for (let s = 0; s < seeds; s++) {
      const x = mine.find((r) => key(r) === a && r.seed === s), y = mine.find((r) => key(r) === b && r.seed === s);
      if (x && y) d.push(x.top1 - y.top1);
    }
    if (d.length === 0) continue;
    const ra = mine.find((r) => key(r) === a), rb = mine.find((r) => key(r) === b);
    summary.push({ student, compare: `${a} - ${b}`, deltaMean: mean(d), deltaStd: std(d), perSeed: d });
    lines.push(`| ${label(ra)} − ${label(rb)} | ${signed(mean(d))} ± ${pct(std(d))} pt | ${d.map(signed).join(', ')} | ${d.filter((v) => v > 0).length}/${d.length} |`);
  }
  lines.push('');
}
// learning curves: the mean test top-1 per epoch of each method, one chart per student
for (const { student } of PLAN) {
  const mine = rows.filter((r) => r.student === student);
  if (mine.length === 0) continue;
  const curves = [...new Set(mine.map(key))].map((g) => {
    const rs = mine.filter((r) => key(r) === g);
    const history = rs[0].history.map((h, i) => ({ epoch: h.epoch, top1: mean(rs.map((r) => r.history[i].top1)) }));
    return { run: `${label(rs[0])}, mean of ${rs.length}`, model: student, history };
  });
  writeFileSync(path.join(record, `curves-${student}.svg`), await learningCurveSvgAsync(curves));
  lines.push(`Learning curves (mean test top-1 per epoch): [curves-${student}.svg](results/fashion-mnist/curves-${student}.svg)`, '');
}
const markdown = `${lines.join('\n')}\n`;
writeFileSync(path.join(record, 'results.md'), markdown);
writeFileSync(path.join(record, 'summary.json'), `${JSON.stringify({ command: 'npm run experiment', setting, teacher: { file: teacherFile, top1: teacherTop1 }, summary }, null, 2)}\n`);
console.log(`\n${markdown}records: ${record} (one JSON per run, results.md, summary.json); run folders: ${out}`);
