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
  return new Unpickler(input, start, options).run();
}

/** The pickle machine: its input and position, the stack (and the stacks MARK put aside), the memo. */
class Unpickler {
  readonly #data: Uint8Array;
  readonly #dv: DataView;
  readonly #end: number;
  readonly #options: UnpickleOptions;
  readonly #label: string;
  readonly #globals: GlobalTable;
  #pos: number;
  #op = 0;
  #opPos = 0;
  // reassigned by MARK handling, so always reach it through #push/#pop/#top: a `stack` read before
  // #popMark() would be the array it just detached
  #stack: unknown[] = [];
  readonly #metastack: unknown[][] = [];
  readonly #memo = new Map<number, unknown>();

  constructor(input: Uint8Array, start: number, options: UnpickleOptions) {
    // A plain Uint8Array view (not a Buffer), so bytes values are plain Uint8Array subarrays.
    this.#data = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    this.#dv = new DataView(this.#data.buffer, this.#data.byteOffset, this.#data.byteLength);
    this.#end = this.#data.length;
    this.#pos = start;
    this.#options = options;
    this.#label = options.name ?? 'pickle';
    this.#globals = options.globals ?? PYTHON_DATA_GLOBALS;
  }

  run(): { value: unknown; end: number } {
    for (;;) {
      this.#opPos = this.#pos;
      if (this.#pos >= this.#end) this.#fail('truncated pickle (no STOP opcode)');
      const op = this.#op = this.#data[this.#pos++]!;
      if (op === 0x2e) return { value: this.#pop(), end: this.#pos }; // STOP
      if (!(this.#stackOp(op) || this.#scalarOp(op) || this.#bytesOp(op) || this.#containerOp(op) || this.#memoOp(op) || this.#objectOp(op))) this.#refuse(op);
    }
  }

  // ------------------------------------------------------------------ reading the input
  #fail(message: string): never {
    const where = this.#opPos >= this.#end ? '' : OPNAMES[this.#op] ? ` (${OPNAMES[this.#op]} at byte ${this.#opPos})` : ` (at byte ${this.#opPos})`;
    throw new PickleError(this.#label, `${message}${where}`);
  }
  #need(n: number): void {
    if (n > this.#end - this.#pos) this.#fail(`truncated pickle (needs ${n} more bytes, ${this.#end - this.#pos} left)`);
  }
  #bytes(n: number): Uint8Array {
    this.#need(n);
    const out = this.#data.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
  #u8(): number {
    this.#need(1);
    return this.#data[this.#pos++]!;
  }
  /** A fixed-size value of `n` bytes, read by `get` at the current position. */
  #fixed<T>(n: number, get: (dv: DataView, at: number) => T): T {
    this.#need(n);
    const v = get(this.#dv, this.#pos);
    this.#pos += n;
    return v;
  }
  #u16le(): number { return this.#fixed(2, (dv, at) => dv.getUint16(at, true)); }
  #i32le(): number { return this.#fixed(4, (dv, at) => dv.getInt32(at, true)); }
  #u32le(): number { return this.#fixed(4, (dv, at) => dv.getUint32(at, true)); }
  #f64be(): number { return this.#fixed(8, (dv, at) => dv.getFloat64(at, false)); }
  /** A length (the 8-byte ones): no more than the bytes left. */
  #u64le(): number {
    const v = this.#fixed(8, (dv, at) => dv.getBigUint64(at, true));
    if (v > BigInt(this.#end - this.#pos)) this.#fail(`length ${v} exceeds the ${this.#end - this.#pos} bytes left`);
    return Number(v);
  }

  #line(): string {
    const stop = Math.min(this.#end, this.#pos + MAX_LINE);
    for (let i = this.#pos; i < stop; i++) {
      if (this.#data[i] === 0x0a) {
        const s = utf8.decode(this.#data.subarray(this.#pos, i));
        this.#pos = i + 1;
        return s;
      }
    }
    return this.#fail('truncated pickle (unterminated text argument)');
  }
  /** A memo index written as text (PUT, GET). */
  #lineIndex(what: string): number {
    const s = this.#line();
    if (!/^\d{1,15}$/.test(s)) this.#fail(`bad ${what} index ${quote(s)}`);
    return Number(s);
  }

  // ------------------------------------------------------------------ the stack and the memo
  #push(v: unknown): void {
    this.#stack.push(v);
  }
  #pop(): unknown {
    if (this.#stack.length === 0) this.#fail('stack underflow');
    return this.#stack.pop();
  }
  #top(): unknown {
    if (this.#stack.length === 0) this.#fail('stack underflow');
    return this.#stack[this.#stack.length - 1];
  }
  #popMark(): unknown[] {
    const items = this.#stack;
    const prev = this.#metastack.pop();
    if (prev === undefined) this.#fail('MARK missing');
    this.#stack = prev!;
    return items;
  }
  #memoGet(i: number): unknown {
    if (!this.#memo.has(i)) this.#fail(`memo key ${i} is missing`);
    return this.#memo.get(i);
  }
  #memoPut(i: number): void {
    this.#memo.set(i, this.#top());
  }

  // ------------------------------------------------------------------ opcodes, by kind
  /** PROTO, FRAME, MARK, POP, POP_MARK, DUP. */
  #stackOp(op: number): boolean {
    switch (op) {
      case 0x80: { // PROTO
        const v = this.#u8();
        if (v > 5) this.#fail(`unsupported pickle protocol ${v}`);
        return true;
      }
      case 0x95: this.#u64le(); return true; // FRAME: a framing hint; only check that the frame fits
      case 0x28: // MARK
        this.#metastack.push(this.#stack);
        this.#stack = [];
        return true;
      case 0x30: this.#pop(); return true; // POP
      case 0x31: this.#popMark(); return true; // POP_MARK
      case 0x32: this.#push(this.#top()); return true; // DUP
      default: return false;
    }
  }

  /** None, booleans, integers, floats. */
  #scalarOp(op: number): boolean {
    switch (op) {
      case 0x4e: this.#push(null); return true; // NONE
      case 0x88: this.#push(true); return true; // NEWTRUE
      case 0x89: this.#push(false); return true; // NEWFALSE
      case 0x4a: this.#push(this.#i32le()); return true; // BININT
      case 0x4b: this.#push(this.#u8()); return true; // BININT1
      case 0x4d: this.#push(this.#u16le()); return true; // BININT2
      case 0x8a: this.#push(decodeLong(this.#bytes(this.#u8()))); return true; // LONG1
      case 0x8b: { // LONG4
        const n = this.#i32le();
        if (n < 0) this.#fail('negative LONG4 length');
        if (n > MAX_LONG_BYTES) this.#fail(`integer of ${n} bytes is too large`);
        this.#push(decodeLong(this.#bytes(n)));
        return true;
      }
      case 0x49: { // INT (text; "I00"/"I01" are protocol 0 booleans)
        const s = this.#line();
        if (s === '00' || s === '01') this.#push(s === '01');
        else if (/^[+-]?\d+$/.test(s)) this.#push(int(BigInt(s)));
        else this.#fail(`bad INT literal ${quote(s)}`);
        return true;
      }
      case 0x4c: { // LONG (text)
        const s = this.#line().replace(/L$/, '');
        if (!/^[+-]?\d+$/.test(s) || s.length > 4096) this.#fail(`bad LONG literal ${quote(s)}`);
        this.#push(int(BigInt(s)));
        return true;
      }
      case 0x46: { // FLOAT (text)
        const s = this.#line().trim();
        const v = /^[+-]?inf$/i.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : /^[+-]?nan$/i.test(s) ? NaN : Number(s);
        if (s === '' || Number.isNaN(v) && !/nan$/i.test(s)) this.#fail(`bad FLOAT literal ${quote(s)}`);
        this.#push(v);
        return true;
      }
      case 0x47: this.#push(this.#f64be()); return true; // BINFLOAT: big-endian double
      default: return false;
    }
  }

  /** str, Python 2 str, bytes, bytearray. */
  #bytesOp(op: number): boolean {
    const py2str = (b: Uint8Array): string | Uint8Array => (this.#options.python2Strings === 'bytes' ? b : latin1.decode(b));
    switch (op) {
      case 0x58: this.#push(utf8.decode(this.#bytes(this.#u32le()))); return true; // BINUNICODE
      case 0x8c: this.#push(utf8.decode(this.#bytes(this.#u8()))); return true; // SHORT_BINUNICODE
      case 0x8d: this.#push(utf8.decode(this.#bytes(this.#u64le()))); return true; // BINUNICODE8
      case 0x54: { // BINSTRING (Python 2 str)
        const n = this.#i32le();
        if (n < 0) this.#fail('negative BINSTRING length');
        this.#push(py2str(this.#bytes(n)));
        return true;
      }
      case 0x55: this.#push(py2str(this.#bytes(this.#u8()))); return true; // SHORT_BINSTRING
      case 0x42: this.#push(this.#bytes(this.#u32le())); return true; // BINBYTES
      case 0x43: this.#push(this.#bytes(this.#u8())); return true; // SHORT_BINBYTES
      case 0x8e: this.#push(this.#bytes(this.#u64le())); return true; // BINBYTES8
      case 0x96: this.#push(this.#bytes(this.#u64le()).slice()); return true; // BYTEARRAY8 (mutable: a copy)
      default: return false;
    }
  }

  #setItems(target: unknown, items: unknown[]): void {
    if (!(target instanceof Map)) this.#fail(`cannot set items on a ${pyTypeName(target)}`);
    if (items.length % 2 !== 0) this.#fail('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) (target as Map<unknown, unknown>).set(items[i], items[i + 1]);
  }
  #append(target: unknown, items: unknown[]): void {
    if (!Array.isArray(target) || isTuple(target)) this.#fail(`cannot append to a ${pyTypeName(target)}`);
    for (const item of items) (target as unknown[]).push(item);
  }

  /** dicts, lists, tuples, sets: built empty or from the stack, and filled. */
  #containerOp(op: number): boolean {
    switch (op) {
      case 0x7d: this.#push(new Map()); return true; // EMPTY_DICT
      case 0x5d: this.#push([]); return true; // EMPTY_LIST
      case 0x29: this.#push(tuple([])); return true; // EMPTY_TUPLE
      case 0x8f: this.#push(new Set()); return true; // EMPTY_SET
      case 0x64: { // DICT
        const items = this.#popMark();
        const d = new Map();
        this.#setItems(d, items);
        this.#push(d);
        return true;
      }
      case 0x6c: this.#push(this.#popMark()); return true; // LIST
      case 0x74: this.#push(tuple(this.#popMark())); return true; // TUPLE
      case 0x85: this.#push(tuple([this.#pop()])); return true; // TUPLE1
      case 0x86: { // TUPLE2
        const b = this.#pop();
        const a = this.#pop();
        this.#push(tuple([a, b]));
        return true;
      }
      case 0x87: { // TUPLE3
        const c = this.#pop();
        const b = this.#pop();
        const a = this.#pop();
        this.#push(tuple([a, b, c]));
        return true;
      }
      case 0x91: this.#push(new Set(this.#popMark())); return true; // FROZENSET
      case 0x90: { // ADDITEMS
        const items = this.#popMark();
        const s = this.#top();
        if (!(s instanceof Set)) this.#fail(`cannot add items to a ${pyTypeName(s)}`);
        for (const item of items) (s as Set<unknown>).add(item);
        return true;
      }
      case 0x61: { // APPEND
        const v = this.#pop();
        this.#append(this.#top(), [v]);
        return true;
      }
      case 0x65: { // APPENDS
        const items = this.#popMark();
        this.#append(this.#top(), items);
        return true;
      }
      case 0x73: { // SETITEM
        const v = this.#pop();
        const k = this.#pop();
        this.#setItems(this.#top(), [k, v]);
        return true;
      }
      case 0x75: { // SETITEMS
        const items = this.#popMark();
        this.#setItems(this.#top(), items);
        return true;
      }
      default: return false;
    }
  }

  /** PUT, GET and their binary forms, MEMOIZE. */
  #memoOp(op: number): boolean {
    switch (op) {
      case 0x71: this.#memoPut(this.#u8()); return true; // BINPUT
      case 0x72: this.#memoPut(this.#u32le()); return true; // LONG_BINPUT
      case 0x94: this.#memoPut(this.#memo.size); return true; // MEMOIZE
      case 0x70: this.#memoPut(this.#lineIndex('PUT')); return true; // PUT (text)
      case 0x68: this.#push(this.#memoGet(this.#u8())); return true; // BINGET
      case 0x6a: this.#push(this.#memoGet(this.#u32le())); return true; // LONG_BINGET
      case 0x67: this.#push(this.#memoGet(this.#lineIndex('GET'))); return true; // GET (text)
      default: return false;
    }
  }

  #findGlobal(module: string, name: string): PyGlobal {
    const qualified = `${module}.${name}`;
    const globals = this.#globals;
    const handler = Object.prototype.hasOwnProperty.call(globals, qualified) ? globals[qualified] : undefined;
    if (handler === undefined) {
      const allowed = this.#options.allowedSummary ?? (Object.keys(globals).join(', ') || 'none');
      this.#fail(`global ${quote(qualified)} is not allowed (only the globals ${this.#options.purpose ?? 'this reader allows'} are: ${allowed})`);
    }
    return new PyGlobal(module, name, handler!);
  }

  #invoke(callable: unknown, args: unknown, how: 'call' | 'newobj', kwargs: ReadonlyMap<unknown, unknown> = new Map()): unknown {
    if (!(callable instanceof PyGlobal)) return this.#fail(`a ${pyTypeName(callable)} is not callable`);
    if (!Array.isArray(args)) return this.#fail(`the arguments of ${callable.qualifiedName} must be a tuple, not a ${pyTypeName(args)}`);
    const h = callable.handler;
    const fn = how === 'newobj' && h.newobj ? (a: readonly unknown[]) => h.newobj!(a, kwargs) : h.call;
    if (!fn) return this.#fail(`${callable.qualifiedName} cannot be ${how === 'newobj' ? 'instantiated' : 'called'}`);
    if (how === 'call' && kwargs.size > 0) return this.#fail(`${callable.qualifiedName} takes no keyword arguments`);
    try {
      return fn(args);
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      return this.#fail(`${callable.qualifiedName}: ${(e as Error).message}`);
    }
  }

  #persistent(pid: unknown): unknown {
    if (!this.#options.persistentLoad) return this.#fail('persistent id found but this pickle may not reference external data');
    try {
      return this.#options.persistentLoad(pid);
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      return this.#fail(`persistent id: ${(e as Error).message}`);
    }
  }

  /** BUILD: obj.__setstate__(state), only for objects that accept it. */
  #build(): void {
    const state = this.#pop();
    const obj = this.#top() as Partial<Stateful> | null;
    if (obj === null || typeof obj !== 'object' || typeof obj[SETSTATE] !== 'function') {
      this.#fail(`cannot set the state of a ${pyTypeName(obj)}`);
    }
    try {
      obj![SETSTATE]!(state);
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      this.#fail(`setting the state of a ${pyTypeName(obj)}: ${(e as Error).message}`);
    }
  }

  /** Globals (the allow-list), calls, instances, their state, persistent ids. */
  #objectOp(op: number): boolean {
    switch (op) {
      case 0x63: { // GLOBAL
        const module = this.#line();
        const name = this.#line();
        this.#push(this.#findGlobal(module, name));
        return true;
      }
      case 0x93: { // STACK_GLOBAL
        const name = this.#pop();
        const module = this.#pop();
        if (typeof module !== 'string' || typeof name !== 'string') this.#fail('STACK_GLOBAL needs two strings');
        this.#push(this.#findGlobal(module as string, name as string));
        return true;
      }
      case 0x52: { // REDUCE
        const args = this.#pop();
        const callable = this.#pop();
        this.#push(this.#invoke(callable, args, 'call'));
        return true;
      }
      case 0x81: { // NEWOBJ
        const args = this.#pop();
        const cls = this.#pop();
        this.#push(this.#invoke(cls, args, 'newobj'));
        return true;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = this.#pop();
        const args = this.#pop();
        const cls = this.#pop();
        if (!(kwargs instanceof Map)) this.#fail('NEWOBJ_EX keyword arguments must be a dict');
        this.#push(this.#invoke(cls, args, 'newobj', kwargs as Map<unknown, unknown>));
        return true;
      }
      case 0x69: { // INST: module, name, then args since MARK
        const module = this.#line();
        const name = this.#line();
        const g = this.#findGlobal(module, name);
        this.#push(this.#invoke(g, this.#popMark(), 'call'));
        return true;
      }
      case 0x6f: { // OBJ: class and args since MARK
        const items = this.#popMark();
        if (items.length === 0) this.#fail('OBJ without a class');
        this.#push(this.#invoke(items[0], items.slice(1), 'call'));
        return true;
      }
      case 0x62: this.#build(); return true; // BUILD
      case 0x51: this.#push(this.#persistent(this.#pop())); return true; // BINPERSID
      case 0x50: this.#push(this.#persistent(this.#line())); return true; // PERSID
      default: return false;
    }
  }

  /** Opcodes this reader refuses, and bytes that are no opcode. */
  #refuse(op: number): never {
    switch (op) {
      case 0x82: case 0x83: case 0x84: // EXT1/2/4
        return this.#fail('copyreg extension codes are not supported');
      case 0x97: case 0x98: // NEXT_BUFFER, READONLY_BUFFER
        return this.#fail('out-of-band buffers (protocol 5) are not supported');
      case 0x53: case 0x56: // STRING, UNICODE (protocol 0 text with escapes)
        return this.#fail('protocol 0 text strings are not supported (re-save with pickle protocol 2 or later)');
      default:
        return this.#fail(`invalid opcode 0x${op.toString(16).padStart(2, '0')}`);
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
