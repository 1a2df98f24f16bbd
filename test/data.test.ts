// Data set readers on files the tests write byte for byte from the formats' specifications (IDX,
// CIFAR binary, CIFAR python pickles as Python 2 cPickle wrote them, PNG, baseline JPEG/JFIF,
// ImageFolder and CUB-200-2011 layouts), their errors on broken files, and real Fashion-MNIST.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import * as sdd from '../lib/index.js';
import * as T from '../lib/data/transforms.js';

const { data } = sdd;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sdd-data-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (...parts: string[]): string => {
  const p = path.resolve(dir, ...parts);
  mkdirSync(path.dirname(p), { recursive: true });
  return p;
};
const write = (p: string, bytes: Uint8Array | string): string => {
  writeFileSync(p, bytes);
  return p;
};

// ---------------------------------------------------------------------------------------- IDX
/** An IDX file: 00 00 <type> <ndim>, big-endian uint32 dims, big-endian elements. */
function idx(typeCode: number, shape: number[], values: ArrayLike<number>): Uint8Array {
  const size = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 }[typeCode]!;
  const out = new Uint8Array(4 + 4 * shape.length + values.length * size);
  const dv = new DataView(out.buffer);
  out[2] = typeCode;
  out[3] = shape.length;
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  let at = 4 + 4 * shape.length;
  for (let i = 0; i < values.length; i++, at += size) {
    const v = values[i]!;
    if (typeCode === 0x08) dv.setUint8(at, v);
    else if (typeCode === 0x09) dv.setInt8(at, v);
    else if (typeCode === 0x0b) dv.setInt16(at, v, false);
    else if (typeCode === 0x0c) dv.setInt32(at, v, false);
    else if (typeCode === 0x0d) dv.setFloat32(at, v, false);
    else dv.setFloat64(at, v, false);
  }
  return out;
}

function mnistFiles(root: string, n: number, opts: { gz?: boolean; prefix?: string } = {}): { pixels: Uint8Array; labels: Uint8Array } {
  const pixels = new Uint8Array(n * 28 * 28).map((_, i) => (i * 7 + (i >> 5)) & 255);
  const labels = new Uint8Array(n).map((_, i) => (i * 3) % 10);
  const prefix = opts.prefix ?? 'train';
  const ext = opts.gz ? '.gz' : '';
  const enc = (b: Uint8Array) => (opts.gz ? gzipSync(b) : b);
  write(file(root, `${prefix}-images-idx3-ubyte${ext}`), enc(idx(0x08, [n, 28, 28], pixels)));
  write(file(root, `${prefix}-labels-idx1-ubyte${ext}`), enc(idx(0x08, [n], labels)));
  return { pixels, labels };
}

describe('IDX (MNIST layout)', () => {
  it('parses every element type, big-endian', () => {
    const cases: [number, string, number[]][] = [
      [0x08, 'uint8', [0, 1, 255]], [0x09, 'int8', [-128, 0, 127]], [0x0b, 'int16', [-30000, 2, 30000]],
      [0x0c, 'int32', [-2e9, 3, 2e9]], [0x0d, 'float32', [1.5, -2.25, 0]], [0x0e, 'float64', [Math.PI, -1e300, 0.1]],
    ];
    for (const [code, dtype, values] of cases) {
      const a = data.parseIdx(idx(code, [3], values), 'x.idx');
      expect(a.dtype).toBe(dtype);
      expect(a.shape).toEqual([3]);
      expect(Array.from(a.data)).toEqual(values);
    }
    const m = data.parseIdx(idx(0x08, [2, 3, 4], new Uint8Array(24).map((_, i) => i)), 'm');
    expect(m.shape).toEqual([2, 3, 4]);
    expect(m.data[23]).toBe(23);
  });

  it('reads raw and gzipped files, images and labels in order', async () => {
    for (const gz of [false, true]) {
      const root = path.join(dir, gz ? 'mnist-gz' : 'mnist-raw');
      const { pixels, labels } = mnistFiles(root, 50, { gz });
      mnistFiles(root, 20, { gz, prefix: 't10k' });
      const ds = await data.mnist(root);
      expect(ds.length).toBe(50);
      expect(ds.imageShape).toEqual([1, 28, 28]);
      expect(Array.from(ds.targets)).toEqual(Array.from(labels));
      const s = ds.get(7);
      expect(s.shape).toEqual([28, 28]);
      expect(s.target).toBe(labels[7]);
      expect(Array.from(s.image)).toEqual(Array.from(pixels.subarray(7 * 784, 8 * 784)));
      expect(ds.classes![0]).toBe('0 - zero');
      const test = await data.mnist(root, { split: 'test' });
      expect(test.length).toBe(20);
      ds.dispose();
      test.dispose();
    }
  });

  it('finds torchvision layouts (root/MNIST/raw) and the dotted file names', async () => {
    const root = path.join(dir, 'tv');
    mnistFiles(path.join(root, 'FashionMNIST', 'raw'), 5, { gz: true });
    const ds = await data.fashionMnist(root);
    expect(ds.length).toBe(5);
    expect(ds.classes![9]).toBe('Ankle boot');
    ds.dispose();
    const dotted = path.join(dir, 'dotted');
    write(file(dotted, 'train-images.idx3-ubyte'), idx(0x08, [2, 28, 28], new Uint8Array(2 * 784)));
    write(file(dotted, 'train-labels.idx1-ubyte'), idx(0x08, [2], [1, 2]));
    const d2 = await data.mnist(dotted);
    expect(Array.from(d2.targets)).toEqual([1, 2]);
    d2.dispose();
  });

  it('rejects broken files when opening, naming the file and the problem', async () => {
    const good = idx(0x08, [4, 28, 28], new Uint8Array(4 * 784));
    const labels = idx(0x08, [4], [0, 1, 2, 3]);
    const cases: [string, Uint8Array, Uint8Array, RegExp][] = [
      ['magic', Uint8Array.from([0x00, 0x01, 0x08, 0x03, ...good.subarray(4)]), labels, /train-images-idx3-ubyte: bad IDX magic 0x00010803/],
      ['type', Uint8Array.from([0, 0, 0x0a, 3, ...good.subarray(4)]), labels, /bad IDX magic 0x00000a03/],
      ['short', good.subarray(0, 3), labels, /too short for an IDX file \(3 bytes/],
      ['header', good.subarray(0, 10), labels, /truncated IDX header: 3 dimensions need 16 header bytes but the file has 10/],
      ['truncated', good.subarray(0, good.length - 1), labels, /truncated IDX data: the header gives uint8 \[4, 28, 28\] \(3136 bytes\) but only 3135 bytes follow it/],
      ['trailing', Uint8Array.from([...good, 0, 0]), labels, /wrong IDX size: .* but 2 more bytes follow the data/],
      ['count', good, idx(0x08, [3], [0, 1, 2]), /train-labels-idx1-ubyte: has 3 labels but .*train-images-idx3-ubyte has 4 images/],
      ['label', good, idx(0x08, [4], [0, 1, 2, 10]), /label 3 is 10; labels are 0-9/],
      ['dims', idx(0x08, [4, 784], new Uint8Array(4 * 784)), labels, /expected uint8 images of 3 dimensions \(N×H×W\) but the header gives uint8 \[4, 784\]/],
      ['dtype', good, idx(0x0c, [4], [0, 1, 2, 3]), /expected uint8 labels of 1 dimension but the header gives int32 \[4\]/],
    ];
    for (const [name, images, lab, re] of cases) {
      const root = path.join(dir, `bad-${name}`);
      write(file(root, 'train-images-idx3-ubyte'), images);
      write(file(root, 'train-labels-idx1-ubyte'), lab);
      const err = await data.mnist(root).then(() => null, (e: Error) => e);
      expect(err, name).toBeInstanceOf(data.DataError);
      expect(err!.message, name).toMatch(re);
    }
    const gzRoot = path.join(dir, 'bad-gz');
    const gz = gzipSync(good);
    write(file(gzRoot, 'train-images-idx3-ubyte.gz'), gz.subarray(0, gz.length - 20));
    write(file(gzRoot, 'train-labels-idx1-ubyte.gz'), gzipSync(labels));
    await expect(data.mnist(gzRoot)).rejects.toThrow(/train-images-idx3-ubyte\.gz: truncated gzip data/);
    const corrupt = Uint8Array.from(gz);
    corrupt.fill(0x55, 12, 40);
    write(file(gzRoot, 'train-images-idx3-ubyte.gz'), corrupt);
    await expect(data.mnist(gzRoot)).rejects.toThrow(/train-images-idx3-ubyte\.gz: corrupt gzip data/);
    await expect(data.mnist(path.join(dir, 'nowhere'))).rejects.toThrow(/train-images-idx3-ubyte\[\.gz\]: not found \(looked in /);
  });
});

// -------------------------------------------------------------------------------------- CIFAR
function cifarRecords(n: number, variant: 10 | 100, seed: number): { bytes: Uint8Array; images: Uint8Array; fine: number[]; coarse: number[] } {
  const lb = variant === 10 ? 1 : 2;
  const bytes = new Uint8Array(n * (lb + 3072));
  const images = new Uint8Array(n * 3072);
  const fine: number[] = [];
  const coarse: number[] = [];
  for (let i = 0; i < n; i++) {
    const at = i * (lb + 3072);
    const f = (i * 7 + seed) % (variant === 10 ? 10 : 100);
    const c = (i + seed) % 20;
    if (variant === 10) bytes[at] = f;
    else { bytes[at] = c; bytes[at + 1] = f; }
    fine.push(f);
    coarse.push(c);
    for (let k = 0; k < 3072; k++) {
      const v = (k * 31 + i * 17 + seed) & 255;
      bytes[at + lb + k] = v;
      images[i * 3072 + k] = v;
    }
  }
  return { bytes, images, fine, coarse };
}

/**
 * A CIFAR python-version batch as Python 2's cPickle (protocol 2) wrote it: a dict of byte-string
 * keys; b'data' a numpy uint8 array pickled as _reconstruct(ndarray, (0,), 'b') + BUILD state
 * (1, (N, 3072), dtype('u1', 0, 1) + BUILD (3, '|', None, None, None, -1, -1, 0), False, raw).
 */
function cifarPickle(images: Uint8Array, lists: Record<string, number[]>): Uint8Array {
  const out: number[] = [];
  const op = (...b: number[]) => out.push(...b);
  const u32 = (v: number) => op(v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255);
  const str = (s: string) => { op(0x55, s.length); for (const ch of s) op(ch.charCodeAt(0)); }; // SHORT_BINSTRING
  const int = (v: number) => { if (v >= 0 && v < 256) op(0x4b, v); else if (v >= 0 && v < 65536) op(0x4d, v & 255, v >> 8); else { op(0x4a); u32(v); } };
  const global = (m: string, n: string) => { op(0x63); for (const ch of `${m}\n${n}\n`) op(ch.charCodeAt(0)); };
  let memo = 0;
  const put = () => op(0x71, memo++); // BINPUT
  op(0x80, 2, 0x7d); put(); op(0x28); // PROTO 2, EMPTY_DICT, MARK
  str('data');
  global('numpy.core.multiarray', '_reconstruct'); put();
  global('numpy', 'ndarray'); put();
  int(0); op(0x85); str('b'); op(0x87, 0x52); put(); // (0,), 'b' -> TUPLE3, REDUCE
  op(0x28); int(1); int(images.length / 3072); int(3072); op(0x86); // MARK 1 (N, 3072)
  global('numpy', 'dtype'); put(); str('u1'); int(0); int(1); op(0x87, 0x52); put();
  op(0x28); int(3); str('|'); op(0x4e, 0x4e, 0x4e); int(-1); int(-1); int(0); op(0x74, 0x62); // state tuple, BUILD
  op(0x89); // NEWFALSE
  op(0x54); u32(images.length); for (const b of images) op(b); // BINSTRING raw data
  op(0x74, 0x62); // TUPLE, BUILD
  for (const [key, values] of Object.entries(lists)) {
    str(key);
    op(0x5d); put(); op(0x28); for (const v of values) int(v); op(0x65); // EMPTY_LIST, MARK, APPENDS
  }
  str('batch_label'); str('training batch 1 of 5');
  op(0x75, 0x2e); // SETITEMS, STOP
  return Uint8Array.from(out);
}

describe('CIFAR', () => {
  it('CIFAR-10 binary: five training batches in order, the test batch, class names', async () => {
    const root = path.join(dir, 'c10');
    const parts = [1, 2, 3, 4, 5].map((i) => cifarRecords(3, 10, i));
    parts.forEach((p, i) => write(file(root, 'cifar-10-batches-bin', `data_batch_${i + 1}.bin`), p.bytes));
    const test = cifarRecords(4, 10, 9);
    write(file(root, 'cifar-10-batches-bin', 'test_batch.bin'), test.bytes);
    write(file(root, 'cifar-10-batches-bin', 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
    const ds = await data.cifar10(root);
    expect(ds.length).toBe(15);
    expect(ds.imageShape).toEqual([3, 32, 32]);
    expect(Array.from(ds.targets)).toEqual(parts.flatMap((p) => p.fine));
    const s = ds.get(4); // the second image of batch 2
    expect(s.layout).toBe('CHW');
    expect(s.shape).toEqual([3, 32, 32]);
    expect(Array.from(s.image)).toEqual(Array.from(parts[1]!.images.subarray(3072, 6144)));
    expect(ds.classes![3]).toBe('cat');
    const t = await data.cifar10(path.join(root, 'cifar-10-batches-bin'), { split: 'test' });
    expect(Array.from(t.targets)).toEqual(test.fine);
    ds.dispose();
    t.dispose();
  });

  it('CIFAR-100 binary: fine or coarse labels', async () => {
    const root = path.join(dir, 'c100');
    const train = cifarRecords(6, 100, 3);
    write(file(root, 'cifar-100-binary', 'train.bin'), train.bytes);
    write(file(root, 'cifar-100-binary', 'test.bin'), cifarRecords(2, 100, 4).bytes);
    write(file(root, 'cifar-100-binary', 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `super${i}`).join('\n'));
    const fine = await data.cifar100(root);
    const coarse = await data.cifar100(root, { labels: 'coarse' });
    expect(Array.from(fine.targets)).toEqual(train.fine);
    expect(Array.from(coarse.targets)).toEqual(train.coarse);
    expect(coarse.classes![5]).toBe('super5');
    expect(fine.classes!.length).toBe(100);
    expect(Array.from(fine.get(5).image)).toEqual(Array.from(train.images.subarray(5 * 3072)));
    fine.dispose();
    coarse.dispose();
  });

  it('python version (pickled numpy arrays) reads the same as the binary version', async () => {
    const root = path.join(dir, 'c10py');
    const parts = [1, 2, 3, 4, 5].map((i) => cifarRecords(2, 10, i));
    parts.forEach((p, i) => write(file(root, 'cifar-10-batches-py', `data_batch_${i + 1}`), cifarPickle(p.images, { labels: p.fine })));
    const py = await data.cifar10(root);
    expect(py.length).toBe(10);
    expect(Array.from(py.targets)).toEqual(parts.flatMap((p) => p.fine));
    expect(Array.from(py.get(9).image)).toEqual(Array.from(parts[4]!.images.subarray(3072)));
    py.dispose();
    const root100 = path.join(dir, 'c100py');
    const train = cifarRecords(5, 100, 2);
    write(file(root100, 'cifar-100-python', 'train'), cifarPickle(train.images, { fine_labels: train.fine, coarse_labels: train.coarse }));
    const c = await data.cifar100(root100, { labels: 'coarse' });
    expect(Array.from(c.targets)).toEqual(train.coarse);
    expect(Array.from(c.get(2).image)).toEqual(Array.from(train.images.subarray(2 * 3072, 3 * 3072)));
    c.dispose();
  });

  it('rejects broken files when opening, naming the file and the problem', async () => {
    const root = path.join(dir, 'c10bad', 'cifar-10-batches-bin');
    const good = cifarRecords(2, 10, 0).bytes;
    for (let i = 1; i <= 5; i++) write(file(root, `data_batch_${i}.bin`), good);
    write(file(root, 'data_batch_3.bin'), good.subarray(0, good.length - 5));
    await expect(data.cifar10(root)).rejects.toThrow(/data_batch_3\.bin: is 6141 bytes, not a multiple of the CIFAR-10 record size 3073 .*1 whole records and 3068 bytes over/);
    write(file(root, 'data_batch_3.bin'), new Uint8Array(0));
    await expect(data.cifar10(root)).rejects.toThrow(/data_batch_3\.bin: is empty/);
    const badLabel = Uint8Array.from(good);
    badLabel[3073] = 42;
    write(file(root, 'data_batch_3.bin'), badLabel);
    await expect(data.cifar10(root)).rejects.toThrow(/data_batch_3\.bin: record 1 has label 42; CIFAR-10 labels are 0-9/);
    rmSync(path.join(root, 'data_batch_3.bin'));
    await expect(data.cifar10(root)).rejects.toThrow(/data_batch_3\.bin: a CIFAR-10 binary file not found/);
    // A CIFAR-100 file read as CIFAR-10: 3074-byte records
    const c100 = path.join(dir, 'c100bad', 'cifar-100-binary');
    const rec = cifarRecords(3, 100, 1).bytes;
    write(file(c100, 'train.bin'), rec.subarray(0, 3074 * 2 + 100));
    await expect(data.cifar100(c100)).rejects.toThrow(/train\.bin: is 6248 bytes, not a multiple of the CIFAR-100 record size 3074/);
    await expect(data.cifar10(path.join(dir, 'nothing-here'))).rejects.toThrow(/no CIFAR-10 files found/);
    // python version: not a pickle, a pickle with the wrong content, a global outside the allow-list
    const py = path.join(dir, 'c10pybad', 'cifar-10-batches-py');
    for (let i = 1; i <= 5; i++) write(file(py, `data_batch_${i}`), cifarPickle(new Uint8Array(3072), { labels: [1] }));
    write(file(py, 'data_batch_2'), 'hello');
    await expect(data.cifar10(path.dirname(py))).rejects.toThrow(/data_batch_2: not a readable CIFAR pickle/);
    write(file(py, 'data_batch_2'), cifarPickle(new Uint8Array(3072), { labels: [1, 2] }));
    await expect(data.cifar10(path.dirname(py))).rejects.toThrow(/data_batch_2: has 2 labels but 1 images/);
    const evil = Uint8Array.from([0x80, 2, 0x63, ...Buffer.from('os\nsystem\n'), 0x55, 2, 0x6c, 0x73, 0x85, 0x52, 0x2e]);
    write(file(py, 'data_batch_2'), evil);
    await expect(data.cifar10(path.dirname(py))).rejects.toThrow(/data_batch_2: not a readable CIFAR pickle: .*global .os\.system. is not allowed/);
  });
});

// ------------------------------------------------------------------------------------- images
const crcTable = (b: Uint8Array) => crc32(b) >>> 0;
/** A PNG: signature, IHDR, one zlib IDAT of rows with filter byte 0, IEND; CRC-32 per chunk. */
function png(w: number, h: number, colorType: 0 | 2 | 4 | 6, px: Uint8Array): Uint8Array {
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
  const chunk = (type: string, body: Uint8Array) => {
    const out = new Uint8Array(12 + body.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, body.length);
    out.set(Buffer.from(type, 'latin1'), 4);
    out.set(body, 8);
    dv.setUint32(8 + body.length, crcTable(out.subarray(4, 8 + body.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, w);
  new DataView(ihdr.buffer).setUint32(4, h);
  ihdr.set([8, colorType, 0, 0, 0], 8);
  const raw = new Uint8Array(h * (1 + w * channels));
  for (let y = 0; y < h; y++) raw.set(px.subarray(y * w * channels, (y + 1) * w * channels), y * (1 + w * channels) + 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

/**
 * A baseline sequential JPEG (JFIF): 8-bit, 1 (grey) or 3 (YCbCr, no subsampling) components,
 * all-ones quantisation, and valid (if not optimal) Huffman tables: every DC category and every
 * AC symbol get a code of one fixed length. Forward DCT by definition (ITU-T T.81 A.3.3).
 */
function jpeg(w: number, h: number, comps: 1 | 3, rgb: Uint8Array): Uint8Array {
  const out: number[] = [];
  const seg = (marker: number, body: number[]) => out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body);
  const ZZ = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63];
  const dcSyms = [...Array(12).keys()];
  const acSyms = [0x00, 0xf0];
  for (let r = 0; r < 16; r++) for (let s = 1; s <= 10; s++) acSyms.push((r << 4) | s);
  const table = (syms: number[], len: number) => {
    const bits = new Array(16).fill(0);
    bits[len - 1] = syms.length;
    const codes = new Map<number, number>();
    syms.forEach((s, i) => codes.set(s, i));
    return { bits, syms, len, codes };
  };
  const dc = table(dcSyms, 4);
  const ac = table(acSyms, 8);
  out.push(0xff, 0xd8);
  seg(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  seg(0xdb, [0x00, ...new Array(64).fill(1)]);
  const sof = [8, h >> 8, h & 255, w >> 8, w & 255, comps];
  for (let c = 0; c < comps; c++) sof.push(c + 1, 0x11, 0);
  seg(0xc0, sof);
  seg(0xc4, [0x00, ...dc.bits, ...dc.syms, 0x10, ...ac.bits, ...ac.syms]);
  const sos = [comps];
  for (let c = 0; c < comps; c++) sos.push(c + 1, 0x00);
  seg(0xda, [...sos, 0, 63, 0]);
  // component planes
  const planes: Float64Array[] = [];
  for (let c = 0; c < comps; c++) planes.push(new Float64Array(w * h));
  for (let i = 0; i < w * h; i++) {
    if (comps === 1) { planes[0]![i] = rgb[i]!; continue; }
    const [r, g, b] = [rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!];
    planes[0]![i] = 0.299 * r + 0.587 * g + 0.114 * b;
    planes[1]![i] = -0.168736 * r - 0.331264 * g + 0.5 * b + 128;
    planes[2]![i] = 0.5 * r - 0.418688 * g - 0.081312 * b + 128;
  }
  let acc = 0;
  let nbits = 0;
  const put = (code: number, len: number) => {
    for (let i = len - 1; i >= 0; i--) {
      acc = (acc << 1) | ((code >> i) & 1);
      if (++nbits === 8) { out.push(acc); if (acc === 0xff) out.push(0); acc = 0; nbits = 0; }
    }
  };
  const category = (v: number) => (v === 0 ? 0 : Math.floor(Math.log2(Math.abs(v))) + 1);
  const bitsOf = (v: number, s: number) => (v < 0 ? v + (1 << s) - 1 : v);
  const pred = new Array(comps).fill(0);
  const C = (u: number) => (u === 0 ? Math.SQRT1_2 : 1);
  for (let by = 0; by < h; by += 8) {
    for (let bx = 0; bx < w; bx += 8) {
      for (let c = 0; c < comps; c++) {
        const f = (x: number, y: number) => planes[c]![Math.min(by + y, h - 1) * w + Math.min(bx + x, w - 1)]! - 128;
        const coef = new Array(64).fill(0);
        for (let v = 0; v < 8; v++) for (let u = 0; u < 8; u++) {
          let s = 0;
          for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) s += f(x, y) * Math.cos(((2 * x + 1) * u * Math.PI) / 16) * Math.cos(((2 * y + 1) * v * Math.PI) / 16);
          coef[v * 8 + u] = Math.round((C(u) * C(v) * s) / 4);
        }
        const zz = ZZ.map((k) => coef[k]);
        const diff = zz[0] - pred[c];
        pred[c] = zz[0];
        const s0 = category(diff);
        put(dc.codes.get(s0)!, dc.len);
        if (s0) put(bitsOf(diff, s0), s0);
        let run = 0;
        for (let k = 1; k < 64; k++) {
          const v = zz[k];
          if (v === 0) { run++; continue; }
          while (run > 15) { put(ac.codes.get(0xf0)!, ac.len); run -= 16; }
          const s = category(v);
          put(ac.codes.get((run << 4) | s)!, ac.len);
          put(bitsOf(v, s), s);
          run = 0;
        }
        if (run > 0) put(ac.codes.get(0x00)!, ac.len);
      }
    }
  }
  if (nbits > 0) put((1 << (8 - nbits)) - 1, 8 - nbits);
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}

function gradient(w: number, h: number, channels: number, seed: number): Uint8Array {
  const px = new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) {
    px[(y * w + x) * channels + c] = Math.round(127.5 + 100 * Math.sin((x + 2 * y + seed) / 5 + c));
  }
  return px;
}

describe('image decoding', () => {
  it('the decoders are available', () => {
    expect(data.imageSupport()).toEqual({ jpeg: 'ok', png: 'ok' });
  });
  it('PNG: RGB, grey (replicated), grey+alpha and RGBA (alpha dropped), exactly', async () => {
    const w = 7;
    const h = 5;
    const rgb = gradient(w, h, 3, 1);
    let d = await data.decodeImage(png(w, h, 2, rgb));
    expect(d.shape).toEqual([h, w, 3]);
    expect(Array.from(d.image)).toEqual(Array.from(rgb));
    const grey = gradient(w, h, 1, 2);
    d = await data.decodeImage(png(w, h, 0, grey));
    expect(Array.from(d.image)).toEqual(Array.from(grey).flatMap((v) => [v, v, v]));
    const rgba = gradient(w, h, 4, 3);
    d = await data.decodeImage(write(file('rgba.png'), png(w, h, 6, rgba)));
    expect(Array.from(d.image)).toEqual(Array.from(rgba).filter((_, i) => i % 4 !== 3));
    const ga = gradient(w, h, 2, 4);
    d = await data.decodeImage(png(w, h, 4, ga));
    expect(Array.from(d.image)).toEqual(Array.from(ga).filter((_, i) => i % 2 === 0).flatMap((v) => [v, v, v]));
  });
  it('JPEG: colour and grey, within the rounding of a lossless-quantised baseline JPEG', async () => {
    const w = 19;
    const h = 13;
    const rgb = gradient(w, h, 3, 5);
    const d = await data.decodeImage(jpeg(w, h, 3, rgb));
    expect(d.shape).toEqual([h, w, 3]);
    let worst = 0;
    for (let i = 0; i < rgb.length; i++) worst = Math.max(worst, Math.abs(d.image[i]! - rgb[i]!));
    expect(worst).toBeLessThanOrEqual(3);
    const grey = gradient(w, h, 1, 6);
    const g = await data.decodeImage(jpeg(w, h, 1, grey));
    worst = 0;
    for (let i = 0; i < grey.length; i++) worst = Math.max(worst, Math.abs(g.image[3 * i]! - grey[i]!), Math.abs(g.image[3 * i + 2]! - grey[i]!));
    expect(worst).toBeLessThanOrEqual(2);
  });
  it('errors name the file: missing, not an image, truncated, corrupt', async () => {
    await expect(data.decodeImage(path.join(dir, 'missing.jpg'))).rejects.toThrow(/missing\.jpg: cannot open it: No such file or directory/);
    const txt = write(file('notes.png'), 'hello world');
    await expect(data.decodeImage(txt)).rejects.toThrow(/notes\.png: not a JPEG or PNG image \(it starts with bytes 68 65 6c 6c\)/);
    const j = jpeg(16, 16, 3, gradient(16, 16, 3, 1));
    await expect(data.decodeImage(write(file('cut.jpg'), j.subarray(0, j.length >> 1)))).rejects.toThrow(/cut\.jpg: truncated JPEG/);
    await expect(data.decodeImage(write(file('head.jpg'), j.subarray(0, 40)))).rejects.toThrow(/head\.jpg: not a decodable JPEG/);
    const p = png(8, 8, 2, gradient(8, 8, 3, 1));
    await expect(data.decodeImage(write(file('cut.png'), p.subarray(0, p.length - 30)))).rejects.toThrow(/cut\.png: not a decodable PNG/);
    const crc = Uint8Array.from(p);
    crc[40] ^= 0xff; // inside IDAT: the CRC no longer matches
    await expect(data.decodeImage(write(file('crc.png'), crc))).rejects.toThrow(/crc\.png: not a decodable PNG/);
    await expect(data.decodeImage(write(file('empty.png'), ''))).rejects.toThrow(/empty\.png: the file is empty/);
  });
});

describe('ImageFolder and CUB-200-2011', () => {
  it('ImageFolder: sorted classes, recursive sorted files, JPEG and PNG, resized batches', async () => {
    const root = path.join(dir, 'folder');
    write(file(root, 'cat', 'b.png'), png(12, 10, 2, gradient(12, 10, 3, 1)));
    write(file(root, 'cat', 'a.JPG'), jpeg(20, 16, 3, gradient(20, 16, 3, 2)));
    write(file(root, 'cat', 'notes.txt'), 'not an image');
    write(file(root, 'ant', 'x', 'deep.jpeg'), jpeg(9, 14, 1, gradient(9, 14, 1, 3)));
    write(file(root, 'ant', 'z.png'), png(30, 30, 0, gradient(30, 30, 1, 4)));
    const ds = await data.imageFolder(root);
    expect(ds.classes).toEqual(['ant', 'cat']);
    expect(ds.paths.map((p) => path.relative(root, p))).toEqual([path.join('ant', 'x', 'deep.jpeg'), path.join('ant', 'z.png'), path.join('cat', 'a.JPG'), path.join('cat', 'b.png')]);
    expect(Array.from(ds.targets)).toEqual([0, 0, 1, 1]);
    const s = await ds.get(3);
    expect(s.shape).toEqual([10, 12, 3]);
    expect(Array.from(s.image)).toEqual(Array.from(gradient(12, 10, 3, 1)));
    const loader = new data.DataLoader(ds, { batchSize: 4, transforms: [T.resize(8), T.centerCrop(8), T.normalize('imagenet')] });
    for await (const b of loader) {
      expect(b.images.shape).toEqual([4, 3, 8, 8]);
      expect(Array.from(b.targets.toTypedArray() as BigInt64Array)).toEqual([0n, 0n, 1n, 1n]);
      sdd.dispose(b);
    }
    const unsized = new data.DataLoader(ds, { batchSize: 4 });
    await expect((async () => { for await (const b of unsized) sdd.dispose(b); })()).rejects.toThrow(/must have one size after the transforms.*deep\.jpeg is 3x14x9 and .*z\.png is 3x30x30/);
  });

  it('ImageFolder: broken images are reported by name before training', async () => {
    const root = path.join(dir, 'folder-bad');
    write(file(root, 'a', 'ok.png'), png(4, 4, 2, gradient(4, 4, 3, 1)));
    write(file(root, 'a', 'text.jpg'), 'this is not a jpeg');
    const j = jpeg(16, 16, 3, gradient(16, 16, 3, 1));
    write(file(root, 'b', 'cut.jpg'), j.subarray(0, j.length - 100));
    await expect(data.imageFolder(root)).rejects.toThrow(/text\.jpg: not a JPEG or PNG image/);
    rmSync(path.join(root, 'a', 'text.jpg'));
    const headerOnly = await data.imageFolder(root); // the header of cut.jpg is intact
    expect(headerOnly.length).toBe(2);
    await expect(data.imageFolder(root, { verify: 'decode' })).rejects.toThrow(/cut\.jpg: truncated JPEG/);
    const loader = new data.DataLoader(headerOnly, { batchSize: 2, transforms: [T.resize([4, 4])] });
    await expect((async () => { for await (const b of loader) sdd.dispose(b); })()).rejects.toThrow(/cut\.jpg: truncated JPEG/);
    mkdirSync(path.join(root, 'empty'));
    await expect(data.imageFolder(root)).rejects.toThrow(/class 'empty' has no image files/);
    await expect(data.imageFolder(path.join(dir, 'no-such'))).rejects.toThrow(/no-such: image folder not found/);
  });

  it('CUB-200-2011: train/test split from the metadata files, classes from classes.txt', async () => {
    const root = path.join(dir, 'cub');
    const cub = path.join(root, 'CUB_200_2011');
    const imgs = [
      [1, '001.Black_footed_Albatross/Black_Footed_Albatross_0001.jpg', 1, 1],
      [2, '001.Black_footed_Albatross/Black_Footed_Albatross_0002.jpg', 1, 0],
      [3, '002.Laysan_Albatross/Laysan_Albatross_0001.jpg', 2, 1],
      [4, '200.Common_Yellowthroat/Common_Yellowthroat_0003.png', 200, 1],
    ] as const;
    for (const [id, rel] of imgs) {
      write(file(cub, 'images', rel), rel.endsWith('.png') ? png(10, 8, 2, gradient(10, 8, 3, id)) : jpeg(10, 8, 3, gradient(10, 8, 3, id)));
    }
    write(file(cub, 'images.txt'), imgs.map(([id, rel]) => `${id} ${rel}`).join('\n') + '\n');
    write(file(cub, 'image_class_labels.txt'), imgs.map(([id, , c]) => `${id} ${c}`).join('\n') + '\n');
    write(file(cub, 'train_test_split.txt'), imgs.map(([id, , , t]) => `${id} ${t}`).join('\n') + '\n');
    write(file(cub, 'classes.txt'), '1 001.Black_footed_Albatross\n2 002.Laysan_Albatross\n200 200.Common_Yellowthroat\n');
    const train = await data.cub200(root);
    expect(train.length).toBe(3);
    expect(Array.from(train.targets)).toEqual([0, 1, 199]);
    expect(train.classes.length).toBe(200);
    expect(train.classes[199]).toBe('200.Common_Yellowthroat');
    const test = await data.cub200(cub, { split: 'test' });
    expect(test.paths.map((p) => path.basename(p))).toEqual(['Black_Footed_Albatross_0002.jpg']);
    const loader = new data.DataLoader(train, { batchSize: 3, transforms: [T.randomResizedCrop(6), T.randomHorizontalFlip(), T.normalize('imagenet')], seed: 1 });
    for await (const b of loader) {
      expect(b.images.shape).toEqual([3, 3, 6, 6]);
      sdd.dispose(b);
    }
    write(file(cub, 'train_test_split.txt'), '1 1\n2 0\n3 1\n');
    await expect(data.cub200(root)).rejects.toThrow(/train_test_split\.txt: has no split for image id 4/);
    write(file(cub, 'train_test_split.txt'), '1 1\n2 0\n3 1\n4 yes\n');
    await expect(data.cub200(root)).rejects.toThrow(/train_test_split\.txt: line 4: "yes" is not a non-negative integer/);
    write(file(cub, 'train_test_split.txt'), '1 1\n2 0\n3 1\n4 1\n');
    rmSync(path.join(cub, 'images', imgs[2][1]));
    await expect(data.cub200(root)).rejects.toThrow(/Laysan_Albatross_0001\.jpg: cannot open it: No such file or directory/);
    rmSync(path.join(cub, 'images.txt'));
    await expect(data.cub200(root)).rejects.toThrow(/images\.txt: CUB-200-2011 images\.txt not found/);
  });
});

// ----------------------------------------------------------------------------- Fashion-MNIST
const FASHION = '/usr/share/datasets/fashion-mnist';

describe('Fashion-MNIST (Debian dataset-fashion-mnist)', () => {
  it('is installed', () => {
    expect(existsSync(path.join(FASHION, 'train-images-idx3-ubyte.gz')), `${FASHION} is missing: apt-get install dataset-fashion-mnist`).toBe(true);
  });
  it('training set: first image label and pixels, 6000 images per class', async () => {
    const ds = await data.fashionMnist(FASHION);
    expect(ds.length).toBe(60000);
    expect(ds.imageShape).toEqual([1, 28, 28]);
    const first = ds.get(0);
    expect(first.target).toBe(9); // Ankle boot
    expect(ds.classes![first.target]).toBe('Ankle boot');
    expect(first.image.reduce((a, b) => a + b, 0)).toBe(76247);
    expect(crc32(first.image) >>> 0).toBe(4067475125);
    const all = ds.images.toTypedArray() as Uint8Array;
    expect(crc32(all) >>> 0).toBe(2925911245); // checksums computed once with Python's zlib
    const counts = new Array(10).fill(0);
    for (const t of ds.targets) counts[t]++;
    expect(counts).toEqual(new Array(10).fill(6000));
    ds.dispose();
  });
  it('test set: 1000 per class; a loader pass sees every image once', async () => {
    const ds = await data.fashionMnist(FASHION, { split: 'test' });
    expect(ds.length).toBe(10000);
    expect(ds.get(0).target).toBe(9);
    expect(ds.get(0).image.reduce((a, b) => a + b, 0)).toBe(33456);
    const loader = new data.DataLoader(ds, { batchSize: 256, shuffle: true, seed: 3, transforms: [T.normalize('fashion-mnist')] });
    const seen = new Uint8Array(10000);
    const counts = new Array(10).fill(0);
    let sum = 0;
    for await (const b of loader) {
      for (const i of b.indices) seen[i]++;
      for (const t of b.targets.toTypedArray() as BigInt64Array) counts[Number(t)]++;
      sum += (b.images.mean().item() as number) * b.images.shape[0]!;
      sdd.dispose(b);
    }
    expect(seen.every((v) => v === 1)).toBe(true);
    expect(counts).toEqual(new Array(10).fill(1000));
    expect(Math.abs(sum / 10000)).toBeLessThan(0.05); // normalised with the data set's own statistics
    ds.dispose();
  });
});

describe('user data sets and in-memory tensors', () => {
  it('a Dataset implementation (async get, HWC) goes through the loader like a tensor data set', async () => {
    const n = 10;
    const px = gradient(6, 5 * n, 3, 1); // n images of 5×6×3
    const user: sdd.data.Dataset = {
      length: n,
      async get(i) {
        await new Promise((r) => setTimeout(r, 1));
        return { image: px.subarray(i * 90, (i + 1) * 90), shape: [5, 6, 3], target: i % 3 };
      },
    };
    const chw = new Uint8Array(n * 90);
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) for (let k = 0; k < 30; k++) chw[i * 90 + c * 30 + k] = px[i * 90 + k * 3 + c]!;
    const mem = new data.TensorDataset(sdd.tensor(chw, { shape: [n, 3, 5, 6], dtype: 'uint8' }), Array.from({ length: n }, (_, i) => i % 3), { owned: true });
    const ts = [T.randomCrop(4, { padding: 1, paddingMode: 'reflect' }), T.randomHorizontalFlip(), T.normalize('cifar10')];
    const a = new data.DataLoader(user, { batchSize: 4, shuffle: true, seed: 9, transforms: ts });
    const b = new data.DataLoader(mem, { batchSize: 4, shuffle: true, seed: 9, transforms: ts });
    const out: sdd.Tensor[][] = [[], []];
    for await (const x of a) out[0]!.push(x.images, x.targets);
    for await (const x of b) out[1]!.push(x.images, x.targets);
    expect(out[0]!.length).toBe(6);
    out[0]!.forEach((t, i) => expect(t.equal(out[1]![i]!)).toBe(true));
    sdd.dispose(out);
    mem.dispose();
  });
  it('bad samples from a user data set are reported', async () => {
    const bad: sdd.data.Dataset = { length: 2, get: (i) => ({ image: new Uint8Array(5), shape: [2, 2, 1], target: i }) };
    const loader = new data.DataLoader(bad, { batchSize: 2 });
    await expect((async () => { for await (const b of loader) sdd.dispose(b); })()).rejects.toThrow(/dataset\.get\(0\)\.image/);
    expect(() => new data.DataLoader({ length: -1, get: () => null } as never)).toThrow(/dataset\.length/);
    expect(() => new data.TensorDataset(sdd.zeros([2, 3, 4, 4]), [0, 1])).toThrow(/uint8/);
    expect(() => new data.TensorDataset(sdd.zeros([2, 4, 4], { dtype: 'uint8' }), [0])).toThrow(/2 targets/);
  });
});
