// A CI slice of the checkpoint fuzzer (scripts/fuzz-checkpoints.mjs runs 10 000+ cases): 500
// mutated fixtures, hostile pickles, zip bombs and broken safetensors headers, each time-boxed in
// a child process. Every case must load or fail with a clean Error: no crash, hang, non-Error
// throw, leaked tensor, polluted prototype or executed command.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/golden.js';

interface Tally { cases: number; ok: number; error: number; failed: number }
interface Summary {
  cases: number; requested: number; seconds: number; ok: number; errors: number; failures: number;
  byFormat: Record<string, Tally>; byFamily: Record<string, Tally>; failureList: unknown[];
}

function fuzz(...args: string[]): { summary: Summary; status: number | null } {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/fuzz-checkpoints.mjs'), '--json', ...args], { encoding: 'utf8', timeout: 90_000 });
  expect(r.error, r.stderr).toBeUndefined();
  return { summary: JSON.parse(r.stdout.trim().split('\n').pop()!) as Summary, status: r.status };
}

describe('checkpoint fuzzing (CI slice)', () => {
  it('500 cases across both formats: only valid loads and clean errors', () => {
    const { summary, status } = fuzz('--cases', '500', '--seed', '7', '--workers', '2', '--timeout', '5000');
    expect(summary.failureList).toEqual([]);
    expect(summary.failures).toBe(0);
    expect(summary.cases).toBe(500);
    expect(summary.ok + summary.errors).toBe(500);
    expect(summary.byFormat.pth!.cases).toBeGreaterThan(200);
    expect(summary.byFormat.safetensors!.cases).toBeGreaterThan(100);
    expect(Object.keys(summary.byFamily).length).toBeGreaterThanOrEqual(16);
    expect(status).toBe(0);
  }, 120_000);

  it('the harness itself catches a crashing and a hanging case and carries on', () => {
    const { summary, status } = fuzz('--cases', '6', '--workers', '1', '--timeout', '1500', '--inject', 'crash:1,hang:3');
    const outcomes = (summary.failureList as { i: number; outcome: string }[]).map((f) => `${f.i}:${f.outcome}`).sort();
    expect(outcomes).toEqual(['1:crash', '3:hang']);
    expect(summary.cases).toBe(6);
    expect(status).toBe(1);
  }, 60_000);
});
