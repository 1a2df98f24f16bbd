import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import path from 'node:path';

describe('worker_threads', () => {
  it('loads the addon in two workers at once and computes with it', async () => {
    const entry = path.resolve('dist/index.js');
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.entry).then((sdd) => {
        const x = sdd.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
        x.mul(x).sum().backward();
        const grad = x.grad.toArray();
        const live = sdd.memory().liveTensors;
        parentPort.postMessage({ grad, live });
      }).catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
    const run = () => new Promise<{ grad?: number[]; live?: number; error?: string }>((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { entry } });
      w.once('message', (m) => { resolve(m); void w.terminate(); });
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`worker exited with code ${code} before posting a result`))); // no-op after resolve
    });
    const results = await Promise.all([run(), run()]);
    for (const r of results) {
      expect(r.error).toBeUndefined();
      expect(r.grad).toEqual([2, 4, 6]);
      expect(r.live).toBe(4); // per-thread accounting: x, x*x, the sum and the grad read (not 8: each thread counts its own)
    }
  });
});
