// One source of truth for the numbers that cross the native boundary: the addon exports its code
// tables (native.codes, built from the arrays its dispatch indexes) and lib/ reads them by name
// (lib/core/codes.ts). These tests fail when the two sides disagree, and when a numeric code
// literal creeps back into a native call in lib/.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import '../lib/index.js'; // every module that looks codes up
import { native } from '../lib/core/native.js';
import { codes, usedCodes } from '../lib/core/codes.js';

const LIB = path.resolve('lib');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('native codes', () => {
  const nativeCodes = native.codes;
  const used = usedCodes();

  it('the addon exports its code tables, frozen', () => {
    expect(Object.isFrozen(nativeCodes)).toBe(true);
    for (const family of ['dtype', 'unary', 'binary', 'binaryScalar', 'inPlace', 'reduce', 'reduction', 'gradMode', 'activation', 'init',
      'paddingMode', 'loss']) {
      expect(nativeCodes[family], family).toBeDefined();
      expect(Object.isFrozen(nativeCodes[family])).toBe(true);
    }
  });

  it('every family: codes are unique and dense (0 .. n-1), as indices of one native table', () => {
    for (const [family, table] of Object.entries(nativeCodes)) {
      const values = Object.values(table).sort((a, b) => a - b);
      expect(values, family).toEqual(values.map((_, i) => i));
    }
  });

  it('every name lib/ uses exists natively, and every native code is reachable from lib/', () => {
    expect([...used.keys()].sort()).toEqual(Object.keys(nativeCodes).sort());
    for (const [family, table] of Object.entries(nativeCodes)) {
      expect([...(used.get(family) ?? [])].sort(), family).toEqual(Object.keys(table).sort());
    }
  });

  it('a name the addon lacks is a clear error at lookup', () => {
    expect(() => codes('unary', ['abs', 'nosuchop'] as const)).toThrow(/native addon has no unary code 'nosuchop' \(it has neg, abs/);
    expect(() => codes('nosuchfamily', ['x'] as const)).toThrow(/exports no 'nosuchfamily' codes/);
  });

  it('an unknown code is a native error naming the family', () => {
    const h = native.full([2], 1, native.codes.dtype.float32!, 'cpu', false);
    try {
      expect(() => native.unary(999, h)).toThrow(/unknown unary op code 999/);
      expect(() => native.binaryScalar(-1, h, 2)).toThrow(/unknown binaryScalar op code -1/);
      expect(() => native.withGradMode(7, () => 0)).toThrow(/unknown grad mode code 7/);
    } finally {
      native.dispose(h);
    }
  });

  it('the removed exports are gone', () => {
    for (const name of ['mseLoss', 'isInferenceMode', 'nnGlobalPoolLinear', 'nnIsChannelsLast']) {
      expect((native as unknown as Record<string, unknown>)[name], name).toBeUndefined();
    }
  });

  it('no numeric code literal in a native call in lib/', () => {
    // which argument of each native call is an op / mode code
    const CODE_ARG: Record<string, number> = { unary: 0, binary: 0, binaryScalar: 0, inPlace: 0, reduce: 0, withGradMode: 0, loss: 0,
      nnAct: 1, nnAddAct: 2, nnConvBnAct: 12, nnInit: 1, crossEntropy: 2, full: 2, empty: 1, scalar: 1, to: 1, fromTypedArray: 2 };
    const offenders: string[] = [];
    for (const file of tsFiles(LIB)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bnative\.(\w+)\(/g)) {
        const at = CODE_ARG[m[1]!];
        if (at === undefined) continue;
        const arg = topLevelArgs(text, m.index! + m[0].length)[at] ?? '';
        if (/^-?\d+$/.test(arg)) offenders.push(`${path.relative(LIB, file)}: native.${m[1]}(… ${arg} …) (argument ${at})`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

/** The top-level arguments of a call whose argument list starts at `from` (just after its parenthesis). */
function topLevelArgs(text: string, from: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = from;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (c === '(' || c === '[' || c === '{') depth++;
    else if ((c === ')' || c === ']' || c === '}') && depth > 0) depth--;
    else if (c === ')' || (c === ',' && depth === 0)) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
      if (c === ')') break;
    }
  }
  return args;
}
