// The Node side of `npm run bench`: a long-lived process that sets up benchmark cases and times
// blocks of iterations on request, so that scripts/bench.mjs can interleave it with worker.py.
// Protocol: one JSON request per stdin line; each reply is one stdout line prefixed by REPLY
// (anything else a case prints is ignored by the orchestrator).
import { createInterface } from 'node:readline';
import * as sdd from '../dist/index.js';
import { native } from '../dist/core/native.js';
import { cases as ops } from './ops.mjs';
import { cases as mlp } from './mlp.mjs';
import { cases as loss } from './sdd_loss.mjs';
import { cases as head } from './sdd_head.mjs';

const REPLY = '@@bench ';
export const CASES = { ...ops, ...mlp, ...loss, ...head };
const live = new Map();

function handle(req) {
  switch (req.op) {
    case 'hello': {
      const info = native.buildInfo();
      return {
        runtime: `Node ${process.version}`,
        torch: info.torchVersion,
        parallel: /ATen parallel backend: (.*)/.exec(info.parallelInfo)?.[1] ?? 'unknown',
        threads: sdd.getNumThreads(),
        cases: Object.keys(CASES),
      };
    }
    case 'setup': {
      const c = CASES[req.id];
      if (!c) throw new Error(`unknown case ${req.id}`);
      sdd.setNumThreads(req.threads);
      live.get(req.id)?.teardown();
      const state = c.setup();
      live.set(req.id, state);
      return { check: state.check(), threads: sdd.getNumThreads() };
    }
    case 'run': {
      const state = live.get(req.id);
      if (!state) throw new Error(`case ${req.id} is not set up`);
      const t0 = process.hrtime.bigint();
      state.run(req.iters);
      return { seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
    }
    case 'teardown': {
      live.get(req.id)?.teardown();
      live.delete(req.id);
      return { memory: sdd.memory() };
    }
    case 'exit':
      process.exit(0);
    // falls through (unreachable)
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let reply;
  try {
    reply = { ok: true, ...handle(JSON.parse(line)) };
  } catch (e) {
    reply = { ok: false, error: String(e?.stack ?? e) };
  }
  process.stdout.write(REPLY + JSON.stringify(reply) + '\n');
});
rl.on('close', () => process.exit(0));
