// Image files on disk: torchvision's ImageFolder layout (root/<class>/**/<image>) and, as the base
// of it and of CUB-200-2011, a list of (path, class) pairs. JPEG and PNG are decoded in native code
// (libjpeg-turbo, libpng) on pool threads, by the loader per batch. Opening a data set checks every
// file's header (or decodes every file, with verify: 'decode'), so a missing, truncated or
// undecodable image is reported before training starts, by name.
import path from 'node:path';
import { readdir, stat } from 'node:fs/promises';
import { native } from '../core/native.js';
import { checkOptions, checkOptionValue, DataError, invalidParameterError } from '../core/errors.js';
import { isDirectory } from './files.js';
import { NATIVE_SOURCE, toTargets, type Dataset, type NativeBacked, type NativeSource, type Sample } from './dataset.js';

/** How much of each image to check when the data set is opened. */
export type Verify = 'header' | 'decode' | 'none';

export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png'];

export interface ImageInfo {
  width: number;
  height: number;
  channels: number;
  format: string;
}

/**
 * Checks image files in native code, `concurrency` chunks at a time: each file's signature and
 * header ('header') or all its pixels ('decode'). Throws a DataError listing the bad files.
 */
export async function verifyImages(paths: readonly string[], mode: Verify = 'header', concurrency = 4): Promise<ImageInfo[]> {
  if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) throw invalidParameterError('paths', 'an array of file paths', paths);
  checkOptionValue('mode', mode, { kind: 'string', oneOf: ['header', 'decode', 'none'] });
  checkOptionValue('concurrency', concurrency, { kind: 'integer', min: 1, max: 1024 });
  if (mode === 'none') return [];
  const chunk = 256;
  const results: (ImageInfo | string)[] = new Array(paths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const from = next;
      next = Math.min(paths.length, next + chunk);
      const part = await native.dataProbeImages(paths.slice(from, next) as string[], mode === 'decode');
      part.forEach((r, i) => {
        results[from + i] = typeof r === 'string' ? r : { width: r[0], height: r[1], channels: r[2], format: r[3] };
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  const bad = results.map((r, i) => [paths[i]!, r] as const).filter(([, r]) => typeof r === 'string');
  if (bad.length > 0) {
    const shown = bad.slice(0, 5).map(([p, r]) => `  ${p}: ${r}`).join('\n');
    const more = bad.length > 5 ? `\n  … and ${bad.length - 5} more` : '';
    const err = new DataError(bad[0]![0], String(bad[0]![1]));
    if (bad.length > 1) err.message = `${bad.length} of ${paths.length} images cannot be used:\n${shown}${more}`;
    throw err;
  }
  return results as ImageInfo[];
}

/** A list of image files and their classes (decoded by the loader, per batch, in native code). */
export class ImageListDataset implements Dataset, NativeBacked {
  readonly paths: readonly string[];
  readonly targets: Int32Array;
  readonly classes: readonly string[];
  constructor(paths: readonly string[], targets: ArrayLike<number>, classes: readonly string[]) {
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string' && p !== '')) throw invalidParameterError('paths', 'an array of file paths', paths);
    this.paths = [...paths];
    this.targets = toTargets('targets', targets, paths.length);
    this.classes = [...classes];
  }
  get length(): number {
    return this.paths.length;
  }
  /** Decodes image `index` (off the main thread): RGB, HWC. */
  async get(index: number): Promise<Sample> {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) throw invalidParameterError('index', `an integer in [0, ${this.length - 1}]`, index, true);
    const [image, h, w] = await native.dataDecodeImage(this.paths[index]!);
    return { image, shape: [h, w, 3], layout: 'HWC', target: this.targets[index]! };
  }
  [NATIVE_SOURCE](): NativeSource {
    return { kind: 'files', paths: this.paths, targets: this.targets };
  }
}

export interface ImageFolderOptions {
  /** File extensions taken as images, case-insensitive (default .jpg, .jpeg, .png). */
  extensions?: readonly string[];
  /** Check every image when opening: 'header' (default), 'decode' (all pixels), 'none'. */
  verify?: Verify;
}

async function walk(dir: string, exts: readonly string[], out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      try {
        const s = await stat(p);
        isDir = s.isDirectory();
        isFile = s.isFile();
      } catch {
        continue; // a dangling link
      }
    }
    if (isDir) await walk(p, exts, out);
    else if (isFile && exts.includes(path.extname(e.name).toLowerCase())) out.push(p);
  }
}

/**
 * torchvision's ImageFolder: each sub-directory of `root` is a class (sorted by name: class i is
 * the i-th), and its image files (searched recursively, sorted) are that class's samples.
 */
export async function imageFolder(root: string, opts: ImageFolderOptions = {}): Promise<ImageListDataset> {
  if (typeof root !== 'string' || root === '') throw invalidParameterError('root', 'a directory path', root);
  const o = checkOptions<Required<ImageFolderOptions>>('data.imageFolder options', opts, {
    extensions: { kind: 'array', default: IMAGE_EXTENSIONS, expected: 'an array of file extensions (e.g. [".jpg", ".png"])',
      check: (name, v) => {
        (v as unknown[]).forEach((e, i) => { if (typeof e !== 'string' || e === '') throw invalidParameterError(`${name}[${i}]`, 'a file extension (e.g. ".jpg")', e); });
        return v;
      } },
    verify: { kind: 'string', oneOf: ['header', 'decode', 'none'], default: 'header' },
  });
  if (!(await isDirectory(root))) throw new DataError(root, 'image folder not found (expected a directory with one sub-directory per class)');
  const exts = o.extensions.map((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase());
  const entries = await readdir(root, { withFileTypes: true });
  const classes: string[] = [];
  for (const e of entries) {
    if (e.isDirectory() || (e.isSymbolicLink() && (await isDirectory(path.join(root, e.name))))) classes.push(e.name);
  }
  classes.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (classes.length === 0) throw new DataError(root, 'has no class sub-directories');
  const paths: string[] = [];
  const targets: number[] = [];
  for (let c = 0; c < classes.length; c++) {
    const files: string[] = [];
    await walk(path.join(root, classes[c]!), exts, files);
    if (files.length === 0) throw new DataError(path.join(root, classes[c]!), `class '${classes[c]}' has no image files (${exts.join(', ')})`);
    for (const f of files) {
      paths.push(f);
      targets.push(c);
    }
  }
  await verifyImages(paths, o.verify);
  return new ImageListDataset(paths, targets, classes);
}
