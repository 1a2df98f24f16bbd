// Renders a Drawing (figure.ts) into an 8-bit RGB raster: images upscaled nearest-neighbour, tints
// alpha-blended, outlines, and text in the 5x7 bitmap font (font.ts) scaled by whole pixels, with a
// 1-px outline around the glyphs where asked (light text stays readable on any image).
import { GLYPH_HEIGHT, GLYPH_WIDTH, ADVANCE, glyph, textWidth } from './font.js';
import type { Drawing, Rgb } from './figure.js';
import type { RgbImage } from './display.js';

export class Raster implements RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
  constructor(width: number, height: number, background: Rgb = [255, 255, 255]) {
    this.width = width;
    this.height = height;
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(background, i * 3);
  }

  /** The colour at (x, y). */
  pixel(x: number, y: number): [number, number, number] {
    const i = (y * this.width + x) * 3;
    return [this.data[i]!, this.data[i + 1]!, this.data[i + 2]!];
  }

  blend(x: number, y: number, c: Rgb, a = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    for (let k = 0; k < 3; k++) this.data[i + k] = a >= 1 ? c[k]! : Math.round(this.data[i + k]! * (1 - a) + c[k]! * a);
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb, a = 1): void {
    for (let yy = Math.max(0, y); yy < Math.min(this.height, y + h); yy++) for (let xx = Math.max(0, x); xx < Math.min(this.width, x + w); xx++) this.blend(xx, yy, c, a);
  }

  /** An outline `lw` pixels wide inside the rectangle. */
  strokeRect(x: number, y: number, w: number, h: number, c: Rgb, lw = 1): void {
    this.fillRect(x, y, w, lw, c);
    this.fillRect(x, y + h - lw, w, lw, c);
    this.fillRect(x, y, lw, h, c);
    this.fillRect(x + w - lw, y, lw, h, c);
  }

  /** An image scaled to w x h, nearest neighbour. */
  drawImage(img: RgbImage, x: number, y: number, w: number, h: number): void {
    for (let yy = 0; yy < h; yy++) {
      const sy = Math.min(img.height - 1, Math.floor((yy * img.height) / h));
      for (let xx = 0; xx < w; xx++) {
        const sx = Math.min(img.width - 1, Math.floor((xx * img.width) / w));
        const s = (sy * img.width + sx) * 3;
        this.blend(x + xx, y + yy, [img.data[s]!, img.data[s + 1]!, img.data[s + 2]!]);
      }
    }
  }

  #glyphs(text: string, x: number, y: number, size: number, c: Rgb, dx: number, dy: number): void {
    for (let i = 0; i < text.length; i++) {
      const cols = glyph(text[i]!);
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
          if (((cols[gx]! >> gy) & 1) === 1) this.fillRect(x + (i * ADVANCE + gx) * size + dx, y + gy * size + dy, size, size, c);
        }
      }
    }
  }

  /** Text with its glyph box's top-left at (x, y) (or centred on x), optionally outlined. */
  drawText(text: string, x: number, y: number, size: number, c: Rgb, opts: { outline?: Rgb; anchor?: 'start' | 'middle' } = {}): void {
    const left = Math.round(opts.anchor === 'middle' ? x - textWidth(text, size) / 2 : x);
    const top = Math.round(y);
    if (opts.outline) {
      for (const [dx, dy] of [[-1, -1], [0, -1], [1, -1], [-1, 0], [1, 0], [-1, 1], [0, 1], [1, 1]] as const) this.#glyphs(text, left, top, size, opts.outline, dx, dy);
    }
    this.#glyphs(text, left, top, size, c, 0, 0);
  }
}

/** Renders a drawing into a raster. */
export function rasterize(d: Drawing): Raster {
  const r = new Raster(Math.ceil(d.width), Math.ceil(d.height), d.background);
  for (const op of d.ops) {
    if (op.op === 'image') r.drawImage(op.image, Math.round(op.x), Math.round(op.y), Math.round(op.w), Math.round(op.h));
    else if (op.op === 'rect') {
      const [x, y, w, h] = [op.x, op.y, op.w, op.h].map(Math.round) as [number, number, number, number];
      if (op.fill) r.fillRect(x, y, w, h, op.fill, op.fillOpacity ?? 1);
      if (op.stroke) r.strokeRect(x, y, w, h, op.stroke, op.strokeWidth ?? 1);
    } else {
      r.drawText(op.text, op.x, op.y, op.size, op.color, { ...(op.outline ? { outline: op.outline } : {}), anchor: op.anchor });
    }
  }
  return r;
}
