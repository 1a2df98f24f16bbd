// Data loading throughput: CIFAR-style augmentation (randomCrop 32 pad 4 + horizontal flip +
// normalize, batch 64) over 50,000 in-memory 3×32×32 images, one epoch per run, and the step time
// of a small training step fed by the loader vs. fed a ready batch. Twin: data_loader.py
// (torchvision's DataLoader, num_workers=2, on the same images). Prints one JSON line.
//   npm run build:ts && node bench/data_loader.mjs [--images 50000] [--epochs 3] [--steps 300]
const dist = process.env.SDD_DIST ?? '../dist';
const sdd = await import(`${dist}/index.js`);
const T = await import(`${dist}/data/transforms.js`);
const { data } = sdd;

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('images', 50000);
const EPOCHS = arg('epochs', 3);
const STEPS = arg('steps', 600);
const LR = 0; // the weights stay put, so every step costs the same (training drifts into denormals)
const RING = arg('ring', 4);
const B = 64;

// Deterministic pixels, the same as data_loader.py's: the top byte of i * 2654435761 mod 2^32.
const px = new Uint8Array(N * 3072);
for (let i = 0; i < px.length; i++) px[i] = (Math.imul(i, 2654435761 | 0) >>> 0) >>> 24;
const targets = Array.from({ length: N }, (_, i) => i % 100);
const ds = new data.TensorDataset(sdd.tensor(px, { shape: [N, 3, 32, 32], dtype: 'uint8' }), targets, { owned: true });

async function epochRate(opts) {
  const rates = [];
  for (let e = 0; e < EPOCHS; e++) {
    const loader = new data.DataLoader(ds, { batchSize: B, shuffle: true, seed: 1, transforms: T.cifarTrain('cifar100'), ...opts });
    const t0 = performance.now();
    let n = 0;
    for await (const b of loader.epoch(e)) {
      n += b.images.shape[0];
      b.images.dispose();
      b.targets.dispose();
    }
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return { median: Math.round(rates[rates.length >> 1]), best: Math.round(rates[rates.length - 1]) };
}

// A training step: 3072 -> 512 -> 100 MLP, cross-entropy, backward, SGD.
const w1 = sdd.randn([512, 3072]).mul(0.02).requiresGrad_();
const w2 = sdd.randn([100, 512]).mul(0.04).requiresGrad_();
function step(images, y) {
  sdd.tidy(() => {
    const x = images.reshape([images.shape[0], 3072]);
    const loss = sdd.losses.crossEntropy(x.matmul(w1.T).relu().matmul(w2.T), y);
    loss.backward();
    sdd.noGrad(() => {
      for (const w of [w1, w2]) {
        const gr = w.grad;
        w.sub_(gr.mul(LR));
        w.zeroGrad();
      }
    });
  });
}

// Alternating blocks of steps on a ready batch and steps fed by a running loader (the order
// swapped every round); medians over the rounds of the per-step time of each.
async function stepTimes() {
  const loader = new data.DataLoader(ds, { batchSize: B, shuffle: true, seed: 1, transforms: T.cifarTrain('cifar100'), dropLast: true });
  let epoch = 0;
  let it = loader.epoch(epoch);
  const next = async () => {
    let r = await it.next();
    if (r.done) {
      it = loader.epoch(++epoch);
      r = await it.next();
    }
    return r.value;
  };
  // RING ready batches, cycled: one batch reused would let the step converge on it and slow down
  // in denormal arithmetic; a few keep it honest while staying in cache like a fresh batch.
  const ready = [];
  for (let i = 0; i < RING; i++) ready.push(await next());
  const ROUNDS = 12;
  const block = Math.max(10, Math.round(STEPS / ROUNDS));
  const fixedT = [];
  const fedT = [];
  const runFixed = () => {
    const t0 = performance.now();
    for (let i = 0; i < block; i++) step(ready[i % RING].images, ready[i % RING].targets);
    fixedT.push((performance.now() - t0) / block);
  };
  const runFed = async () => {
    const t0 = performance.now();
    for (let i = 0; i < block; i++) {
      const b = await next();
      step(b.images, b.targets);
      b.images.dispose();
      b.targets.dispose();
    }
    fedT.push((performance.now() - t0) / block);
  };
  for (let i = 0; i < 10; i++) step(ready[i % RING].images, ready[i % RING].targets); // warm up
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) { runFixed(); await runFed(); } else { await runFed(); runFixed(); }
  }
  await it.return();
  for (const r of ready) sdd.dispose(r);
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const fixed = med(fixedT);
  const fed = med(fedT);
  const ratio = med(fedT.map((f, i) => f / fixedT[i]));
  return { fixedMs: +fixed.toFixed(3), withLoaderMs: +fed.toFixed(3), overheadPct: +(100 * (ratio - 1)).toFixed(1), rounds: ROUNDS, stepsPerBlock: block };
}

const result = {
  bench: 'data_loader', side: 'sdd-torch', images: N, batch: B, cores: (await import('node:os')).availableParallelism(),
  uvThreadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)', torchThreads: sdd.getNumThreads(),
  workers2: await epochRate({ workers: 2 }),
  workers1: await epochRate({ workers: 1 }),
  workers2threads2: await epochRate({ workers: 2, threadsPerBatch: 2 }),
  step: await stepTimes(),
};
console.log(JSON.stringify(result));
ds.dispose();
