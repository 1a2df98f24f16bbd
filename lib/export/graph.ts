// An ONNX graph under construction: nodes, initializers, inputs and outputs, then pruning (nodes no
// output needs go), folding of BatchNormalization into the Conv that alone feeds it, and encoding as
// a ModelProto with the onnx-proto package (protobufjs code generated from onnx.proto).
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  name: string;
}

export type InitData = Float32Array | BigInt64Array;

export interface Initializer {
  name: string;
  dims: number[];
  data: InitData;
}

/** A graph input or output: its name and shape (null = the dynamic batch dimension). */
export interface ValueSpec {
  name: string;
  shape: (number | null)[];
}

/** Lowest and highest opset the exporter writes. */
export const MIN_OPSET = 13;
export const MAX_OPSET = 21;

/** The IR version that goes with an opset (the ONNX release that introduced the opset). */
function irVersionFor(opset: number): number {
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

export class OnnxGraph {
  readonly nodes: OnnxNode[] = [];
  readonly inits = new Map<string, Initializer>();
  readonly inputs: ValueSpec[] = [];
  outputs: ValueSpec[] = [];
  readonly opset: number;
  #used = new Set<string>();
  #counter = 0;

  constructor(opset: number) {
    this.opset = opset;
  }

  /** A name not used yet, from a hint (e.g. a module path). */
  unique(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_.:/-]/g, '_') || 't';
    let name = base;
    for (let i = 1; this.#used.has(name); i++) name = `${base}_${i}`;
    this.#used.add(name);
    return name;
  }

  /** A fresh value name. */
  value(): string {
    return this.unique(`t${this.#counter++}`);
  }

  addInput(name: string, shape: (number | null)[]): string {
    this.#used.add(name);
    this.inputs.push({ name, shape });
    return name;
  }

  /** Adds a node; returns its output names (fresh unless given). */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, scope = '', outputs?: string[]): string[] {
    const outs = outputs ?? [this.value()];
    this.nodes.push({ op, inputs, outputs: outs, attrs, name: this.unique(`${scope ? `${scope}/` : ''}${op}`) });
    return outs;
  }

  /** One-output node. */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, scope = ''): string {
    return this.node(op, inputs, attrs, scope)[0]!;
  }

  init(hint: string, dims: number[], data: InitData): string {
    const name = this.unique(hint);
    this.inits.set(name, { name, dims: [...dims], data });
    return name;
  }

  floats(hint: string, dims: number[], values: ArrayLike<number>): string {
    return this.init(hint, dims, Float32Array.from(values));
  }

  ints(hint: string, values: number[], dims: number[] = [values.length]): string {
    return this.init(hint, dims, BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  /** Drops what no output needs (nodes, initializers). */
  prune(): void {
    const producer = new Map<string, number>();
    this.nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));
    const need = new Set<string>(this.outputs.map((o) => o.name));
    const keep = new Set<number>();
    const stack = [...need];
    while (stack.length > 0) {
      const v = stack.pop()!;
      const i = producer.get(v);
      if (i === undefined || keep.has(i)) continue;
      keep.add(i);
      for (const inp of this.nodes[i]!.inputs) {
        if (inp !== '' && !need.has(inp)) {
          need.add(inp);
          stack.push(inp);
        }
      }
    }
    const kept = this.nodes.filter((_, i) => keep.has(i));
    this.nodes.length = 0;
    this.nodes.push(...kept);
    for (const name of [...this.inits.keys()]) if (!need.has(name)) this.inits.delete(name);
  }

  #consumers(): Map<string, number> {
    const uses = new Map<string, number>();
    for (const n of this.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
    for (const o of this.outputs) uses.set(o.name, (uses.get(o.name) ?? 0) + 1);
    return uses;
  }

  /**
   * Folds each BatchNormalization whose input comes from a Conv that nothing else reads into that
   * Conv (weights W·γ/σ, bias (b − μ)·γ/σ + β, computed in float64), as PyTorch's fuse_conv_bn_eval.
   */
  foldBatchNorms(): number {
    let folded = 0;
    const uses = this.#consumers();
    const producer = new Map<string, OnnxNode>();
    for (const n of this.nodes) for (const o of n.outputs) producer.set(o, n);
    const drop = new Set<OnnxNode>();
    for (const bn of this.nodes) {
      if (bn.op !== 'BatchNormalization' || bn.inputs.length !== 5) continue;
      const conv = producer.get(bn.inputs[0]!);
      if (!conv || conv.op !== 'Conv' || uses.get(bn.inputs[0]!) !== 1) continue;
      const w = this.inits.get(conv.inputs[1]!);
      const b = conv.inputs[2] ? this.inits.get(conv.inputs[2]) : undefined;
      if (!w || (conv.inputs[2] && !b) || uses.get(w.name) !== 1 || (b && uses.get(b.name) !== 1)) continue;
      const [scale, shift, mean, variance] = bn.inputs.slice(1).map((n) => this.inits.get(n));
      if (!scale || !shift || !mean || !variance) continue;
      const eps = typeof bn.attrs.epsilon === 'object' && 'float' in bn.attrs.epsilon ? bn.attrs.epsilon.float : 1e-5;
      const out = w.dims[0]!;
      const per = w.data.length / out;
      const wd = w.data as Float32Array;
      const nw = new Float32Array(wd.length);
      const nb = new Float32Array(out);
      for (let o = 0; o < out; o++) {
        const s = Number(scale.data[o]) / Math.sqrt(Number(variance.data[o]) + eps);
        for (let k = 0; k < per; k++) nw[o * per + k] = wd[o * per + k]! * s;
        nb[o] = ((b ? Number(b.data[o]) : 0) - Number(mean.data[o])) * s + Number(shift.data[o]);
      }
      w.data = nw;
      if (b) b.data = nb;
      else conv.inputs[2] = this.init(`${w.name.replace(/\.weight$/, '')}.bias`, [out], nb);
      conv.outputs[0] = bn.outputs[0]!;
      drop.add(bn);
      folded++;
    }
    if (drop.size > 0) {
      const kept = this.nodes.filter((n) => !drop.has(n));
      this.nodes.length = 0;
      this.nodes.push(...kept);
      this.prune();
    }
    return folded;
  }

  /** The ModelProto bytes. */
  encode(meta: { producerVersion: string; docString?: string; graphName: string; metadata?: Record<string, string> }): Uint8Array {
    const A = onnx.AttributeProto.AttributeType;
    const attr = (name: string, v: AttrValue): onnxProto.onnx.IAttributeProto => {
      if (typeof v === 'number') return { name, type: A.INT, i: v };
      if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
      if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
      if ('float' in v) return { name, type: A.FLOAT, f: v.float };
      return { name, type: A.FLOATS, floats: v.floats };
    };
    const valueInfo = (v: ValueSpec): onnxProto.onnx.IValueInfoProto => ({
      name: v.name,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: v.shape.map((d) => (d === null ? { dimParam: 'batch' } : { dimValue: d })) } } },
    });
    const tensor = (t: Initializer): onnxProto.onnx.ITensorProto => ({
      name: t.name,
      dims: t.dims,
      dataType: t.data instanceof Float32Array ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
      rawData: littleEndianBytes(t.data),
    });
    const model = onnx.ModelProto.create({
      irVersion: irVersionFor(this.opset),
      opsetImport: [{ domain: '', version: this.opset }],
      producerName: 'sdd-torch',
      producerVersion: meta.producerVersion,
      docString: meta.docString ?? '',
      metadataProps: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: meta.graphName,
        node: this.nodes.map((n) => ({
          opType: n.op, input: n.inputs, output: n.outputs, name: n.name,
          attribute: Object.entries(n.attrs).map(([k, v]) => attr(k, v)),
        })),
        initializer: [...this.inits.values()].map(tensor),
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(data: InitData): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  else data.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  return out;
}
