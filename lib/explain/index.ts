// sdd.explain: see SDD's decoupling. For a teacher and some images: each SDD region's local top
// class, consistent or complementary with the global prediction (decouple.ts), the per-class table
// of complementary regions over a data set (table.ts), and pictures of it as SVG and PNG
// (figure.ts, svg.ts, raster.ts, png.ts; no image library needed).
export { regionLayout, type Region } from './regions.js';
export { explainOutputs, explainBatch, targetList, type Agreement, type RegionExplanation, type ImageExplanation, type ExplainModel, type ExplainOptions } from './decouple.js';
export { complementaryTable, TableBuilder, tableMarkdown, tableText, type ComplementaryTable, type ClassCount, type ScaleCount, type TableOptions } from './table.js';
export { displayImages, normalizationOf, type RgbImage, type Normalization } from './display.js';
export { figure, shortName, COLORS, TINT_OPACITY, type Drawing, type DrawOp, type Rgb, type FigureOptions } from './figure.js';
export { renderSvg } from './svg.js';
export { Raster, rasterize } from './raster.js';
export { encodePng, crc32, crc32js, PNG_SIGNATURE } from './png.js';
export { renderExplanation, type RenderedExplanation } from './render.js';
