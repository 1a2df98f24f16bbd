// The picture of explained images in both formats at once: the drawing (figure.ts), its SVG text
// (svg.ts) and its PNG bytes (raster.ts + png.ts), which show the same thing.
import { figure, type Drawing, type FigureOptions } from './figure.js';
import { renderSvg } from './svg.js';
import { rasterize } from './raster.js';
import { encodePng } from './png.js';
import type { ImageExplanation } from './decouple.js';
import type { RgbImage } from './display.js';

export interface RenderedExplanation {
  drawing: Drawing;
  svg: string;
  png: Buffer;
}

/** SVG and PNG of explained images (displayImages gives `images` from the batch's tensor). */
export function renderExplanation(explanations: readonly ImageExplanation[], images: readonly RgbImage[], opts: FigureOptions = {}): RenderedExplanation {
  const drawing = figure(explanations, images, opts);
  return { drawing, svg: renderSvg(drawing), png: encodePng(rasterize(drawing)) };
}
