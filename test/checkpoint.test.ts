// Checkpoints: the reference fixtures (made by PyTorch) load in both formats and agree with each
// other and with their JSON descriptions; every dtype round-trips; Python's torch.load reads what
// we write and we read what it writes (views, shared storage, training checkpoints); hostile
// pickles are refused; writes are atomic. Python checks use Debian's /usr/bin/python3 with torch.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import ts from 'typescript';
import * as sdd from '../lib/index.js';
import { tensorToBytes } from '../lib/checkpoint/bytes.js';
import { readPthArchive } from '../lib/checkpoint/pth.js';
import { findStateDict, OrderedDict, TensorRef } from '../lib/checkpoint/torch-objects.js';
import { PickleWriter } from '../lib/checkpoint/pickle-writer.js';
import { bufferSource } from '../lib/checkpoint/source.js';
import { zipChunks } from '../lib/checkpoint/zip.js';
import { waitForExit, waitForOutput } from './helpers/child.js';
import { REFERENCE_DIR, REPO_ROOT, readFixtureJson, repoRelative } from './helpers/fixtures.js';

// the reference checkpoints (vendored from the project's reference material, see test/fixtures/README.md)
const FIXTURES = REFERENCE_DIR;
const PYTHON = '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const tmp = mkdtempSync(path.join(tmpdir(), 'sdd-ckpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function python(code: string, ...args: string[]): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

const hex = (t: sdd.Tensor): string => Buffer.from(tensorToBytes(t)).toString('hex');

function concat(chunks: Iterable<Uint8Array>): Uint8Array {
  return new Uint8Array(Buffer.concat([...chunks].map((c) => Buffer.from(c))));
}

function disposeAll(sd: Record<string, sdd.Tensor>): void {
  for (const t of Object.values(sd)) t.dispose();
}

/** A torch.save-like archive around a hand-written data.pkl (for hostile pickles). */
function archive(pkl: Uint8Array, records: Record<string, Uint8Array> = {}): Uint8Array {
  return concat(zipChunks([
    { name: 'archive/data.pkl', data: pkl },
    ...Object.entries(records).map(([k, v]) => ({ name: `archive/data/${k}`, data: v })),
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
  ]));
}

const enc = (s: string): number[] => [...Buffer.from(s, 'latin1')];

// ------------------------------------------------------------------ fixtures
interface ModelJson {
  num_params: number;
  num_buffer_elements: number;
  num_state_dict_entries: number;
  state_dict_keys: { name: string; shape: number[]; dtype: 'F32' | 'I64'; kind: 'parameter' | 'buffer' }[];
  state_dict_checksums: Record<string, { numel: number; sum: number; sum_sq: number; first8: number[] }>;
}

const MODELS = ['resnet8_sdd', 'resnet8x4_sdd', 'wrn_16_2_sdd', 'resnet32x4_sdd'];

function checkAgainstJson(sd: Record<string, sdd.Tensor>, json: ModelJson): void {
  const keys = Object.keys(sd);
  expect(keys).toEqual(json.state_dict_keys.map((k) => k.name));
  expect(keys.length).toBe(json.num_state_dict_entries);
  let params = 0;
  let buffers = 0;
  for (const k of json.state_dict_keys) {
    const t = sd[k.name]!;
    expect(t.shape, k.name).toEqual(k.shape);
    expect(t.dtype, k.name).toBe(k.dtype === 'F32' ? 'float32' : 'int64');
    if (k.kind === 'parameter') params += t.numel;
    else if (!k.name.endsWith('num_batches_tracked')) buffers += t.numel;
    const c = json.state_dict_checksums[k.name]!;
    const v = Array.from(t.toTypedArray() as ArrayLike<number | bigint>, Number);
    expect(v.length).toBe(c.numel);
    let sum = 0;
    let sumSq = 0;
    for (const x of v) { sum += x; sumSq += x * x; }
    expect(sum, `${k.name} sum`).toBeCloseTo(c.sum, 6);
    expect(sumSq, `${k.name} sum_sq`).toBeCloseTo(c.sum_sq, 6);
    expect(v.slice(0, 8), `${k.name} first8`).toEqual(c.first8);
  }
  expect(params).toBe(json.num_params);
  expect(buffers + json.state_dict_keys.filter((k) => k.name.endsWith('num_batches_tracked')).length).toBe(json.num_buffer_elements);
}

describe('reference fixtures', () => {
  const files = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((f) => /\.(pth|safetensors)$/.test(f)) : [];

  it('are present', () => {
    expect(files.length, `checkpoints in ${repoRelative(FIXTURES)} (vendored, see test/fixtures/README.md)`).toBeGreaterThanOrEqual(9);
  });

  for (const f of files) {
    it(`${f} loads`, async () => {
      const before = sdd.memory().liveTensors;
      const sd = await sdd.load(path.join(FIXTURES, f));
      expect(Object.keys(sd).length).toBeGreaterThan(0);
      for (const t of Object.values(sd)) expect(['float32', 'int64']).toContain(t.dtype);
      disposeAll(sd);
      expect(sdd.memory().liveTensors).toBeLessThanOrEqual(before); // a leak adds; the GC safety net may free older garbage meanwhile
    });
  }

  for (const model of MODELS) {
    it(`${model}: keys, shapes, counts and checksums match model_${model}.json; .pth equals .safetensors`, () => {
      const json = readFixtureJson<ModelJson>(`reference/model_${model}.json`);
      const st = sdd.loadSync(path.join(FIXTURES, `model_${model}.safetensors`));
      checkAgainstJson(st, json);
      const pthFile = path.join(FIXTURES, `model_${model}.pth`);
      if (existsSync(pthFile)) { // the folder leaves out the largest .pth
        const pth = sdd.loadSync(pthFile);
        checkAgainstJson(pth, json);
        expect(Object.keys(pth)).toEqual(Object.keys(st));
        for (const k of Object.keys(st)) expect(hex(pth[k]!), k).toBe(hex(st[k]!));
        disposeAll(pth);
      }
      disposeAll(st);
    });
  }

  it('trajectory_student_init: .pth equals .safetensors', () => {
    const a = sdd.loadSync(path.join(FIXTURES, 'trajectory_student_init.pth'));
    const b = sdd.loadSync(path.join(FIXTURES, 'trajectory_student_init.safetensors'));
    expect(Object.keys(a)).toEqual(Object.keys(b));
    for (const k of Object.keys(a)) expect(a[k]!.equal(b[k]!), k).toBe(true);
    disposeAll(a);
    disposeAll(b);
  });

  it('the .pth holds {"model": OrderedDict} with _metadata, as reference/README.md says', () => {
    const { root, prefix } = readPthArchive(bufferSource(readFileSync(path.join(FIXTURES, 'model_resnet8_sdd.pth'))), 'model_resnet8_sdd.pth');
    expect(prefix).toBe('archive');
    expect(root).toBeInstanceOf(Map);
    const model = (root as Map<string, unknown>).get('model');
    expect(model).toBeInstanceOf(OrderedDict);
    const meta = (model as OrderedDict).attributes.get('_metadata') as Map<string, Map<string, number>>;
    expect(meta.get('')!.get('version')).toBe(1);
    expect(meta.get('bn1')!.get('version')).toBe(2);
    expect(findStateDict(root, 'x', 'model')).toBe(model);
    const sd = sdd.loadSync(path.join(FIXTURES, 'model_resnet8_sdd.pth'), { key: 'model' });
    expect(Object.keys(sd).length).toBe(56);
    disposeAll(sd);
    expect(() => sdd.loadSync(path.join(FIXTURES, 'model_resnet8_sdd.pth'), { key: 'optimizer' }))
      .toThrow(/model_resnet8_sdd\.pth: no key "optimizer" at the top level \(keys: "model"\)/);
  });
});

// ------------------------------------------------------------------ round trips
function everyDtype(): Record<string, sdd.Tensor> {
  return {
    f32: sdd.tensor(new Float32Array([1.5, -0, Infinity, -Infinity, 3.4028234663852886e38, 1e-45, -2.5]), { shape: [7] }),
    f64: sdd.tensor(new Float64Array([Math.PI, -0, 5e-324, Number.MAX_VALUE, -1e300, 1 / 3]), { shape: [2, 3] }),
    f16: sdd.tensor(new Float32Array([1, -2.5, 65504, 2 ** -24, -(2 ** -14), 0.099975586, Infinity, -0]), { shape: [2, 2, 2], dtype: 'float16' }),
    bf16: sdd.tensor(new Float32Array([1, -2.5, 3.3895313892515355e38, 2 ** -133, 0.10009765625, -Infinity]), { shape: [3, 2], dtype: 'bfloat16' }),
    i64: sdd.tensor(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, 42n]), { shape: [4] }),
    i32: sdd.tensor(new Int32Array([-(2 ** 31), 2 ** 31 - 1, 7]), { shape: [3] }),
    i16: sdd.tensor(new Int16Array([-32768, 32767, 1]), { shape: [3, 1] }),
    i8: sdd.tensor(new Int8Array([-128, 127, 0, 5]), { shape: [4] }),
    u8: sdd.tensor(new Uint8Array([0, 255, 128]), { shape: [3] }),
    bool: sdd.tensor(new Uint8Array([1, 0, 1, 1]), { shape: [2, 2], dtype: 'bool' }),
    scalar: sdd.tensor(3.25, { dtype: 'float32' }),
    count: sdd.tensor(new BigInt64Array([3n]), { shape: [] }),
    empty: sdd.zeros([0, 3]),
    'module.odd/name with spaces ü': sdd.ones([2]),
  };
}

describe('sdd.checkpoint', () => {
  it('holds the checkpoint API; the root keeps the same functions (deprecated there)', () => {
    for (const name of ['load', 'loadSync', 'save', 'saveSync', 'checkpointFormat', 'readSafetensors', 'writeSafetensors', 'readPth', 'writePth', 'CheckpointError', 'pickle'] as const) {
      expect(sdd.checkpoint[name], name).toBeDefined();
      expect(sdd[name], name).toBe(sdd.checkpoint[name]);
    }
  });
});

describe('save -> load round trips', () => {
  for (const ext of ['safetensors', 'pth']) {
    it(`every dtype, 0-d and empty tensors, through .${ext} (bit-exact)`, async () => {
      const sd = everyDtype();
      const file = path.join(tmp, `all.${ext}`);
      await sdd.save(sd, file);
      const back = await sdd.load(file, { stripPrefix: false });
      expect(Object.keys(back).sort()).toEqual(Object.keys(sd).sort());
      for (const [k, t] of Object.entries(sd)) {
        expect(back[k]!.dtype, k).toBe(t.dtype);
        expect(back[k]!.shape, k).toEqual(t.shape);
        expect(hex(back[k]!), k).toBe(hex(t));
      }
      const sync = sdd.loadSync(file, { stripPrefix: 'module.' });
      expect(Object.keys(sync)).toContain('odd/name with spaces ü');
      disposeAll(sd);
      disposeAll(back);
      disposeAll(sync);
    });
  }

  it('saves non-contiguous tensors as their values; Map state dicts; saveSync', () => {
    const base = sdd.arange(0, 12, 1, { dtype: 'float32' }).reshape([3, 4]);
    const t = base.transpose(0, 1);
    const file = path.join(tmp, 'view.pth');
    sdd.saveSync(new Map([['t', t]]), file);
    const back = sdd.loadSync(file);
    expect(back.t!.toArray()).toEqual(t.toArray());
    base.dispose(); t.dispose(); disposeAll(back);
  });

  it('format follows the extension unless given; metadata and key options', async () => {
    const sd = { w: sdd.ones([2]) };
    const st = path.join(tmp, 'plain.weights');
    await sdd.save(sd, st, { metadata: { epoch: '3', note: 'ü' } });
    expect(sdd.readSafetensors(st).metadata).toEqual({ epoch: '3', note: 'ü' });
    const pth = path.join(tmp, 'as-pth.bin');
    await sdd.save(sd, pth, { key: 'model' });
    expect(readFileSync(pth).subarray(0, 4).toString('latin1')).toBe('PK\x03\x04');
    const back = sdd.readPth(pth);
    expect(Object.keys(back)).toEqual(['w']);
    await sdd.writePth(sd, path.join(tmp, 'x.safetensors'));
    expect(sdd.readPth(path.join(tmp, 'x.safetensors')).w!.toArray()).toEqual([1, 1]);
    await expect(sdd.save(sd, path.join(tmp, 'y.pth'), { metadata: { a: 'b' } })).rejects.toThrow(/Expected nothing for \.pth files/);
    await expect(sdd.save(sd, path.join(tmp, 'y.safetensors'), { key: 'model' })).rejects.toThrow(/Expected nothing for safetensors/);
    await expect(sdd.save({ w: 1 } as never, path.join(tmp, 'z.pth'))).rejects.toThrow("Expected a Tensor for stateDict[\"w\"] but received 1 of type number");
    await expect(sdd.save(sd, path.join(tmp, 'z.pth'), { formt: 'pth' } as never)).rejects.toThrow(/Unknown option 'formt'/);
    expect(() => sdd.loadSync(42 as never)).toThrow('Expected a path or a Uint8Array for file but received 42 of type number');
    disposeAll(sd); disposeAll(back);
  });

  it('safetensors layout: 8-byte length, space padding to 8, reference tensor order, offsets from the data start', () => {
    const sd = { b: sdd.ones([3], { dtype: 'bool' }), a: sdd.ones([1]), c: sdd.ones([1], { dtype: 'int64' }), aa: sdd.ones([2], { dtype: 'float16' }) };
    const file = path.join(tmp, 'layout.safetensors');
    sdd.saveSync(sd, file, { metadata: { k: 'v' } });
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const text = bytes.subarray(8, 8 + n).toString('utf8');
    expect(text.trimEnd().length).toBeGreaterThan(n - 8);
    expect(text.slice(text.trimEnd().length)).toMatch(/^ *$/);
    // the reference writer: widest dtypes first (I64 > F32 > F16 > BOOL), then by name
    expect(text.trimEnd()).toBe('{"__metadata__":{"k":"v"},"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},'
      + '"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"aa":{"dtype":"F16","shape":[2],"data_offsets":[12,16]},'
      + '"b":{"dtype":"BOOL","shape":[3],"data_offsets":[16,19]}}');
    expect(bytes.length).toBe(8 + n + 19);
    disposeAll(sd);
  });

  it('strips a "module." prefix (DataParallel) unless told not to, and refuses collisions', async () => {
    const sd = { 'module.a': sdd.ones([1]), 'module.b': sdd.ones([1]) };
    const file = path.join(tmp, 'dp.safetensors');
    const keysOf = async (opts?: sdd.LoadOptions): Promise<string[]> => {
      const got = await sdd.load(file, opts);
      disposeAll(got);
      return Object.keys(got);
    };
    await sdd.save(sd, file);
    expect(await keysOf()).toEqual(['a', 'b']);
    expect(await keysOf({ stripPrefix: false })).toEqual(['module.a', 'module.b']);
    expect(await keysOf({ stripPrefix: 'module.a' })).toEqual(['', 'module.b']);
    // by default only when every key has it: a submodule called `module` keeps its name
    await sdd.save({ 'module.a': sd['module.a'], b: sd['module.b'] }, file);
    expect(await keysOf()).toEqual(['b', 'module.a']);
    expect(await keysOf({ stripPrefix: 'module.' })).toEqual(['b', 'a']);
    await sdd.save({ 'module.a': sd['module.a'], a: sd['module.b'] }, file);
    await expect(sdd.load(file, { stripPrefix: 'module.' })).rejects.toThrow(/removing the prefix "module\." makes two keys "a"/);
    disposeAll(sd);
  });
});

// ------------------------------------------------------------------ Python interop
// Loads each (path, key, weights_only) of argv[1] (JSON) with torch.load; prints dtype, shape, raw bytes.
const PY_DUMP = `
import sys, json, torch
results = []
for path, key, weights_only in json.loads(sys.argv[1]):
    obj = torch.load(path, weights_only=True) if weights_only else torch.load(path)
    sd = obj[key] if key else obj
    out = {}
    for k, v in sd.items():
        flat = v.contiguous().reshape(-1)
        raw = flat.view(torch.uint8) if v.dtype != torch.bool else flat.to(torch.uint8)
        out[k] = {'dtype': str(v.dtype).replace('torch.', ''), 'shape': list(v.shape), 'hex': raw.numpy().tobytes().hex()}
    results.append({'type': type(obj).__name__, 'tensors': out})
print(json.dumps(results))
`;

const PY_DTYPE: Record<string, string> = { float32: 'float32', float64: 'float64', float16: 'float16', bfloat16: 'bfloat16', int64: 'int64', int32: 'int32', int16: 'int16', int8: 'int8', uint8: 'uint8', bool: 'bool' };

describe.skipIf(!hasTorch)('Python torch reads what we write', () => {
  it('torch.load (and weights_only=True) reads our .pth bit-exactly, every dtype', async () => {
    const sd = everyDtype();
    const specs: [string, string, boolean][] = [];
    for (const key of ['', 'model']) {
      const file = path.join(tmp, `py-${key || 'bare'}.pth`);
      await sdd.save(sd, file, key ? { key } : {});
      specs.push([file, key, false], [file, key, true]);
    }
    const results = JSON.parse(python(PY_DUMP, JSON.stringify(specs))) as { type: string; tensors: Record<string, { dtype: string; shape: number[]; hex: string }> }[];
    expect(results.length).toBe(4);
    for (const [i, [, key]] of specs.entries()) {
      const out = results[i]!;
      expect(out.type).toBe(key ? 'dict' : 'OrderedDict');
      expect(Object.keys(out.tensors)).toEqual(Object.keys(sd));
      for (const [k, t] of Object.entries(sd)) {
        expect(out.tensors[k]!.dtype, k).toBe(PY_DTYPE[t.dtype]);
        expect(out.tensors[k]!.shape, k).toEqual(t.shape);
        expect(out.tensors[k]!.hex, k).toBe(hex(t));
      }
    }
    disposeAll(sd);
  });

  it('our re-save of a fixture model (as {"model": sd}) is what torch.load reads from the original', async () => {
    const src = path.join(FIXTURES, 'model_resnet8x4_sdd.pth');
    const sd = await sdd.load(src);
    const ours = path.join(tmp, 'resaved.pth');
    await sdd.save(sd, ours, { key: 'model' });
    const out = python(`
import sys, torch
a = torch.load(sys.argv[1])['model']
b = torch.load(sys.argv[2], weights_only=True)['model']
assert list(a.keys()) == list(b.keys()), 'key order'
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]), k
print(len(a))
`, src, ours);
    expect(out.trim()).toBe('62');
    disposeAll(sd);
  });

  it('a plain-Python safetensors reader (json + raw bytes) agrees with our .safetensors', async () => {
    const sd = everyDtype();
    const file = path.join(tmp, 'py.safetensors');
    await sdd.save(sd, file, { metadata: { who: 'sdd-torch' } });
    const out = JSON.parse(python(`
import sys, json, struct, torch
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
assert (8 + n) % 8 == 0
h = json.loads(b[8:8 + n])
meta = h.pop('__metadata__')
dt = {'F32': torch.float32, 'F64': torch.float64, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I64': torch.int64,
      'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}
out = {}
for k, v in h.items():
    s, e = v['data_offsets']
    raw = bytearray(b[8 + n + s: 8 + n + e])
    t = torch.frombuffer(raw, dtype=dt[v['dtype']]) if e > s else torch.empty(0, dtype=dt[v['dtype']])
    t = t.reshape(v['shape'])
    total = float(t.double().sum()) if t.numel() else 0.0
    out[k] = {'shape': list(t.shape), 'sum': total if abs(total) < float('inf') else None}
print(json.dumps({'meta': meta, 'tensors': out}))
`, file)) as { meta: Record<string, string>; tensors: Record<string, { shape: number[]; sum: number }> };
    expect(out.meta).toEqual({ who: 'sdd-torch' });
    for (const [k, t] of Object.entries(sd)) {
      expect(out.tensors[k]!.shape, k).toEqual(t.shape);
      const ours = t.numel === 0 ? 0 : t.to('float64').sum().item() as number;
      if (Number.isFinite(ours)) expect(out.tensors[k]!.sum, k).toBeCloseTo(ours, 6);
      else expect(out.tensors[k]!.sum, k).toBeNull();
    }
    disposeAll(sd);
  });
});

describe.skipIf(!hasTorch)('we read what Python torch.save writes', () => {
  it('views (transposed, offset, strided, expanded), shared storage, parameters, every storage type; zip and legacy formats', () => {
    const file = path.join(tmp, 'views.pth');
    const legacyFile = path.join(tmp, 'views-legacy.pth');
    const expected = JSON.parse(python(`
import sys, json, torch
from collections import OrderedDict
torch.manual_seed(0)
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
sd = OrderedDict()
sd['base'] = base
sd['t'] = base.t()
sd['row'] = base[1]
sd['col'] = base[:, 2]
sd['block'] = base[2:, 1:4]
sd['strided'] = base[::2, ::3]
sd['expanded'] = torch.tensor([1.5, 2.5]).expand(3, 2)
sd['param'] = torch.nn.Parameter(torch.randn(3, 2))
sd['half'] = torch.randn(2, 3).half().t()
sd['bf16'] = torch.randn(5).bfloat16()[1:]
sd['f64'] = torch.randn(3, 3, dtype=torch.float64).t()
sd['i64'] = torch.tensor([[-(2**62), 2**40], [5, 6]]).t()
sd['i32'] = torch.arange(6, dtype=torch.int32)[::2]
sd['i16'] = torch.arange(4, dtype=torch.int16)
sd['i8'] = torch.tensor([-3, 4], dtype=torch.int8)
sd['u8'] = torch.tensor([200, 1], dtype=torch.uint8)
sd['b'] = torch.tensor([[True, False], [False, True]]).t()
sd['zero_d'] = torch.tensor(2.5)
sd['empty'] = torch.zeros(0, 4)
torch.save(sd, sys.argv[1])
torch.save(sd, sys.argv[2], _use_new_zipfile_serialization=False)
out = {}
for k, v in sd.items():
    flat = v.detach().contiguous().reshape(-1)
    raw = flat.view(torch.uint8) if v.dtype != torch.bool else flat.to(torch.uint8)
    out[k] = {'shape': list(v.shape), 'dtype': str(v.dtype).replace('torch.', ''), 'hex': raw.numpy().tobytes().hex()}
print(json.dumps(out))
`, file, legacyFile)) as Record<string, { shape: number[]; dtype: string; hex: string }>;
    expect(readFileSync(legacyFile).subarray(0, 2)).toEqual(Buffer.from([0x80, 0x02])); // not a zip
    const sd = sdd.loadSync(file);
    const legacy = sdd.loadSync(legacyFile);
    for (const got of [sd, legacy]) {
      expect(Object.keys(got)).toEqual(Object.keys(expected));
      for (const [k, e] of Object.entries(expected)) {
        expect(got[k]!.shape, k).toEqual(e.shape);
        expect(PY_DTYPE[got[k]!.dtype], k).toBe(e.dtype);
        expect(hex(got[k]!), k).toBe(e.hex);
      }
    }
    expect(sdd.checkpointFormat(legacyFile)).toBe('pth');
    disposeAll(legacy);
    // base, t, row, col, block and strided are views of one storage, read once
    const { root } = readPthArchive(bufferSource(readFileSync(file)), file);
    const refs = root as Map<string, TensorRef>;
    expect(refs.get('t')!.storage).toBe(refs.get('base')!.storage);
    expect(refs.get('block')!.offset).toBe(13);
    disposeAll(sd);
  });

  it('a training checkpoint (epoch, numpy scalar, argparse.Namespace, optimizer state) yields its "model"', () => {
    const file = path.join(tmp, 'train.pth');
    python(`
import sys, argparse, numpy, torch
net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
net(torch.randn(4, 3)).sum().backward(); opt.step()
ckpt = {'epoch': 7, 'best_acc': numpy.float64(71.25), 'args': argparse.Namespace(lr=0.1, arch='resnet8'),
        'model': net.state_dict(), 'optimizer': opt.state_dict()}
torch.save(ckpt, sys.argv[1])
torch.save(ckpt, sys.argv[2], _use_new_zipfile_serialization=False)
torch.save(net, sys.argv[3], _use_new_zipfile_serialization=False)
`, file, path.join(tmp, 'train-legacy.pth'), path.join(tmp, 'module-legacy.pth'));
    const sd = sdd.loadSync(file);
    expect(Object.keys(sd)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']);
    const legacy = sdd.loadSync(path.join(tmp, 'train-legacy.pth'));
    for (const k of Object.keys(sd)) expect(hex(legacy[k]!), k).toBe(hex(sd[k]!));
    disposeAll(legacy);
    // a whole pickled module needs its classes: refused like any other global
    expect(() => sdd.loadSync(path.join(tmp, 'module-legacy.pth'))).toThrow(/module-legacy\.pth: data: global "torch\.nn\.modules\.container\.Sequential" is not allowed/);
    const { root } = readPthArchive(bufferSource(readFileSync(file)), file);
    const r = root as Map<string, unknown>;
    expect(r.get('epoch')).toBe(7);
    expect(r.get('best_acc')).toBe(71.25);
    expect((r.get('args') as { attributes: Map<string, unknown> }).attributes.get('arch')).toBe('resnet8');
    disposeAll(sd);
  });

  it('refuses a malicious pickle (os.system via __reduce__) without running it', () => {
    const file = path.join(tmp, 'evil.pth');
    const marker = path.join(tmp, 'pwned');
    python(`
import sys, os, torch
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + sys.argv[2],))
torch.save({'model': {'w': torch.ones(1)}, 'x': Evil()}, sys.argv[1])
`, file, marker);
    expect(() => sdd.loadSync(file)).toThrow(
      /evil\.pth: evil\/data\.pkl: global "posix\.system" is not allowed \(only the globals a state dict needs are: collections\.OrderedDict, torch\._utils\._rebuild_tensor, .*\) \(GLOBAL at byte \d+\)/);
    expect(existsSync(marker)).toBe(false);
  });

  it('unpickles plain values of protocols 2 to 5 like Python', () => {
    const out = JSON.parse(python(`
import pickle, json, base64
v = {'ints': [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31, 2**62, -2**63, 2**100], 'floats': [0.5, -1e300, float('inf')],
     'strs': ['', 'ascii', 'ünï©ødé', 'x' * 300], 'bytes': b'\\x00\\xff', 'tuple': (1, (2, 3), ()), 'nested': {'a': [None, True, False]},
     'set': {1, 2}, 'fs': frozenset([3]), 'ba': bytearray(b'ab'), 'big': (1, 2, 3, 4)}
print(json.dumps({str(p): base64.b64encode(pickle.dumps(v, protocol=p)).decode() for p in (2, 3, 4, 5)}))
`)) as Record<string, string>;
    for (const [p, b64] of Object.entries(out)) {
      const v = sdd.pickle.unpickle(Buffer.from(b64, 'base64')) as Map<string, unknown>;
      expect(v.get('ints'), `protocol ${p}`).toEqual([0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31, 2n ** 62n, -(2n ** 63n), 2n ** 100n]);
      expect(v.get('floats')).toEqual([0.5, -1e300, Infinity]);
      expect(v.get('strs')).toEqual(['', 'ascii', 'ünï©ødé', 'x'.repeat(300)]);
      expect(v.get('bytes')).toEqual(new Uint8Array([0, 255]));
      expect(v.get('tuple')).toEqual([1, [2, 3], []]);
      expect(sdd.pickle.isTuple(v.get('tuple'))).toBe(true);
      expect((v.get('nested') as Map<string, unknown>).get('a')).toEqual([null, true, false]);
      expect(v.get('set')).toEqual(new Set([1, 2]));
      expect(v.get('fs')).toEqual(new Set([3]));
      expect(v.get('ba')).toEqual(new Uint8Array([97, 98]));
      expect(v.get('big')).toEqual([1, 2, 3, 4]);
    }
  });

  it('CIFAR-style pickles: numpy globals are refused by default and accepted with extra handlers', () => {
    const b64 = python(`
import pickle, numpy, base64
d = {b'labels': [1, 2], b'data': numpy.arange(6, dtype=numpy.uint8).reshape(2, 3), 'name': 'cifar'}
print(base64.b64encode(pickle.dumps(d, protocol=2)).decode())
`).trim();
    const bytes = Buffer.from(b64, 'base64');
    expect(() => sdd.pickle.unpickle(bytes, { name: 'data_batch_1' })).toThrow(/data_batch_1: global "numpy\.core\.multiarray\._reconstruct" is not allowed/);
    class FakeArray implements sdd.pickle.Stateful {
      state: unknown;
      [sdd.pickle.SETSTATE](s: unknown): void { this.state = s; }
    }
    const globals: sdd.pickle.GlobalTable = {
      ...sdd.pickle.PYTHON_DATA_GLOBALS,
      'numpy.core.multiarray._reconstruct': { call: () => new FakeArray() },
      'numpy.ndarray': {},
      'numpy.dtype': { call: (a) => ({ descr: a[0], [sdd.pickle.SETSTATE]() {} }) },
    };
    const d = sdd.pickle.unpickle(bytes, { globals }) as Map<unknown, unknown>;
    expect(sdd.pickle.dictGet(d, 'labels')).toEqual([1, 2]);
    expect(sdd.pickle.dictGet(d, 'name')).toBe('cifar');
    const arr = sdd.pickle.dictGet(d, 'data') as FakeArray;
    const state = arr.state as unknown[];
    expect(state[1]).toEqual([2, 3]);
    expect(state[4]).toEqual(new Uint8Array([0, 1, 2, 3, 4, 5]));
  });
});

describe.skipIf(!existsSync(PYTHON))('deflated archives (torch never writes them, other zip tools do)', () => {
  const src = path.join(FIXTURES, 'model_resnet8_sdd.pth');
  const deflated = path.join(tmp, 'deflated.pth');
  const centralOf = (bytes: Buffer, name: string): number => {
    for (let i = bytes.indexOf(Buffer.from([0x50, 0x4b, 1, 2])); i >= 0; i = bytes.indexOf(Buffer.from([0x50, 0x4b, 1, 2]), i + 1)) {
      if (bytes.toString('latin1', i + 46, i + 46 + bytes.readUInt16LE(i + 28)) === name) return i;
    }
    throw new Error(`no central entry ${name}`);
  };

  it('load the same as the stored original', () => {
    python(`
import sys, zipfile
src = zipfile.ZipFile(sys.argv[1])
with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as dst:
    for i in src.infolist():
        dst.writestr(i.filename, src.read(i.filename))
`, src, deflated);
    const a = sdd.loadSync(src);
    const b = sdd.loadSync(deflated);
    expect(readFileSync(deflated).length).toBeLessThan(readFileSync(src).length);
    for (const k of Object.keys(a)) expect(hex(b[k]!), k).toBe(hex(a[k]!));
    disposeAll(a);
    disposeAll(b);
  });

  it('lying sizes: impossible ratios are refused before inflating; overruns stop at the declared size', () => {
    const bytes = readFileSync(deflated);
    const at = centralOf(bytes, 'archive/data.pkl');
    const huge = Buffer.from(bytes);
    huge.writeUInt32LE(0xfffffff0, at + 24);
    expect(() => sdd.loadSync(huge, { name: 'z.pth' })).toThrow(/z\.pth: archive\/data\.pkl: declared size 4294967280 is impossible for \d+ deflated bytes \(zip bomb\?\)/);
    const small = Buffer.from(bytes);
    small.writeUInt32LE(100, at + 24);
    expect(() => sdd.loadSync(small, { name: 'z.pth' })).toThrow(/z\.pth: archive\/data\.pkl: corrupt deflate data/);
    const more = Buffer.from(bytes);
    more.writeUInt32LE(more.readUInt32LE(at + 24) + 10, at + 24);
    expect(() => sdd.loadSync(more, { name: 'z.pth' })).toThrow(/z\.pth: archive\/data\.pkl: inflated to \d+ bytes but the archive declares \d+/);
  });
});

// ------------------------------------------------------------------ hostile and broken inputs
describe('hostile and broken files give clean errors', () => {
  const globalReduce = (module: string, name: string, arg = 'id'): Uint8Array => new Uint8Array([
    0x80, 2, 0x63, ...enc(`${module}\n${name}\n`), 0x58, arg.length, 0, 0, 0, ...enc(arg), 0x85, 0x52, 0x2e,
  ]);

  for (const [m, n] of [['os', 'system'], ['posix', 'system'], ['builtins', 'eval'], ['__builtin__', 'exec'], ['subprocess', 'Popen'], ['torch.storage', '_load_from_bytes'], ['builtins', 'getattr']]) {
    it(`GLOBAL ${m}.${n} + REDUCE is refused, naming the global`, () => {
      expect(() => sdd.loadSync(archive(globalReduce(m!, n!)), { name: 'model.pth' }))
        .toThrow(`model.pth: archive/data.pkl: global "${m}.${n}" is not allowed (only the globals a state dict needs are: collections.OrderedDict`);
    });
  }

  it('STACK_GLOBAL is held to the same allow-list; REDUCE needs a callable; BUILD needs a settable object', () => {
    const stackGlobal = new Uint8Array([0x80, 4, 0x8c, 2, ...enc('os'), 0x8c, 6, ...enc('system'), 0x93, 0x29, 0x52, 0x2e]);
    expect(() => sdd.pickle.unpickle(stackGlobal, { globals: {} })).toThrow(/global "os\.system" is not allowed \(only the globals this reader allows are: none\)/);
    expect(() => sdd.pickle.unpickle(stackGlobal)).toThrow(/global "os\.system" is not allowed \(only the globals this reader allows are: _codecs\.encode, builtins\.set/);
    const reduceStr = new Uint8Array([0x80, 2, 0x58, 1, 0, 0, 0, 0x61, 0x29, 0x52, 0x2e]);
    expect(() => sdd.pickle.unpickle(reduceStr)).toThrow(/a str is not callable \(REDUCE at byte 9\)/);
    const buildDict = new Uint8Array([0x80, 2, 0x7d, 0x7d, 0x62, 0x2e]);
    expect(() => sdd.pickle.unpickle(buildDict)).toThrow(/cannot set the state of a dict/);
    const storageCall = new Uint8Array([0x80, 2, 0x63, ...enc('torch\nFloatStorage\n'), 0x29, 0x52, 0x2e]);
    expect(() => sdd.loadSync(archive(storageCall))).toThrow(/torch\.FloatStorage cannot be called/);
  });

  it('Python 2 strings (BINSTRING) as text or, like encoding="bytes", as bytes with dictGet lookups', () => {
    const py2 = new Uint8Array([0x80, 2, 0x7d, 0x55, 4, ...enc('data'), 0x54, 3, 0, 0, 0, 0xff, 0x00, 0x41, 0x73, 0x2e]);
    expect((sdd.pickle.unpickle(py2) as Map<string, unknown>).get('data')).toBe('\u00ff\u0000A');
    const asBytes = sdd.pickle.unpickle(py2, { python2Strings: 'bytes' }) as Map<unknown, unknown>;
    expect([...asBytes.keys()][0]).toEqual(new Uint8Array(enc('data')));
    expect(sdd.pickle.dictGet(asBytes, 'data')).toEqual(new Uint8Array([0xff, 0x00, 0x41]));
  });

  it('refuses persistent ids outside the archive, bad views and lying storage sizes', () => {
    const tensorPkl = (numel: number, size: number[], stride: number[], offset = 0, key = '0'): Uint8Array => {
      const w = new PickleWriter().proto(2).emptyDict().string('w').global('torch._utils', '_rebuild_tensor_v2').mark();
      w.mark().string('storage').global('torch', 'FloatStorage').string(key).string('cpu').int(numel).tuple().binpersid();
      w.int(offset).intTuple(size).intTuple(stride).bool(false).emptyTuple().tuple().reduce().setitem();
      return w.stop().bytes();
    };
    const data = { 0: new Uint8Array(16) };
    const ok = sdd.loadSync(archive(tensorPkl(4, [2, 2], [1, 2]), data));
    expect(ok.w!.shape).toEqual([2, 2]);
    ok.w!.dispose();
    expect(() => sdd.loadSync(archive(tensorPkl(4, [2, 2], [2, 1], 1), data), { name: 'v.pth' }))
      .toThrow(/v\.pth: archive\/data\.pkl: torch\._utils\._rebuild_tensor_v2: a view of size \(2, 2\), stride \(2, 1\) at offset 1 reads past its storage of 4 elements/);
    expect(() => sdd.loadSync(archive(tensorPkl(5, [4], [1]), data))).toThrow(/storage "0" declares 5 float32 elements \(20 bytes\) but its record holds 16 bytes/);
    expect(() => sdd.loadSync(archive(tensorPkl(4, [4], [1], 0, '../../etc/passwd'), data))).toThrow(/storage "..\/..\/etc\/passwd" is missing from the archive/);
    expect(() => sdd.loadSync(archive(tensorPkl(4, [2 ** 20, 2 ** 20], [0, 0]), data))).toThrow(/too large to materialise/);
    expect(() => sdd.loadSync(archive(tensorPkl(4, [3], [1, 1]), data))).toThrow(/size has 1 dimensions but stride has 2/);
  });

  it('zip damage: truncation, bad CRC, bombs by declared size, overlapping entries', () => {
    const good = readFileSync(path.join(FIXTURES, 'model_resnet8_sdd.pth'));
    expect(() => sdd.loadSync(good.subarray(0, good.length - 10), { name: 'model.pth' })).toThrow(/^model\.pth: truncated zip archive/);
    expect(() => sdd.loadSync(good.subarray(0, 100), { name: 'model.pth' })).toThrow(/^model\.pth: truncated zip archive/);
    const flipped = Buffer.from(good);
    flipped[7000] ^= 0x10; // inside archive/data/0
    expect(() => sdd.loadSync(flipped, { name: 'model.pth' })).toThrow('model.pth: archive/data/0: CRC-32 mismatch (the file is corrupt)');
    // a stored entry that claims a huge size
    const bomb = Buffer.from(archive(new Uint8Array([0x80, 2, 0x7d, 0x2e])));
    const cd = bomb.lastIndexOf(Buffer.from([0x50, 0x4b, 1, 2]));
    const first = bomb.indexOf(Buffer.from([0x50, 0x4b, 1, 2]));
    bomb.writeUInt32LE(0xfffffff0, first + 24);
    expect(cd).toBeGreaterThan(first);
    expect(() => sdd.loadSync(bomb, { name: 'bomb.pth' })).toThrow(/bomb\.pth: archive\/data\.pkl: stored entry has compressed size 4 but size 4294967280/);
  });

  it('many views of one storage cannot make a small file expand without bound', () => {
    const w = new PickleWriter().proto(2).emptyDict();
    for (let i = 0; i < 100; i++) {
      w.string(`v${i}`).global('torch._utils', '_rebuild_tensor_v2').mark();
      w.mark().string('storage', true).global('torch', 'FloatStorage').string('0').string('cpu', true).int(1 << 20).tuple().binpersid();
      w.int(0).intTuple([1 << 20]).intTuple([1]).bool(false).emptyTuple().tuple().reduce().setitem();
    }
    const before = sdd.memory().liveTensors;
    expect(() => sdd.loadSync(archive(w.stop().bytes(), { 0: new Uint8Array(4 << 20) }), { name: 'views.pth' }))
      .toThrow(/views\.pth: the state dict would take 419430400 bytes from a \d+-byte file/);
    expect(sdd.memory().liveTensors).toBeLessThanOrEqual(before); // a leak adds; the GC safety net may free older garbage meanwhile
  });

  it('overlapping zip entries (the overlapping-file zip bomb) are refused', () => {
    const bytes = Buffer.from(archive(new Uint8Array([0x80, 2, 0x7d, 0x2e]), { 0: new Uint8Array(8) }));
    const centrals: number[] = [];
    for (let i = bytes.indexOf(Buffer.from([0x50, 0x4b, 1, 2])); i >= 0; i = bytes.indexOf(Buffer.from([0x50, 0x4b, 1, 2]), i + 1)) centrals.push(i);
    bytes.writeUInt32LE(bytes.readUInt32LE(centrals[0]! + 42), centrals[1]! + 42); // data/0 -> data.pkl's bytes
    expect(() => sdd.loadSync(bytes, { name: 'o.pth' })).toThrow(/o\.pth: corrupt zip archive \(entries "archive\/data.pkl" and "archive\/data\/0" overlap\)/);
  });

  it('reads through zip64 end records when the classic ones are saturated', () => {
    const good = Buffer.from(readFileSync(path.join(FIXTURES, 'model_resnet8_sdd.pth')));
    const eocd = good.length - 22;
    good.writeUInt16LE(0xffff, eocd + 8);
    good.writeUInt16LE(0xffff, eocd + 10);
    good.writeUInt32LE(0xffffffff, eocd + 12);
    good.writeUInt32LE(0xffffffff, eocd + 16);
    const a = sdd.loadSync(good);
    expect(Object.keys(a).length).toBe(56);
    disposeAll(a);
  });

  it('reads large files range by range (file source), as it does files over 1 GiB', async () => {
    const { fileSource } = await import('../lib/checkpoint/source.js');
    const { readSafetensorsSource } = await import('../lib/checkpoint/safetensors.js');
    const { openSync, fstatSync, closeSync } = await import('node:fs');
    const pthPath = path.join(FIXTURES, 'model_resnet8_sdd.pth');
    const stPath = path.join(FIXTURES, 'model_resnet8_sdd.safetensors');
    const ref = sdd.loadSync(stPath);
    const fd1 = openSync(pthPath, 'r');
    const fd2 = openSync(stPath, 'r');
    try {
      const { root } = readPthArchive(fileSource(fd1, fstatSync(fd1).size), pthPath);
      for (const [k, r] of findStateDict(root, pthPath)) {
        const t = r.materialize();
        expect(hex(t), k).toBe(hex(ref[k]!));
        t.dispose();
      }
      const st = readSafetensorsSource(fileSource(fd2, fstatSync(fd2).size), stPath);
      for (const k of Object.keys(ref)) expect(hex(st.tensors[k]!), k).toBe(hex(ref[k]!));
      disposeAll(st.tensors);
    } finally {
      closeSync(fd1);
      closeSync(fd2);
    }
    disposeAll(ref);
  });

  it('safetensors damage: header length, offsets, sizes, dtypes', () => {
    const make = (header: unknown, data = new Uint8Array(0), lenOverride?: bigint): Uint8Array => {
      const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
      const b = Buffer.alloc(8 + json.length + data.length);
      b.writeBigUInt64LE(lenOverride ?? BigInt(json.length));
      json.copy(b, 8);
      Buffer.from(data).copy(b, 8 + json.length);
      return b;
    };
    const load = (b: Uint8Array): unknown => sdd.loadSync(b, { name: 'm.safetensors' });
    const f32 = (b: number, e: number, shape = [1]): unknown => ({ dtype: 'F32', shape, data_offsets: [b, e] });
    expect(() => load(make({ a: f32(0, 4) }, new Uint8Array(4), 2n ** 60n))).toThrow('m.safetensors: safetensors header length 1152921504606846976 exceeds the 100000000-byte limit');
    expect(() => load(make({ a: f32(0, 4) }, new Uint8Array(4), 5000n))).toThrow(/truncated safetensors file \(header of 5000 bytes/);
    expect(() => load(make({ a: f32(0, 4) }, new Uint8Array(2)))).toThrow(/truncated safetensors file \(tensors need 4 data bytes, 2 present\)/);
    expect(() => load(make({ a: f32(0, 4) }, new Uint8Array(8)))).toThrow(/4 trailing bytes/);
    expect(() => load(make({ a: f32(0, 4), b: f32(2, 6) }, new Uint8Array(8)))).toThrow(/tensor "b" overlaps the previous tensor/);
    expect(() => load(make({ a: f32(0, 4), b: f32(8, 12) }, new Uint8Array(12)))).toThrow(/gap in the data before tensor "b"/);
    expect(() => load(make({ a: f32(0, 8) }, new Uint8Array(8)))).toThrow(/data_offsets \[0, 8\] hold 8 bytes but F32 \[1\] needs 4/);
    expect(() => load(make({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)))).toThrow(/dtype "F8_E4M3" is not supported/);
    expect(() => load(make({ a: f32(0, 4, [-1]) }, new Uint8Array(4)))).toThrow(/shape must be an array of non-negative integers/);
    expect(() => load(make({ a: f32(0, 4, [2 ** 40, 2 ** 40]) }, new Uint8Array(4)))).toThrow(/is too large/);
    expect(() => load(make('{"a": nope}'))).toThrow(/not valid JSON/);
    expect(() => load(make({ __metadata__: { a: 1 } }))).toThrow(/__metadata__\["a"\] must be a string/);
    expect(() => load(new Uint8Array([1, 2, 3]))).toThrow('m.safetensors: unrecognised format: neither safetensors nor a PyTorch checkpoint');
    expect(() => load(new Uint8Array(0))).toThrow('m.safetensors: empty file');
    const ok = sdd.loadSync(make({ __proto__x: f32(0, 4), ['__proto__']: f32(4, 8) } as never, new Uint8Array(8)));
    expect(Object.keys(ok).length).toBeGreaterThanOrEqual(1);
    disposeAll(ok);
  });

  it('tar-era, bare-pickle and TorchScript files get a message saying what to do', () => {
    const tar = Buffer.alloc(1024);
    tar.write('ustar', 257, 'latin1');
    expect(() => sdd.loadSync(tar, { name: 'old.pth' })).toThrow(/old\.pth: legacy tar-based torch\.save format is not supported; in Python: torch\.save\(torch\.load\(path\), new_path\)/);
    expect(() => sdd.loadSync(new Uint8Array([0x80, 2, 0x4e, 0x2e]), { name: 'p.pkl' })).toThrow(/p\.pkl: a bare pickle, not a torch\.save file/);
    const legacyCut = new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e, 0x80]);
    expect(() => sdd.loadSync(legacyCut, { name: 'cut.pth' })).toThrow(/cut\.pth: protocol version: truncated pickle/);
    const script = concat(zipChunks([
      { name: 'm/data.pkl', data: new Uint8Array([0x80, 2, 0x4e, 0x2e]) },
      { name: 'm/code/__torch__/m.py', data: new Uint8Array(1) },
    ]));
    expect(() => sdd.loadSync(script, { name: 'ts.pt' })).toThrow(/ts\.pt: this is a TorchScript archive/);
  });

  it('failed loads leak no tensors', () => {
    const before = sdd.memory().liveTensors;
    const w = new PickleWriter().proto(2).emptyDict();
    for (const [i, key] of ['0', '1'].entries()) {
      w.string(`t${i}`).global('torch._utils', '_rebuild_tensor_v2').mark();
      w.mark().string('storage').global('torch', 'FloatStorage').string(key).string('cpu').int(1).tuple().binpersid();
      w.int(0).intTuple([1]).intTuple([1]).bool(false).emptyTuple().tuple().reduce().setitem();
    }
    // t1's record is corrupted after the zip was parsed: t0 is made, then t1 fails on its CRC
    const bytes = Buffer.from(archive(w.stop().bytes(), { 0: new Uint8Array(4), 1: new Uint8Array(4) }));
    const rec = bytes.indexOf(Buffer.from('archive/data/1'));
    bytes[rec + 14 + 4 + (64 - ((rec + 14 + 4) % 64)) % 64] ^= 1;
    expect(() => sdd.loadSync(bytes)).toThrow(/archive\/data\/1: CRC-32 mismatch/);
    expect(sdd.memory().liveTensors).toBeLessThanOrEqual(before); // a leak adds; the GC safety net may free older garbage meanwhile
  });
});

// ------------------------------------------------------------------ atomic writes
describe('atomic writes', () => {
  it('a write that fails midway leaves the old file intact and no temporary file', async () => {
    const dir = mkdtempSync(path.join(tmp, 'atomic-'));
    const file = path.join(dir, 'model.safetensors');
    const sd = { w: sdd.ones([4]) };
    await sdd.save(sd, file);
    const old = readFileSync(file);
    const bad = { w: sd.w, x: sdd.ones([2]) };
    bad.x.dispose(); // fails validation before anything is written
    await expect(sdd.save(bad, file)).rejects.toThrow(/a live Tensor/);
    // fails while writing: the data is copied out tensor by tensor, and the last one is gone by then
    const big = { a: sdd.zeros([1 << 20]), z: sdd.ones([1]) };
    for (const format of ['safetensors', 'pth'] as const) {
      const pending = sdd.save(big, file, { format });
      big.z.dispose();
      await expect(pending).rejects.toThrow(/dispose/);
      expect(readFileSync(file).equals(old)).toBe(true);
      expect(readdirSync(dir)).toEqual(['model.safetensors']);
      big.z = sdd.ones([1]);
    }
    const { writeFileAtomic } = await import('../lib/checkpoint/atomic.js');
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(1 << 20);
      throw new Error('disk on fire');
    }
    await expect(writeFileAtomic(file, failing())).rejects.toThrow('disk on fire');
    expect(readFileSync(file).equals(old)).toBe(true);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    disposeAll(sd);
    disposeAll(big);
  });

  it('a process killed mid-write leaves the old file intact', async () => {
    const dir = mkdtempSync(path.join(tmp, 'kill-'));
    const js = ts.transpileModule(readFileSync(path.join(REPO_ROOT, 'lib/checkpoint/atomic.ts'), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    writeFileSync(path.join(dir, 'atomic.mjs'), js);
    writeFileSync(path.join(dir, 'child.mjs'), `
import { writeFileAtomicSync } from './atomic.mjs';
function* chunks() {
  for (let i = 0; i < 64; i++) {
    yield new Uint8Array(1 << 20).fill(i);
    if (i === 8) { process.stdout.write('writing\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000); }
  }
}
writeFileAtomicSync(process.argv[2], chunks());
process.stdout.write('done\\n');
`);
    const file = path.join(dir, 'model.pth');
    writeFileSync(file, 'the old checkpoint');
    // the child writes 9 MiB of 64, says so, and stalls: we kill it there
    const child = spawn(process.execPath, [path.join(dir, 'child.mjs'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForOutput(child, 'writing', { stream: 'stdout', timeoutMs: 60_000 }); // fails at once if the child exits first
    child.kill('SIGKILL');
    const killed = await waitForExit(child, { timeoutMs: 30_000 });
    expect(killed.signal, killed.stdout + killed.stderr).toBe('SIGKILL');
    expect(readFileSync(file, 'utf8')).toBe('the old checkpoint');
    const leftovers = readdirSync(dir).filter((f) => f.endsWith('.tmp'));
    expect(leftovers.length).toBe(1); // the torn temporary file, never the target
    expect(leftovers[0]).toMatch(/^\.model\.pth\.\d+\.[0-9a-f]+\.tmp$/);
  });
});
