// dtypes and devices as the TS API names them; their codes come from the addon (native.codes.dtype,
// native/convert.cc kDtypes) through lib/core/codes.ts.

export const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8', 'bool', 'int8', 'int16'] as const;
export type DType = (typeof DTYPES)[number];
/** PyTorch-style aliases accepted wherever a dtype is. */
export type DTypeLike = DType | 'float' | 'double' | 'half' | 'long' | 'int';

const ALIASES: Record<string, DType> = { float: 'float32', double: 'float64', half: 'float16', long: 'int64', int: 'int32' };

import { invalidParameterError } from './errors.js';
import { codes } from './codes.js';

const CODE_OF: Readonly<Record<DType, number>> = codes('dtype', DTYPES);
const NAME_OF: DType[] = [];
for (const d of DTYPES) NAME_OF[CODE_OF[d]] = d;

/** The addon's code of a dtype (or alias); anything else is an error naming `name`. */
export function dtypeCode(name: string, dtype: unknown): number {
  const d = typeof dtype === 'string' ? (ALIASES[dtype] ?? dtype) : dtype;
  const code = typeof d === 'string' && Object.prototype.hasOwnProperty.call(CODE_OF, d) ? CODE_OF[d as DType] : undefined;
  if (code === undefined) throw invalidParameterError(name, `one of ${DTYPES.join(', ')}`, dtype);
  return code;
}

/** The dtype of an addon code. */
export function dtypeName(code: number): DType {
  const d = NAME_OF[code];
  if (d === undefined) throw new Error(`sdd-torch: the native addon returned dtype code ${code}, which lib/ does not know`);
  return d;
}

export function isFloatingDtype(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

/** 'cpu', 'cuda' or 'cuda:N'. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

export function checkDevice(name: string, device: unknown): Device {
  if (device === undefined) return 'cpu';
  if (typeof device === 'string' && /^(cpu|cuda(:\d+)?)$/.test(device)) return device as Device;
  throw unknownDeviceError(name, device);
}

/** The error for a device that is not 'cpu', 'cuda' or 'cuda:N', with the likely intended one. */
export function unknownDeviceError(name: string, device: unknown): Error {
  const err = invalidParameterError(name, "'cpu', 'cuda' or 'cuda:N'", device);
  if (typeof device === 'string') {
    const s = device.trim().toLowerCase();
    const n = /(\d+)$/.exec(s)?.[1];
    const near = /^(gpu|cuda|nvidia|cu)/.test(s) ? (n !== undefined ? `cuda:${Number(n)}` : 'cuda') : s === 'cpu' ? 'cpu' : undefined;
    err.message += `: unknown device '${device}'${near !== undefined ? ` (did you mean '${near}'?)` : ''}`;
  }
  return err;
}

/** Whether `s` names a dtype (or a PyTorch alias of one). */
export function isDtypeName(s: unknown): boolean {
  return typeof s === 'string' && (DTYPES as readonly string[]).includes(ALIASES[s] ?? s);
}
