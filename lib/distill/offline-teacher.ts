// Stored teacher outputs (an "offline teacher"). When the training pipeline is deterministic (no
// random crop or flip), the teacher's global and multi-scale logits for a sample are the same at
// every epoch: they are computed once (teacherOutputs()), kept in a safetensors file users can reuse
// (logits N×K, scaleLogits N×K×R, plus what they were computed on), and a distiller given an
// OfflineTeacher reads rows by sample index instead of running the teacher on every batch. The
// store records the transforms and a fingerprint of the data set; a pipeline with a random
// transform, other transforms or another data set is refused (checkPipeline), since the stored
// rows would then not be what the teacher says about the images the student sees.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Tensor } from '../core/tensor.js';
import { tensor } from '../core/creation.js';
import { dispose, keep, tidy } from '../core/scope.js';
import { noGrad } from '../core/autograd.js';
import type { Device } from '../core/dtype.js';
import { checkInteger, checkOptions, invalidParameterError, TeacherOutputsError } from '../core/errors.js';
import { DataLoader } from '../data/loader.js';
import { describe, isRandom, type Transform } from '../data/transforms.js';
import { isNativeBacked, NATIVE_SOURCE, type Dataset } from '../data/dataset.js';
import { readSafetensors, writeSafetensors } from '../checkpoint/index.js';
import type { DistillModel, ModelOutput } from './types.js';

/** The `format` entry of a store's metadata. */
export const TEACHER_OUTPUTS_FORMAT = 'sdd-torch/teacher-outputs@1';

/** What a store was computed on: the data set (length, fingerprint) and the transforms, in words. */
export interface TeacherOutputsProvenance {
  /** samples in the data set (rows of the store) */
  length: number;
  /**
   * SHA-256 over the data set's targets and pixels (in-memory data sets), or targets and file paths
   * (image folders); null for user data sets the library cannot read without decoding every sample
   * (then only the length is checked)
   */
  fingerprint: string | null;
  /** the transforms each image went through, as transforms.describe() writes them */
  transforms: string[];
  /** free text: which teacher (e.g. "resnet20 teachers/fashion-mnist-resnet20/resnet20.safetensors") */
  teacher: string;
}

/** The SHA-256 fingerprint of a data set (see TeacherOutputsProvenance.fingerprint). */
export function datasetFingerprint(dataset: Dataset): string | null {
  if (!isNativeBacked(dataset)) return null;
  const src = dataset[NATIVE_SOURCE]();
  const h = createHash('sha256');
  h.update(`${src.kind}:${src.targets.length}:`);
  h.update(new Uint8Array(src.targets.buffer, src.targets.byteOffset, src.targets.byteLength));
  if (src.kind === 'tensor') {
    const pixels = tidy(() => src.images.contiguous().toTypedArray() as Uint8Array);
    h.update(`${src.layout}:${src.images.shape.join('x')}:`);
    h.update(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength));
  } else {
    h.update(src.paths.join('\n'));
  }
  return h.digest('hex');
}

/** The pipeline a loader feeds the student with, as far as it tells (sdd.data.DataLoader tells both). */
export interface PipelineInfo {
  dataset?: Dataset;
  transforms?: readonly Transform[];
}

export interface TeacherOutputsOptions {
  /** the deterministic transforms the student will train with (default none: pixels / 255) */
  transforms?: readonly Transform[];
  /** images per teacher forward (default 256) */
  batchSize?: number;
  /** where the teacher runs (default 'cpu'; the store itself is kept on the CPU) */
  device?: Device;
  /** loader workers (default the loader's) */
  workers?: number;
  /** also write the store to this file (.safetensors) */
  file?: string;
  /** free text saved with the store, e.g. the teacher's name and checkpoint */
  teacherName?: string;
  /** called after each batch with (images done, total) */
  onProgress?: (done: number, total: number) => void;
}

const OUTPUTS_SCHEMA = {
  transforms: 'array', batchSize: { kind: 'integer', min: 1 }, device: 'any', workers: { kind: 'integer', min: 1 }, file: 'string',
  teacherName: 'string', onProgress: 'function',
} as const;

/** The transforms of a pipeline that draw random numbers, refused with what to do instead. */
function refuseRandom(where: string, transforms: readonly Transform[]): void {
  const random = transforms.filter(isRandom);
  if (random.length === 0) return;
  throw new TeacherOutputsError(`${where}: the pipeline has random transforms (${random.map(describe).join(', ')}): the teacher's outputs for an image ` +
    'change with every crop and flip, so outputs stored once cannot stand in for running the teacher. Use stored outputs with a ' +
    'deterministic pipeline (e.g. the data set\'s test transforms; sdd.experiment.build(..., { augment: false }), `--no-augment`), ' +
    'or pass the teacher model itself so that it runs on every batch.');
}

/**
 * Runs `teacher` once over every sample of `dataset` (in order, through `transforms`, which must be
 * deterministic) and returns the stored outputs; with `file`, also writes them there.
 * `const offline = await sdd.distillers.teacherOutputs(teacher, trainSet, { transforms: testTransforms, file: 'teacher-outputs.safetensors' })`
 * then `sdd.distillers.create('sdd_kd', { teacher: offline, student, optimizer })`.
 */
export async function teacherOutputs(teacher: DistillModel, dataset: Dataset, options: TeacherOutputsOptions = {}): Promise<OfflineTeacher> {
  const o = checkOptions<TeacherOutputsOptions>('teacherOutputs options', options, OUTPUTS_SCHEMA);
  if (!teacher || typeof teacher.forward !== 'function') throw invalidParameterError('teacher', 'a model with forward() (the trained teacher)', teacher);
  if (teacher instanceof OfflineTeacher) throw invalidParameterError('teacher', 'a model (this is already stored outputs)', 'an OfflineTeacher' as unknown, true);
  const transforms = o.transforms ?? [];
  refuseRandom('teacherOutputs', transforms);
  const loader = new DataLoader(dataset, { batchSize: o.batchSize ?? 256, transforms, device: o.device ?? 'cpu', ...(o.workers ? { workers: o.workers } : {}) });
  const n = dataset.length;
  if (n === 0) throw invalidParameterError('dataset', 'a data set with at least one sample', 'an empty data set' as unknown, true);
  const wasTraining = teacher.training ?? false;
  teacher.eval();
  let logits: Float32Array | null = null;
  let scales: Float32Array | null = null;
  let k = 0, r = 0, done = 0;
  const seen = new Uint8Array(n);
  try {
    for await (const batch of loader.epoch(1)) {
      tidy(() => {
        const out = noGrad(() => teacher.forward(batch.images));
        const b = batch.indices.length;
        if (logits === null) {
          k = out.logits.shape[1]!;
          logits = new Float32Array(n * k);
          if (out.scaleLogits) {
            r = out.scaleLogits.shape[2]!;
            scales = new Float32Array(n * k * r);
          }
        }
        const l = out.logits.float().cpu().contiguous().toTypedArray() as Float32Array;
        const s = scales && out.scaleLogits ? out.scaleLogits.float().cpu().contiguous().toTypedArray() as Float32Array : null;
        for (let i = 0; i < b; i++) {
          const row = batch.indices[i]!;
          seen[row] = 1;
          logits!.set(l.subarray(i * k, (i + 1) * k), row * k);
          if (s) scales!.set(s.subarray(i * k * r, (i + 1) * k * r), row * k * r);
        }
        done += b;
      });
      dispose([batch.images, batch.targets]);
      o.onProgress?.(done, n);
    }
  } finally {
    if (wasTraining) teacher.train();
  }
  if (seen.includes(0)) throw new Error(`teacherOutputs: the loader skipped ${seen.filter((v) => v === 0).length} of ${n} samples`);
  const provenance: TeacherOutputsProvenance = { length: n, fingerprint: datasetFingerprint(dataset), transforms: transforms.map(describe), teacher: o.teacherName ?? '' };
  const stored = new OfflineTeacher(tensor(logits!, { shape: [n, k] }), scales ? tensor(scales, { shape: [n, k, r] }) : undefined, provenance);
  if (o.file) await stored.save(o.file);
  return stored;
}

/**
 * A teacher's outputs stored per sample: what a distiller reads instead of running the teacher when
 * it is given one as `teacher` (the Trainer passes each batch's sample indices). Build one with
 * teacherOutputs(), or OfflineTeacher.load(file). It has no forward(): its outputs are looked up by
 * index with outputs(indices).
 */
export class OfflineTeacher implements DistillModel {
  /** N×K global logits (float32, CPU) */
  readonly logits: Tensor;
  /** N×K×R region logits, when the teacher returned them */
  readonly scaleLogits: Tensor | undefined;
  readonly provenance: TeacherOutputsProvenance;
  readonly training = false;

  constructor(logits: Tensor, scaleLogits: Tensor | undefined, provenance: TeacherOutputsProvenance) {
    if (!(logits instanceof Tensor) || logits.ndim !== 2) throw invalidParameterError('logits', 'an N×K tensor', logits);
    if (scaleLogits !== undefined && (!(scaleLogits instanceof Tensor) || scaleLogits.ndim !== 3 || scaleLogits.shape[0] !== logits.shape[0] || scaleLogits.shape[1] !== logits.shape[1])) {
      throw invalidParameterError('scaleLogits', `an ${logits.shape[0]}×${logits.shape[1]}×R tensor (rows and classes as logits)`, scaleLogits);
    }
    this.logits = keep(logits.float().cpu().contiguous());
    this.scaleLogits = scaleLogits ? keep(scaleLogits.float().cpu().contiguous()) : undefined;
    this.provenance = provenance;
  }

  /** samples (rows) */
  get length(): number { return this.logits.shape[0]!; }
  get numClasses(): number { return this.logits.shape[1]!; }
  /** regions per sample (0 when only global logits are stored) */
  get regions(): number { return this.scaleLogits?.shape[2] ?? 0; }

  /** The stored outputs of the samples at `indices` (one per image of the batch), on `device`. */
  outputs(indices: Int32Array | readonly number[] | Tensor, device: Device | string = 'cpu'): ModelOutput {
    return tidy(() => {
      const idx = indices instanceof Tensor ? indices.long().cpu() : tensor(Int32Array.from(indices as ArrayLike<number>), { dtype: 'int32' }).long();
      if (idx.ndim !== 1) throw invalidParameterError('indices', 'one sample index per image (a 1-D list)', indices);
      const n = this.length;
      if (idx.numel > 0) {
        const lo = idx.min().item() as number, hi = idx.max().item() as number;
        if (lo < 0 || hi >= n) throw new TeacherOutputsError(`OfflineTeacher.outputs: sample index ${lo < 0 ? lo : hi} is outside the store's ${n} samples: the outputs were computed on another data set`);
      }
      const logits = this.logits.indexSelect(0, idx).to(device as Device);
      const scaleLogits = this.scaleLogits?.indexSelect(0, idx).to(device as Device);
      return scaleLogits ? { logits, scaleLogits } : { logits };
    });
  }

  /**
   * Refuses a training pipeline the stored outputs do not describe: a random transform, transforms
   * other than those the outputs were computed with, another data set (length or fingerprint).
   */
  checkPipeline(where: string, pipeline: PipelineInfo): void {
    if (pipeline.transforms === undefined) {
      throw new TeacherOutputsError(`${where}: stored teacher outputs need a training loader that tells its transforms and data set (sdd.data.DataLoader does), ` +
        'to check that the outputs describe the images the student sees; this loader does not');
    }
    refuseRandom(where, pipeline.transforms);
    const theirs = pipeline.transforms.map(describe);
    const mine = this.provenance.transforms;
    if (theirs.length !== mine.length || theirs.some((t, i) => t !== mine[i])) {
      throw new TeacherOutputsError(`${where}: the teacher outputs were computed with transforms [${mine.join(', ') || 'none'}], the training loader ` +
        `applies [${theirs.join(', ') || 'none'}]: compute the outputs again with the loader's transforms (teacherOutputs(teacher, dataset, { transforms }))`);
    }
    if (pipeline.dataset) this.checkDataset(where, pipeline.dataset);
  }

  /** Refuses a data set other than the one the outputs were computed on. */
  checkDataset(where: string, dataset: Dataset): void {
    if (dataset.length !== this.length) {
      throw new TeacherOutputsError(`${where}: the teacher outputs hold ${this.length} samples, the training data set has ${dataset.length}: they were computed on another data set`);
    }
    const fp = this.provenance.fingerprint;
    if (fp !== null) {
      const now = datasetFingerprint(dataset);
      if (now !== null && now !== fp) {
        throw new TeacherOutputsError(`${where}: the training data set is not the one the teacher outputs were computed on (same length, ${this.length}, ` +
          'other images or labels, or another order): compute them again for this data set');
      }
    }
  }

  /** Writes the store (safetensors: logits, scaleLogits, metadata with the provenance). */
  async save(file: string): Promise<void> {
    const tensors: Record<string, Tensor> = { logits: this.logits };
    if (this.scaleLogits) tensors.scaleLogits = this.scaleLogits;
    await writeSafetensors(tensors, file, { metadata: { format: TEACHER_OUTPUTS_FORMAT, provenance: JSON.stringify(this.provenance) } });
  }

  /** Reads a store written by save() / teacherOutputs({ file }). */
  static load(file: string): OfflineTeacher {
    if (typeof file !== 'string' || !existsSync(file)) throw invalidParameterError('file', 'an existing teacher-outputs file (.safetensors)', file);
    const { tensors, metadata } = readSafetensors(file);
    const entries: Record<string, Tensor> = tensors;
    const fail = (why: string): never => {
      dispose(Object.values(entries));
      throw new TeacherOutputsError(`${file}: not a teacher-outputs file of sdd-torch (${why}); write one with sdd.distillers.teacherOutputs(teacher, dataset, { file })`);
    };
    if (metadata?.format !== TEACHER_OUTPUTS_FORMAT) fail(`metadata format ${JSON.stringify(metadata?.format ?? null)}, expected ${TEACHER_OUTPUTS_FORMAT}`);
    let provenance: TeacherOutputsProvenance | undefined;
    try {
      provenance = JSON.parse(metadata!.provenance ?? '') as TeacherOutputsProvenance;
    } catch {
      fail('its provenance metadata is not JSON');
    }
    if (!entries.logits) fail('no "logits" tensor');
    checkInteger(`${file}: provenance.length`, provenance!.length, 0);
    if (entries.logits!.shape[0] !== provenance!.length) fail(`${entries.logits!.shape[0]} rows of logits for ${provenance!.length} samples`);
    const stored = new OfflineTeacher(entries.logits!, entries.scaleLogits, provenance!);
    dispose(Object.values(entries));
    return stored;
  }

  /**
   * The store at `file` when it exists (checked against `dataset` and `transforms`: a mismatch is an
   * error, the file is never overwritten), else computed with teacherOutputs() and written there.
   */
  static async loadOrCompute(file: string, teacher: DistillModel, dataset: Dataset, options: Omit<TeacherOutputsOptions, 'file'> = {}): Promise<OfflineTeacher> {
    refuseRandom(`teacher outputs ${file}`, options.transforms ?? []);
    if (existsSync(file)) {
      const stored = OfflineTeacher.load(file);
      try {
        stored.checkPipeline(`teacher outputs ${file}`, { dataset, transforms: options.transforms ?? [] });
      } catch (e) {
        stored.dispose();
        throw new TeacherOutputsError(`${(e as Error).message} (delete ${file} to compute them again, or pass another file)`);
      }
      return stored;
    }
    return teacherOutputs(teacher, dataset, { ...options, file });
  }

  /** An offline teacher has no forward pass: distillers read outputs(indices). */
  forward(): ModelOutput {
    throw new TeacherOutputsError('OfflineTeacher has no forward(): its outputs are stored per sample and read by index, outputs(indices). ' +
      'Distillers do this when their step gets the batch\'s sample indices (distiller.step({ images, targets, indices }); the Trainer passes them)');
  }

  parameters(): Tensor[] { return []; }
  train(mode = true): this {
    if (mode) throw new TeacherOutputsError('OfflineTeacher is stored outputs of a teacher in eval mode: it cannot be put in training mode (a method that runs the teacher in training mode, like OFD, needs the teacher model)');
    return this;
  }
  eval(): this { return this; }

  /** Frees the stored tensors. */
  dispose(): void {
    dispose([this.logits, ...(this.scaleLogits ? [this.scaleLogits] : [])]);
  }
}
