// The loader: epoch order as a function of (seed, epoch), resumes, prefetch/worker settings that
// do not change results, memory on early exit, distributed sharding, the event loop staying free
// during an epoch, and a loader inside worker_threads.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as sdd from '../lib/index.js';
import * as T from '../lib/data/transforms.js';
import { binary } from '../lib/core/native.js';
import { permutation, Xoshiro128 } from '../lib/data/rng.js';

const { data } = sdd;

function randomImages(n: number, shape: number[], seed = 1): Uint8Array {
  const rng = new Xoshiro128(BigInt(seed));
  const out = new Uint8Array(n * shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = rng.nextU32() & 255;
  return out;
}

function cifarLike(n: number, seed = 1): sdd.data.TensorDataset {
  const images = sdd.tensor(randomImages(n, [3, 32, 32], seed), { shape: [n, 3, 32, 32], dtype: 'uint8' });
  return new data.TensorDataset(images, Array.from({ length: n }, (_, i) => i % 100), { owned: true });
}

async function collect(it: AsyncIterable<sdd.data.Batch>): Promise<{ indices: number[][]; images: Float32Array[]; targets: bigint[][] }> {
  const out = { indices: [] as number[][], images: [] as Float32Array[], targets: [] as bigint[][] };
  for await (const b of it) {
    out.indices.push(Array.from(b.indices));
    out.images.push(b.images.toTypedArray() as Float32Array);
    out.targets.push(Array.from(b.targets.toTypedArray() as BigInt64Array));
    sdd.dispose(b);
  }
  return out;
}

describe('DataLoader order', () => {
  it('each epoch is a function of (seed, epoch): same across loaders, runs and settings', async () => {
    const ds = cifarLike(70);
    const opts = { batchSize: 16, shuffle: true, seed: 42, transforms: T.cifarTrain() };
    const a = new data.DataLoader(ds, opts);
    const b = new data.DataLoader(ds, { ...opts, prefetch: 0, workers: 1 });
    const c = new data.DataLoader(ds, { ...opts, prefetch: 6, workers: 3, threadsPerBatch: 2 });
    const ea = await collect(a.epoch(3));
    const eb = await collect(b.epoch(3));
    const ec = await collect(c.epoch(3));
    expect(ea.indices.length).toBe(5);
    expect(ea.indices.flat().sort((x, y) => x - y)).toEqual([...Array(70).keys()]);
    expect(ea.indices.flat()).toEqual(Array.from(permutation(70, 42, 3)));
    for (const other of [eb, ec]) {
      expect(other.indices).toEqual(ea.indices);
      expect(other.targets).toEqual(ea.targets);
      other.images.forEach((im, i) => expect(im).toEqual(ea.images[i]));
    }
    expect(ea.targets.flat()).toEqual(ea.indices.flat().map((i) => BigInt(i % 100)));
    const e4 = await collect(a.epoch(4));
    expect(e4.indices).not.toEqual(ea.indices);
    const other = await collect(new data.DataLoader(ds, { ...opts, seed: 43 }).epoch(3));
    expect(other.indices).not.toEqual(ea.indices);
    ds.dispose();
  });

  it('for-await runs the next epoch and advances; setEpoch and startBatch resume exactly', async () => {
    const ds = cifarLike(50);
    const loader = new data.DataLoader(ds, { batchSize: 8, shuffle: true, seed: 7, transforms: T.cifarTrain() });
    expect(loader.length).toBe(7);
    expect(loader.nextEpoch).toBe(0);
    const e0 = await collect(loader);
    const e1 = await collect(loader);
    expect(loader.nextEpoch).toBe(2);
    expect(e0.indices.flat()).toEqual(Array.from(permutation(50, 7, 0)));
    expect(e1.indices.flat()).toEqual(Array.from(permutation(50, 7, 1)));
    // A "restarted process": a new loader, told the epoch, and resuming at batch 4 of it.
    const resumed = new data.DataLoader(ds, { batchSize: 8, shuffle: true, seed: 7, transforms: T.cifarTrain() });
    resumed.setEpoch(1);
    expect(await collect(resumed)).toEqual(e1);
    const tail = await collect(resumed.epoch(1, { startBatch: 4 }));
    expect(tail.indices).toEqual(e1.indices.slice(4));
    tail.images.forEach((im, i) => expect(im).toEqual(e1.images[4 + i]));
    ds.dispose();
  });

  it('without shuffle: 0..n-1; dropLast drops the short batch', async () => {
    const ds = cifarLike(10);
    const plain = await collect(new data.DataLoader(ds, { batchSize: 4 }));
    expect(plain.indices).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    const dropped = new data.DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(dropped.length).toBe(2);
    expect((await collect(dropped)).indices).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    // no transforms: pixels / 255
    const raw = ds.images.toTypedArray() as Uint8Array;
    expect(plain.images[0]![5]).toBeCloseTo(raw[5]! / 255, 6);
    ds.dispose();
  });

  it('breaking out frees the batches prepared ahead; nothing leaks', async () => {
    const ds = cifarLike(200);
    const before = sdd.memory().liveTensors;
    const loader = new data.DataLoader(ds, { batchSize: 10, prefetch: 5, transforms: T.cifarTrain() });
    let n = 0;
    for await (const b of loader) {
      sdd.dispose(b);
      if (++n === 3) break;
    }
    // the abandoned batches land (on a busy machine, not at once) and are freed
    for (let i = 0; i < 100 && sdd.memory().liveTensors !== before; i++) await new Promise((r) => setTimeout(r, 50));
    expect(sdd.memory().liveTensors).toBeLessThanOrEqual(before); // a leak adds; the GC safety net may free older garbage meanwhile
    ds.dispose();
  });

  it('rejects bad options clearly', () => {
    const ds = cifarLike(4);
    expect(() => new data.DataLoader(ds, { batchSize: 0 })).toThrow(/Expected an integer >= 1 for options.batchSize/);
    expect(() => new data.DataLoader(ds, { bogus: 1 } as never)).toThrow(/Unknown option 'bogus'/);
    expect(() => new data.DataLoader(ds, { seed: -1 })).toThrow(/options.seed/);
    expect(() => new data.DataLoader(ds, { device: 'cuda' })).toThrow(/CUDA is not available/);
    expect(() => new data.DataLoader(ds, { transforms: [T.normalize('cifar100'), T.randomHorizontalFlip()] })).toThrow(/must come last/);
    expect(() => new data.DataLoader(ds, { shuffle: true, sampler: new data.SequentialSampler(4) })).toThrow(/either options.sampler or options.shuffle/);
    ds.dispose();
  });
});

describe('DistributedSampler', () => {
  /** torch.utils.data.DistributedSampler.__iter__, transcribed, over a given epoch order. */
  function torchShard(order: number[], rank: number, world: number, dropLast: boolean): number[] {
    const n = order.length;
    const numSamples = dropLast && n % world !== 0 ? Math.ceil((n - world) / world) : Math.ceil(n / world);
    const total = numSamples * world;
    let indices = [...order];
    if (!dropLast) {
      const padding = total - indices.length;
      if (padding <= indices.length) indices = indices.concat(indices.slice(0, padding));
      else indices = indices.concat(Array.from({ length: Math.ceil(padding / indices.length) }, () => indices).flat().slice(0, padding));
    } else {
      indices = indices.slice(0, total);
    }
    return indices.filter((_, i) => i >= rank && (i - rank) % world === 0).slice(0, numSamples);
  }

  it('shards like torch: disjoint, covering, padded by repetition (or cut with dropLast)', () => {
    for (const [n, world] of [[10, 3], [12, 4], [2, 5], [7, 1], [100, 8]] as const) {
      for (const dropLast of [false, true]) {
        for (const shuffle of [false, true]) {
          const order = shuffle ? Array.from(permutation(n, 5, 2)) : [...Array(n).keys()];
          const shards = Array.from({ length: world }, (_, rank) => new data.DistributedSampler(n, { rank, worldSize: world, shuffle, seed: 5, dropLast }));
          const got = shards.map((s) => Array.from(s.indices(2)));
          got.forEach((g, rank) => expect(g).toEqual(torchShard(order, rank, world, dropLast)));
          const lengths = new Set(got.map((g) => g.length));
          expect(lengths.size).toBe(1);
          if (!dropLast) expect(new Set(got.flat()).size).toBe(n); // every index somewhere
          if (dropLast || n % world === 0) expect(new Set(got.flat()).size).toBe(got.flat().length); // disjoint
        }
      }
    }
  });

  it('drives a loader per rank; epochs differ, ranks agree on the order', async () => {
    const ds = cifarLike(30);
    const ranks = [0, 1, 2].map((rank) => new data.DataLoader(ds, { batchSize: 4, sampler: new data.DistributedSampler(30, { rank, worldSize: 3, seed: 1 }) }));
    const seen = (await Promise.all(ranks.map((l) => collect(l.epoch(0))))).map((r) => r.indices.flat());
    expect(seen.flat().sort((a, b) => a - b)).toEqual([...Array(30).keys()]);
    const next = await collect(ranks[0]!.epoch(1));
    expect(next.indices.flat()).not.toEqual(seen[0]);
    expect(() => new data.DistributedSampler(10, { rank: 3, worldSize: 3 })).toThrow(/options.rank/);
    ds.dispose();
  });
});

describe('the event loop during an epoch', () => {
  it('a timer keeps firing on time while 3 epochs of 5000 CIFAR images are augmented and batched', async () => {
    const ds = cifarLike(5000, 3);
    const loader = new data.DataLoader(ds, { batchSize: 64, shuffle: true, seed: 1, transforms: T.cifarTrain() });
    let maxLag = 0;
    let ticks = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last - 5);
      last = now;
      ticks++;
    }, 5);
    const t0 = performance.now();
    let images = 0;
    for (let epoch = 0; epoch < 3; epoch++) {
      for await (const b of loader) {
        images += b.images.shape[0]!;
        // a "training step": a little work on the main thread and a wait, as a real loop has
        const m = b.images.mean();
        m.dispose();
        sdd.dispose(b);
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    console.log(`3 epochs of 5000 images: ${(images / seconds).toFixed(0)} images/s with the steps, timer max lag ${maxLag.toFixed(1)} ms over ${ticks} ticks`);
    expect(images).toBe(15000);
    expect(ticks).toBeGreaterThan(20);
    expect(maxLag).toBeLessThan(100);
    ds.dispose();
  });
});

describe('worker_threads', () => {
  it('a loader runs inside a worker and gives the same batches as on the main thread', async () => {
    // Compile lib/ once for the worker (workers load plain JS), next to node_modules.
    const out = path.resolve('node_modules/.cache/sdd-data-test');
    mkdirSync(out, { recursive: true });
    try {
      execFileSync(process.execPath, [path.resolve('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', path.join(out, 'dist'), '--declaration', 'false', '--sourceMap', 'false'], { stdio: 'pipe' });
    } catch {
      // type errors elsewhere in lib/ still emit JS; a missing file is caught below
    }
    writeFileSync(path.join(out, 'package.json'), '{ "type": "module" }\n');
    // dist/core/native.js imports ../../scripts/prebuilds.mjs (the prebuild-tag reader), as in the package
    mkdirSync(path.join(out, 'scripts'), { recursive: true });
    copyFileSync(path.resolve('scripts/prebuilds.mjs'), path.join(out, 'scripts', 'prebuilds.mjs'));
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const data = await import(workerData.dir + '/data/index.js');
        const T = await import(workerData.dir + '/data/transforms.js');
        const { tensor } = await import(workerData.dir + '/core/creation.js');
        const px = new Uint8Array(workerData.px);
        const ds = new data.TensorDataset(tensor(px, { shape: [20, 3, 32, 32], dtype: 'uint8' }), Array.from({ length: 20 }, (_, i) => i % 100), { owned: true });
        const loader = new data.DataLoader(ds, { batchSize: 8, shuffle: true, seed: 11, transforms: T.cifarTrain() });
        const sums = [];
        for await (const b of loader) {
          sums.push(Array.from(b.images.toTypedArray()).reduce((a, v) => a + v, 0));
          b.images.dispose(); b.targets.dispose();
        }
        ds.dispose();
        parentPort.postMessage({ sums });
      })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
    const px = randomImages(20, [3, 32, 32], 9);
    const run = () => new Promise<{ sums?: number[]; error?: string }>((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { dir: path.join(out, 'dist'), px }, env: { ...process.env, SDD_TORCH_BINARY: binary().file } });
      w.once('message', (m) => { resolve(m); void w.terminate(); });
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`worker exited with code ${code} before posting a result`))); // no-op after resolve
    });
    const [a, b] = await Promise.all([run(), run()]);
    expect(a.error).toBeUndefined();
    expect(b.error).toBeUndefined();
    const ds = new data.TensorDataset(sdd.tensor(px, { shape: [20, 3, 32, 32], dtype: 'uint8' }), Array.from({ length: 20 }, (_, i) => i % 100), { owned: true });
    const main = await collect(new data.DataLoader(ds, { batchSize: 8, shuffle: true, seed: 11, transforms: T.cifarTrain() }));
    const sums = main.images.map((im) => Array.from(im).reduce((s, v) => s + v, 0));
    expect(a.sums!.length).toBe(3);
    a.sums!.forEach((s, i) => expect(s).toBeCloseTo(sums[i]!, 3));
    expect(b.sums).toEqual(a.sums);
    ds.dispose();
  });
});
