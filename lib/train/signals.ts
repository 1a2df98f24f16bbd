// What stops a Trainer's fit() in order: an AbortSignal, and SIGINT (Ctrl-C), SIGTERM and SIGHUP,
// which finish the current step (a second one quits at once with 128 + its number). In a
// distributed run the ranks agree after each step, so every rank stops after the same one.
import os from 'node:os';
import type { ProcessGroup } from '../dist/process-group.js';
import { allReduceNumbers } from './metrics.js';

/** The signals fit() turns into an orderly stop (handleSigint). */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const signalNumber = (sig: NodeJS.Signals): number => os.constants.signals[sig] ?? 0;
const ignore = () => {};

export class StopRequests {
  /** a stop asked for in this process (an abort, a signal): why, or null */
  requested: string | null = null;
  /** the signal that asked for the stop (in a distributed run, also one that reached another rank) */
  signal: NodeJS.Signals | undefined;
  #signalled = false;
  readonly #undo: (() => void)[] = [];

  constructor(abort: AbortSignal | undefined, handleSignals: boolean) {
    const onAbort = () => { this.requested ??= 'aborted'; };
    abort?.addEventListener('abort', onAbort);
    if (abort) this.#undo.push(() => abort.removeEventListener('abort', onAbort));
    if (abort?.aborted) this.requested = 'aborted';
    if (!handleSignals) return;
    for (const sig of STOP_SIGNALS) {
      const h = () => this.#onSignal(sig);
      process.on(sig, h);
      this.#undo.push(() => process.off(sig, h));
    }
  }

  #onSignal(sig: NodeJS.Signals): void {
    if (this.#signalled) process.exit(128 + signalNumber(sig)); // a second signal leaves at once
    this.#signalled = true;
    this.requested = sig;
    this.signal = sig;
    // the terminal is gone: writes to it fail (EIO), and an unhandled stream error would end the process before the checkpoint
    if (sig === 'SIGHUP') for (const s of [process.stdout, process.stderr]) if (s.listenerCount('error') === 0) s.on('error', ignore);
    process.stderr.write(`\nsdd-torch: ${sig}: finishing the current step and writing a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C again' : 'another signal'} to quit now)\n`);
  }

  /**
   * After a step: the reason to stop now, or null. Alone, a request stops at once; ranks stop after
   * a step they agreed on (a rank that stopped alone would leave the others waiting), and a request
   * that comes in during this exchange waits for the next one.
   */
  async decide(g: ProcessGroup | undefined): Promise<string | null> {
    if (!g) return this.requested;
    const asked = this.requested;
    const [any, sigNum] = await allReduceNumbers(g, 'max', [asked ? 1 : 0, asked && this.signal ? signalNumber(this.signal) : 0]);
    if (any! <= 0) return null;
    this.signal ??= STOP_SIGNALS.find((s) => signalNumber(s) === sigNum);
    return asked ?? 'stop on another rank';
  }

  /** Removes the listeners. */
  dispose(): void {
    for (const undo of this.#undo.splice(0)) undo();
  }
}
