// The Trainer's checkpoint format (sdd-torch-trainer-checkpoint/1, one .safetensors file): the
// student (model.*), the distiller's own modules when it has any (distiller.*: connectors,
// embeddings), the optimizer state by parameter index (optim.<i>.<name>, so parameters beyond the
// student's round-trip too), the CPU RNG state (rng.cpu) and, in the metadata, the position in the
// run, the best test top-1, the optimizer's groups and scalars, the schedule and the config.
import { readSafetensors, saveSync } from '../checkpoint/index.js';
import { tidy, dispose } from '../core/scope.js';
import { getRngState, setRngState } from '../core/runtime.js';
import { isTensor, type Tensor } from '../core/tensor.js';
import type { Distiller } from '../distill/distiller.js';
import type { OptimizerStateDict } from '../optim/optimizer.js';


export const FORMAT = 'sdd-torch-trainer-checkpoint/1';

/** Where a run is: the next batch to train (epochs 1-based). */
export interface Position { epoch: number; batch: number }

/** What a checkpoint restores besides the weights, the optimizer and the RNG. */
export interface RunState { position: Position; best: { top1: number; epoch: number } }

/** What a checkpoint records for people (not read back). */
export interface RunInfo { baseLrs: number[]; schedule: string; config: unknown }

type StateDict = Record<string, Tensor>;
type Loadable = { stateDict?: () => StateDict; loadStateDict?: (sd: StateDict, o?: { strict?: boolean }) => void };

/** The student, as an nn.Module (stateDict, loadStateDict). */
function studentOf(distiller: Distiller, what: 'stateDict' | 'loadStateDict'): Required<Loadable> {
  const student = distiller.student as unknown as Loadable;
  if (typeof student[what] !== 'function') throw new Error(`Trainer checkpoints need a student with ${what}() (an nn.Module)`);
  return student as Required<Loadable>;
}

/** A distiller's own modules (feature distillers' connectors, ...): stateDict/loadStateDict when it has them. */
const ownModules = (distiller: Distiller): Loadable => distiller as unknown as Loadable;

/** Writes a checkpoint atomically. */
export function saveCheckpoint(file: string, distiller: Distiller, state: RunState, info: RunInfo): void {
  const student = studentOf(distiller, 'stateDict');
  tidy(() => {
    const sd: StateDict = {};
    for (const [k, v] of Object.entries(student.stateDict())) sd[`model.${k}`] = v;
    const own = ownModules(distiller);
    if (typeof own.stateDict === 'function') for (const [k, v] of Object.entries(own.stateDict())) sd[`distiller.${k}`] = v;
    const opt = distiller.optimizer.stateDict();
    const scalars: Record<string, Record<string, number>> = {};
    for (const [i, s] of Object.entries(opt.state)) {
      for (const [name, v] of Object.entries(s)) {
        if (isTensor(v)) sd[`optim.${i}.${name}`] = v;
        else (scalars[i] ??= {})[name] = v;
      }
    }
    sd['rng.cpu'] = getRngState();
    const meta = {
      format: FORMAT, position: state.position, best: state.best, baseLrs: info.baseLrs,
      optimizer: { type: distiller.optimizer.constructor.name, paramGroups: opt.paramGroups, scalars }, schedule: info.schedule,
      distiller: distiller.name, config: info.config ?? null, savedAt: new Date().toISOString(),
    };
    saveSync(sd, file, { metadata: { 'sdd-torch': JSON.stringify(meta) } });
  });
}

/** The checkpoint's tensors by section: model.*, distiller.*, optim.<i>.<name> (with the metadata's scalars). */
function sections(tensors: StateDict, scalars: Record<string, Record<string, number>>) {
  const model: StateDict = {};
  const own: StateDict = {};
  const state: Record<number, Record<string, Tensor | number>> = {};
  for (const [k, v] of Object.entries(tensors)) {
    if (k.startsWith('model.')) model[k.slice(6)] = v;
    else if (k.startsWith('distiller.')) own[k.slice(10)] = v;
    else if (k.startsWith('optim.')) {
      const [, i, name] = k.split('.');
      (state[Number(i)] ??= {})[name!] = v;
    }
  }
  for (const [i, s] of Object.entries(scalars)) Object.assign(state[Number(i)] ??= {}, s);
  return { model, own, state };
}

/** Throws, changing nothing, when this run cannot take the checkpoint's optimizer state or distiller modules. */
function checkCompatible(file: string, distiller: Distiller, meta: { optimizer: { type?: string; paramGroups: OptimizerStateDict['paramGroups'] } },
  parts: ReturnType<typeof sections>): void {
  const savedType = meta.optimizer.type;
  const ownType = distiller.optimizer.constructor.name;
  if (savedType !== undefined && savedType !== ownType) {
    throw new Error(`${file}: the checkpoint's optimizer state is ${savedType}'s but this run uses ${ownType}: ` +
      `resume with the optimizer the run was started with (${savedType}), or load only the weights (sdd.checkpoint.load(file), keys model.*) into a new run`);
  }
  distiller.optimizer.checkStateDict({ state: parts.state, paramGroups: meta.optimizer.paramGroups }, file);
  const count = Object.keys(parts.own).length;
  if (count > 0 && typeof ownModules(distiller).loadStateDict !== 'function') {
    throw new Error(`${file}: the checkpoint holds the distiller's own modules (${count} distiller.* entries) but this distiller (${distiller.name}) ` +
      'has no loadStateDict(): resume with the distiller the run was started with');
  }
}

/** Restores a checkpoint written by saveCheckpoint() into the distiller (student, its modules, optimizer) and the RNG. */
export function loadCheckpoint(file: string, distiller: Distiller): RunState {
  const { tensors, metadata } = readSafetensors(file);
  try {
    const raw = metadata?.['sdd-torch'];
    if (!raw) throw new Error(`${file}: not an sdd-torch trainer checkpoint (no 'sdd-torch' metadata)`);
    const meta = JSON.parse(raw);
    if (meta.format !== FORMAT) throw new Error(`${file}: unknown checkpoint format ${meta.format}`);
    const parts = sections(tensors, meta.optimizer.scalars);
    const student = studentOf(distiller, 'loadStateDict');
    // checked before anything is loaded, so a refused checkpoint leaves the run as it was
    checkCompatible(file, distiller, meta, parts);
    student.loadStateDict(parts.model, { strict: true });
    ownModules(distiller).loadStateDict?.(parts.own, { strict: true });
    try {
      distiller.optimizer.loadStateDict({ state: parts.state, paramGroups: meta.optimizer.paramGroups });
    } catch (e) {
      (e as Error).message = `${file}: ${(e as Error).message}`;
      throw e;
    }
    setRngState(tensors['rng.cpu']!);
    return { position: meta.position, best: meta.best };
  } finally {
    dispose(tensors);
  }
}
