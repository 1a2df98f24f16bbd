// Writing pickles, protocol 2: just the opcodes torch.save emits for a state dict. Globals and
// repeated strings are memoised (BINPUT/BINGET) the way Python's pickler does, which keeps the
// output small and close to what torch.save writes.

const encoder = new TextEncoder();

export class PickleWriter {
  #buf = new Uint8Array(1024);
  #len = 0;
  #memo = new Map<string, number>();

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  #byte(b: number): this {
    this.#reserve(1);
    this.#buf[this.#len++] = b;
    return this;
  }

  #u32(v: number): void {
    this.#reserve(4);
    new DataView(this.#buf.buffer).setUint32(this.#len, v, true);
    this.#len += 4;
  }

  /** Pushes a memoised value, or makes it with `write` and memoises it under `key`. */
  #memoised(key: string, write: () => void): this {
    const idx = this.#memo.get(key);
    if (idx !== undefined) {
      if (idx < 256) this.#byte(0x68).#byte(idx); // BINGET
      else { this.#byte(0x6a); this.#u32(idx); } // LONG_BINGET
      return this;
    }
    write();
    const next = this.#memo.size;
    this.#memo.set(key, next);
    if (next < 256) this.#byte(0x71).#byte(next); // BINPUT
    else { this.#byte(0x72); this.#u32(next); } // LONG_BINPUT
    return this;
  }

  proto(version = 2): this { return this.#byte(0x80).#byte(version); }
  stop(): this { return this.#byte(0x2e); }
  mark(): this { return this.#byte(0x28); }
  emptyTuple(): this { return this.#byte(0x29); }
  emptyDict(): this { return this.#byte(0x7d); }
  tuple(): this { return this.#byte(0x74); }
  reduce(): this { return this.#byte(0x52); }
  setitem(): this { return this.#byte(0x73); }
  setitems(): this { return this.#byte(0x75); }
  binpersid(): this { return this.#byte(0x51); }
  bool(v: boolean): this { return this.#byte(v ? 0x88 : 0x89); }

  global(module: string, name: string): this {
    return this.#memoised(`global:${module}.${name}`, () => {
      const text = encoder.encode(`${module}\n${name}\n`);
      this.#byte(0x63);
      this.#reserve(text.length);
      this.#buf.set(text, this.#len);
      this.#len += text.length;
    });
  }

  /** A str; `memo` shares repeated constants like 'storage' and 'cpu'. */
  string(s: string, memo = false): this {
    const write = (): void => {
      const b = encoder.encode(s);
      this.#byte(0x58); // BINUNICODE
      this.#u32(b.length);
      this.#reserve(b.length);
      this.#buf.set(b, this.#len);
      this.#len += b.length;
    };
    if (memo) return this.#memoised(`str:${s}`, write);
    write();
    return this;
  }

  /** A non-negative or negative integer, in the shortest form Python uses. */
  int(v: number): this {
    if (!Number.isSafeInteger(v)) throw new RangeError(`cannot pickle ${v} as an int`);
    if (v >= 0 && v < 256) return this.#byte(0x4b).#byte(v); // BININT1
    if (v >= 0 && v < 65536) { this.#byte(0x4d).#byte(v & 0xff).#byte(v >>> 8); return this; } // BININT2
    if (v >= -(2 ** 31) && v < 2 ** 31) { this.#byte(0x4a); this.#u32(v >>> 0); return this; } // BININT
    // LONG1: little-endian two's complement, shortest length
    let big = BigInt(v);
    const bytes: number[] = [];
    for (;;) {
      const b = Number(big & 0xffn);
      bytes.push(b);
      big >>= 8n;
      if ((big === 0n && (b & 0x80) === 0) || (big === -1n && (b & 0x80) !== 0)) break;
    }
    this.#byte(0x8a).#byte(bytes.length);
    for (const b of bytes) this.#byte(b);
    return this;
  }

  /** A tuple of integers (sizes, strides), using TUPLE1-3 like Python. */
  intTuple(values: readonly number[]): this {
    if (values.length === 0) return this.emptyTuple();
    if (values.length > 3) this.mark();
    for (const v of values) this.int(v);
    if (values.length > 3) return this.tuple();
    return this.#byte(0x84 + values.length); // TUPLE1 0x85, TUPLE2 0x86, TUPLE3 0x87
  }

  bytes(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
