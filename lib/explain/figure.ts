// The picture of the decoupling, as a list of drawing operations that svg.ts and raster.ts both
// render (so the SVG and the PNG show the same thing): one row per image, columns the image at its
// 1x1, 2x2 and 4x4 SDD grids, each cell outlined and tinted (consistent / complementary) with the
// teacher's local top class and its probability written in it; a title, a legend and the classes.
import { checkOptions, invalidParameterError } from '../core/errors.js';
import { textWidth, ADVANCE, GLYPH_HEIGHT } from './font.js';
import type { ImageExplanation, Agreement } from './decouple.js';
import type { RgbImage } from './display.js';

export type Rgb = readonly [number, number, number];

export type DrawOp =
  | { op: 'rect'; x: number; y: number; w: number; h: number; fill?: Rgb; fillOpacity?: number; stroke?: Rgb; strokeWidth?: number;
      /** Set on the tint of a region cell: which image (row) and region it shows. */
      cell?: { image: number; region: number; scale: number; kind: Agreement; label: string } }
  | { op: 'image'; x: number; y: number; w: number; h: number; image: RgbImage }
  /** Text whose 5x7-glyph box (times size) starts at (x, y), or is centred on x with anchor 'middle'. */
  | { op: 'text'; x: number; y: number; text: string; size: number; color: Rgb; outline?: Rgb; anchor: 'start' | 'middle' };

export interface Drawing {
  width: number;
  height: number;
  background: Rgb;
  ops: DrawOp[];
}

export const COLORS = {
  consistent: [34, 170, 68] as Rgb,
  complementary: [255, 96, 16] as Rgb,
  grid: [0, 0, 0] as Rgb,
  text: [0, 0, 0] as Rgb,
  cellText: [255, 255, 255] as Rgb,
  background: [255, 255, 255] as Rgb,
};
/** Opacity of the cell tints. */
export const TINT_OPACITY = 0.35;

export interface FigureOptions {
  /** Class names (index = class); default the indices. */
  classes?: readonly string[];
  /** The grids to draw, in order (default the regions' own: [1, 2, 4]). */
  scales?: number[];
  /** Screen pixels per image pixel (default: about 320 / the image size). */
  pixelScale?: number;
  /** The first line of the picture. */
  title?: string;
}

/**
 * A short name of at most `max` characters: the part before '/', multi-word names as the initials
 * plus the last word ("Ankle boot" -> "A.boot"), then vowels dropped from the end, then cut.
 */
export function shortName(name: string, max: number): string {
  let s = name.split('/')[0]!.trim();
  if (s.length <= max) return s;
  const words = s.split(/[\s_]+/).filter(Boolean);
  if (words.length > 1) s = `${words.slice(0, -1).map((w) => w[0]).join('')}.${words[words.length - 1]}`;
  const chars = [...s];
  for (let i = chars.length - 1; i > 0 && chars.length > max; i--) if (/[aeiou]/.test(chars[i]!) && /[a-z]/i.test(chars[i - 1]!)) chars.splice(i, 1);
  return chars.join('').slice(0, max);
}

const pct = (p: number): string => `${Math.round(100 * p)}%`;

/** The picture of explained images (same order as `images`, their display pixels). */
export function figure(explanationList: readonly ImageExplanation[], imageList: readonly RgbImage[], opts: FigureOptions = {}): Drawing {
  const o = checkOptions<FigureOptions>('explain.figure options', opts, {
    classes: 'array', scales: 'any', pixelScale: { kind: 'integer', min: 1, max: 64 }, title: 'string',
  });
  if (!Array.isArray(explanationList) || explanationList.length === 0) throw invalidParameterError('explanations', 'a non-empty array of image explanations', explanationList);
  if (!Array.isArray(imageList) || imageList.length !== explanationList.length) {
    throw invalidParameterError('images', `an array of ${explanationList.length} RGB images (one per explanation)`, imageList);
  }
  const explanations: readonly ImageExplanation[] = explanationList;
  const images: readonly RgbImage[] = imageList;
  const scales = o.scales ?? [...new Set(explanations[0]!.regions.map((r) => r.scale))];
  const name = (c: number): string => o.classes?.[c] ?? String(c);
  const iw = Math.max(...images.map((im) => im.width));
  const ih = Math.max(...images.map((im) => im.height));
  const ps = o.pixelScale ?? Math.max(1, Math.round(320 / Math.max(iw, ih)));
  const PW = iw * ps;
  const PH = ih * ps;
  const M = 16;
  const GAP = 12;
  const width = Math.max(2 * M + scales.length * PW + (scales.length - 1) * GAP, 2 * M + 60 * ADVANCE * 2);
  const ops: DrawOp[] = [];
  const text = (x: number, y: number, t: string, size: number, anchor: 'start' | 'middle' = 'start', color: Rgb = COLORS.text, outline?: Rgb): void => {
    ops.push({ op: 'text', x, y, text: t, size, color, anchor, ...(outline ? { outline } : {}) });
  };
  let y = M;
  text(M, y, o.title ?? 'SDD: the teacher\'s local predictions', 2);
  y += 24;
  // legend
  let x = M;
  for (const kind of ['consistent', 'complementary'] as const) {
    ops.push({ op: 'rect', x, y: y - 2, w: 18, h: 18, fill: COLORS[kind], fillOpacity: 1, stroke: COLORS.grid, strokeWidth: 1 });
    const label = kind === 'consistent' ? 'consistent' : 'complementary';
    text(x + 24, y + 2, label, 2);
    x += 24 + textWidth(label, 2) + 24;
  }
  y += 24;
  text(M, y, 'consistent = region right exactly when the global prediction is right', 2);
  y += 20;
  text(M, y, 'in each cell: the local top class and its probability', 2);
  y += 32;
  scales.forEach((m, i) => text(M + i * (PW + GAP) + PW / 2, y, `${m}x${m}`, 2, 'middle'));
  y += 22;
  let complementary = 0;
  let regions = 0;
  explanations.forEach((e, row) => {
    const verdict = e.correct ? 'right' : 'WRONG';
    // the global logits can disagree with region 0 where the pooling is weighted (7x7 ImageNet maps)
    const logits = e.logitsPred !== undefined && e.logitsPred !== e.pred ? ` [logits: ${name(e.logitsPred)}]` : '';
    text(M, y, `${e.index !== undefined ? `#${e.index}  ` : ''}target ${name(e.target)}  global ${name(e.pred)} ${pct(e.prob)} (${verdict})${logits}`, 2);
    y += 22;
    scales.forEach((m, i) => {
      const px = M + i * (PW + GAP);
      ops.push({ op: 'image', x: px, y, w: PW, h: PH, image: images[row]! });
      for (const r of e.regions.filter((q) => q.scale === m)) {
        const x0 = px + Math.round((r.col * PW) / m);
        const x1 = px + Math.round(((r.col + 1) * PW) / m);
        const y0 = y + Math.round((r.row * PH) / m);
        const y1 = y + Math.round(((r.row + 1) * PH) / m);
        const cw = x1 - x0;
        const ch = y1 - y0;
        regions++;
        if (r.kind === 'complementary') complementary++;
        ops.push({ op: 'rect', x: x0, y: y0, w: cw, h: ch, fill: COLORS[r.kind], fillOpacity: TINT_OPACITY, cell: {
          image: row, region: r.index, scale: m, kind: r.kind,
          label: `region ${r.index} (${m}x${m} grid, row ${r.row}, col ${r.col}): ${name(r.pred)} ${pct(r.prob)}, ${r.kind}`,
        } });
        // a 3-px frame in the tint's full colour inside the cell, then the 1-px grid line
        ops.push({ op: 'rect', x: x0 + 2, y: y0 + 2, w: cw - 4, h: ch - 4, stroke: COLORS[r.kind], strokeWidth: 3 });
        ops.push({ op: 'rect', x: x0, y: y0, w: cw, h: ch, stroke: COLORS.grid, strokeWidth: 1 });
        const size = cw >= 240 ? 3 : cw >= 56 ? 2 : 1;
        const max = Math.max(1, Math.floor((cw - 8 + size) / (ADVANCE * size)));
        const small = size === 3 ? 2 : size;
        const block = GLYPH_HEIGHT * size + 3 + GLYPH_HEIGHT * small;
        const ty = y0 + Math.round((ch - block) / 2);
        text(x0 + cw / 2, ty, shortName(name(r.pred), max), size, 'middle', COLORS.cellText, COLORS.grid);
        text(x0 + cw / 2, ty + GLYPH_HEIGHT * size + 3, pct(r.prob), small, 'middle', COLORS.cellText, COLORS.grid);
      }
    });
    y += PH + 14;
  });
  text(M, y, `complementary regions: ${complementary} of ${regions}`, 2);
  y += 22;
  // the classes that appear, with the short names the cells use
  const used = [...new Set(explanations.flatMap((e) => [e.target, e.pred, ...e.regions.map((r) => r.pred)]))].sort((a, b) => a - b);
  const perLine = Math.max(1, Math.floor((width - 2 * M) / (ADVANCE * 2 * 26)));
  for (let i = 0; i < used.length; i += perLine) {
    text(M, y, used.slice(i, i + perLine).map((c) => `${c} ${name(c)}`.slice(0, 24).padEnd(26)).join('').trimEnd(), 2);
    y += 20;
  }
  y += M;
  return { width, height: y, background: COLORS.background, ops };
}
