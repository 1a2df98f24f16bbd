// A small synthetic CIFAR-100 in the binary format (byte-exact to the spec), for CLI tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

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

/** A run folder for the CLI tests: data/cifar-100-binary (64 train, 32 test images) and an untrained
 *  resnet32x4_sdd teacher in teacher.safetensors (seed 0). */
export async function writeCifarRun(dir: string): Promise<void> {
  const sdd = await import('../../lib/index.js');
  mkdirSync(path.join(dir, 'data', 'cifar-100-binary'), { recursive: true });
  writeCifar100(path.join(dir, 'data', 'cifar-100-binary', 'train.bin'), 64, 1);
  writeCifar100(path.join(dir, 'data', 'cifar-100-binary', 'test.bin'), 32, 2);
  sdd.manualSeed(0);
  const teacher = sdd.models.create('resnet32x4_sdd', { numClasses: 100 });
  await sdd.save(teacher.stateDict(), path.join(dir, 'teacher.safetensors'));
}
