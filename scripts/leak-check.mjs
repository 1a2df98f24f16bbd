// Long leak check outside the test runner: a small training loop inside tidy, RSS and live
// tensors printed every 10 000 steps. Usage: node scripts/leak-check.mjs [rounds=6]
import * as sdd from '../dist/index.js';

const rounds = Number(process.argv[2] ?? 6);
sdd.manualSeed(1);
const w1 = sdd.randn([8, 16], { requiresGrad: true });
const w2 = sdd.randn([16, 4], { requiresGrad: true });
const x = sdd.randn([32, 8]);
const y = sdd.randint(0, 4, [32]);
const step = () => sdd.tidy(() => {
  const loss = sdd.losses.crossEntropy(x.matmul(w1).relu().matmul(w2), y);
  loss.backward();
  sdd.noGrad(() => { for (const w of [w1, w2]) { w.sub_(w.grad, 0.01); w.zeroGrad(); } });
  return loss.item();
});
console.log('steps    rss MiB  heap MiB  liveTensors  bytes');
for (let k = 1; k <= rounds; k++) {
  for (let i = 0; i < 10000; i++) {
    step();
    if (i % 100 === 99) await new Promise((r) => setImmediate(r)); // finalizers run when the loop turns
  }
  const m = process.memoryUsage();
  const live = sdd.memory();
  console.log(`${String(k * 10000).padStart(6)}  ${(m.rss / 2 ** 20).toFixed(1).padStart(8)}  ${(m.heapUsed / 2 ** 20).toFixed(1).padStart(8)}  ${String(live.liveTensors).padStart(11)}  ${live.bytes}`);
}
