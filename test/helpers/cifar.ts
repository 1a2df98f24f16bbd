// A small synthetic CIFAR-100 in the binary format (byte-exact to the spec), for CLI tests.
import { writeFileSync } from 'node:fs';

export function writeCifar100(file: string, n: number, seed: number): void {
  // row: coarse label, fine label, 1024 R, 1024 G, 1024 B
  const buf = Buffer.alloc(n * 3074);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    const fine = i % 100;
    buf[i * 3074] = Math.floor(fine / 5);
    buf[i * 3074 + 1] = fine;
    for (let j = 0; j < 3072; j++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; buf[i * 3074 + 2 + j] = x & 255; }
  }
  writeFileSync(file, buf);
}
