// `npm run demo`: the main job on real data. Fashion-MNIST (Debian's dataset-fashion-mnist) as
// 3-channel 32x32 images; the teacher is the one this repository ships (teachers/fashion-mnist-resnet20,
// resnet20 trained on all 60 000 images by `npm run train-teacher`). Its global and multi-scale logits
// are computed once for the training images (stored outputs: the pipeline is deterministic), then the
// same student (resnet8) is trained three ways: alone, with KD, with SD-KD — seed 0 of the homogeneous
// pair of `npm run experiment`, whose recorded results (docs/results/fashion-mnist) it prints beside
// its own. Writes a run folder (config, metrics JSONL per run, final checkpoints, results.json, a
// learning-curve SVG).
// Options: --train <n> (training images, default 10000), --test <n> (default 10000), --epochs <n>
//          (default 8), --teacher <resnet20.safetensors>, --out <dir>, --threads <n>, --seed <n>, --device cpu|cuda
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sdd from 'sdd-torch';
import { learningCurveSvgAsync } from './demo-plot.mjs';
import { intOption, loadFashionMnist, loadTeacher, option, testLoader, trainRun } from './fashion-mnist-runs.mjs';

const nTrain = intOption('train', 10000);
const nTest = intOption('test', 10000);
const epochs = intOption('epochs', 8);
const seed = Number(option('seed', '0'));
const device = option('device', sdd.cuda.isAvailable() ? 'cuda' : 'cpu');
const threads = intOption('threads', Math.max(1, os.availableParallelism()));
const out = option('out', path.join('runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`));
const BATCH = 128, LR = 0.1;
sdd.setNumThreads(threads);
mkdirSync(out, { recursive: true });

const t0 = performance.now();
const data = await loadFashionMnist(nTrain, nTest);
const { trainSet, testSet } = data;
const { teacher, file: teacherFile } = await loadTeacher(option('teacher', undefined), device);
const config = { dataset: 'fashion-mnist (Debian dataset-fashion-mnist)', trainImages: trainSet.length, testImages: testSet.length,
  teacher: `resnet20 (${teacherFile})`, student: 'resnet8', epochs, batchSize: BATCH, seed, device, threads,
  optimizer: `SGD lr ${LR} momentum 0.9 weight decay 5e-4, cosine schedule, batch ${BATCH}`, augmentation: 'none (stored teacher outputs)',
  kd: { temperature: 4, ceWeight: 0.1, kdWeight: 0.9 }, sdd: { scales: [1, 2, 4], complementaryWeight: 2 } };
writeFileSync(path.join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
console.log(`sdd-torch demo: Fashion-MNIST, ${trainSet.length} training / ${testSet.length} test images, ${device}, ${threads} thread(s); run folder ${out}`);

const teacherTop1 = (await sdd.evaluate(teacher, testLoader(testSet, device))).top1;
console.log(`1/4 teacher: resnet20 from ${teacherFile}, test top-1 ${(100 * teacherTop1).toFixed(2)}%; storing its outputs for the ${trainSet.length} training images`);
const transforms = sdd.experiment.datasetRecipe('fashion-mnist').transforms('test');
const ts = performance.now();
const offline = await sdd.distillers.teacherOutputs(teacher, trainSet, { transforms, device, file: path.join(out, 'teacher-outputs.safetensors'), teacherName: `resnet20 ${teacherFile}` });
console.log(`  stored ${offline.length} × (${offline.numClasses} global + ${offline.numClasses}×${offline.regions} region logits) in ${((performance.now() - ts) / 1000).toFixed(1)} s`);

const run = (name, method, t) => trainRun({ name, method, model: 'resnet8', teacher: t, epochs, seed, device, data, out, augment: false, batchSize: BATCH, lr: LR });
const results = [{ name: 'teacher', model: 'resnet20', method: 'shipped', top1: teacherTop1, best: teacherTop1, seconds: 0, history: [] }];
console.log(`2/4 student alone: resnet8, ${epochs} epochs`);
results.push(await run('student', 'vanilla', undefined));
console.log('3/4 KD: resnet8 from the teacher');
results.push(await run('kd', 'kd', offline));
console.log('4/4 SD-KD: resnet8 from the teacher, scales [1, 2, 4], complementary weight 2');
results.push(await run('sdd_kd', 'sdd_kd', offline));

const rows = results.map((r) => ({ run: r.name, model: r.model, method: r.method, top1: +(100 * r.top1).toFixed(2), best: +(100 * r.best).toFixed(2), seconds: +r.seconds.toFixed(1), history: r.history }));
writeFileSync(path.join(out, 'results.json'), `${JSON.stringify({ config, results: rows }, null, 2)}\n`);
writeFileSync(path.join(out, 'learning-curves.svg'), await learningCurveSvgAsync(rows.filter((r) => r.history.length > 0)));
console.log('\n| run | model | method | test top-1 (last epoch) | best epoch | time |');
console.log('|---|---|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.run} | ${r.model} | ${r.method} | ${r.top1.toFixed(2)}% | ${r.best.toFixed(2)}% | ${r.seconds ? `${r.seconds.toFixed(0)} s` : '-'} |`);

// where this run stands against the experiment's recorded seeds (same setting: its seed 0 is this run)
const summaryFile = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'results', 'fashion-mnist', 'summary.json');
const byName = Object.fromEntries(rows.map((r) => [r.method, r.top1]));
console.log(`\nSD-KD − KD in this run: ${(byName.sdd_kd - byName.kd >= 0 ? '+' : '')}${(byName.sdd_kd - byName.kd).toFixed(2)} points; KD − student alone: ${(byName.kd - byName.vanilla >= 0 ? '+' : '')}${(byName.kd - byName.vanilla).toFixed(2)}`);
if (existsSync(summaryFile)) {
  const s = JSON.parse(readFileSync(summaryFile, 'utf8'));
  const same = s.setting.trainImages === trainSet.length && s.setting.epochs === epochs && s.setting.batch === BATCH;
  const find = (m) => s.summary.find((x) => x.student === 'resnet8' && x.method === m && (x.beta ?? null) === (m.startsWith('sdd') ? 2 : null));
  const cmp = s.summary.find((x) => x.student === 'resnet8' && x.compare === 'sdd_kd@2 - kd@null');
  const f = (x) => (x ? `${(100 * x.top1Mean).toFixed(2)} ± ${(100 * x.top1Std).toFixed(2)}% (${x.n} seeds)` : 'not recorded');
  console.log(`the experiment (npm run experiment, docs/results.md${same ? '' : '; another setting than this run'}): student alone ${f(find('vanilla'))}, ` +
    `KD ${f(find('kd'))}, SD-KD ${f(find('sdd_kd'))}` +
    (cmp ? `; SD-KD − KD ${(cmp.deltaMean >= 0 ? '+' : '')}${(100 * cmp.deltaMean).toFixed(2)} ± ${(100 * cmp.deltaStd).toFixed(2)} points over seeds` : ''));
}
console.log(`\nrun folder: ${out} (config.json, results.json, learning-curves.svg, teacher-outputs.safetensors, <run>/metrics.jsonl, <run>/final.safetensors); ` +
  `${((performance.now() - t0) / 60000).toFixed(1)} min`);
