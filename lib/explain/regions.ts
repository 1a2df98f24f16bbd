// Where each of SDD's regions lies in the image: the scale (grid size m), the row and the column of
// every index n of the N = sum m^2 regions of a ModelOutput's scaleLogits (B x K x N).
//
// The order is sdd/pool.ts's (sdd-method.md §2): the scales in the order given, each grid row-major.
// For scales [1, 2, 4]: n = 0 is the whole image (1x1); n = 1 + 2i + j is the 2x2 cell at row i,
// column j (1: top-left, 2: top-right, 3: bottom-left, 4: bottom-right); n = 5 + 4i + j is the 4x4
// cell at row i, column j (5..8 the top row left to right, ..., 17..20 the bottom row).
import { checkScales, regionCount } from '../sdd/pool.js';

export interface Region {
  /** The index n in scaleLogits' last dimension. */
  index: number;
  /** The grid size m of its level (1, 2, 4, …). */
  scale: number;
  /** Row and column in the m x m grid, from the top-left corner. */
  row: number;
  col: number;
}

/** The regions of a scale list, in scaleLogits' order (n = offset of the level + m * row + col). */
export function regionLayout(scales: readonly number[] = [1, 2, 4]): Region[] {
  checkScales('scales', scales);
  const out: Region[] = [];
  for (const m of scales) {
    for (let row = 0; row < m; row++) for (let col = 0; col < m; col++) out.push({ index: out.length, scale: m, row, col });
  }
  if (out.length !== regionCount(scales)) throw new Error('regionLayout: internal error (region count)');
  return out;
}
