// The demo's learning-curve plot: test top-1 per epoch for each run, rendered to SVG with Vega-Lite
// (no browser or canvas needed for SVG).
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

export async function learningCurveSvgAsync(rows) {
  const values = rows.flatMap((r) => r.history.map((h) => ({ run: `${r.run} (${r.model})`, epoch: h.epoch, top1: +(100 * h.top1).toFixed(2) })));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Fashion-MNIST test top-1 per epoch',
    width: 520, height: 300,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'top1', type: 'quantitative', title: 'test top-1 (%)', scale: { zero: false } },
      color: { field: 'run', type: 'nominal', title: 'run' },
    },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
