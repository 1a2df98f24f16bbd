// Waiting on spawned processes without hanging: every wait ends as soon as the answer is known.
// waitForOutput resolves when the child's output matches, and rejects at once when the child exits
// (or fails to start) first, or when timeoutMs passes; the error names the command, the exit code or
// signal, and carries the collected stdout and stderr. waitForExit does the same for the end of the
// process. Call either (or watchChild) right after spawn(), before any await, so that no output is
// missed; later calls on the same child share what was collected. Only node: built-ins.
import type { ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';

export interface ChildOutput {
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in arrival order. */
  all: string;
}
export interface ChildExit extends ChildOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
}
/** A substring, a regular expression, or a predicate over the output collected so far. */
export type OutputMatch = string | RegExp | ((out: ChildOutput) => boolean);
export interface WaitOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** Which output a string or RegExp is matched against (default 'all'). */
  stream?: 'stdout' | 'stderr' | 'all';
  /** SIGKILL the child when the wait times out (default true), so that a failed test leaves nothing running. */
  killOnTimeout?: boolean;
}

/** The failure of a wait: what happened, plus everything the child printed. */
export class ChildWaitError extends Error {
  constructor(message: string, readonly code: number | null, readonly signal: NodeJS.Signals | null,
    readonly stdout: string, readonly stderr: string) {
    super(message);
    this.name = 'ChildWaitError';
  }
}

interface Watch {
  child: ChildProcess;
  out: ChildOutput;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  closed: boolean;
  error: Error | null;
  /** Called after every change (output, exit, close, error). */
  listeners: Set<() => void>;
}

const watches = new WeakMap<ChildProcess, Watch>();
/** After 'exit', how long to wait for 'close' (the rest of the output) before deciding without it. */
const CLOSE_GRACE_MS = 250;
const MAX_SHOWN = 20_000;

/** Starts collecting a child's output and fate (idempotent). */
export function watchChild(child: ChildProcess): Watch {
  const known = watches.get(child);
  if (known) return known;
  const w: Watch = { child, out: { stdout: '', stderr: '', all: '' }, exit: null, closed: false, error: null, listeners: new Set() };
  watches.set(child, w);
  const notify = () => { for (const f of [...w.listeners]) f(); };
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = child[name];
    if (!stream) continue;
    const dec = new StringDecoder('utf8');
    stream.on('data', (d: Buffer | string) => {
      const s = typeof d === 'string' ? d : dec.write(d);
      w.out[name] += s;
      w.out.all += s;
      notify();
    });
  }
  if (child.exitCode !== null || child.signalCode !== null) {
    // watched late: it has exited already, and maybe closed its output too ('close' will not come again)
    w.exit = { code: child.exitCode, signal: child.signalCode as NodeJS.Signals | null };
    w.closed = [child.stdout, child.stderr].every((st) => st === null || st.closed || st.destroyed);
  }
  child.on('exit', (code, signal) => { w.exit = { code, signal }; notify(); });
  child.on('close', () => { w.closed = true; notify(); });
  child.on('error', (e) => { w.error = e; notify(); });
  return w;
}

/** The output collected so far (starts collecting if nothing did yet). */
export function childOutput(child: ChildProcess): ChildOutput {
  return { ...watchChild(child).out };
}

function command(child: ChildProcess): string {
  const args = child.spawnargs.length > 0 ? child.spawnargs : [child.spawnfile];
  const s = args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return `${s.length > 300 ? `${s.slice(0, 300)}…` : s} (pid ${child.pid ?? 'none'})`;
}

const fate = (e: { code: number | null; signal: NodeJS.Signals | null }): string =>
  e.signal !== null ? `was killed by signal ${e.signal}` : `exited with code ${e.code}`;

function shown(s: string): string {
  if (s === '') return '(nothing)';
  return s.length > MAX_SHOWN ? `…(${s.length - MAX_SHOWN} earlier characters left out)\n${s.slice(-MAX_SHOWN)}` : s;
}

function failure(w: Watch, what: string): ChildWaitError {
  const msg = `${what}\n  command: ${command(w.child)}\n--- stdout ---\n${shown(w.out.stdout)}\n--- stderr ---\n${shown(w.out.stderr)}`;
  return new ChildWaitError(msg, w.exit?.code ?? null, w.exit?.signal ?? null, w.out.stdout, w.out.stderr);
}

function describeMatch(m: OutputMatch): string {
  return typeof m === 'function' ? 'output matching a predicate' : typeof m === 'string' ? JSON.stringify(m) : String(m);
}

/**
 * Common machinery: resolves with `done()`'s value as soon as it is not undefined; rejects when
 * the child fails to start, on timeout, and (when `exitedFirst` is given) when the child has
 * exited and closed its output (or CLOSE_GRACE_MS passed since it exited) without `done()` being met.
 */
function waitOn<T>(child: ChildProcess, opts: WaitOptions, waitingFor: string, done: (w: Watch) => T | undefined,
  exitedFirst: ((w: Watch) => string) | null): Promise<T> {
  const w = watchChild(child);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const t0 = Date.now();
  return new Promise<T>((resolve, reject) => {
    let grace: NodeJS.Timeout | undefined;
    let graceOver = false;
    const finish = (err: Error | null, value?: T) => {
      clearTimeout(timer);
      clearTimeout(grace);
      w.listeners.delete(check);
      if (err) reject(err);
      else resolve(value as T);
    };
    function check(): void {
      const v = done(w);
      if (v !== undefined) return finish(null, v);
      if (w.error) return finish(failure(w, `waiting for ${waitingFor}: the child process failed: ${w.error.message}`));
      if (w.exit && exitedFirst) {
        if (w.closed || graceOver) return finish(failure(w, `waiting for ${waitingFor}: ${exitedFirst(w)} after ${Date.now() - t0} ms`));
        grace ??= setTimeout(() => { graceOver = true; check(); }, CLOSE_GRACE_MS);
      }
    }
    const timer = setTimeout(() => {
      const running = w.exit === null;
      if (running && opts.killOnTimeout !== false) child.kill('SIGKILL');
      finish(failure(w, `waiting for ${waitingFor}: timed out after ${timeoutMs} ms; the child ${running ? (opts.killOnTimeout !== false ? 'was still running (now killed with SIGKILL)' : 'is still running') : fate(w.exit!)}`));
    }, timeoutMs);
    w.listeners.add(check);
    check();
  });
}

/**
 * Resolves (with the output so far) once the child's output matches `match`; rejects at once
 * when the child exits or fails to start before that, and after `timeoutMs`, with its exit code
 * or signal and its stdout and stderr in the message.
 */
export function waitForOutput(child: ChildProcess, match: OutputMatch, opts: WaitOptions = {}): Promise<ChildOutput> {
  const stream = opts.stream ?? 'all';
  const re = match instanceof RegExp ? new RegExp(match.source, match.flags.replace(/[gy]/g, '')) : null;
  const test = typeof match === 'function' ? match
    : typeof match === 'string' ? (o: ChildOutput) => o[stream].includes(match)
      : (o: ChildOutput) => re!.test(o[stream]);
  return waitOn(child, opts, `${describeMatch(match)} on ${stream === 'all' ? 'stdout/stderr' : stream}`,
    (w) => (test(w.out) ? { ...w.out } : undefined),
    (w) => `the child ${fate(w.exit!)} before printing it`);
}

/**
 * Resolves with the exit code, signal and full output once the child has exited (and closed its
 * output, or a second later: a grandchild may hold the pipes); rejects on timeout or a failed start.
 */
export function waitForExit(child: ChildProcess, opts: Omit<WaitOptions, 'stream'> = {}): Promise<ChildExit> {
  let graceOver = false;
  let grace: NodeJS.Timeout | undefined;
  return waitOn(child, opts, 'the child to exit', (w) => {
    if (!w.exit) return undefined;
    if (!w.closed && !graceOver) {
      grace ??= setTimeout(() => { graceOver = true; for (const f of [...w.listeners]) f(); }, 1000);
      return undefined;
    }
    clearTimeout(grace);
    return { ...w.out, code: w.exit.code, signal: w.exit.signal };
  }, null);
}
