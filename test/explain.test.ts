// sdd.explain and `sdd-torch explain`: the region order and the consistent / complementary rule on
// outputs whose answer is known by construction, agreement with the complementary count of the SDD
// loss, the per-class table over a DataLoader, the SVG and PNG files (parsed back here), and the CLI
// end to end on a small synthetic Fashion-MNIST (IDX files written here) with an untrained teacher.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import * as sdd from '../lib/index.js';

const { explain } = sdd;
const root = path.resolve(__dirname, '..');
const cli = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), ...args], { cwd, encoding: 'utf8', timeout: 300_000 });

/**
 * scaleLogits of a 4x4 feature map whose channel k is 1 in 4x4 cell k (row-major) and 0 elsewhere,
 * through an identity classifier (K = 16): the 4x4 region of cell k predicts class k, a 2x2 region
 * the first cell of its quadrant, the 1x1 region class 0 (all tie, first maximum).
 */
function oneHotCells(): sdd.Tensor {
  const f = new Float32Array(16 * 16);
  for (let k = 0; k < 16; k++) f[k * 16 + k] = 1; // channel k, pixel k = (k / 4, k % 4)
  return sdd.tidy(() => sdd.scaleLogits(sdd.tensor(f, { shape: [1, 16, 4, 4] }), sdd.eye(16), sdd.zeros([16])));
}

describe('explain: regions and the consistency rule', () => {
  it('lays the regions out as sdd/pool.ts pools them: 1x1, then each grid row-major', () => {
    const layout = explain.regionLayout([1, 2, 4]);
    expect(layout).toHaveLength(21);
    expect(layout[0]).toEqual({ index: 0, scale: 1, row: 0, col: 0 });
    expect(layout.slice(1, 5).map((r) => [r.scale, r.row, r.col])).toEqual([[2, 0, 0], [2, 0, 1], [2, 1, 0], [2, 1, 1]]);
    expect(layout[6]).toEqual({ index: 6, scale: 4, row: 0, col: 1 });
    expect(layout[9]).toEqual({ index: 9, scale: 4, row: 1, col: 0 });
    expect(layout[20]).toEqual({ index: 20, scale: 4, row: 3, col: 3 });
    expect(explain.regionLayout([1, 2])).toHaveLength(5);
    expect(() => explain.regionLayout([0])).toThrow(/scales/);
  });

  it('finds each cell\'s local class where the pooled feature map puts it', () => {
    const s = oneHotCells();
    try {
      const [e] = explain.explainOutputs(s, [0]);
      for (let k = 0; k < 16; k++) {
        const r = e!.regions[5 + k]!;
        expect([r.scale, r.row, r.col, r.pred]).toEqual([4, Math.floor(k / 4), k % 4, k]);
      }
      expect(e!.regions.slice(1, 5).map((r) => r.pred)).toEqual([0, 2, 8, 10]);
      expect(e!.pred).toBe(0);
      expect(e!.regions[5]!.prob).toBeCloseTo(Math.E / (Math.E + 15), 5);
    } finally { s.dispose(); }
  });

  it('marks a region complementary when its correctness differs from the global one', () => {
    const s = oneHotCells();
    try {
      // target 0: global right; regions predicting another class are complementary (15 + 3)
      const [right] = explain.explainOutputs(s, [0]);
      expect(right!.correct).toBe(true);
      const comp = right!.regions.filter((r) => r.kind === 'complementary').map((r) => r.index);
      expect(comp).toEqual([2, 3, 4, ...Array.from({ length: 15 }, (_, i) => 6 + i)]);
      // target 5: global (class 0) wrong; only the cell predicting 5 (region 10) is right -> complementary
      const [wrong] = explain.explainOutputs(s, [5]);
      expect(wrong!.correct).toBe(false);
      expect(wrong!.regions.filter((r) => r.kind === 'complementary').map((r) => r.index)).toEqual([10]);
      expect(wrong!.regions[0]!.kind).toBe('consistent');
    } finally { s.dispose(); }
  });

  it('counts the rows sddKd weights as complementary, row for row', () => {
    sdd.manualSeed(3);
    const B = 24, K = 5;
    const teacher = sdd.randn([B, K, 21]).mul(2);
    const student = sdd.randn([B, K, 21]);
    const targets = sdd.randint(0, K, [B]);
    try {
      const ex = explain.explainOutputs(teacher, targets);
      const d = sdd.losses.sddKd(student, teacher, targets, { details: true });
      const mine = ex.reduce((a, e) => a + e.regions.filter((r) => r.kind === 'complementary').length, 0);
      expect(mine).toBeGreaterThan(0);
      expect(mine).toBe(d.complementary);
      const w = d.weights.toTypedArray() as Float32Array; // row r = n * B + b
      for (let b = 0; b < B; b++) for (let n = 0; n < 21; n++) expect(w[n * B + b] !== 1).toBe(ex[b]!.regions[n]!.kind === 'complementary');
      sdd.dispose([d.loss, d.rowLosses, d.weights]);
    } finally { sdd.dispose([teacher, student, targets]); }
  });

  it('explains a zoo model\'s batch: region 0 is its global prediction and always consistent', () => {
    sdd.manualSeed(0);
    const model = sdd.models.create('resnet20', { numClasses: 10, scales: [1, 2, 4] });
    const images = sdd.randn([3, 3, 32, 32]);
    try {
      const ex = explain.explainBatch(model, images, [1, 2, 3], { indices: [7, 8, 9] });
      expect(ex.map((e) => e.index)).toEqual([7, 8, 9]);
      for (const e of ex) {
        expect(e.regions).toHaveLength(21);
        expect(e.logitsPred).toBe(e.pred);
        expect(e.regions[0]!.kind).toBe('consistent');
        expect(e.regions[0]!.pred).toBe(e.pred);
      }
      expect(() => explain.explainBatch(model, images, [1, 2])).toThrow(/2 targets for a batch of 3/);
      expect(() => explain.explainBatch(model, images, [1, 2, 3], { scales: [1, 2] })).toThrow(/N = 21 regions/);
      expect(() => explain.explainBatch(model, images, [1, 2, 3], { scale: [1] } as never)).toThrow(/Unknown option 'scale'.*did you mean scales/);
    } finally { images.dispose(); }
  });
});

describe('explain: the per-class table', () => {
  it('counts per class and scale over a DataLoader, disposing the batches', async () => {
    sdd.manualSeed(1);
    const model = sdd.models.create('resnet20', { numClasses: 4, scales: [1, 2, 4] });
    const n = 12;
    const pixels = sdd.randint(0, 256, [n, 3, 32, 32], { dtype: 'uint8' });
    const ds = new sdd.data.TensorDataset(pixels, Array.from({ length: n }, (_, i) => i % 3), { owned: true, classes: ['a', 'b', 'c', 'd'] });
    const loader = new sdd.data.DataLoader(ds, { batchSize: 5, transforms: [sdd.transforms.normalize('cifar10')] });
    const before = sdd.memory().liveTensors;
    const table = await explain.complementaryTable(model, loader.epoch(0), { numClasses: 4, classes: ds.classes });
    expect(sdd.memory().liveTensors).toBeLessThanOrEqual(before);
    // the same counts by hand, image by image
    const expected = new explain.TableBuilder({ numClasses: 4, classes: ds.classes });
    for await (const b of loader.epoch(0)) {
      expected.add(explain.explainBatch(model, b.images, b.targets));
      sdd.dispose([b.images, b.targets]);
    }
    expect(table).toEqual(expected.finish());
    expect(table.classes.map((c) => c.images)).toEqual([4, 4, 4, 0]);
    expect(table.classes[3]).toMatchObject({ name: 'd', regions: 0, fraction: 0 });
    expect(table.total.images).toBe(n);
    expect(table.total.regions).toBe(n * 21);
    expect(table.total.byScale.map((s) => s.regions)).toEqual([n, 4 * n, 16 * n]);
    expect(table.total.byScale[0]!.complementary).toBe(0); // the 1x1 region is the global prediction
    expect(table.total.complementary).toBe(table.classes.reduce((a, c) => a + c.complementary, 0));
    expect(table.total.complementary).toBe(table.total.whenGlobalRight + table.total.whenGlobalWrong);
    const limited = await explain.complementaryTable(model, loader.epoch(0), { limit: 7 });
    expect(limited.total.images).toBe(7);
    const md = explain.tableMarkdown(table);
    expect(md.split('\n')).toHaveLength(2 + 4 + 1);
    expect(md).toContain('| 0 a | 4 |');
    expect(explain.tableText(table)).toMatch(/^class/);
    ds.dispose();
  });
});

/** Chunks of a PNG file: type, body, stored CRC. */
function pngChunks(png: Uint8Array): { type: string; body: Buffer; crc: number; covered: Buffer }[] {
  const b = Buffer.from(png);
  const out = [];
  let at = 8;
  while (at < b.length) {
    const len = b.readUInt32BE(at);
    out.push({ type: b.toString('latin1', at + 4, at + 8), body: b.subarray(at + 8, at + 8 + len), crc: b.readUInt32BE(at + 8 + len), covered: b.subarray(at + 4, at + 8 + len) });
    at += 12 + len;
  }
  return out;
}

/** Tags of an XML document balance (a small check, not a full parser). */
function balanced(xml: string): boolean {
  const stack: string[] = [];
  for (const m of xml.replace(/<\?xml[^>]*\?>/, '').matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (m[3]) continue;
    if (m[1]) { if (stack.pop() !== m[2]) return false; } else stack.push(m[2]!);
  }
  return stack.length === 0;
}

describe('explain: pictures', () => {
  // two all-black 32x32 images (0 - mean) / std, whose regions are known (oneHotCells-like outputs)
  const black = () => sdd.tidy(() => sdd.full([2, 3, 32, 32], -0.5 / 0.25));
  let ex: ReturnType<typeof explain.explainOutputs>;
  let r: ReturnType<typeof explain.renderExplanation>;
  beforeAll(() => {
    const s = oneHotCells();
    const two = sdd.tidy(() => sdd.cat([s, s], 0));
    ex = explain.explainOutputs(two, [0, 5], { indices: [3, 4] });
    sdd.dispose([s, two]);
    const img = black();
    const rgb = explain.displayImages(img, { mean: [0.5], std: [0.25] });
    img.dispose();
    expect(rgb[0]!.data.every((v) => v === 0)).toBe(true);
    r = explain.renderExplanation(ex, rgb, { classes: Array.from({ length: 16 }, (_, i) => `class ${i}`) });
  });

  it('writes an SVG with one tinted cell per region, classed by its kind', () => {
    expect(r.svg.startsWith('<?xml')).toBe(true);
    expect(balanced(r.svg)).toBe(true);
    const cells = [...r.svg.matchAll(/class="cell (consistent|complementary)" data-image="(\d+)" data-region="(\d+)"/g)];
    expect(cells).toHaveLength(2 * 21);
    const comp = cells.filter((c) => c[1] === 'complementary').map((c) => `${c[2]}:${c[3]}`);
    expect(comp).toHaveLength(18 + 1);
    expect(comp).toContain('1:10');
    expect(r.svg).toContain('target class 0');
    expect(r.svg).toContain('(WRONG)');
    expect(r.svg.match(/<image /g)).toHaveLength(6);
    expect(r.svg).toContain('<title>region 10 (4x4 grid, row 1, col 1): class 5 15%, complementary</title>');
  });

  it('writes a valid PNG whose cells have the tints', () => {
    const png = r.png;
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const chunks = pngChunks(png);
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    for (const c of chunks) expect(c.crc).toBe(explain.crc32js(c.covered));
    const w = chunks[0]!.body.readUInt32BE(0);
    const h = chunks[0]!.body.readUInt32BE(4);
    expect([w, h]).toEqual([Math.ceil(r.drawing.width), Math.ceil(r.drawing.height)]);
    expect([...chunks[0]!.body.subarray(8)]).toEqual([8, 2, 0, 0, 0]);
    const raw = inflateSync(chunks[1]!.body);
    expect(raw.length).toBe(h * (1 + 3 * w));
    const at = (x: number, y: number) => { const i = y * (1 + 3 * w) + 1 + 3 * x; return [raw[i], raw[i + 1], raw[i + 2]]; };
    const tint = (c: readonly number[]) => c.map((v) => Math.round(v * explain.TINT_OPACITY));
    const cell = (image: number, region: number) => r.drawing.ops.find((o) => o.op === 'rect' && o.cell?.image === image && o.cell.region === region) as { x: number; y: number; w: number; h: number; cell: { kind: string } };
    const c5 = cell(0, 5); // image 0 (target 0), 4x4 cell (0, 0): predicts 0, consistent
    expect(c5.cell.kind).toBe('consistent');
    expect(at(c5.x + 6, c5.y + 6)).toEqual(tint(explain.COLORS.consistent)); // black pixel under the tint
    expect(at(c5.x + 3, c5.y + 3)).toEqual([...explain.COLORS.consistent]); // the frame
    expect(at(c5.x, c5.y)).toEqual([0, 0, 0]); // the grid line
    const c6 = cell(0, 6);
    expect(c6.cell.kind).toBe('complementary');
    expect(at(c6.x + 6, c6.y + c6.h - 7)).toEqual(tint(explain.COLORS.complementary));
    // text is written in the cells: some white pixels inside cell 6
    let white = 0;
    for (let y = c6.y; y < c6.y + c6.h; y++) for (let x = c6.x; x < c6.x + c6.w; x++) if (at(x, y).every((v) => v === 255)) white++;
    expect(white).toBeGreaterThan(20);
  });

  it('computes CRC-32 like zlib and encodes tiny images', () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) & 255);
    expect(explain.crc32js(bytes)).toBe(explain.crc32(bytes));
    expect(explain.crc32js(Buffer.from('123456789'))).toBe(0xcbf43926);
    const one = explain.encodePng({ width: 1, height: 1, data: Uint8Array.from([1, 2, 3]) });
    expect([...inflateSync(pngChunks(one)[1]!.body)]).toEqual([0, 1, 2, 3]);
    expect(() => explain.encodePng({ width: 2, height: 1, data: new Uint8Array(3) })).toThrow(/6 bytes/);
  });

  it('shortens class names to fit a cell', () => {
    expect(explain.shortName('T-shirt/top', 8)).toBe('T-shirt');
    expect(explain.shortName('Sneaker', 6)).toBe('Sneakr');
    expect(explain.shortName('Ankle boot', 6)).toBe('A.boot');
    expect(explain.shortName('Pullover', 6)).toBe('Pullvr');
    expect(explain.shortName('Bag', 6)).toBe('Bag');
  });
});

/** A Fashion-MNIST-layout test split: n random 28x28 images and labels i % 10, uncompressed IDX. */
function writeFashion(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true });
  const img = Buffer.alloc(16 + n * 784);
  img.writeUInt32BE(0x803, 0); img.writeUInt32BE(n, 4); img.writeUInt32BE(28, 8); img.writeUInt32BE(28, 12);
  let x = 12345;
  for (let i = 16; i < img.length; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; img[i] = x & 255; }
  const lab = Buffer.alloc(8 + n);
  lab.writeUInt32BE(0x801, 0); lab.writeUInt32BE(n, 4);
  for (let i = 0; i < n; i++) lab[8 + i] = i % 10;
  writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), img);
  writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), lab);
}

describe('sdd-torch explain', () => {
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sdd-explain-'));
    writeFashion(path.join(dir, 'fm'), 20);
    sdd.manualSeed(0);
    const teacher = sdd.models.create('resnet20', { numClasses: 10 });
    await sdd.checkpoint.save(teacher.stateDict(), path.join(dir, 'teacher.safetensors'));
  });
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('writes the pictures and the per-class table', () => {
    const r = cli(['explain', '--model', 'resnet20', '--checkpoint', 'teacher.safetensors', '--dataset', 'fashion-mnist', '--data', 'fm',
      '--images', '3', '--first', '2', '--out', 'out', '--threads', '1', '--batch-size', '8'], dir);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('images 2, 3, 4');
    expect(r.stdout).toMatch(/#2: target Pullover, global/);
    expect(r.stdout).toMatch(/\nall +20 /);
    expect(r.stdout).toContain(`wrote ${path.join('out', 'explain.svg')}`);
    const svg = readFileSync(path.join(dir, 'out', 'explain.svg'), 'utf8');
    expect(svg.match(/class="cell /g)).toHaveLength(3 * 21);
    expect(svg).toContain('#2  target Pullover');
    const png = readFileSync(path.join(dir, 'out', 'explain.png'));
    expect([...png.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
    const json = JSON.parse(readFileSync(path.join(dir, 'out', 'classes.json'), 'utf8'));
    expect(json.table.total.images).toBe(20);
    expect(json.table.classes).toHaveLength(10);
    expect(json.images.map((e: { index: number }) => e.index)).toEqual([2, 3, 4]);
    expect(readFileSync(path.join(dir, 'out', 'classes.md'), 'utf8')).toContain('| 2 Pullover | 2 |');
  });

  it('draws --indices and limits the table to --table-images', () => {
    const r = cli(['explain', '--model', 'resnet20', '--checkpoint', 'teacher.safetensors', '--data', 'fm', '--indices', '7,0',
      '--table-images', '6', '--out', 'out2', '--threads', '1', '--json'], dir);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.table.total.images).toBe(6);
    expect(existsSync(j.files.png)).toBe(false); // relative to the run folder
    expect(existsSync(path.join(dir, j.files.png))).toBe(true);
    const json = JSON.parse(readFileSync(path.join(dir, 'out2', 'classes.json'), 'utf8'));
    expect(json.images.map((e: { index: number }) => e.index)).toEqual([7, 0]);
  });

  it('refuses bad options with a clear message', () => {
    const base = ['explain', '--checkpoint', 'teacher.safetensors', '--data', 'fm', '--out', 'bad', '--threads', '1'];
    const unknown = cli([...base, '--model', 'resnet21'], dir);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/unknown cifar model "resnet21"; known: .*resnet20/);
    const missing = cli(['explain', '--model', 'resnet20', '--checkpoint', 'nope.safetensors', '--data', 'fm'], dir);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('--checkpoint nope.safetensors: no such file');
    const zero = cli([...base, '--model', 'resnet20', '--images', '0'], dir);
    expect(zero.status).toBe(1);
    expect(zero.stderr).toContain('--images must be an integer >= 1, got "0"');
    const range = cli([...base, '--model', 'resnet20', '--indices', '3,99'], dir);
    expect(range.stderr).toContain('--indices: image 99 is out of range (the test split has 20 images: 0-19)');
    const dataset = cli([...base, '--model', 'resnet20', '--dataset', 'mnist'], dir);
    expect(dataset.stderr).toMatch(/--dataset mnist is not supported/);
    expect(existsSync(path.join(dir, 'bad'))).toBe(false);
  });
});
