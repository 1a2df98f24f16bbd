// Containers: Sequential (with conv → BN → activation fusion), ModuleList, ModuleDict.
import { Tensor } from '../core/tensor.js';
import { checkInteger, invalidParameterError } from '../core/errors.js';
import { Module, isEphemeral, markEphemeral } from './module.js';
import { Activation, BatchNorm2d, Conv2d, isConvBnPair } from './layers.js';
import { ACT, type ActCode } from './binding.js';

function checkModule(name: string, m: unknown): Module {
  if (!(m instanceof Module)) throw invalidParameterError(name, 'an nn.Module', m);
  return m;
}

/** True when m runs the stock forward of its class (so fusing it does not bypass user code). */
function stock(m: Module, cls: { prototype: { forward: unknown } }): boolean {
  return m.forward === cls.prototype.forward;
}

/** What Sequential and ModuleList share: children named "0", "1", ..., indexed access, append. */
abstract class IndexedModules extends Module {
  get length(): number {
    return this.children().length;
  }

  /** The i-th child (negative counts from the end). */
  at(i: number): Module {
    const kids = this.children();
    checkInteger('index', i);
    const j = i < 0 ? i + kids.length : i;
    if (j < 0 || j >= kids.length) throw invalidParameterError('index', `an integer in [${-kids.length}, ${kids.length - 1}]`, i, true);
    return kids[j]!;
  }

  append(m: Module): this {
    this.registerModule(String(this.namedChildren().length), checkModule('module', m));
    return this;
  }
}

/**
 * Runs its children in order (torch.nn.Sequential); children are named "0", "1", ... or by the
 * keys of an object. Runs of Conv2d → BatchNorm2d → ReLU/ReLU6/LeakyReLU/Sigmoid/Tanh execute as
 * one native call, and freeze() folds each such BatchNorm into its convolution.
 */
export class Sequential extends IndexedModules {
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && first !== undefined && !(first instanceof Module) && typeof first === 'object') {
      for (const [k, m] of Object.entries(first)) this.registerModule(k, checkModule(`modules.${k}`, m));
    } else {
      (modules as Module[]).forEach((m, i) => this.registerModule(String(i), checkModule(`modules[${i}]`, m)));
    }
  }


  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }

  override _convBnPairs(): [Module, Module][] {
    const kids = this.children();
    const pairs: [Module, Module][] = [...super._convBnPairs()];
    for (let i = 0; i + 1 < kids.length; i++) {
      if (isConvBnPair(kids[i]!, kids[i + 1]!)) pairs.push([kids[i]!, kids[i + 1]!]);
    }
    return pairs;
  }

  override forward(x: unknown): unknown {
    const kids = this.children();
    let out = x;
    let owned = false; // `out` was made here by a layer that keeps no reference: free it once consumed
    const step = (next: unknown, ephemeral: boolean): void => {
      if (next === out) return; // an identity (e.g. a BatchNorm folded by freeze())
      if (owned && out instanceof Tensor) out.dispose();
      owned = ephemeral;
      out = next;
    };
    for (let i = 0; i < kids.length; i++) {
      const m = kids[i]!;
      if (m instanceof Conv2d && stock(m, Conv2d) && out instanceof Tensor) {
        let bn: BatchNorm2d | null = null;
        let used = 1;
        const next = kids[i + 1];
        if (next instanceof BatchNorm2d && stock(next, BatchNorm2d) && next.numFeatures === m.outChannels) {
          bn = next;
          used++;
        }
        let act: ActCode = ACT.none;
        let param = 0;
        const a = kids[i + used];
        if (a instanceof Activation && stock(a, Activation)) {
          act = a.code;
          param = a.param;
          used++;
        }
        step(m._fused(out, bn, null, act, param), true);
        i += used - 1;
        continue;
      }
      step(m.forward(out), isEphemeral(m));
    }
    return out;
  }
}

/** A list of modules registered as "0", "1", ... (torch.nn.ModuleList); no forward of its own. */
export class ModuleList extends IndexedModules {
  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }
  push(...ms: Module[]): number {
    for (const m of ms) this.append(m);
    return this.length;
  }
  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }
  override forward(): never {
    throw new Error('ModuleList has no forward(): iterate over it in the parent module');
  }
}

/** Modules by name (torch.nn.ModuleDict); no forward of its own. */
export class ModuleDict extends Module {
  constructor(modules: Record<string, Module> = {}) {
    super();
    for (const [k, m] of Object.entries(modules)) this.set(k, m);
  }
  get(key: string): Module | undefined {
    return this.namedChildren().find(([k]) => k === key)?.[1];
  }
  set(key: string, m: Module): this {
    this.registerModule(key, checkModule(`modules.${key}`, m));
    return this;
  }
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
  keys(): string[] {
    return this.namedChildren().map(([k]) => k);
  }
  values(): Module[] {
    return this.children();
  }
  entries(): [string, Module][] {
    return this.namedChildren();
  }
  get size(): number {
    return this.namedChildren().length;
  }
  override forward(): never {
    throw new Error('ModuleDict has no forward(): pick its modules in the parent module');
  }
}

markEphemeral(Sequential);
