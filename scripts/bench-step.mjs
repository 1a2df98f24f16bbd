// Interleaved Node vs Python timing of the full distillation step (bench/step.{mjs,py}), same
// threads, medians over rounds. Usage: node scripts/bench-step.mjs [--threads 1] [--rounds 5] [--iters 3]
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, d) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : d; };
const threads = Number(arg('threads', '1')), rounds = Number(arg('rounds', '5')), iters = Number(arg('iters', '3'));
const python = process.env.SDD_BENCH_PYTHON ?? '/usr/bin/python3';
const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };

function worker(cmd, args) {
  const p = spawn(cmd, args, { cwd: root, env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  return { run: async () => { p.stdin.write('go\n'); const { value } = await lines.next(); return JSON.parse(value); }, close: () => p.stdin.end() };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const sides = {
  'node sdd_kd': worker(process.execPath, ['bench/step.mjs', threads, 'sdd_kd', iters, rounds]),
  'node kd': worker(process.execPath, ['bench/step.mjs', threads, 'kd', iters, rounds]),
  'python sdd_kd': worker(python, ['bench/step.py', threads, 'sdd_kd', iters, rounds]),
  'python kd': worker(python, ['bench/step.py', threads, 'kd', iters, rounds]),
};
const results = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  const order = Object.keys(sides);
  if (r % 2) order.reverse();
  for (const k of order) results[k].push(await sides[k].run());
}
for (const s of Object.values(sides)) s.close();
const summary = {};
for (const [k, rs] of Object.entries(results)) {
  summary[k] = { ms: median(rs.map((r) => r.ms)), parts: Object.fromEntries(Object.keys(rs[0].parts).map((p) => [p, median(rs.map((r) => r.parts[p]))])) };
}
console.log(`full step, teacher resnet32x4 -> student resnet8x4, B=64, ${threads} thread(s), ${rounds} rounds x ${iters} steps (medians)`);
console.log('| side | step | student fwd | teacher fwd | loss | backward | clip+optimizer |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const [k, s] of Object.entries(summary)) {
  const p = s.parts;
  console.log(`| ${k} | ${s.ms.toFixed(1)} ms | ${p.student_fwd.toFixed(1)} | ${p.teacher_fwd.toFixed(1)} | ${p.loss.toFixed(2)} | ${p.backward.toFixed(1)} | ${p.optimizer.toFixed(1)} |`);
}
const r = (a, b) => (summary[a].ms / summary[b].ms).toFixed(3);
console.log(`\nNode / Python, SD-KD step: ${r('node sdd_kd', 'python sdd_kd')}x; KD step: ${r('node kd', 'python kd')}x`);
console.log(`SD-KD over KD: Node +${((summary['node sdd_kd'].ms / summary['node kd'].ms - 1) * 100).toFixed(1)}%, Python +${((summary['python sdd_kd'].ms / summary['python kd'].ms - 1) * 100).toFixed(1)}%`);
console.log(JSON.stringify(summary));
