// PyTorch-like printing: tensor([[1.0000, 2.0000], …], dtype=float64, requires_grad=True).
import type { DType } from './dtype.js';

const EDGE = 3;          // items shown at each end of a summarised dimension
const THRESHOLD = 1000;  // summarise beyond this many elements (PyTorch's default)

function formatter(values: Float64Array, dtype: DType): (v: number) => string {
  if (dtype === 'bool') return (v) => (v !== 0 ? 'True' : 'False');
  const isFloat = dtype.startsWith('float') || dtype === 'bfloat16';
  if (!isFloat) {
    const width = Math.max(1, ...Array.from(values, (v) => String(v).length));
    return (v) => String(v).padStart(width);
  }
  const finite = Array.from(values).filter(Number.isFinite).map(Math.abs);
  const max = finite.length ? Math.max(...finite) : 0;
  const nonzero = finite.filter((v) => v > 0);
  const min = nonzero.length ? Math.min(...nonzero) : 0;
  const allInt = finite.every((v) => Number.isInteger(v));
  const sci = max >= 1e8 || (min > 0 && min < 1e-4) || (min > 0 && max / min > 1000 && !allInt);
  const fmt = (v: number): string => {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    if (sci) return v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
    if (allInt) return `${v.toFixed(0)}.`;
    return v.toFixed(4);
  };
  const width = Math.max(1, ...Array.from(values, (v) => fmt(v).length));
  return (v) => fmt(v).padStart(width);
}

export function formatTensor(shape: number[], dtype: DType, device: string, requiresGrad: boolean, values: Float64Array): string {
  const extras: string[] = [];
  if (device !== 'cpu') extras.push(`device='${device}'`);
  if (dtype !== 'float32' && dtype !== 'int64' && dtype !== 'bool') extras.push(`dtype=${dtype}`);
  if (requiresGrad) extras.push('requires_grad=True');
  const numel = values.length;
  let body: string;
  if (numel === 0) {
    body = '[]';
    if (shape.length > 1 || shape[0] !== 0) extras.unshift(`size=(${shape.join(', ')})`);
  } else {
    const summarise = numel > THRESHOLD;
    const fmt = formatter(values, dtype);
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const indent = 'tensor('.length;
    const rec = (d: number, offset: number, pad: number): string => {
      if (d === shape.length) return fmt(values[offset]!);
      const n = shape[d]!;
      const idx: (number | null)[] = [];
      if (summarise && n > 2 * EDGE) {
        for (let i = 0; i < EDGE; i++) idx.push(i);
        idx.push(null);
        for (let i = n - EDGE; i < n; i++) idx.push(i);
      } else {
        for (let i = 0; i < n; i++) idx.push(i);
      }
      const parts = idx.map((i) => (i === null ? '...' : rec(d + 1, offset + i * strides[d]!, pad + 1)));
      const sep = d === shape.length - 1 ? ', ' : `,${'\n'.repeat(shape.length - d - 1)}${' '.repeat(pad + 1)}`;
      return `[${parts.join(sep)}]`;
    };
    body = rec(0, 0, indent);
  }
  if (dtype === 'int64' && numel === 0) extras.push('dtype=int64');
  return `tensor(${body}${extras.length ? `, ${extras.join(', ')}` : ''})`;
}
