// CUB-200-2011 (Caltech-UCSD Birds) as distributed: CUB_200_2011/images.txt ("<id> <path>"),
// image_class_labels.txt ("<id> <class 1-200>"), train_test_split.txt ("<id> <1 train | 0 test>"),
// classes.txt ("<class> <name>") and images/<path>. Targets are the classes minus one.
import path from 'node:path';
import { checkOptions, DataError, invalidParameterError, TORCHVISION_SPLIT_HINTS } from '../core/errors.js';
import { isDirectory, isFile, readWhole } from './files.js';
import { ImageListDataset, verifyImages, type Verify } from './image-folder.js';

export interface CubOptions {
  /** 'train' (5994 images), 'test' (5794) or 'all'; default 'train'. */
  split?: 'train' | 'test' | 'all';
  /** Check every image when opening: 'header' (default), 'decode', 'none'. */
  verify?: Verify;
}

/** Parses "<id> <value>" lines; a malformed line or a repeated id is a DataError with its line number. */
export function parseIdLines(text: string, file: string, value: 'int' | 'string'): Map<number, string | number> {
  const out = new Map<number, string | number>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const m = /^(\d+)\s+(.+)$/.exec(line);
    if (!m) throw new DataError(file, `line ${i + 1} is not "<id> <${value === 'int' ? 'number' : 'value'}>": ${JSON.stringify(line.slice(0, 60))}`);
    const id = Number(m[1]);
    if (out.has(id)) throw new DataError(file, `line ${i + 1} repeats image id ${id}`);
    if (value === 'int') {
      if (!/^\d+$/.test(m[2]!)) throw new DataError(file, `line ${i + 1}: ${JSON.stringify(m[2]!.slice(0, 40))} is not a non-negative integer`);
      out.set(id, Number(m[2]));
    } else {
      out.set(id, m[2]!);
    }
  });
  return out;
}

async function readText(file: string, what: string): Promise<string> {
  return new TextDecoder('utf-8').decode(await readWhole(file, what));
}

/** CUB-200-2011 from `root`: the CUB_200_2011 directory or the one holding it. */
export async function cub200(root: string, opts: CubOptions = {}): Promise<ImageListDataset> {
  if (typeof root !== 'string' || root === '') throw invalidParameterError('root', 'a directory path', root);
  const { split, verify } = checkOptions<Required<CubOptions>>('data.cub200 options', opts, {
    split: { kind: 'string', oneOf: ['train', 'test', 'all'], default: 'train' },
    verify: { kind: 'string', oneOf: ['header', 'decode', 'none'], default: 'header' },
  }, { hints: TORCHVISION_SPLIT_HINTS });
  let dir = root;
  if (!(await isFile(path.join(dir, 'images.txt'))) && (await isDirectory(path.join(root, 'CUB_200_2011')))) dir = path.join(root, 'CUB_200_2011');
  const f = (name: string): string => path.join(dir, name);
  const [imagesTxt, labelsTxt, splitTxt] = await Promise.all([
    readText(f('images.txt'), 'CUB-200-2011 images.txt'),
    readText(f('image_class_labels.txt'), 'CUB-200-2011 image_class_labels.txt'),
    readText(f('train_test_split.txt'), 'CUB-200-2011 train_test_split.txt'),
  ]);
  const images = parseIdLines(imagesTxt, f('images.txt'), 'string');
  const labels = parseIdLines(labelsTxt, f('image_class_labels.txt'), 'int');
  const isTrain = parseIdLines(splitTxt, f('train_test_split.txt'), 'int');
  let classNames: string[] | undefined;
  if (await isFile(f('classes.txt'))) {
    const names = parseIdLines(await readText(f('classes.txt'), 'CUB-200-2011 classes.txt'), f('classes.txt'), 'string');
    classNames = [];
    for (const [id, name] of names) classNames[id - 1] = String(name);
  }
  if (images.size === 0) throw new DataError(f('images.txt'), 'lists no images');
  const ids = [...images.keys()].sort((a, b) => a - b);
  const paths: string[] = [];
  const targets: number[] = [];
  let maxClass = 0;
  for (const id of ids) {
    const label = labels.get(id);
    if (label === undefined) throw new DataError(f('image_class_labels.txt'), `has no class for image id ${id}`);
    const t = isTrain.get(id);
    if (t === undefined) throw new DataError(f('train_test_split.txt'), `has no split for image id ${id}`);
    if (t !== 0 && t !== 1) throw new DataError(f('train_test_split.txt'), `image id ${id} has split ${t}; expected 1 (train) or 0 (test)`);
    if ((label as number) < 1) throw new DataError(f('image_class_labels.txt'), `image id ${id} has class ${label}; classes start at 1`);
    maxClass = Math.max(maxClass, label as number);
    if (split === 'all' || (split === 'train') === (t === 1)) {
      paths.push(path.join(dir, 'images', String(images.get(id))));
      targets.push((label as number) - 1);
    }
  }
  const classes = Array.from({ length: Math.max(maxClass, classNames?.length ?? 0) }, (_, i) => classNames?.[i] ?? String(i + 1));
  if (paths.length === 0) throw new DataError(f('train_test_split.txt'), `marks no image as ${split}`);
  await verifyImages(paths, verify);
  return new ImageListDataset(paths, targets, classes);
}
