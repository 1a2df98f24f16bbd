// PyTorch reads what we write: every .pth the package writes loads with torch.load(...,
// weights_only=True), every .safetensors parses by the format's spec (8-byte header length, JSON
// header, raw little-endian bytes; the safetensors package too where it is installed), and each
// tensor comes back exactly: every dtype the writers support, scalars, empty tensors, views and
// non-contiguous tensors, model state dicts and Trainer checkpoints. Needs a Python with torch
// (CI installs Debian's python3-torch); skipped with a message where there is none.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sdd from '../lib/index.js';

/** A Python that can import torch: $SDD_TORCH_PYTHON, python3, Debian's /usr/bin/python3, python. */
function findPython(): string | null {
  const candidates = [process.env.SDD_TORCH_PYTHON, 'python3', '/usr/bin/python3', 'python'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['-c', 'import torch, sys; sys.stdout.write(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return c;
  }
  return null;
}

const python = findPython();
if (python === null) {
  console.warn('torch-interop.test.ts: skipped: no Python with torch here (apt-get install python3-torch, or set SDD_TORCH_PYTHON)');
}

// Reads each file as PyTorch users would and prints {file: {entries: {key: {dtype, shape, data}}, metadata}},
// data = base64 of the values in row-major order (float16 / bfloat16 widened to float32, exactly; bool as bytes).
const READER = String.raw`
import base64, json, struct, sys
import torch

DTYPES = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I64': torch.int64,
          'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}
NAMES = {torch.float64: 'float64', torch.float32: 'float32', torch.float16: 'float16', torch.bfloat16: 'bfloat16',
         torch.int64: 'int64', torch.int32: 'int32', torch.int16: 'int16', torch.int8: 'int8', torch.uint8: 'uint8', torch.bool: 'bool'}
ITEMSIZE = {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4, 'I16': 2, 'I8': 1, 'U8': 1, 'BOOL': 1}

def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    data = raw[8 + n:]
    metadata = header.pop('__metadata__', None)
    assert metadata is None or all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()), 'metadata must map str to str'
    spans = []
    out = {}
    for name, info in header.items():
        b, e = info['data_offsets']
        shape = info['shape']
        numel = 1
        for d in shape:
            numel *= d
        assert e - b == numel * ITEMSIZE[info['dtype']], name + ': offsets do not match dtype and shape'
        spans.append((b, e))
        dt = DTYPES[info['dtype']]
        if numel == 0:
            out[name] = torch.empty(shape, dtype=dt)
        else:
            out[name] = torch.frombuffer(bytearray(data[b:e]), dtype=dt).reshape(shape)
    spans.sort()
    at = 0
    for b, e in spans:
        assert b == at, 'the data section has a hole or an overlap at byte %d' % at
        at = e
    assert at == len(data), 'the data section has %d bytes after the last tensor' % (len(data) - at)
    try:
        from safetensors.torch import load_file
        ref = load_file(path)
        assert set(ref) == set(out)
        for k in out:
            assert torch.equal(ref[k], out[k]) or (out[k].is_floating_point() and torch.equal(ref[k].isnan(), out[k].isnan()))
    except ImportError:
        pass
    return out, metadata

def dump(t):
    assert isinstance(t, torch.Tensor), type(t)
    v = t.detach().contiguous()
    if v.dtype in (torch.float16, torch.bfloat16):
        v = v.float()
    if v.dtype == torch.bool:
        v = v.to(torch.uint8)
    return {'dtype': NAMES[t.dtype], 'shape': list(t.shape), 'data': base64.b64encode(v.numpy().tobytes()).decode('ascii')}

result = {}
for item in json.load(open(sys.argv[1])):
    path, key = item['file'], item.get('key')
    if path.endswith('.safetensors'):
        sd, metadata = read_safetensors(path)
    else:
        obj = torch.load(path, map_location='cpu', weights_only=True)
        sd = obj[key] if key else obj
        metadata = None
        assert isinstance(sd, dict), type(sd)
    result[path] = {'entries': {k: dump(v) for k, v in sd.items()}, 'metadata': metadata}
json.dump(result, sys.stdout)
`;

interface Dumped { dtype: string; shape: number[]; data: string }

/** Our side of the comparison: the same encoding as the reader's dump(). */
function expected(t: sdd.Tensor): Dumped {
  const values = t.contiguous().toTypedArray();
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return { dtype: t.dtype, shape: t.shape, data: bytes.toString('base64') };
}

function readInPython(dir: string, files: { file: string; key?: string }[]): Record<string, { entries: Record<string, Dumped>; metadata: Record<string, string> | null }> {
  writeFileSync(path.join(dir, 'reader.py'), READER);
  writeFileSync(path.join(dir, 'files.json'), JSON.stringify(files));
  const r = spawnSync(python!, [path.join(dir, 'reader.py'), path.join(dir, 'files.json')], { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Every dtype the writers support, with the values that tend to break writers. */
function tensorsOfEveryKind(): Record<string, sdd.Tensor> {
  const f = [0, -0, 1.5, -2.75, 3.25e-8, 65504, 1e-7, 3.4e38, Infinity, -Infinity, NaN, 1 / 3];
  const out: Record<string, sdd.Tensor> = {
    'f32': sdd.tensor(Float32Array.from(f), { shape: [3, 4] }),
    'f64': sdd.tensor(Float64Array.from([...f.slice(0, 11), 1e-300, Math.PI, -1e300]), { dtype: 'float64', shape: [2, 7] }),
    'f16': sdd.tensor(Float32Array.from([0, -0, 1.5, -2.75, 65504, 6e-8, 1e-4, Infinity, -Infinity, NaN, 1 / 3, 0.1]), { dtype: 'float16', shape: [12] }),
    'bf16': sdd.tensor(Float32Array.from([0, -0, 1.5, -2.75, 3e38, 1e-38, Infinity, -Infinity, NaN, 1 / 3]), { dtype: 'bfloat16', shape: [5, 2] }),
    'i64': sdd.tensor(BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 53n + 1n, 42n]), { shape: [2, 3] }),
    'i32': sdd.tensor(Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 0, -1, 7, 123456]), { shape: [6, 1] }),
    'i16': sdd.tensor(Int16Array.from([-32768, 32767, 0, -1]), { shape: [4] }),
    'i8': sdd.tensor(Int8Array.from([-128, 127, 0, -1, 5]), { shape: [5] }),
    'u8': sdd.tensor(Uint8Array.from([0, 255, 1, 128]), { dtype: 'uint8', shape: [2, 2] }),
    'bool': sdd.tensor([true, false, false, true, true], { dtype: 'bool' }),
    'scalar': sdd.tensor(3.5),
    'scalar.i64': sdd.tensor(BigInt64Array.from([-7n]), { shape: [] }),
    'empty': sdd.zeros([0, 3]),
    'empty.i64': sdd.zeros([4, 0], { dtype: 'int64' }),
  };
  sdd.manualSeed(11);
  const base = sdd.randn([4, 5, 6]);
  Object.assign(out, {
    'view.transpose': base.transpose(0, 2),
    'view.narrow': base.narrow(1, 1, 3),
    'view.step': base.slice(2, 0, 6, 2),
    'view.permute.f64': base.double().permute([2, 0, 1]),
    'view.expand': sdd.arange(0, 3).reshape([3, 1]).expand([3, 4]),
    'view.channelsLast': sdd.randn([2, 3, 4, 5]).contiguous({ memoryFormat: 'channelsLast' }),
    'view.bf16.transpose': base.to('bfloat16').transpose(0, 1),
  });
  expect(out['view.transpose']!.isContiguous()).toBe(false);
  expect(out['view.step']!.isContiguous()).toBe(false);
  return out;
}

function expectSame(name: string, got: Record<string, Dumped>, want: Record<string, sdd.Tensor>): void {
  expect(Object.keys(got).sort(), name).toEqual(Object.keys(want).sort());
  for (const [k, t] of Object.entries(want)) expect(got[k], `${name}: ${k}`).toEqual(expected(t));
}

describe.skipIf(python === null)('PyTorch reads what sdd-torch writes', () => {
  it('state dicts of every dtype, scalars, empty tensors and views: .pth (torch.load weights_only) and .safetensors', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sdd-torch-interop-'));
    try {
      const sd = tensorsOfEveryKind();
      sdd.manualSeed(3);
      const model = sdd.models.create('resnet8', { numClasses: 10 });
      model.train();
      sdd.noGrad(() => sdd.tidy(() => { model.forward(sdd.randn([4, 3, 32, 32])); })); // num_batches_tracked 1, running stats moved
      const weights = model.stateDict();
      const f = (n: string) => path.join(dir, n);
      await sdd.checkpoint.save(sd, f('all.pth'));
      await sdd.checkpoint.save(sd, f('all.safetensors'), { metadata: { note: 'every dtype', 'é': '✓' } });
      sdd.checkpoint.saveSync(sd, f('sync.pth'));
      await sdd.checkpoint.save(sd, f('keyed.pth'), { key: 'model' });
      await sdd.checkpoint.writePth(weights, f('resnet8.bin'));
      await sdd.checkpoint.writeSafetensors(weights, f('resnet8.safetensors'));
      await sdd.checkpoint.save(new Map(Object.entries(weights)), f('resnet8.pth'), { key: 'state_dict' });
      await sdd.checkpoint.save({}, f('empty.pth'));
      await sdd.checkpoint.save({}, f('empty.safetensors'));
      const read = readInPython(dir, [
        { file: f('all.pth') }, { file: f('all.safetensors') }, { file: f('sync.pth') }, { file: f('keyed.pth'), key: 'model' },
        { file: f('resnet8.bin') }, { file: f('resnet8.safetensors') }, { file: f('resnet8.pth'), key: 'state_dict' },
        { file: f('empty.pth') }, { file: f('empty.safetensors') },
      ]);
      for (const n of ['all.pth', 'all.safetensors', 'sync.pth', 'keyed.pth']) expectSame(n, read[f(n)]!.entries, sd);
      for (const n of ['resnet8.bin', 'resnet8.safetensors', 'resnet8.pth']) expectSame(n, read[f(n)]!.entries, weights);
      expect(read[f('all.safetensors')]!.metadata).toEqual({ note: 'every dtype', 'é': '✓' });
      expect(read[f('resnet8.pth')]!.entries['bn1.num_batches_tracked']).toEqual({ dtype: 'int64', shape: [], data: Buffer.from(BigInt64Array.from([1n]).buffer).toString('base64') });
      expect(read[f('empty.pth')]!.entries).toEqual({});
      expect(read[f('empty.safetensors')]!.entries).toEqual({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('Trainer checkpoints', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sdd-torch-interop-trainer-'));
    try {
      sdd.setNumThreads(1);
      sdd.manualSeed(5);
      const teacher = sdd.models.create('resnet8', { numClasses: 10 }).eval();
      const student = sdd.models.create('resnet8', { numClasses: 10 });
      const optimizer = sdd.optim.sgd(student.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
      const distiller = sdd.distillers.create('sdd_kd', { teacher, student, optimizer });
      const data = (n: number, seed: number) => {
        sdd.manualSeed(seed);
        return new sdd.data.TensorDataset(sdd.randint(0, 256, [n, 3, 32, 32], { dtype: 'uint8' }), sdd.randint(0, 10, [n]));
      };
      const norm = [sdd.transforms.normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])];
      const trainer = new sdd.Trainer({
        distiller, epochs: 1, outDir: dir, progress: false, log: () => {},
        train: new sdd.data.DataLoader(data(32, 1), { batchSize: 16, shuffle: true, seed: 3, transforms: norm }),
        test: new sdd.data.DataLoader(data(16, 2), { batchSize: 16, transforms: norm }),
      });
      await trainer.fit();
      const files = readdirSync(dir).filter((n) => n.endsWith('.safetensors'));
      expect(files).toContain('latest.safetensors');
      const read = readInPython(dir, files.map((n) => ({ file: path.join(dir, n) })));
      const weights = student.stateDict();
      for (const n of files) {
        const ours = sdd.checkpoint.readSafetensors(path.join(dir, n));
        const got = read[path.join(dir, n)]!;
        // everything in the file as our reader sees it, and the student's weights exactly
        expectSame(n, got.entries, ours.tensors);
        expect(got.metadata).toEqual(ours.metadata);
        if (n === 'latest.safetensors') {
          for (const [k, t] of Object.entries(weights)) expect(got.entries[`model.${k}`], `${n}: model.${k}`).toEqual(expected(t));
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
