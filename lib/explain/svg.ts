// Renders a Drawing (figure.ts) as SVG: images embedded as small PNGs (drawn pixelated), tints as
// translucent rects carrying class="cell consistent|complementary", data-image / data-region and a
// <title> (the tooltip: region, local class, probability, kind),
// and text as monospace <text> sized like the bitmap font of the PNG.
import { encodePng } from './png.js';
import type { Drawing, Rgb } from './figure.js';
import type { RgbImage } from './display.js';

const rgb = (c: Rgb): string => `rgb(${c[0]},${c[1]},${c[2]})`;
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n = (v: number): string => String(Math.round(v * 100) / 100);

/** The SVG document of a drawing. */
export function renderSvg(d: Drawing): string {
  const uris = new Map<RgbImage, string>();
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(d.width)}" height="${n(d.height)}" viewBox="0 0 ${n(d.width)} ${n(d.height)}">`,
    `<rect x="0" y="0" width="${n(d.width)}" height="${n(d.height)}" fill="${rgb(d.background)}"/>`,
  ];
  for (const op of d.ops) {
    if (op.op === 'image') {
      let uri = uris.get(op.image);
      if (uri === undefined) { uri = `data:image/png;base64,${encodePng(op.image).toString('base64')}`; uris.set(op.image, uri); }
      lines.push(`<image x="${n(op.x)}" y="${n(op.y)}" width="${n(op.w)}" height="${n(op.h)}" preserveAspectRatio="none" style="image-rendering:pixelated" href="${uri}"/>`);
    } else if (op.op === 'rect') {
      // strokes are drawn inside the rectangle, as in the raster
      const lw = op.stroke ? (op.strokeWidth ?? 1) : 0;
      const attrs = [
        `x="${n(op.x + lw / 2)}" y="${n(op.y + lw / 2)}" width="${n(Math.max(0, op.w - lw))}" height="${n(Math.max(0, op.h - lw))}"`,
        op.fill ? `fill="${rgb(op.fill)}"${op.fillOpacity !== undefined && op.fillOpacity < 1 ? ` fill-opacity="${op.fillOpacity}"` : ''}` : 'fill="none"',
        op.stroke ? `stroke="${rgb(op.stroke)}" stroke-width="${lw}"` : '',
        op.cell ? `class="cell ${op.cell.kind}" data-image="${op.cell.image}" data-region="${op.cell.region}" data-scale="${op.cell.scale}"` : '',
      ].filter(Boolean);
      if (op.fill && op.stroke) {
        // a filled, stroked rect: fill the whole box, stroke inside it
        attrs[0] = `x="${n(op.x)}" y="${n(op.y)}" width="${n(op.w)}" height="${n(op.h)}"`;
      }
      lines.push(op.cell ? `<rect ${attrs.join(' ')}><title>${esc(op.cell.label)}</title></rect>` : `<rect ${attrs.join(' ')}/>`);
    } else {
      // font-size 10 * size: monospace advance ~ 0.6 em = 6 px, cap height ~ 7 px per size unit
      const fs = 10 * op.size;
      const outline = op.outline ? ` stroke="${rgb(op.outline)}" stroke-width="${Math.max(2, op.size + 1)}" paint-order="stroke" stroke-linejoin="round"` : '';
      lines.push(`<text x="${n(op.x)}" y="${n(op.y + 7 * op.size)}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="${fs}"` +
        `${op.anchor === 'middle' ? ' text-anchor="middle"' : ''} fill="${rgb(op.color)}"${outline}>${esc(op.text)}</text>`);
    }
  }
  lines.push('</svg>', '');
  return lines.join('\n');
}
