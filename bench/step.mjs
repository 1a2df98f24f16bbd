// The full SD-KD (or KD) training step in sdd-torch, the twin of bench/step.py: teacher resnet32x4
// (frozen: eval, no grad), student resnet8x4, B=64, CIFAR shapes, SGD 0.05/0.9/5e-4, clip 40.
// Prints one JSON line per block when the driver writes a line to stdin.
// Usage: node bench/step.mjs <threads> <method kd|sdd_kd> <iters> <rounds> [--frozen]
import { createInterface } from 'node:readline';
import * as sdd from '../dist/index.js';

const [threads, method, iters, rounds] = [Number(process.argv[2]), process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
const frozen = process.argv.includes('--frozen');
sdd.setNumThreads(threads);
sdd.manualSeed(0);
const teacher = sdd.models.create('resnet32x4', { numClasses: 100 });
if (frozen) teacher.freeze(); else teacher.eval();
const student = sdd.models.create('resnet8x4', { numClasses: 100 });
const optimizer = sdd.optim.sgd(student.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
const x = sdd.randn([64, 3, 32, 32]);
const y = sdd.randint(0, 100, [64]);
const T = () => performance.now();

function step(parts) {
  return sdd.tidy(() => {
    const t0 = T();
    optimizer.zeroGrad();
    student.train();
    const s = student.forward(x);
    const t1 = T();
    const t = sdd.noGrad(() => teacher.forward(x));
    const t2 = T();
    const ce = sdd.losses.crossEntropy(s.logits, y).mul(0.1);
    const kd = method === 'sdd_kd' ? sdd.losses.sddKd(s.scaleLogits, t.scaleLogits, y, { temperature: 4 }) : sdd.losses.kd(s.logits, t.logits, { temperature: 4 });
    const loss = ce.add(kd.mul(0.9));
    const t3 = T();
    loss.backward();
    const t4 = T();
    sdd.optim.clipGradNorm(student.parameters(), 40);
    optimizer.step();
    const v = loss.item();
    const t5 = T();
    for (const [k, d] of [['student_fwd', t1 - t0], ['teacher_fwd', t2 - t1], ['loss', t3 - t2], ['backward', t4 - t3], ['optimizer', t5 - t4]]) parts[k] = (parts[k] ?? 0) + d;
    return v;
  });
}

step({});
const rl = createInterface({ input: process.stdin });
let done = 0;
for await (const _ of rl) {
  const parts = {};
  const t = T();
  for (let i = 0; i < iters; i++) step(parts);
  const ms = (T() - t) / iters;
  console.log(JSON.stringify({ method, ms, parts: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, v / iters])) }));
  if (++done >= rounds) break;
}
rl.close();
