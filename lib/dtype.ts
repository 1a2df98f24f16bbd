// dtypes and devices as the TS API names them; codes match native/convert.cc (kDtypes).

export const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8', 'bool', 'int8', 'int16'] as const;
export type DType = (typeof DTYPES)[number];
/** PyTorch-style aliases accepted wherever a dtype is. */
export type DTypeLike = DType | 'float' | 'double' | 'half' | 'long' | 'int';

const ALIASES: Record<string, DType> = { float: 'float32', double: 'float64', half: 'float16', long: 'int64', int: 'int32' };

import { invalidParameterError } from './errors.js';

export function dtypeCode(name: string, dtype: unknown): number {
  const d = typeof dtype === 'string' ? (ALIASES[dtype] ?? dtype) : dtype;
  const code = DTYPES.indexOf(d as DType);
  if (code < 0) throw invalidParameterError(name, `one of ${DTYPES.join(', ')}`, dtype);
  return code;
}

export function dtypeName(code: number): DType {
  return DTYPES[code]!;
}

export function isFloatingDtype(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

/** 'cpu', 'cuda' or 'cuda:N'. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

export function checkDevice(name: string, device: unknown): Device {
  if (device === undefined) return 'cpu';
  if (typeof device === 'string' && /^(cpu|cuda(:\d+)?)$/.test(device)) return device as Device;
  throw invalidParameterError(name, "'cpu', 'cuda' or 'cuda:N'", device);
}
