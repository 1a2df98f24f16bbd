// A pickle virtual machine that builds plain JS values and never runs code. Python's unpickler
// imports whatever GLOBAL names and calls it on REDUCE; here a global resolves only through an
// allow-list of TS handlers given by the caller (the stance of torch.load(weights_only=True)), and
// everything else fails at the GLOBAL opcode, naming the global.
//
// Python values become: None -> null, bool -> boolean, int -> number (bigint beyond 2^53),
// float -> number, str -> string, bytes/bytearray -> Uint8Array, list -> Array, tuple -> frozen
// Array (see isTuple), dict -> Map, set/frozenset -> Set; allowed globals -> whatever their
// handlers return.
import { CheckpointError, PickleError, quote } from '../core/errors.js';

/** Objects built by handlers may implement this to receive the BUILD opcode's state. */
export const SETSTATE: unique symbol = Symbol.for('sdd-torch.pickle.setstate');

export interface Stateful {
  [SETSTATE](state: unknown): void;
}

/** What an allowed global does. A global with neither function is data (e.g. torch.FloatStorage). */
export interface GlobalHandler {
  /** REDUCE (and INST/OBJ): `global(*args)`. */
  call?: (args: readonly unknown[]) => unknown;
  /** NEWOBJ/NEWOBJ_EX: `cls.__new__(cls, *args, **kwargs)`; defaults to `call`. */
  newobj?: (args: readonly unknown[], kwargs: ReadonlyMap<unknown, unknown>) => unknown;
}

/** Allowed globals by qualified name, e.g. 'collections.OrderedDict'. */
export type GlobalTable = Readonly<Record<string, GlobalHandler>>;

/** The value a GLOBAL opcode pushes: a reference to an allowed global. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string, readonly handler: GlobalHandler) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

export interface UnpickleOptions {
  /** Names the pickle in errors, e.g. 'model.pth: archive/data.pkl'. */
  name?: string;
  /**
   * The allowed globals; anything else is rejected. Default: PYTHON_DATA_GLOBALS (sets, bytes);
   * spread it into your own table to keep them, e.g. `{ ...PYTHON_DATA_GLOBALS, ...numpyHandlers }`.
   */
  globals?: GlobalTable;
  /** Completes the rejection message "only the globals <purpose> are: …". */
  purpose?: string;
  /** The list in that message; defaults to every name in `globals`. */
  allowedSummary?: string;
  /** Resolves persistent ids (PERSID/BINPERSID); without it they are an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /**
   * Python 2 `str` (BINSTRING, SHORT_BINSTRING): 'latin1' (default) gives strings, 'bytes' gives
   * Uint8Arrays, like Python's pickle.load(f, encoding='bytes') that CIFAR's own loader uses (then
   * dict keys are bytes too: look them up with dictGet).
   */
  python2Strings?: 'latin1' | 'bytes';
}

// A malformed or refused pickle; `file` is the `name` option (defined with the other error classes in core/errors.ts).
export { PickleError };

/** Python tuples are frozen arrays, which tells them apart from lists. */
export function isTuple(v: unknown): v is readonly unknown[] {
  return Array.isArray(v) && Object.isFrozen(v);
}

function tuple(items: unknown[]): readonly unknown[] {
  return Object.freeze(items);
}

/** A Python-ish type name for error messages (never prints the value's contents). */
export function pyTypeName(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (isTuple(v)) return 'tuple';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyGlobal) return v.qualifiedName;
  if (v instanceof Map) return 'dict';
  if (v instanceof Set) return 'set';
  const ctor = (v as object | undefined)?.constructor?.name;
  return ctor ?? typeof v;
}

const OPNAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** Longest LONG4 integer accepted (Python has no limit; a state dict never needs more than 8 bytes). */
const MAX_LONG_BYTES = 1 << 16;
const MAX_LINE = 1 << 16;

const utf8 = new TextDecoder('utf-8', { fatal: false });
const latin1 = new TextDecoder('latin1');

function int(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Little-endian two's complement integer of any length (LONG1/LONG4). */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let hex = '';
  for (let i = b.length - 1; i >= 0; i--) hex += b[i]!.toString(16).padStart(2, '0');
  let v = BigInt(`0x${hex}`);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return int(v);
}

/** Parses a pickle into JS values; see the file comment for the mapping and the safety rules. */
export function unpickle(input: Uint8Array, options: UnpickleOptions = {}): unknown {
  return unpickleAt(input, 0, options).value;
}

/** Parses the pickle starting at byte `start`; `end` is the byte after its STOP (pickles can follow each other). */
export function unpickleAt(input: Uint8Array, start: number, options: UnpickleOptions = {}): { value: unknown; end: number } {
  // A plain Uint8Array view (not a Buffer), so bytes values are plain Uint8Array subarrays.
  const data = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const label = options.name ?? 'pickle';
  const globals = options.globals ?? PYTHON_DATA_GLOBALS;
  const purpose = options.purpose ?? 'this reader allows';
  const py2bytes = options.python2Strings === 'bytes';
  const end = data.length;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = start;
  let op = 0;
  let opPos = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (message: string): never => {
    const where = opPos >= end ? '' : OPNAMES[op] ? ` (${OPNAMES[op]} at byte ${opPos})` : ` (at byte ${opPos})`;
    throw new PickleError(label, `${message}${where}`);
  };
  const need = (n: number): void => {
    if (n > end - pos) fail(`truncated pickle (needs ${n} more bytes, ${end - pos} left)`);
  };
  const bytes = (n: number): Uint8Array => {
    need(n);
    const out = data.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const u8 = (): number => {
    need(1);
    return data[pos++]!;
  };
  const u32le = (): number => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64le = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(end - pos)) fail(`length ${v} exceeds the ${end - pos} bytes left`);
    return Number(v);
  };
  const line = (): string => {
    const stop = Math.min(end, pos + MAX_LINE);
    for (let i = pos; i < stop; i++) {
      if (data[i] === 0x0a) {
        const s = utf8.decode(data.subarray(pos, i));
        pos = i + 1;
        return s;
      }
    }
    return fail('truncated pickle (unterminated text argument)');
  };
  // `stack` is reassigned by MARK handling, so always reach it through these closures:
  // `stack.push(f(popMark()))` would push onto the array popMark() just detached.
  const push = (v: unknown): void => {
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (prev === undefined) fail('MARK missing');
    stack = prev!;
    return items;
  };
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) fail(`memo key ${i} is missing`);
    return memo.get(i);
  };
  const memoPut = (i: number): void => {
    memo.set(i, top());
  };
  const findGlobal = (module: string, name: string): PyGlobal => {
    const qualified = `${module}.${name}`;
    const handler = Object.prototype.hasOwnProperty.call(globals, qualified) ? globals[qualified] : undefined;
    if (handler === undefined) {
      const allowed = options.allowedSummary ?? (Object.keys(globals).join(', ') || 'none');
      fail(`global ${quote(qualified)} is not allowed (only the globals ${purpose} are: ${allowed})`);
    }
    return new PyGlobal(module, name, handler!);
  };
  const invoke = (callable: unknown, args: unknown, how: 'call' | 'newobj', kwargs: ReadonlyMap<unknown, unknown> = new Map()): unknown => {
    if (!(callable instanceof PyGlobal)) return fail(`a ${pyTypeName(callable)} is not callable`);
    if (!Array.isArray(args)) return fail(`the arguments of ${callable.qualifiedName} must be a tuple, not a ${pyTypeName(args)}`);
    const h = callable.handler;
    const fn = how === 'newobj' && h.newobj ? (a: readonly unknown[]) => h.newobj!(a, kwargs) : h.call;
    if (!fn) return fail(`${callable.qualifiedName} cannot be ${how === 'newobj' ? 'instantiated' : 'called'}`);
    if (how === 'call' && kwargs.size > 0) return fail(`${callable.qualifiedName} takes no keyword arguments`);
    try {
      return fn(args);
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      return fail(`${callable.qualifiedName}: ${(e as Error).message}`);
    }
  };
  const persistent = (pid: unknown): unknown => {
    if (!options.persistentLoad) return fail('persistent id found but this pickle may not reference external data');
    try {
      return options.persistentLoad(pid);
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      return fail(`persistent id: ${(e as Error).message}`);
    }
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map)) fail(`cannot set items on a ${pyTypeName(target)}`);
    if (items.length % 2 !== 0) fail('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) (target as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const append = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target) || isTuple(target)) fail(`cannot append to a ${pyTypeName(target)}`);
    for (const item of items) (target as unknown[]).push(item);
  };
  const py2str = (b: Uint8Array): string | Uint8Array => (py2bytes ? b : latin1.decode(b));

  for (;;) {
    opPos = pos;
    if (pos >= end) fail('truncated pickle (no STOP opcode)');
    op = data[pos++]!;
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      }
      case 0x95: // FRAME: a framing hint; only check that the frame fits
        u64le();
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: // BININT
        need(4);
        push(dv.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: // BININT2
        need(2);
        push(dv.getUint16(pos, true));
        pos += 2;
        break;
      case 0x8a: push(decodeLong(bytes(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        need(4);
        const n = dv.getInt32(pos, true);
        pos += 4;
        if (n < 0) fail('negative LONG4 length');
        if (n > MAX_LONG_BYTES) fail(`integer of ${n} bytes is too large`);
        push(decodeLong(bytes(n)));
        break;
      }
      case 0x49: { // INT (text; "I00"/"I01" are protocol 0 booleans)
        const s = line();
        if (s === '00' || s === '01') push(s === '01');
        else if (/^[+-]?\d+$/.test(s)) push(int(BigInt(s)));
        else fail(`bad INT literal ${quote(s)}`);
        break;
      }
      case 0x4c: { // LONG (text)
        const s = line().replace(/L$/, '');
        if (!/^[+-]?\d+$/.test(s) || s.length > 4096) fail(`bad LONG literal ${quote(s)}`);
        push(int(BigInt(s)));
        break;
      }
      case 0x46: { // FLOAT (text)
        const s = line().trim();
        const v = /^[+-]?inf$/i.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : /^[+-]?nan$/i.test(s) ? NaN : Number(s);
        if (s === '' || Number.isNaN(v) && !/nan$/i.test(s)) fail(`bad FLOAT literal ${quote(s)}`);
        push(v);
        break;
      }
      case 0x47: // BINFLOAT: big-endian double
        need(8);
        push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: push(utf8.decode(bytes(u32le()))); break; // BINUNICODE
      case 0x8c: push(utf8.decode(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: push(utf8.decode(bytes(u64le()))); break; // BINUNICODE8
      case 0x54: { // BINSTRING (Python 2 str)
        need(4);
        const n = dv.getInt32(pos, true);
        pos += 4;
        if (n < 0) fail('negative BINSTRING length');
        push(py2str(bytes(n)));
        break;
      }
      case 0x55: push(py2str(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x42: push(bytes(u32le())); break; // BINBYTES
      case 0x43: push(bytes(u8())); break; // SHORT_BINBYTES
      case 0x8e: push(bytes(u64le())); break; // BINBYTES8
      case 0x96: push(bytes(u64le()).slice()); break; // BYTEARRAY8 (mutable: a copy)
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x29: push(tuple([])); break; // EMPTY_TUPLE
      case 0x8f: push(new Set()); break; // EMPTY_SET
      case 0x64: { // DICT
        const items = popMark();
        const d = new Map();
        setItems(d, items);
        push(d);
        break;
      }
      case 0x6c: push(popMark()); break; // LIST
      case 0x74: push(tuple(popMark())); break; // TUPLE
      case 0x85: push(tuple([pop()])); break; // TUPLE1
      case 0x86: { // TUPLE2
        const b = pop();
        const a = pop();
        push(tuple([a, b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(tuple([a, b, c]));
        break;
      }
      case 0x91: push(new Set(popMark())); break; // FROZENSET
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail(`cannot add items to a ${pyTypeName(s)}`);
        for (const item of items) (s as Set<unknown>).add(item);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: memoPut(u8()); break; // BINPUT
      case 0x72: memoPut(u32le()); break; // LONG_BINPUT
      case 0x94: memoPut(memo.size); break; // MEMOIZE
      case 0x70: { // PUT (text)
        const s = line();
        if (!/^\d{1,15}$/.test(s)) fail(`bad PUT index ${quote(s)}`);
        memoPut(Number(s));
        break;
      }
      case 0x68: push(memoGet(u8())); break; // BINGET
      case 0x6a: push(memoGet(u32le())); break; // LONG_BINGET
      case 0x67: { // GET (text)
        const s = line();
        if (!/^\d{1,15}$/.test(s)) fail(`bad GET index ${quote(s)}`);
        push(memoGet(Number(s)));
        break;
      }
      case 0x63: { // GLOBAL
        const module = line();
        const name = line();
        push(findGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(findGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        push(invoke(callable, args, 'call'));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        push(invoke(cls, args, 'newobj'));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof Map)) fail('NEWOBJ_EX keyword arguments must be a dict');
        push(invoke(cls, args, 'newobj', kwargs as Map<unknown, unknown>));
        break;
      }
      case 0x69: { // INST: module, name, then args since MARK
        const module = line();
        const name = line();
        const g = findGlobal(module, name);
        push(invoke(g, popMark(), 'call'));
        break;
      }
      case 0x6f: { // OBJ: class and args since MARK
        const items = popMark();
        if (items.length === 0) fail('OBJ without a class');
        push(invoke(items[0], items.slice(1), 'call'));
        break;
      }
      case 0x62: { // BUILD: obj.__setstate__(state), only for objects that accept it
        const state = pop();
        const obj = top() as Partial<Stateful> | null;
        if (obj === null || typeof obj !== 'object' || typeof obj[SETSTATE] !== 'function') {
          fail(`cannot set the state of a ${pyTypeName(obj)}`);
        }
        try {
          obj![SETSTATE]!(state);
        } catch (e) {
          if (e instanceof CheckpointError) throw e;
          fail(`setting the state of a ${pyTypeName(obj)}: ${(e as Error).message}`);
        }
        break;
      }
      case 0x51: push(persistent(pop())); break; // BINPERSID
      case 0x50: push(persistent(line())); break; // PERSID
      case 0x82: case 0x83: case 0x84: // EXT1/2/4
        fail('copyreg extension codes are not supported');
        break;
      case 0x97: case 0x98: // NEXT_BUFFER, READONLY_BUFFER
        fail('out-of-band buffers (protocol 5) are not supported');
        break;
      case 0x53: case 0x56: // STRING, UNICODE (protocol 0 text with escapes)
        fail('protocol 0 text strings are not supported (re-save with pickle protocol 2 or later)');
        break;
      default:
        fail(`invalid opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

/** Looks a key up in an unpickled dict; str keys also match Python 2 byte-string keys. */
export function dictGet(dict: ReadonlyMap<unknown, unknown>, key: string): unknown {
  if (dict.has(key)) return dict.get(key);
  for (const [k, v] of dict) {
    if (k instanceof Uint8Array && latin1.decode(k) === key) return v;
  }
  return undefined;
}

// ------------------------------------------------------------------ data-only builtins
/** Python str -> bytes for the encodings pickles use (protocol 2 writes bytes as _codecs.encode(str, 'latin1')). */
function encodeStr(s: unknown, encoding: unknown): Uint8Array {
  if (typeof s !== 'string') throw new Error(`expects a str, not a ${pyTypeName(s)}`);
  const enc = encoding === undefined ? 'utf-8' : encoding;
  if (enc === 'utf-8' || enc === 'utf8') return new TextEncoder().encode(s);
  if (enc !== 'latin1' && enc !== 'latin-1' && enc !== 'iso-8859-1' && enc !== 'ascii') throw new Error(`encoding ${quote(String(enc))} is not supported`);
  const limit = enc === 'ascii' ? 0x80 : 0x100;
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= limit) throw new Error(`character U+${c.toString(16).padStart(4, '0')} is not ${enc}`);
    out[i] = c;
  }
  return out;
}

function iterableItems(v: unknown): unknown[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return [...v];
  if (v instanceof Set) return [...v];
  if (v instanceof Uint8Array) return [...v];
  throw new Error(`expects a list or tuple, not a ${pyTypeName(v)}`);
}

const makeSet: GlobalHandler = { call: (args) => new Set(iterableItems(args[0])) };
const makeBytes = (copy: boolean): GlobalHandler => ({
  call(args) {
    if (args.length === 0) return new Uint8Array(0);
    if (typeof args[0] === 'string') return encodeStr(args[0], args[1]);
    if (args[0] instanceof Uint8Array) return copy ? args[0].slice() : args[0];
    const items = iterableItems(args[0]);
    if (!items.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b < 256)) throw new Error('expects integers in [0, 256)');
    return Uint8Array.from(items as number[]);
  },
});

/**
 * Constructors of plain data that protocols 2 and 3 spell as globals (sets, bytes, bytearray);
 * implemented in TS, so allowing them runs nothing. The default allow-list of unpickle().
 */
export const PYTHON_DATA_GLOBALS: GlobalTable = {
  '_codecs.encode': { call: (args) => encodeStr(args[0], args[1]) },
  'builtins.set': makeSet,
  '__builtin__.set': makeSet,
  'builtins.frozenset': makeSet,
  '__builtin__.frozenset': makeSet,
  'builtins.bytes': makeBytes(false),
  '__builtin__.bytes': makeBytes(false),
  'builtins.bytearray': makeBytes(true),
  '__builtin__.bytearray': makeBytes(true),
};
