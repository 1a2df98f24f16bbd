// A PNG encoder for 8-bit RGB rasters with node:zlib only (no dependency): signature, IHDR (colour
// type 2), one IDAT of the deflated rows (each with filter byte 0, none) and IEND, each chunk with
// its CRC-32 (zlib.crc32 where Node has it, else computed here).
import * as zlib from 'node:zlib';
import { invalidParameterError } from '../core/errors.js';
import type { RgbImage } from './display.js';

export const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let table: Uint32Array | undefined;

/** CRC-32 (ISO-HDLC, as PNG and zlib use), computed in JS. */
export function crc32js(bytes: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** zlib.crc32 (Node 20.15+) when present, else crc32js. */
export function crc32(bytes: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
  return typeof native === 'function' ? native(bytes) >>> 0 : crc32js(bytes);
}

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  out.set(body, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

/** The PNG file of an RGB image. */
export function encodePng(img: RgbImage): Buffer {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) invalidSize(img);
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw invalidParameterError('image.data', `${width * height * 3} bytes (width x height x 3)`, data);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, filter method 0, no interlace
  const stride = width * 3;
  const raw = Buffer.alloc(height * (1 + stride));
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * stride, (y + 1) * stride), y * (1 + stride) + 1);
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array(0))]);
}

function invalidSize(img: RgbImage): never {
  throw invalidParameterError('image', 'an RGB image of positive integer width and height', `${img.width} x ${img.height}`);
}
