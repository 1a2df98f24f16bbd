import { describe, expect, it } from 'vitest';
import * as sdd from '../lib/index.js';

describe('memory', () => {
  it('dispose() frees a tensor; use after dispose is a clear error', () => {
    // inside tidy(): nothing here is handed to the GC safety net, whose sweep could free older
    // garbage between two readings of the count
    sdd.tidy(() => {
      const before = sdd.memory().liveTensors;
      const t = sdd.zeros([1000]);
      expect(sdd.memory().liveTensors).toBe(before + 1);
      expect(sdd.memory().bytes).toBeGreaterThanOrEqual(4000);
      t.dispose();
      t.dispose(); // idempotent
      expect(t.isDisposed).toBe(true);
      expect(sdd.memory().liveTensors).toBeLessThanOrEqual(before); // a leak adds; the GC safety net may free older garbage meanwhile
      expect(() => t.add(1)).toThrow(/Tensor used after dispose\(\)/);
      expect(() => t.shape).toThrow(/Tensor used after dispose\(\)/);
    });
  });

  it('a disposed handle stays invalid after its native slot is reused', () => {
    const t = sdd.ones([2]);
    t.dispose();
    const others = Array.from({ length: 8 }, () => sdd.zeros([2]));
    expect(() => t.sum()).toThrow(/Tensor used after dispose\(\)/);
    expect(t.isDisposed).toBe(true);
    t.dispose(); // still a no-op: it must not free the tensor now living in that slot
    for (const o of others) expect(o.isDisposed).toBe(false);
    sdd.dispose(others);
  });

  it('counts shared storage once', () => {
    const before = sdd.memory().bytes;
    const t = sdd.zeros([256]);
    const v = t.view([16, 16]);
    expect(sdd.memory().bytes - before).toBe(1024);
    t.dispose();
    expect(sdd.memory().bytes - before).toBe(1024); // the view keeps the storage alive
    v.dispose();
    expect(sdd.memory().bytes).toBe(before);
  });

  it('tidy() frees intermediates and keeps what it returns (arrays and objects too)', () => {
    // inside tidy(): nothing here is handed to the GC safety net, whose sweep could free older
    // garbage between two readings of the count
    sdd.tidy(() => {
      const before = sdd.memory().liveTensors;
      const x = sdd.ones([4]);
      const out = sdd.tidy(() => {
        const a = x.mul(2);
        const b = a.add(1);
        const kept = sdd.keep(b.mul(10));
        return { sum: b.sum(), parts: [a.sub(1)], kept };
      });
      expect(out.sum.item()).toBe(12);
      expect(out.parts[0]!.toArray()).toEqual([1, 1, 1, 1]);
      expect(sdd.memory().liveTensors).toBe(before + 4); // x, sum, parts[0], kept
      sdd.dispose([x, out]);
      expect(sdd.memory().liveTensors).toBeLessThanOrEqual(before); // a leak adds; the GC safety net may free older garbage meanwhile
    });
  });

  it('tidy() nests and cleans up when its function throws', () => {
    // inside tidy(): nothing here is handed to the GC safety net, whose sweep could free older
    // garbage between two readings of the count
    sdd.tidy(() => {
      const before = sdd.memory().liveTensors;
      const r = sdd.tidy(() => {
        const inner = sdd.tidy(() => sdd.ones([2]).mul(3));
        sdd.ones([5]);
        return inner;
      });
      expect(sdd.memory().liveTensors).toBe(before + 1);
      r.dispose();
      expect(() => sdd.tidy(() => { sdd.ones([3]); throw new Error('bad'); })).toThrow('bad');
      expect(sdd.memory().liveTensors).toBeLessThanOrEqual(before); // a leak adds; the GC safety net may free older garbage meanwhile
      expect(() => sdd.tidy((async () => sdd.ones([1])) as never)).toThrow(/tidy\(\) takes a synchronous function/);
    });
  });

  it('supports TypeScript `using` through Symbol.dispose', () => {
    // inside tidy(): nothing here is handed to the GC safety net, whose sweep could free older
    // garbage between two readings of the count
    sdd.tidy(() => {
      const before = sdd.memory().liveTensors;
      {
        using t = sdd.ones([3]);
        expect(t.sum().item()).toBe(3);
      }
      // t.sum() above was not disposed: dispose it through the count check
      expect(sdd.memory().liveTensors).toBe(before + 1);
    });
  });

  it('the finalizer frees tensors that were never disposed', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) {
      // vitest runs without --expose-gc by default: use a child process that has it.
      const { spawnSync } = await import('node:child_process');
      const script = `
        import * as sdd from './dist/index.js';
        const before = sdd.memory().liveTensors;
        for (let i = 0; i < 1000; i++) sdd.ones([100]);
        const made = sdd.memory().liveTensors - before;
        for (let i = 0; i < 10; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
        console.log(JSON.stringify({ made, after: sdd.memory().liveTensors - before }));`;
      const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: process.cwd() });
      expect(r.stderr).toBe('');
      const { made, after } = JSON.parse(r.stdout);
      // the safety net may already have swept some of them inside the loop (after a V8 collection)
      expect(made).toBeGreaterThan(0);
      expect(made).toBeLessThanOrEqual(1000);
      expect(after).toBeLessThan(50);
    }
  });

  it('a forward/backward/update loop inside tidy leaks nothing over 10 000 iterations', async () => {
    sdd.manualSeed(1);
    const w1 = sdd.randn([8, 16], { requiresGrad: true });
    const w2 = sdd.randn([16, 4], { requiresGrad: true });
    const x = sdd.randn([32, 8]);
    const y = sdd.randint(0, 4, [32]);
    const step = () => sdd.tidy(() => {
      const loss = sdd.losses.crossEntropy(x.matmul(w1).relu().matmul(w2), y);
      loss.backward();
      sdd.noGrad(() => {
        for (const w of [w1, w2]) {
          w.sub_(w.grad!, 0.01);
          w.zeroGrad();
        }
      });
      return loss.item();
    });
    for (let i = 0; i < 3000; i++) { step(); if (i % 100 === 99) await new Promise((r) => setImmediate(r)); } // warm up allocators and the JIT
    await new Promise((r) => setImmediate(r));
    const before = sdd.memory();
    const rssBefore = process.memoryUsage().rss;
    let last = 0;
    // Node runs N-API finalizers (which free the small per-handle records) when the event loop
    // turns, so yield now and then as any real training loop does (data loading is async).
    for (let i = 0; i < 10_000; i++) {
      last = step() as number;
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    const after = sdd.memory();
    const rssGrowthMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    console.log(`leak test: liveTensors ${before.liveTensors} -> ${after.liveTensors}, bytes ${before.bytes} -> ${after.bytes}, RSS growth ${rssGrowthMiB.toFixed(1)} MiB over 10 000 steps`);
    expect(after.liveTensors).toBeLessThanOrEqual(before.liveTensors);
    expect(after.bytes).toBe(before.bytes);
    expect(rssGrowthMiB).toBeLessThan(32); // standalone (scripts/leak-check.mjs) it is flat to ~1 MiB; vitest adds noise
    expect(Number.isFinite(last)).toBe(true);
  });
});
