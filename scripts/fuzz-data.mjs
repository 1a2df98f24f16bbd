#!/usr/bin/env node
// Fuzzes the data set readers (IDX raw and gzipped, CIFAR-10/100 binary, CIFAR python pickles):
// thousands of mutated files, each of which must either read into consistent arrays or fail with
// a DataError naming the file; any other exception, or an inconsistent result, is a finding.
//
//   npm run build:ts && node scripts/fuzz-data.mjs [--iterations 20000] [--seed 1]
//
// test/data-fuzz.test.ts runs a short slice through fuzzData() with the TypeScript sources.
import { gzipSync } from 'node:zlib';

/** A small deterministic generator (xorshift32) so every finding is reproducible from its seed. */
function rng(seed) {
  let s = (seed >>> 0) || 0x9e3779b9;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
  return { next, int: (n) => next() % n, pick: (a) => a[next() % a.length] };
}

function idxFile(type, shape, fill) {
  const size = { 8: 1, 9: 1, 11: 2, 12: 4, 13: 4, 14: 8 }[type];
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(4 + 4 * shape.length + n * size);
  const dv = new DataView(out.buffer);
  out[2] = type;
  out[3] = shape.length;
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  for (let i = 4 + 4 * shape.length; i < out.length; i++) out[i] = fill(i);
  return out;
}

function cifarFile(n, variant) {
  const lb = variant === 10 ? 1 : 2;
  const out = new Uint8Array(n * (lb + 3072));
  for (let i = 0; i < n; i++) {
    const at = i * (lb + 3072);
    if (variant === 10) out[at] = i % 10;
    else { out[at] = i % 20; out[at + 1] = (i * 7) % 100; }
    for (let k = 0; k < 3072; k++) out[at + lb + k] = (k + i) & 255;
  }
  return out;
}

/** A CIFAR python-version pickle as Python 2 cPickle wrote it (see test/data.test.ts). */
function cifarPickle(n, variant) {
  const out = [];
  const op = (...b) => out.push(...b);
  const u32 = (v) => op(v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255);
  const str = (s) => { op(0x55, s.length); for (const ch of s) op(ch.charCodeAt(0)); };
  const int = (v) => { if (v >= 0 && v < 256) op(0x4b, v); else if (v >= 0 && v < 65536) op(0x4d, v & 255, v >> 8); else { op(0x4a); u32(v); } };
  const global = (m, name) => { op(0x63); for (const ch of `${m}\n${name}\n`) op(ch.charCodeAt(0)); };
  let memo = 0;
  const put = () => op(0x71, memo++);
  op(0x80, 2, 0x7d); put(); op(0x28);
  str('data');
  global('numpy.core.multiarray', '_reconstruct'); put();
  global('numpy', 'ndarray'); put();
  int(0); op(0x85); str('b'); op(0x87, 0x52); put();
  op(0x28); int(1); int(n); int(3072); op(0x86);
  global('numpy', 'dtype'); put(); str('u1'); int(0); int(1); op(0x87, 0x52); put();
  op(0x28); int(3); str('|'); op(0x4e, 0x4e, 0x4e); int(-1); int(-1); int(0); op(0x74, 0x62);
  op(0x89);
  op(0x54); u32(n * 3072); for (let i = 0; i < n * 3072; i++) op(i & 255);
  op(0x74, 0x62);
  const lists = variant === 10 ? { labels: (i) => i % 10 } : { fine_labels: (i) => i % 100, coarse_labels: (i) => i % 20 };
  for (const [key, f] of Object.entries(lists)) {
    str(key);
    op(0x5d); put(); op(0x28); for (let i = 0; i < n; i++) int(f(i)); op(0x65);
  }
  op(0x75, 0x2e);
  return Uint8Array.from(out);
}

function mutate(base, r) {
  let b = Uint8Array.from(base);
  const rounds = 1 + r.int(4);
  for (let k = 0; k < rounds; k++) {
    const kind = r.int(9);
    const at = b.length ? r.int(b.length) : 0;
    switch (kind) {
      case 0: if (b.length) b[at] ^= 1 << r.int(8); break; // bit flip
      case 1: if (b.length) b[at] = r.pick([0, 1, 0x7f, 0x80, 0xff, r.int(256)]); break; // interesting byte
      case 2: b = b.subarray(0, r.int(b.length + 1)); break; // truncate
      case 3: { const extra = new Uint8Array(1 + r.int(64)).map(() => r.int(256)); const c = new Uint8Array(b.length + extra.length); c.set(b); c.set(extra, b.length); b = c; break; } // append
      case 4: { if (b.length >= 8) { const dv = new DataView(b.buffer, b.byteOffset, b.byteLength); dv.setUint32(4 * r.int(Math.min(4, b.length >> 2)), r.pick([0, 1, 2, 255, 0x7fffffff, 0xffffffff, r.next()]), false); } break; } // header word
      case 5: { const c = new Uint8Array(b.length + 1); c.set(b.subarray(0, at)); c[at] = r.int(256); c.set(b.subarray(at), at + 1); b = c; break; } // insert
      case 6: if (b.length) { const c = new Uint8Array(b.length - 1); c.set(b.subarray(0, at)); c.set(b.subarray(at + 1), at); b = c; } break; // delete
      case 7: if (b.length) b.fill(r.int(256), at, Math.min(b.length, at + 1 + r.int(32))); break; // smear
      default: if (b.length > 4) { const src = r.int(b.length - 4); b.copyWithin(at, src, src + 1 + r.int(Math.min(16, b.length - src))); } break; // copy a block
    }
  }
  return b;
}

/**
 * Runs `iterations` mutated files through the readers. `lib` supplies parseIdx, idxFromBytes,
 * parseCifarBinary, parseCifarPython and DataError. Resolves to { runs, ok, rejected, findings }.
 */
export async function fuzzData(lib, { iterations = 2000, seed = 1, log = () => {} } = {}) {
  const { parseIdx, idxFromBytes, parseCifarBinary, parseCifarPython, DataError } = lib;
  const r = rng(seed);
  const bases = [
    { name: 'images.idx', kind: 'idx', bytes: idxFile(8, [3, 28, 28], (i) => i & 255) },
    { name: 'labels.idx', kind: 'idx', bytes: idxFile(8, [5], (i) => i % 10) },
    { name: 'floats.idx', kind: 'idx', bytes: idxFile(13, [2, 3], (i) => (i * 37) & 255) },
    { name: 'shorts.idx', kind: 'idx', bytes: idxFile(11, [4], (i) => i) },
    { name: 'images.idx.gz', kind: 'idx', bytes: gzipSync(idxFile(8, [2, 28, 28], (i) => i & 255)) },
    { name: 'data_batch_1.bin', kind: 'c10', bytes: cifarFile(3, 10) },
    { name: 'train.bin', kind: 'c100', bytes: cifarFile(3, 100) },
    { name: 'data_batch_1', kind: 'py10', bytes: cifarPickle(2, 10) },
    { name: 'train', kind: 'py100', bytes: cifarPickle(2, 100) },
  ];
  const stats = { runs: 0, ok: 0, rejected: 0, findings: [] };
  const messages = new Map();
  for (let it = 0; it < iterations; it++) {
    const base = bases[it % bases.length];
    const mutated = mutate(base.bytes, r);
    const file = `fuzz/${base.name}`;
    stats.runs++;
    try {
      if (base.kind === 'idx') {
        const a = base.name.endsWith('.gz') ? await idxFromBytes(mutated, file) : parseIdx(mutated, file);
        const n = a.shape.reduce((x, y) => x * y, 1);
        if (a.data.length !== n) throw new Error(`inconsistent: ${a.data.length} elements for shape [${a.shape}]`);
      } else if (base.kind === 'c10' || base.kind === 'c100') {
        const v = base.kind === 'c10' ? 10 : 100;
        const a = parseCifarBinary(mutated, file, v);
        if (a.images.length !== a.labels.length * 3072) throw new Error('inconsistent CIFAR arrays');
        if (a.labels.some((l) => l < 0 || l >= v)) throw new Error('label out of range accepted');
      } else {
        const v = base.kind === 'py10' ? 10 : 100;
        const a = parseCifarPython(mutated, file, v);
        if (a.images.length !== a.labels.length * 3072) throw new Error('inconsistent CIFAR arrays');
        if (a.labels.some((l) => l < 0 || l >= v)) throw new Error('label out of range accepted');
      }
      stats.ok++;
    } catch (e) {
      if (e instanceof DataError && e.message.startsWith(`${file}: `) && e.message.length < 2000) {
        stats.rejected++;
        const key = e.message.slice(file.length + 2).replace(/\d+/g, 'N').slice(0, 70);
        messages.set(key, (messages.get(key) ?? 0) + 1);
      } else {
        stats.findings.push({ iteration: it, file, error: String(e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e), bytes: Buffer.from(mutated).toString('base64').slice(0, 200) });
      }
    }
  }
  log(`${stats.runs} files: ${stats.ok} read, ${stats.rejected} rejected cleanly, ${stats.findings.length} findings`);
  for (const [m, n] of [...messages].sort((a, b) => b[1] - a[1]).slice(0, 12)) log(`  ${String(n).padStart(6)}  ${m}`);
  return stats;
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const arg = (name, def) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : def;
  };
  const lib = await import('../dist/data/index.js').catch((e) => {
    console.error(`fuzz-data: cannot load dist/data/index.js (run \`npm run build:ts\` first): ${e.message}`);
    process.exit(2);
  });
  const stats = await fuzzData(lib, { iterations: arg('iterations', 20000), seed: arg('seed', 1), log: console.log });
  for (const f of stats.findings.slice(0, 20)) console.log('FINDING', JSON.stringify(f));
  process.exit(stats.findings.length === 0 ? 0 : 1);
}
