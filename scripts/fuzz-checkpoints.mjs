#!/usr/bin/env node
// Fuzzes the checkpoint readers (lib/checkpoint): mutated fixtures, hostile pickles, zip bombs and
// damaged safetensors headers. Every case must end in a valid load or a clean Error: never a crash,
// a hang (each case is time-boxed), a non-Error throw, a leaked tensor, a polluted prototype or an
// executed command. Cases run in child processes so a native crash or a hang is caught and counted.
//
//   node scripts/fuzz-checkpoints.mjs [--cases 10000] [--seed 1] [--workers N] [--timeout 10000] [--json] [--verbose]
//
// Cases are deterministic in (seed, index): `--first N --cases 1 --verbose` replays case N. The TS sources are
// transpiled (no type checking) into a temporary folder first, so no build step is needed.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { crc32, deflateRawSync } from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// the reference checkpoints vendored in the repository (test/fixtures/README.md)
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'reference');
const SELF = fileURLToPath(import.meta.url);

const { values: opts } = parseArgs({
  options: {
    cases: { type: 'string', default: '10000' },
    first: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    workers: { type: 'string', default: String(Math.max(1, Math.min(4, availableParallelism() - 1))) },
    timeout: { type: 'string', default: '10000' },
    json: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false }, // one line per case
    worker: { type: 'string' }, // internal: the transpiled lib folder
    marker: { type: 'string' }, // internal: the file hostile pickles try to create
    inject: { type: 'string' }, // harness self-test: 'crash:N,hang:M' makes case N abort and case M spin
  },
});

// ------------------------------------------------------------------ deterministic randomness
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function rngFor(seed, i) {
  const r = mulberry32((seed * 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b));
  const api = {
    float: r,
    int: (n) => Math.floor(r() * n),
    range: (lo, hi) => lo + Math.floor(r() * (hi - lo + 1)),
    pick: (arr) => arr[Math.floor(r() * arr.length)],
    chance: (p) => r() < p,
  };
  return api;
}

const INTERESTING_U32 = [0, 1, 2, 7, 8, 63, 64, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const INTERESTING_U64 = [0n, 1n, 7n, 8n, 0xffffffffn, 0x100000000n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 100000000n, 100000001n];

// ------------------------------------------------------------------ byte helpers
const enc = new TextEncoder();
const cat = (...parts) => {
  const arrays = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrays) { out.set(a, o); o += a.length; }
  return out;
};
const u16 = (v) => [v & 0xff, (v >>> 8) & 0xff];
const u32 = (v) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const u64 = (v) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true); return [...b]; };

function flipBits(bytes, rng, n, from = 0, to = bytes.length) {
  const out = bytes.slice();
  if (to <= from) return out;
  for (let k = 0; k < n; k++) out[rng.range(from, to - 1)] ^= 1 << rng.int(8);
  return out;
}
function setBytes(bytes, rng, n, from = 0, to = bytes.length) {
  const out = bytes.slice();
  if (to <= from) return out;
  for (let k = 0; k < n; k++) out[rng.range(from, to - 1)] = rng.pick([0, 0xff, 0x7f, 0x80, 0x01, 0x2e, 0x28, 0x7b, rng.int(256)]);
  return out;
}
function splice(bytes, rng, from = 0, to = bytes.length) {
  const a = rng.range(from, Math.max(from, to - 1));
  const kind = rng.int(3);
  if (kind === 0) return cat(bytes.subarray(0, a), bytes.subarray(Math.min(bytes.length, a + rng.range(1, 64)))); // delete
  if (kind === 1) { // insert random bytes
    const ins = Uint8Array.from({ length: rng.range(1, 32) }, () => rng.int(256));
    return cat(bytes.subarray(0, a), ins, bytes.subarray(a));
  }
  const b = rng.range(from, Math.max(from, to - 1)); // duplicate a segment
  const seg = bytes.subarray(b, Math.min(bytes.length, b + rng.range(1, 128)));
  return cat(bytes.subarray(0, a), seg, bytes.subarray(a));
}

/** A zip archive built field by field, so the fuzzer can lie in any of them. */
function buildZip(entries, { comment = new Uint8Array(0) } = {}) {
  const parts = [];
  const central = [];
  let pos = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const data = e.method === 8 ? (e.compressed ?? deflateRawSync(e.data)) : e.data;
    const crc = e.crc ?? crc32(e.data);
    const size = e.size ?? e.data.length;
    const csize = e.csize ?? data.length;
    const local = cat([0x50, 0x4b, 3, 4], u16(20), u16(e.flags ?? 0), u16(e.method ?? 0), u32(0), u32(crc), u32(csize), u32(size), u16(name.length), u16(0), name);
    const lho = e.lho ?? pos;
    central.push(cat([0x50, 0x4b, 1, 2], u16(20), u16(20), u16(e.flags ?? 0), u16(e.method ?? 0), u32(0), u32(crc), u32(csize), u32(size),
      u16(name.length), u16(e.extra?.length ?? 0), u16(0), u16(0), u16(0), u32(0), u32(lho), name, e.extra ?? []));
    parts.push(local, data);
    pos += local.length + data.length;
  }
  const cd = cat(...central);
  const count = entries.length;
  return cat(...parts, cd, [0x50, 0x4b, 5, 6], u16(0), u16(0), u16(count), u16(count), u32(cd.length), u32(pos), u16(comment.length), comment);
}

/** Offsets of zip structures (by signature) in an archive. */
function zipLayout(bytes) {
  const sig = { local: [], central: [], eocd: [], eocd64: [], locator: [] };
  for (let i = 0; i + 4 <= bytes.length; i++) {
    if (bytes[i] !== 0x50 || bytes[i + 1] !== 0x4b) continue;
    const a = bytes[i + 2], b = bytes[i + 3];
    if (a === 3 && b === 4) sig.local.push(i);
    else if (a === 1 && b === 2) sig.central.push(i);
    else if (a === 5 && b === 6) sig.eocd.push(i);
    else if (a === 6 && b === 6) sig.eocd64.push(i);
    else if (a === 6 && b === 7) sig.locator.push(i);
  }
  return sig;
}

// Field offsets and widths inside each zip structure, for targeted corruption.
const ZIP_FIELDS = {
  local: [[4, 2], [6, 2], [8, 2], [14, 4], [18, 4], [22, 4], [26, 2], [28, 2]],
  central: [[8, 2], [10, 2], [16, 4], [20, 4], [24, 4], [28, 2], [30, 2], [32, 2], [34, 2], [42, 4]],
  eocd: [[4, 2], [6, 2], [8, 2], [10, 2], [12, 4], [16, 4], [20, 2]],
  eocd64: [[24, 8], [32, 8], [40, 8], [48, 8]],
  locator: [[4, 4], [8, 8], [16, 4]],
};

// ------------------------------------------------------------------ pickle programs
const P = {
  PROTO: 0x80, STOP: 0x2e, MARK: 0x28, EMPTY_DICT: 0x7d, EMPTY_LIST: 0x5d, EMPTY_TUPLE: 0x29, TUPLE: 0x74, TUPLE1: 0x85,
  TUPLE2: 0x86, TUPLE3: 0x87, REDUCE: 0x52, BUILD: 0x62, GLOBAL: 0x63, STACK_GLOBAL: 0x93, SETITEM: 0x73, SETITEMS: 0x75,
  APPEND: 0x61, APPENDS: 0x65, BINPUT: 0x71, LONG_BINPUT: 0x72, BINGET: 0x68, LONG_BINGET: 0x6a, MEMOIZE: 0x94,
  BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, LONG1: 0x8a, LONG4: 0x8b, BINUNICODE: 0x58, SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d, BINBYTES: 0x42, BINBYTES8: 0x8e, NONE: 0x4e, NEWTRUE: 0x88, NEWFALSE: 0x89, BINPERSID: 0x51,
  NEWOBJ: 0x81, NEWOBJ_EX: 0x92, INST: 0x69, OBJ: 0x6f, FRAME: 0x95, LIST: 0x6c, DICT: 0x64, DUP: 0x32, POP: 0x30,
  POP_MARK: 0x31, BINFLOAT: 0x47, EXT1: 0x82, PERSID: 0x50, ADDITEMS: 0x90, EMPTY_SET: 0x8f, FROZENSET: 0x91,
  BYTEARRAY8: 0x96, NEXT_BUFFER: 0x97, SHORT_BINBYTES: 0x43, BINSTRING: 0x54, SHORT_BINSTRING: 0x55, INT: 0x49,
  LONG: 0x4c, FLOAT: 0x46, STRING: 0x53, UNICODE: 0x56, PUT: 0x70, GET: 0x67,
};
const OPCODES = Object.values(P);
const str = (s) => { const b = enc.encode(s); return [P.BINUNICODE, ...u32(b.length), ...b]; };
const glob = (m, n) => [P.GLOBAL, ...enc.encode(`${m}\n${n}\n`)];
const int = (v) => (v >= 0 && v < 256 ? [P.BININT1, v] : [P.BININT, ...u32(v)]);

const DANGEROUS = [
  ['os', 'system'], ['posix', 'system'], ['nt', 'system'], ['builtins', 'eval'], ['builtins', 'exec'], ['__builtin__', 'eval'],
  ['builtins', 'getattr'], ['builtins', '__import__'], ['builtins', 'open'], ['builtins', 'compile'], ['subprocess', 'Popen'],
  ['subprocess', 'check_output'], ['torch.storage', '_load_from_bytes'], ['pickle', 'loads'], ['shutil', 'rmtree'],
  ['importlib', 'import_module'], ['functools', 'partial'], ['operator', 'attrgetter'], ['sys', 'modules'], ['torch', 'load'],
  ['numpy.testing._private.utils', 'runstring'], ['runpy', '_run_code'], ['code', 'InteractiveInterpreter'], ['torch._C', '_get_tracing_state'],
  ['collections', 'OrderedDict.__init__'], ['builtins', 'object.__reduce__'], ['torch', 'FloatStorage\nos'], ['', ''], ['os', ''],
];

/** A hostile or malformed pickle program. */
function hostilePickle(rng, marker) {
  const cmd = `touch ${marker}`;
  const [m, n] = rng.pick(DANGEROUS);
  const k = rng.int(14);
  switch (k) {
    case 0: return [P.PROTO, 2, ...glob(m, n), ...str(cmd), P.TUPLE1, P.REDUCE, P.STOP];
    case 1: return [P.PROTO, 4, P.SHORT_BINUNICODE, m.length, ...enc.encode(m), P.SHORT_BINUNICODE, n.length, ...enc.encode(n), P.STACK_GLOBAL, ...str(cmd), P.TUPLE1, P.REDUCE, P.STOP];
    case 2: return [P.PROTO, 2, P.MARK, ...str(cmd), P.INST, ...enc.encode(`${m}\n${n}\n`), P.STOP];
    case 3: return [P.PROTO, 2, P.MARK, ...glob(m, n), ...str(cmd), P.OBJ, P.STOP];
    case 4: return [P.PROTO, 2, ...glob(m, n), P.EMPTY_TUPLE, P.NEWOBJ, P.STOP];
    case 5: return [P.PROTO, 4, ...glob(m, n), P.EMPTY_TUPLE, P.EMPTY_DICT, P.NEWOBJ_EX, P.STOP];
    case 6: // hidden inside a valid-looking state dict
      return [P.PROTO, 2, P.EMPTY_DICT, ...str('model'), ...glob('collections', 'OrderedDict'), P.EMPTY_TUPLE, P.REDUCE, ...str('w'), ...glob(m, n), ...str(cmd), P.TUPLE1, P.REDUCE, P.SETITEM, P.SETITEM, P.STOP];
    case 7: // __reduce__ tricks with allowed globals: call them with hostile arguments
      return [P.PROTO, 2, ...glob(rng.pick(['collections', 'torch._utils', 'torch', 'argparse', 'numpy', '_codecs', 'builtins']),
        rng.pick(['OrderedDict', '_rebuild_tensor_v2', '_rebuild_parameter', 'Size', 'FloatStorage', 'Namespace', 'dtype', 'encode', 'set', 'bytearray'])),
      ...rng.pick([[...str(cmd), P.TUPLE1], [P.EMPTY_DICT, P.TUPLE1], [P.NONE, P.NONE, P.TUPLE2], [P.EMPTY_TUPLE], [...int(7)], [P.MARK, ...str('a'), ...str('b'), P.TUPLE]]),
      rng.pick([P.REDUCE, P.NEWOBJ, P.BUILD]), P.STOP];
    case 8: // REDUCE/BUILD on things that are not callables or objects
      return [P.PROTO, 2, ...rng.pick([str('os.system'), [P.EMPTY_DICT], [P.EMPTY_LIST], [P.EMPTY_TUPLE], int(3), [P.NONE], glob('torch', 'LongStorage')]),
        ...rng.pick([[...str(cmd), P.TUPLE1], [P.EMPTY_DICT], [P.EMPTY_TUPLE]]), rng.pick([P.REDUCE, P.BUILD, P.NEWOBJ, P.APPEND, P.SETITEMS, P.ADDITEMS]), P.STOP];
    case 9: { // BUILD that tries to set dangerous attributes
      const key = rng.pick(['__class__', '__proto__', 'constructor', '__reduce__', '__setstate__', 'prototype']);
      return [P.PROTO, 2, ...glob(rng.pick(['collections', 'argparse']), rng.pick(['OrderedDict', 'Namespace'])), P.EMPTY_TUPLE, P.REDUCE,
        P.EMPTY_DICT, ...str(key), ...rng.pick([str(cmd), glob('collections', 'OrderedDict'), [P.EMPTY_DICT]]), P.SETITEM, P.BUILD, P.STOP];
    }
    case 10: { // deep nesting through MARK
      const d = rng.range(1000, 300000);
      return [P.PROTO, 2, ...new Array(d).fill(P.MARK), ...new Array(rng.chance(0.5) ? d : rng.int(d)).fill(rng.pick([P.LIST, P.TUPLE, P.DICT, P.FROZENSET])), P.STOP];
    }
    case 11: { // deep nesting through TUPLE1 / APPEND, and self-reference
      const d = rng.range(1000, 200000);
      const body = rng.chance(0.5)
        ? [P.NONE, ...new Array(d).fill(P.TUPLE1)]
        : [P.EMPTY_LIST, P.BINPUT, 0, ...Array.from({ length: d }, () => [P.BINGET, 0, P.APPEND]).flat()];
      return [P.PROTO, 2, ...body, P.STOP];
    }
    case 12: { // memo abuse and absurd lengths
      return [P.PROTO, 4, ...rng.pick([
        [P.NONE, P.LONG_BINPUT, ...u32(0xffffffff), P.LONG_BINGET, ...u32(0xfffffffe)],
        [P.NONE, ...new Array(rng.range(1, 50000)).fill(P.MEMOIZE), P.BINGET, 255],
        [P.BINUNICODE, ...u32(rng.pick(INTERESTING_U32)), 0x41],
        [P.BINUNICODE8, ...u64(rng.pick(INTERESTING_U64)), 0x41],
        [P.BINBYTES8, ...u64(rng.pick(INTERESTING_U64)), 0x41],
        [P.BYTEARRAY8, ...u64(rng.pick(INTERESTING_U64)), 0x41],
        [P.LONG4, ...u32(rng.pick(INTERESTING_U32)), 0x41],
        [P.LONG1, 255, ...new Array(255).fill(0xff)],
        [P.FRAME, ...u64(rng.pick(INTERESTING_U64)), P.NONE],
        [P.BINSTRING, ...u32(rng.pick(INTERESTING_U32))],
        [P.INT, ...enc.encode(`${'9'.repeat(rng.range(1, 5000))}\n`)],
        [P.LONG, ...enc.encode(`-${'9'.repeat(rng.range(1, 5000))}L\n`)],
        [P.FLOAT, ...enc.encode(rng.pick(['nan\n', '-inf\n', '1e999\n', 'x\n', '\n']))],
        [P.GET, ...enc.encode('99999999999999999999\n')],
        [P.PERSID, ...enc.encode('0\n')],
        [P.EXT1, 1], [P.NEXT_BUFFER], [P.STRING, ...enc.encode("'abc'\n")], [P.PROTO, 99],
        [P.MARK, P.POP_MARK, P.POP_MARK], [P.DUP], [P.POP], [P.SETITEMS], [P.APPENDS], [P.TUPLE3],
      ]), P.STOP];
    }
    default: { // a random opcode soup
      const out = [P.PROTO, rng.int(7)];
      const len = rng.range(1, 400);
      for (let i = 0; i < len; i++) {
        out.push(rng.pick(OPCODES));
        const extra = rng.int(5);
        for (let j = 0; j < extra; j++) out.push(rng.chance(0.3) ? rng.pick([0, 0xff, 0x0a, 0x2e]) : rng.int(256));
      }
      if (rng.chance(0.8)) out.push(P.STOP);
      return out;
    }
  }
}

/** A data.pkl with one tensor whose persistent id and rebuild arguments the fuzzer picks. */
function persidPickle(rng) {
  const type = rng.pick(['FloatStorage', 'LongStorage', 'HalfStorage', 'BoolStorage', 'UntypedStorage', 'Tensor', 'FloatStorag']);
  const key = rng.pick(['0', '1', '../data.pkl', '../version', 'data.pkl', '', '0\u0000', 'x'.repeat(300)]);
  const numel = rng.pick([0, 1, 4, 5, 16, 0x7fffffff, 0x80000000, -1, 2 ** 40]);
  const numelOps = numel < 0 ? [P.BININT, ...u32(numel >>> 0)] : numel >= 2 ** 32 ? [P.LONG1, 8, ...u64(numel)] : numel < 256 ? [P.BININT1, numel] : [P.BININT, ...u32(numel)];
  const pid = rng.chance(0.85)
    ? [P.MARK, ...str('storage'), ...glob(rng.chance(0.8) ? 'torch' : 'torch.cuda', type), ...str(key), ...str(rng.pick(['cpu', 'cuda:0', ''])), ...numelOps, P.TUPLE]
    : rng.pick([str('storage'), [P.EMPTY_TUPLE], [P.MARK, ...str('storage'), P.TUPLE], [P.EMPTY_DICT], [P.NONE]]);
  const dims = rng.range(0, 4);
  const size = Array.from({ length: dims }, () => rng.pick([0, 1, 2, 3, 4, 255, 65535, 0x7fffffff]));
  const stride = Array.from({ length: rng.chance(0.9) ? dims : rng.range(0, 4) }, () => rng.pick([0, 1, 2, 4, 0x7fffffff]));
  const tup = (vs) => [P.MARK, ...vs.flatMap((v) => [P.BININT, ...u32(v)]), P.TUPLE];
  const offset = rng.pick([0, 0, 1, 3, 0x7fffffff, -5]);
  const rebuild = rng.pick(['_rebuild_tensor_v2', '_rebuild_tensor_v2', '_rebuild_tensor', '_rebuild_parameter']);
  const args = rebuild === '_rebuild_parameter'
    ? [P.MARK, ...rng.pick([[P.NONE], str('x'), [P.EMPTY_DICT]]), P.NEWFALSE, P.EMPTY_DICT, P.TUPLE]
    : [P.MARK, ...pid, P.BINPERSID, P.BININT, ...u32(offset >>> 0), ...tup(size), ...tup(stride), P.NEWFALSE, P.EMPTY_DICT, P.TUPLE];
  return [P.PROTO, 2, P.EMPTY_DICT, ...str('w'), ...glob('torch._utils', rebuild), ...args, P.REDUCE, P.SETITEM, P.STOP];
}

/** The pickles of a legacy (pre-zip) torch.save stream, parameterised so the fuzzer can swap parts. */
function legacyParts() {
  const tensor = (name, type, key, numel, view, off, size, stride) => [
    ...str(name), ...glob('torch._utils', '_rebuild_tensor_v2'), P.MARK, P.MARK, ...str('storage'), ...glob('torch', type), ...str(key), ...str('cpu'), ...int(numel),
    ...(view ? [P.MARK, ...str(view[0]), ...int(view[1]), ...int(view[2]), P.TUPLE] : [P.NONE]), P.TUPLE, P.BINPERSID,
    ...int(off), P.MARK, ...size.flatMap(int), P.TUPLE, P.MARK, ...stride.flatMap(int), P.TUPLE, P.NEWFALSE, P.EMPTY_DICT, P.TUPLE, P.REDUCE];
  return {
    magic: [P.PROTO, 2, P.LONG1, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, P.STOP],
    version: [P.PROTO, 2, P.BININT2, ...u16(1001), P.STOP],
    sys: [P.PROTO, 2, P.EMPTY_DICT, ...str('protocol_version'), P.BININT2, ...u16(1001), P.SETITEM, ...str('little_endian'), P.NEWTRUE, P.SETITEM, P.STOP],
    obj: [P.PROTO, 2, ...glob('collections', 'OrderedDict'), P.EMPTY_TUPLE, P.REDUCE, P.MARK,
      ...tensor('a', 'FloatStorage', 'k1', 12, null, 0, [3, 4], [4, 1]),
      ...tensor('t', 'FloatStorage', 'k1', 12, null, 0, [4, 3], [1, 4]),
      ...tensor('v', 'FloatStorage', 'k1', 12, ['k1v', 4, 4], 1, [3], [1]),
      ...tensor('n', 'LongStorage', 'k2', 1, null, 0, [], []),
      P.SETITEMS, P.STOP],
    keys: [P.PROTO, 2, P.EMPTY_LIST, P.MARK, ...str('k1'), ...str('k2'), P.APPENDS, P.STOP],
    records: cat(u64(12), new Uint8Array(new Float32Array(Array.from({ length: 12 }, (_, i) => i)).buffer), u64(1), u64(3)),
  };
}
const legacyFile = (parts) => cat(parts.magic, parts.version, parts.sys, parts.obj, parts.keys, parts.records);

// ------------------------------------------------------------------ cases
/** The fuzz families, in round-robin order (repeats weight a family). */
const FAMILIES = [
  'pth-truncate', 'pth-bitflip', 'pth-bytes', 'pth-splice', 'pickle-mutate', 'pickle-mutate', 'pickle-hostile', 'pickle-hostile',
  'pth-persid', 'zip-fields', 'zip-fields', 'zip-bomb', 'legacy-and-random', 'legacy-mutate',
  'st-truncate', 'st-bitflip', 'st-header-length', 'st-json', 'st-json', 'st-json-text', 'st-splice',
];

function materials(lib) {
  const read = (f) => new Uint8Array(readFileSync(path.join(FIXTURES, f)));
  const { tensor } = lib.creation;
  const collect = (gen) => cat(...gen);
  // A small checkpoint with every dtype, built by our writer; and one with views of one storage.
  const sd = [
    ['f32', tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] })],
    ['f16', tensor(new Float32Array([1, -2]), { shape: [2], dtype: 'float16' })],
    ['bf16', tensor(new Float32Array([0.5]), { shape: [1], dtype: 'bfloat16' })],
    ['i64', tensor(new BigInt64Array([3n]), { shape: [] })],
    ['b', tensor(new Uint8Array([1, 0]), { shape: [2], dtype: 'bool' })],
    ['u8', tensor(new Uint8Array([7]), { shape: [1] })],
    ['f64', tensor(new Float64Array([Math.PI]), { shape: [1, 1] })],
  ];
  const smallPth = collect(lib.pth.pthChunks(sd, 'model'));
  const smallSt = collect(lib.safetensors.safetensorsChunks(sd, { note: 'fuzz' }));
  for (const [, t] of sd) t.dispose();
  const W = lib.writer.PickleWriter;
  const w = new W().proto(2);
  w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  const views = [['base', 0, [3, 4], [4, 1]], ['t', 0, [4, 3], [1, 4]], ['row', 4, [4], [1]], ['col', 2, [3], [4]], ['x', 5, [2, 2], [4, 1]], ['e', 0, [3, 2], [0, 1]]];
  for (const [name, off, size, stride] of views) {
    w.string(name).global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().string('storage', true).global('torch', 'FloatStorage').string('0').string('cpu', true).int(12).tuple().binpersid();
    w.int(off).intTuple(size).intTuple(stride).bool(false).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  }
  w.setitems().stop();
  const viewsPkl = w.bytes();
  const storage = new Uint8Array(new Float32Array(Array.from({ length: 12 }, (_, i) => i)).buffer);
  const viewsPth = collect(lib.zip.zipChunks([
    { name: 'archive/data.pkl', data: viewsPkl }, { name: 'archive/data/0', data: storage }, { name: 'archive/version', data: enc.encode('3\n') },
  ]));
  const fixturePth = read('model_resnet8_sdd.pth');
  const pklOf = (bytes) => {
    const z = new lib.zip.ZipReader(lib.source.bufferSource(bytes), 'x');
    const name = [...z.entries.keys()].find((n) => n.endsWith('data.pkl'));
    return { pkl: z.read(z.entries.get(name)), records: [...z.entries.values()].filter((e) => e.name !== name).map((e) => ({ name: e.name, data: z.read(e) })), pklName: name };
  };
  const legacy = legacyFile(legacyParts());
  return {
    legacy,
    pths: [fixturePth, smallPth, viewsPth],
    pickled: [pklOf(fixturePth), pklOf(smallPth), pklOf(viewsPth)],
    sts: [read('model_resnet8_sdd.safetensors'), smallSt],
  };
}

/** Re-zips an archive's records around a new data.pkl (correct CRCs, so the pickle VM sees it). */
function rezip(lib, base, pkl) {
  return cat(...lib.zip.zipChunks([{ name: base.pklName, data: pkl }, ...base.records]));
}

function stHeader(bytes) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { n, json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}
function stBuild(json, data, { lenOverride, text } = {}) {
  const body = enc.encode(text ?? JSON.stringify(json));
  return cat(u64(lenOverride ?? BigInt(body.length)), body, data);
}

function makeCase(lib, mats, seed, i, marker) {
  const rng = rngFor(seed, i);
  const family = FAMILIES[i % FAMILIES.length];
  const pickPth = () => rng.pick(mats.pths);
  const pickSt = () => rng.pick(mats.sts);
  switch (family) {
    case 'pth-truncate': { const b = pickPth(); return { family, bytes: b.subarray(0, rng.chance(0.3) ? b.length - rng.range(1, 200) : rng.int(b.length)) }; }
    case 'pth-bitflip': { const b = pickPth(); return { family, bytes: rng.chance(0.5) ? flipBits(b, rng, rng.range(1, 8)) : flipBits(b, rng, rng.range(1, 4), Math.max(0, b.length - 4000)) }; }
    case 'pth-bytes': { const b = pickPth(); return { family, bytes: setBytes(b, rng, rng.range(1, 16), rng.chance(0.5) ? 0 : Math.max(0, b.length - 4000)) }; }
    case 'pth-splice': { const b = pickPth(); return { family, bytes: splice(b, rng) }; }
    case 'pickle-mutate': {
      const base = rng.pick(mats.pickled);
      const p = base.pkl;
      const kind = rng.int(5);
      const pkl = kind === 0 ? flipBits(p, rng, rng.range(1, 6)) : kind === 1 ? setBytes(p, rng, rng.range(1, 6)) : kind === 2 ? p.subarray(0, rng.int(p.length)) : splice(p, rng);
      return { family, bytes: rezip(lib, base, pkl) };
    }
    case 'pickle-hostile': {
      const base = rng.pick(mats.pickled);
      return { family, bytes: rezip(lib, base, Uint8Array.from(hostilePickle(rng, marker))) };
    }
    case 'pth-persid': {
      const records = [
        { name: 'archive/data/0', data: new Uint8Array(rng.pick([0, 4, 16, 20, 64])) },
        { name: 'archive/data/1', data: new Uint8Array(8) },
      ];
      return { family, bytes: cat(...lib.zip.zipChunks([{ name: 'archive/data.pkl', data: Uint8Array.from(persidPickle(rng)) }, ...records])) };
    }
    case 'zip-fields': {
      const b = pickPth().slice();
      const layout = zipLayout(b);
      const kinds = Object.keys(ZIP_FIELDS).filter((k) => layout[k].length > 0);
      const kind = rng.pick(kinds);
      const at = rng.pick(layout[kind]);
      const [off, width] = rng.pick(ZIP_FIELDS[kind]);
      if (at + off + width > b.length) return { family, bytes: b };
      const dv = new DataView(b.buffer, b.byteOffset);
      if (width === 2) dv.setUint16(at + off, rng.chance(0.7) ? rng.pick([0, 1, 0xffff, 0x7fff, 0x8000, 8, 99]) : rng.int(0x10000), true);
      else if (width === 4) dv.setUint32(at + off, rng.chance(0.7) ? rng.pick(INTERESTING_U32) : rng.int(b.length + 100), true);
      else dv.setBigUint64(at + off, rng.pick(INTERESTING_U64), true);
      return { family, bytes: b };
    }
    case 'zip-bomb': {
      const base = rng.pick(mats.pickled);
      const variant = rng.int(9);
      const zeros = new Uint8Array(rng.pick([1 << 16, 1 << 20, 1 << 24]));
      const entries = [{ name: base.pklName, data: base.pkl, method: 8 }, ...base.records];
      switch (variant) {
        case 0: break; // honest deflate: must load
        case 1: entries[0].size = base.pkl.length - rng.range(1, 10); break; // inflates to more than declared
        case 2: entries[0].size = base.pkl.length + rng.range(1, 1000); break; // to fewer
        case 3: entries[0].size = rng.pick([0xfffffffe, 0x7fffffff, 1e9]); break; // absurd declared size
        case 4: entries[0] = { name: base.pklName, data: zeros, method: 8 }; break; // a real bomb: zeros as the pickle
        case 5: entries.push({ name: 'archive/data/bomb', data: zeros, method: 8, size: rng.pick([zeros.length, 0xffffffff]) }); break;
        case 6: entries[0] = { name: base.pklName, data: base.pkl, method: 8, compressed: Uint8Array.from({ length: 200 }, () => rng.int(256)) }; break;
        case 7: entries.push({ ...entries[0], name: 'archive/data/dup', lho: 0 }); break; // overlapping entries
        default: entries[0].method = rng.pick([1, 9, 12, 14, 99]); entries[0].flags = rng.pick([0, 1, 8]); break;
      }
      const bytes = buildZip(entries);
      if (variant === 8 && rng.chance(0.5)) { // zip64 forgery: EOCD fields at max, a locator pointing anywhere
        const eocd = bytes.length - 22;
        const forged = cat(bytes.subarray(0, eocd), [0x50, 0x4b, 6, 6], u64(44), u16(45), u16(45), u32(0), u32(0), u64(rng.pick(INTERESTING_U64)), u64(rng.pick(INTERESTING_U64)), u64(rng.pick(INTERESTING_U64)), u64(rng.pick(INTERESTING_U64)),
          [0x50, 0x4b, 6, 7], u32(0), u64(rng.chance(0.5) ? eocd : rng.pick(INTERESTING_U64)), u32(1),
          [0x50, 0x4b, 5, 6], u16(0), u16(0), u16(0xffff), u16(0xffff), u32(0xffffffff), u32(0xffffffff), u16(0));
        return { family, bytes: forged };
      }
      return { family, bytes };
    }
    case 'legacy-and-random': {
      const k = rng.int(5);
      const rand = Uint8Array.from({ length: rng.int(4096) }, () => rng.int(256));
      if (k === 0) return { family, bytes: cat([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19], rand) };
      if (k === 1) return { family, bytes: cat(hostilePickle(rng, marker)) }; // a bare pickle
      if (k === 2) return { family, bytes: cat([0x50, 0x4b, 3, 4], rand) };
      if (k === 3) return { family, bytes: cat(u64(rng.int(5000)), '{', rand) };
      return { family, bytes: rand };
    }
    case 'legacy-mutate': {
      const parts = legacyParts();
      const k = rng.int(8);
      if (k === 0) return { family, bytes: mats.legacy.subarray(0, rng.int(mats.legacy.length)) };
      if (k === 1) return { family, bytes: flipBits(mats.legacy, rng, rng.range(1, 6)) };
      if (k === 2) return { family, bytes: setBytes(mats.legacy, rng, rng.range(1, 6)) };
      if (k === 3) return { family, bytes: splice(mats.legacy, rng) };
      if (k === 4) parts.obj = hostilePickle(rng, marker);
      else if (k === 5) parts.keys = rng.pick([[P.PROTO, 2, P.EMPTY_LIST, P.MARK, ...str('k1'), ...str('k1'), P.APPENDS, P.STOP],
        [P.PROTO, 2, P.EMPTY_LIST, P.MARK, ...str('k1'), ...str('zz'), P.APPENDS, P.STOP], [P.PROTO, 2, P.EMPTY_LIST, P.STOP],
        [P.PROTO, 2, P.EMPTY_DICT, P.STOP], [P.PROTO, 2, P.EMPTY_LIST, P.MARK, ...int(5), P.APPENDS, P.STOP]]);
      else if (k === 6) parts.records = cat(u64(rng.pick(INTERESTING_U64)), parts.records.subarray(8));
      else parts[rng.pick(['magic', 'version', 'sys'])] = rng.pick([[P.PROTO, 2, P.NONE, P.STOP], [P.PROTO, 2, P.BININT2, ...u16(1000), P.STOP],
        [P.PROTO, 2, P.EMPTY_DICT, ...str('little_endian'), P.NEWFALSE, P.SETITEM, P.STOP], hostilePickle(rng, marker)]);
      return { family, bytes: legacyFile(parts) };
    }
    case 'st-truncate': { const b = pickSt(); return { family, format: 'safetensors', bytes: b.subarray(0, rng.chance(0.5) ? rng.int(Math.min(b.length, 9000)) : rng.int(b.length)) }; }
    case 'st-bitflip': {
      const b = pickSt();
      const n = stHeader(b).n;
      return { family, bytes: rng.chance(0.7) ? flipBits(b, rng, rng.range(1, 6), 0, 8 + n) : flipBits(b, rng, rng.range(1, 6)) };
    }
    case 'st-header-length': {
      const b = pickSt().slice();
      const n = stHeader(b).n;
      const v = rng.pick([...INTERESTING_U64, BigInt(n - 1), BigInt(n + 1), BigInt(b.length - 8), BigInt(b.length - 7), BigInt(n - 8)]);
      new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
      return { family, bytes: b };
    }
    case 'st-json': {
      const { json, data } = stHeader(pickSt());
      const names = Object.keys(json).filter((k) => k !== '__metadata__');
      const name = rng.pick(names);
      const e = json[name];
      const k = rng.int(16);
      const weird = () => rng.pick([-1, 1.5, 1e300, 2 ** 53, 2 ** 64, '0', null, [], {}, true, Number.MAX_SAFE_INTEGER, 0]);
      if (k === 0) e.data_offsets = [weird(), e.data_offsets[1]];
      else if (k === 1) e.data_offsets = [e.data_offsets[0], weird()];
      else if (k === 2) e.data_offsets = [e.data_offsets[1], e.data_offsets[0]];
      else if (k === 3) e.data_offsets = rng.pick([[0], [0, 1, 2], 'x', null, { 0: 0, 1: 4 }]);
      else if (k === 4) { const o = json[rng.pick(names)].data_offsets; e.data_offsets = [...o]; } // overlap another tensor
      else if (k === 5) e.shape = [...e.shape, rng.pick([0, 2, 2 ** 31, 2 ** 52])];
      else if (k === 6) e.shape = rng.pick([[-1], [1.5], ['2'], [[2]], null, 'abc', [2 ** 32, 2 ** 32, 2 ** 32]]);
      else if (k === 7) e.dtype = rng.pick(['F8_E4M3', 'U16', 'U32', 'U64', 'f32', 'F32 ', '', 7, null, 'C64', 'BOOL', 'I64']);
      else if (k === 8) delete e[rng.pick(['dtype', 'shape', 'data_offsets'])];
      else if (k === 9) json[name] = rng.pick([null, 5, 'x', [], [1, 2]]);
      else if (k === 10) json.__metadata__ = rng.pick([{ a: 1 }, { a: { b: 'c' } }, [], 'x', null, { ['__proto__']: 'polluted' }, { constructor: 'x' }]);
      else if (k === 11) { json[`${name}_copy`] = { ...e }; }
      else if (k === 12) { delete json[name]; }
      else if (k === 13) { json[rng.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])] = { ...e }; delete json[name]; }
      else if (k === 14) return { family, bytes: stBuild(json, data.subarray(0, Math.max(0, data.length - rng.range(1, 16)))) };
      else return { family, bytes: stBuild(json, cat(data, new Uint8Array(rng.range(1, 16)))) };
      return { family, bytes: stBuild(json, data) };
    }
    case 'st-json-text': {
      const { json, data } = stHeader(pickSt());
      let text = JSON.stringify(json);
      const k = rng.int(6);
      if (k === 0) text = `${'['.repeat(rng.range(1000, 200000))}`;
      else if (k === 1) text = `{"a":${'['.repeat(rng.range(1000, 100000))}${']'.repeat(rng.range(0, 100000))}}`;
      else if (k === 2) text = text.replace(/\}$/, `,"${Object.keys(json)[0]}":${JSON.stringify(json[Object.keys(json)[0]])}}`); // duplicate key
      else if (k === 3) { const a = rng.int(text.length); text = text.slice(0, a) + rng.pick(['"', '{', '}', ',', ':', '\\', '\u0000', '\ud800', 'é']) + text.slice(a + rng.int(2)); }
      else if (k === 4) text = rng.pick(['[]', '"x"', '1', 'null', '{}', '\ufeff{}', ' {}']);
      else text = `{"a":{"dtype":"F32","shape":[${'1,'.repeat(rng.range(1, 50000))}1],"data_offsets":[0,4]}}`;
      return { family, bytes: stBuild(json, data, { text }) };
    }
    case 'st-splice': { const b = pickSt(); return { family, bytes: splice(b, rng, 0, Math.min(b.length, 9000)) }; }
    default: throw new Error(`unknown family ${family}`);
  }
}

const formatOf = (family) => (family.startsWith('st-') ? 'safetensors' : family === 'legacy-and-random' ? 'other' : 'pth');

// ------------------------------------------------------------------ worker
async function workerMain(libDir, marker, seed, inject) {
  const imp = (p) => import(pathToFileURL(path.join(libDir, p)).href);
  const lib = {
    checkpoint: await imp('checkpoint/index.js'),
    zip: await imp('checkpoint/zip.js'),
    pth: await imp('checkpoint/pth.js'),
    safetensors: await imp('checkpoint/safetensors.js'),
    source: await imp('checkpoint/source.js'),
    writer: await imp('checkpoint/pickle-writer.js'),
    creation: await imp('core/creation.js'),
    scope: await imp('core/scope.js'),
    tensor: await imp('core/tensor.js'),
  };
  const mats = materials(lib);
  // The unmutated materials must load, or the fuzzer would only be testing broken inputs.
  for (const b of [...mats.pths, ...mats.sts, mats.legacy]) {
    for (const t of Object.values(lib.checkpoint.loadSync(b))) t.dispose();
  }
  const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).join(',');
  const baseline = protoKeys();
  process.on('message', async (msg) => {
    if (msg.type === 'stop') process.exit(0);
    for (let i = msg.from; i < msg.to; i++) {
      const t0 = performance.now();
      const live = lib.scope.memory().liveTensors;
      let outcome;
      let detail = '';
      let family = FAMILIES[i % FAMILIES.length];
      if (inject.get(i) === 'crash') process.abort();
      if (inject.get(i) === 'hang') for (;;);
      try {
        const c = makeCase(lib, mats, seed, i, marker);
        family = c.family;
        try {
          const sd = lib.checkpoint.loadSync(c.bytes, { name: `case${i}` });
          outcome = 'ok';
          for (const [k, t] of Object.entries(sd)) {
            if (!(t instanceof lib.tensor.Tensor) || !Array.isArray(t.shape)) { outcome = 'bad-result'; detail = k; }
            t.dispose();
          }
        } catch (e) {
          if (e instanceof Error && typeof e.message === 'string' && e.message.length > 0) {
            outcome = 'error';
            detail = `${e.name}: ${e.message}`;
          } else {
            outcome = 'bad-throw';
            detail = String(e);
          }
        }
      } catch (e) {
        outcome = 'generator-error';
        detail = String(e?.stack ?? e);
      }
      if (lib.scope.memory().liveTensors !== live) { outcome = 'leak'; detail += ` (live tensors ${live} -> ${lib.scope.memory().liveTensors})`; }
      if (protoKeys() !== baseline) { outcome = 'pollution'; detail += ' (Object.prototype changed)'; }
      if (existsSync(marker)) { outcome = 'executed'; detail += ' (the marker file was created)'; }
      process.send({ type: 'result', i, family, outcome, detail: detail.slice(0, 300), ms: performance.now() - t0 });
      await new Promise((r) => setImmediate(r)); // let the result go out before the next case
    }
    process.send({ type: 'chunk-done' });
  });
  process.send({ type: 'ready' });
}

// ------------------------------------------------------------------ parent
/** lib/ transpiled to JS in a temporary package that loads the real native addon. */
function buildLib() {
  const ts = createRequire(import.meta.url)('typescript'); // require: much faster than importing this big CJS file
  const out = mkdtempSync(path.join(tmpdir(), 'sdd-fuzz-'));
  // lib/checkpoint and what it imports (relative imports, followed transitively)
  const libDir = path.join(ROOT, 'lib');
  const todo = readdirSync(path.join(libDir, 'checkpoint')).filter((f) => f.endsWith('.ts')).map((f) => path.join(libDir, 'checkpoint', f));
  todo.push(...['scope.ts', 'creation.ts', 'tensor.ts'].map((f) => path.join(libDir, 'core', f)));
  const files = new Set();
  while (todo.length > 0) {
    const file = todo.pop();
    if (files.has(file) || !existsSync(file)) continue;
    files.add(file);
    for (const ref of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (ref.fileName.startsWith('.')) todo.push(path.resolve(path.dirname(file), ref.fileName.replace(/\.js$/, '.ts')));
    }
  }
  for (const file of files) {
    const rel = path.relative(path.join(ROOT, 'lib'), file).replace(/\.ts$/, '.js');
    const js = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, useDefineForClassFields: true },
      fileName: file,
    }).outputText;
    mkdirSync(path.dirname(path.join(out, 'lib', rel)), { recursive: true });
    writeFileSync(path.join(out, 'lib', rel), js);
  }
  writeFileSync(path.join(out, 'package.json'), '{"type":"module"}\n');
  // The loader looks for the addon relative to the package root: point it at the real one.
  for (const link of ['build', 'prebuilds', 'node_modules']) {
    if (existsSync(path.join(ROOT, link))) symlinkSync(path.join(ROOT, link), path.join(out, link));
  }
  return out;
}

async function main() {
  const total = Number(opts.cases);
  const first = Number(opts.first);
  const seed = Number(opts.seed);
  const timeout = Number(opts.timeout);
  const nWorkers = Math.max(1, Math.min(Number(opts.workers), total));
  const t0 = performance.now();
  const dir = buildLib();
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  process.on('SIGINT', () => process.exit(130));
  const marker = path.join(dir, 'executed-marker');
  const queue = [];
  const CHUNK = 25;
  for (let i = first; i < first + total; i += CHUNK) queue.push({ from: i, to: Math.min(first + total, i + CHUNK) });
  const results = new Map();
  const failures = [];
  const record = (r) => {
    results.set(r.i, r);
    if (opts.verbose) console.log(`#${r.i} ${r.family} ${r.outcome} ${r.ms.toFixed(1)} ms ${r.detail}`);
    if (!['ok', 'error'].includes(r.outcome)) failures.push(r);
  };

  await new Promise((resolveAll) => {
    let active = 0;
    const spawnWorker = () => {
      active++;
      const child = fork(SELF, ['--worker', path.join(dir, 'lib'), '--marker', marker, '--seed', String(seed), ...(opts.inject ? ['--inject', opts.inject] : [])], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      let stderr = '';
      child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-2000); });
      let chunk = null;
      let next = 0;
      let timer = null;
      let finished = false;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          // the current case ran past the time box: count it, kill the worker, go on with the rest
          record({ i: next, family: FAMILIES[next % FAMILIES.length], outcome: 'hang', detail: `no result after ${timeout} ms`, ms: timeout });
          const rest = next + 1 < chunk.to ? { from: next + 1, to: chunk.to } : null;
          if (rest) queue.unshift(rest);
          chunk = null;
          finished = true;
          child.kill('SIGKILL');
        }, timeout);
      };
      const give = () => {
        chunk = queue.shift() ?? null;
        if (!chunk) {
          finished = true;
          clearTimeout(timer);
          child.send({ type: 'stop' });
          return;
        }
        next = chunk.from;
        arm();
        child.send({ type: 'run', ...chunk });
      };
      child.on('message', (m) => {
        if (m.type === 'ready') give();
        else if (m.type === 'result') { record(m); next = m.i + 1; arm(); }
        else if (m.type === 'chunk-done') give();
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        active--;
        if (!finished) {
          // died mid-case: a crash (native abort, segfault, out of memory)
          if (chunk) {
            record({ i: next, family: FAMILIES[next % FAMILIES.length], outcome: 'crash', detail: `worker exited (code ${code}, signal ${signal}) ${stderr.slice(-300)}`, ms: 0 });
            if (next + 1 < chunk.to) queue.unshift({ from: next + 1, to: chunk.to });
          } else {
            record({ i: -1, family: 'startup', outcome: 'crash', detail: `worker failed to start (code ${code}): ${stderr.slice(-600)}`, ms: 0 });
            queue.length = 0;
          }
        }
        if (queue.length > 0 && active < nWorkers) spawnWorker();
        else if (active === 0) resolveAll();
      });
    };
    for (let w = 0; w < nWorkers; w++) spawnWorker();
  });

  const elapsed = (performance.now() - t0) / 1000;
  const byFamily = {};
  const byFormat = {};
  let maxMs = 0;
  let maxCase = -1;
  const errorKinds = {};
  for (const r of results.values()) {
    const f = (byFamily[r.family] ??= { cases: 0, ok: 0, error: 0, failed: 0, ms: 0 });
    f.ms += r.ms;
    const fmt = (byFormat[formatOf(r.family)] ??= { cases: 0, ok: 0, error: 0, failed: 0 });
    for (const x of [f, fmt]) {
      x.cases++;
      if (r.outcome === 'ok') x.ok++;
      else if (r.outcome === 'error') x.error++;
      else x.failed++;
    }
    if (r.outcome === 'error') {
      const kind = r.detail.split(':')[0];
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    }
    if (r.ms > maxMs) { maxMs = r.ms; maxCase = r.i; }
  }
  const summary = {
    cases: results.size, requested: total, seed, first, workers: nWorkers, seconds: Number(elapsed.toFixed(1)),
    ok: [...results.values()].filter((r) => r.outcome === 'ok').length,
    errors: [...results.values()].filter((r) => r.outcome === 'error').length,
    failures: failures.length, slowestCaseMs: Math.round(maxMs), slowestCase: maxCase,
    errorTypes: errorKinds, byFormat, byFamily, failureList: failures.slice(0, 20),
  };
  if (opts.json) {
    console.log(JSON.stringify(summary));
  } else {
    console.log(`fuzz-checkpoints: ${summary.cases} cases (seed ${seed}) in ${summary.seconds} s on ${nWorkers} workers`);
    console.log(`  valid loads ${summary.ok}, clean errors ${summary.errors}, failures ${summary.failures} (crash/hang/bad throw/leak/pollution/execution)`);
    console.log(`  slowest case: #${maxCase} ${summary.slowestCaseMs} ms; error types: ${Object.entries(errorKinds).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const [k, v] of Object.entries(byFormat)) console.log(`  ${k.padEnd(12)} ${String(v.cases).padStart(6)} cases: ${v.ok} ok, ${v.error} errors, ${v.failed} failures`);
    for (const [k, v] of Object.entries(byFamily)) console.log(`    ${k.padEnd(20)} ${String(v.cases).padStart(6)}: ${v.ok} ok, ${v.error} errors, ${v.failed} failures, ${(v.ms / v.cases).toFixed(1)} ms/case`);
    for (const f of failures.slice(0, 20)) console.log(`  FAIL #${f.i} ${f.family} ${f.outcome}: ${f.detail}`);
  }
  process.exit(failures.length > 0 || results.size !== total ? 1 : 0);
}

const injected = new Map((opts.inject ?? '').split(',').filter(Boolean).map((s) => { const [k, v] = s.split(':'); return [Number(v), k]; }));
if (opts.worker) await workerMain(opts.worker, opts.marker, Number(opts.seed), injected);
else await main();
