// A short slice of scripts/fuzz-data.mjs: mutated IDX (raw and gzipped), CIFAR binary and CIFAR
// pickle files either read consistently or fail with a DataError naming the file.
import { expect, it } from 'vitest';
import * as data from '../lib/data/index.js';
// @ts-expect-error plain JS module without types
import { fuzzData } from '../scripts/fuzz-data.mjs';

it('2000 mutated data set files: clean errors only', async () => {
  const lines: string[] = [];
  const stats = await fuzzData(data, { iterations: 2000, seed: 20240601, log: (l: string) => lines.push(l) });
  console.log(lines.join('\n'));
  expect(stats.findings).toEqual([]);
  expect(stats.rejected).toBeGreaterThan(1000);
  expect(stats.ok).toBeGreaterThan(10); // some mutations (pixel bytes) leave a valid file
});
