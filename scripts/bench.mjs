#!/usr/bin/env node
// `npm run bench`: sdd-torch (Node) against PyTorch (Python) on the same libtorch, interleaved.
//
// Two long-lived workers, bench/worker.mjs and bench/worker.py (/usr/bin/python3 by default), set
// up the same cases on the same deterministic inputs with the same thread count. Each round
// times one block of iterations per case on each side, alternating Node/Python and reversing the
// order every other round, so that load from other processes hits both sides alike. We report
// medians over the rounds and the median of the per-round Node/Python ratios, with their spread.
// Before timing, the value each side computes (loss, sum, ...) is compared: a mismatch fails the run.
// Each thread count gets fresh workers with OPENBLAS_NUM_THREADS set to it (unless already set).
//
// Options:
//   --quick            fewer rounds and iterations (the CI smoke test); does not rewrite the docs
//   --only <names>     groups (ops, mlp, loss, head) or cases (add, sddKd, ...), comma-separated;
//                      does not rewrite the docs
//   --threads <list>   thread counts, e.g. 1 or 1,2 (default: 1 for ops, 1 and 2 for the rest)
//   --rounds <n>       rounds per group (default 9; --quick 3; fewer for the groups that
//                      start after 200 s, when the machine is so busy that the run drags on)
//   --write / --no-write   force / suppress rewriting docs/benchmarks.md
//   --json <file>      also write the raw results as JSON
//   --python <path>    the Python interpreter (default $SDD_BENCH_PYTHON or /usr/bin/python3)
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DOC = path.join(ROOT, 'docs', 'benchmarks.md');
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';
const REPLY = '@@bench ';
// Seconds after which the remaining groups run with fewer rounds (the full run should stay < 5 min).
const BUDGET_S = 200;

// ------------------------------------------------------------------ what we measure
const CASES = {
  add: { label: 'add: 8 + 8 elements, result dispose()d', py: '`c = a + b`', goal: 1 },
  addTidy: { label: 'add, one tidy() per op', py: '`c = a + b`', goal: 1 },
  addBatchTidy: { label: 'add, 1000 ops per tidy()', py: '`c = a + b`', goal: 1 },
  mulScalar: { label: 'mul by a scalar (2.5)', py: '`c = a * 2.5`', goal: 1 },
  sum: { label: 'sum() of 8 elements', py: '`c = a.sum()`', goal: 1 },
  mlp: { label: 'MLP step, `x.matmul(w.T).add(b)` layers', py: 'same ops' },
  mlpLinear: { label: 'MLP step, native linear (internal, not exported)', py: '`F.linear`' },
  kd: { label: 'KD loss fwd+bwd, B=64 K=100', py: 'mdistiller `kd_loss`' },
  kdRows: { label: 'KD loss fwd+bwd on N·B = 1344 rows, K=100', py: 'mdistiller `kd_loss`' },
  sddKd: { label: 'SD-KD loss fwd+bwd, B=64 K=100 N=21', py: 'authors\' `sdd_kd_loss`' },
  sddHead: { label: 'SDD head fwd+bwd (`scaleLogits`), B=64 C=256 8×8 K=100', py: 'authors\' SPP + shared fc' },
  plainHead: { label: 'avgpool + fc fwd+bwd, same sizes', py: '`avg_pool2d` + `nn.Linear`' },
};

const GROUPS = [
  {
    name: 'ops', title: '(a) Per-op overhead (tiny tensors: the binding\'s cost per call)', cases: ['add', 'addTidy', 'addBatchTidy', 'mulScalar', 'sum'],
    threads: [1], iters: { full: 100_000, quick: 20_000 }, rounds: { full: 9, quick: 3 },
  },
  {
    name: 'mlp', title: '(b) 3-layer MLP, batch 64: 256 → 256 → 256 → 10, forward + backward + SGD, per step', cases: ['mlp', 'mlpLinear'],
    threads: [1, 2], targetMs: { full: 200, quick: 30 }, rounds: { full: 9, quick: 3 },
  },
  {
    name: 'loss', title: '(c) Distillation losses, forward + backward', cases: ['kd', 'kdRows', 'sddKd'],
    threads: [1, 2], targetMs: { full: 200, quick: 30 }, rounds: { full: 9, quick: 3 },
    derived: [
      { label: 'SD-KD (B=64, N=21) / KD (B=64)', num: 'sddKd', den: 'kd', goal: 2 },
      { label: 'SD-KD / KD on the same 1344 rows', num: 'sddKd', den: 'kdRows' },
    ],
  },
  {
    name: 'head', title: '(d) SDD head vs the plain global head, forward + backward', cases: ['sddHead', 'plainHead'],
    threads: [1, 2], targetMs: { full: 200, quick: 30 }, rounds: { full: 9, quick: 3 },
    derived: [{ label: 'SDD head / avgpool+fc time', num: 'sddHead', den: 'plainHead', goal: 1.5 }],
  },
];

// ------------------------------------------------------------------ options
class UsageError extends Error {}

function parseArgs(argv) {
  const o = { quick: false, only: null, threads: null, rounds: null, write: null, json: null,
    python: process.env.SDD_BENCH_PYTHON || '/usr/bin/python3' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--only') o.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--threads') o.threads = value().split(',').map(Number);
    else if (a === '--rounds') o.rounds = Number(value());
    else if (a === '--write') o.write = true;
    else if (a === '--no-write') o.write = false;
    else if (a === '--json') o.json = value();
    else if (a === '--python') o.python = value();
    else if (a === '--help' || a === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 22).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else throw new UsageError(`unknown option ${a} (see --help)`);
  }
  if (o.threads && o.threads.some((n) => !Number.isInteger(n) || n < 1)) throw new UsageError('--threads takes positive integers, e.g. 1,2');
  if (o.rounds !== null && (!Number.isInteger(o.rounds) || o.rounds < 1)) throw new UsageError('--rounds takes a positive integer');
  if (o.only) {
    const known = new Set([...GROUPS.map((g) => g.name), ...Object.keys(CASES)]);
    const bad = o.only.filter((n) => !known.has(n));
    if (bad.length) throw new UsageError(`--only: unknown ${bad.join(', ')}; known: ${[...known].join(', ')}`);
  }
  if (o.write === null) o.write = !o.quick && !o.only;
  return o;
}

// ------------------------------------------------------------------ workers
class Worker {
  constructor(name, cmd, args, env) {
    this.name = name;
    this.stderr = '';
    this.waiting = [];
    this.proc = spawn(cmd, args, {
      cwd: path.join(ROOT, 'bench'),
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env },
    });
    this.proc.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      if (!line.startsWith(REPLY)) return; // stray output of a case (e.g. the reference's "inf")
      this.waiting.shift()?.resolve(JSON.parse(line.slice(REPLY.length)));
    });
    this.proc.on('error', (e) => this.#fail(e));
    this.proc.on('exit', (code, sig) => this.#fail(new Error(`${name} worker exited (${sig ?? code})`)));
  }
  #fail(e) {
    this.dead = e;
    for (const w of this.waiting.splice(0)) w.reject(new Error(`${e.message}\n${this.stderr.trim()}`));
  }
  async call(req) {
    if (this.dead) throw new Error(`${this.dead.message}\n${this.stderr.trim()}`);
    const reply = await new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.proc.stdin.write(JSON.stringify(req) + '\n');
    });
    if (!reply.ok) throw new Error(`${this.name} worker, ${req.op} ${req.id ?? ''}: ${reply.error}`);
    return reply;
  }
  close() {
    if (!this.dead) this.proc.stdin.end(JSON.stringify({ op: 'exit' }) + '\n');
  }
}

// ------------------------------------------------------------------ statistics and formatting
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
function fmtTime(sec) {
  if (!Number.isFinite(sec)) return 'n/a';
  if (sec < 1e-3) return `${(sec * 1e6).toFixed(sec < 1e-5 ? 2 : 1)} µs`;
  if (sec < 1) return `${(sec * 1e3).toFixed(sec < 1e-2 ? 3 : 2)} ms`;
  return `${sec.toFixed(2)} s`;
}
const fmtRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a');
const fmtSpread = (rs) => (rs.length ? `${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)}` : 'n/a');
function verdict(r, goal) {
  if (goal === undefined) return '—';
  if (!Number.isFinite(r)) return `≤ ${goal}×: n/a`;
  return `≤ ${goal}×: ${r <= goal ? '**met**' : '**missed**'}`;
}

function machine(nodeInfo, pyInfo, opts, loadStart) {
  let cpu = 'unknown';
  let logical = 0;
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    cpu = /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() || cpu;
    logical = (info.match(/^processor\s*:/gm) ?? []).length;
  } catch { /* not Linux */ }
  if (cpu === 'unknown') cpu = os.cpus()[0]?.model ?? cpu;
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (dirty) commit += ' (with uncommitted changes)';
  } catch { /* not a checkout */ }
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu,
    cores: `${os.availableParallelism()} usable (${logical || os.cpus().length} listed in /proc/cpuinfo)`,
    node: nodeInfo.runtime,
    python: pyInfo ? `${pyInfo.runtime} (${opts.python})` : 'not available',
    libtorch: `${nodeInfo.torch} in the addon, ${pyInfo ? pyInfo.torch : 'n/a'} in Python; parallel backend ${nodeInfo.parallel}${pyInfo ? ` / ${pyInfo.parallel}` : ''}`,
    commit,
    loadStart,
    loadavg: os.loadavg().map((l) => l.toFixed(2)).join(', '),
  };
}

// ------------------------------------------------------------------ running a group
async function runGroup(group, threads, node, py, opts, log, late) {
  const mode = opts.quick ? 'quick' : 'full';
  // Past most of the time budget (a very busy machine), the remaining groups get fewer rounds.
  const rounds = opts.rounds ?? (late ? Math.min(3, group.rounds[mode]) : group.rounds[mode]);
  const cases = group.cases.filter((c) => !opts.only || opts.only.includes(c) || opts.only.includes(group.name));
  const sides = py ? [['node', node], ['python', py]] : [['node', node]];
  const res = {};
  for (const id of cases) {
    res[id] = { id, threads, node: [], python: [], check: {} };
    for (const [side, w] of sides) res[id].check[side] = (await w.call({ op: 'setup', id, threads })).check;
    const { node: cn, python: cp } = res[id].check;
    if (py && !(Math.abs(cn - cp) <= 1e-4 * Math.max(1, Math.abs(cp)))) {
      res[id].mismatch = `Node computes ${cn}, Python ${cp}`;
    }
    // Iterations: fixed (per-op) or calibrated on the Node side to about targetMs per block.
    let iters = group.iters?.[mode];
    if (!iters) {
      await node.call({ op: 'run', id, iters: 2 });
      let n = 1;
      let t = 0;
      while (t < 0.02 && n < 1e6) {
        t = (await node.call({ op: 'run', id, iters: n })).seconds;
        if (t < 0.02) n *= 4;
      }
      // the fastest of three, so that a burst of load from elsewhere does not shrink the blocks
      for (let k = 0; k < 2; k++) t = Math.min(t, (await node.call({ op: 'run', id, iters: n })).seconds);
      iters = Math.max(5, Math.min(100_000, Math.round((group.targetMs[mode] / 1000) / (t / n))));
    }
    res[id].iters = iters;
    for (const [, w] of sides) await w.call({ op: 'run', id, iters: Math.max(2, Math.ceil(iters / 4)) }); // warm-up
  }
  for (let r = 0; r < rounds; r++) {
    const order = [];
    for (const id of cases) for (const s of sides) order.push([id, ...s]);
    if (r % 2) order.reverse();
    for (const [id, side, w] of order) {
      const iters = res[id].iters;
      const { seconds } = await w.call({ op: 'run', id, iters });
      res[id][side].push(seconds / iters);
      // A burst of load from elsewhere can make blocks 10x slower: shrink the later blocks of a
      // calibrated case rather than let the run drag on (times are per iteration either way).
      if (group.targetMs && seconds > 4 * (group.targetMs[mode] / 1000) && iters > 3) {
        res[id].iters = Math.max(3, Math.floor(iters / 2));
        res[id].shrunk = true;
      }
    }
    log('.');
  }
  for (const id of cases) for (const [, w] of sides) await w.call({ op: 'teardown', id });
  for (const id of cases) {
    const c = res[id];
    c.nodeMedian = median(c.node);
    c.pythonMedian = py ? median(c.python) : NaN;
    c.pairedRatios = py ? c.node.map((t, i) => t / c.python[i]) : [];
    c.ratio = py ? median(c.pairedRatios) : NaN;
  }
  const derived = [];
  for (const d of group.derived ?? []) {
    if (!res[d.num] || !res[d.den]) continue;
    const per = (side) => res[d.num][side].map((t, i) => t / res[d.den][side][i]);
    const nodeSpread = per('node');
    const pythonSpread = py ? per('python') : [];
    derived.push({
      ...d, threads,
      node: median(nodeSpread), nodeSpread,
      python: py ? median(pythonSpread) : NaN, pythonSpread,
    });
  }
  return { group: group.name, threads, rounds, cases: cases.map((id) => res[id]), derived };
}

// ------------------------------------------------------------------ report
function tables(results) {
  const out = [];
  for (const g of GROUPS) {
    const runs = results.filter((r) => r.group === g.name);
    if (!runs.length) continue;
    out.push(`#### ${g.title}`, '');
    out.push('| case | threads | iters × rounds | Node | Python (what) | Node / Python | per-round ratios | goal |');
    out.push('|---|---:|---:|---:|---|---:|---:|---|');
    for (const run of runs) {
      for (const c of run.cases) {
        const meta = CASES[c.id];
        const flag = c.mismatch ? ` ⚠ values differ: ${c.mismatch}` : '';
        out.push(`| ${meta.label}${flag} | ${c.threads} | ${c.iters}${c.shrunk ? '+' : ''} × ${run.rounds} | ${fmtTime(c.nodeMedian)} | ${fmtTime(c.pythonMedian)} (${meta.py}) | ${fmtRatio(c.ratio)} | ${fmtSpread(c.pairedRatios)} | ${verdict(c.ratio, meta.goal)} |`);
      }
    }
    const derived = runs.flatMap((r) => r.derived);
    if (derived.length) {
      out.push('', '| ratio within one side | threads | ours (Node) | per-round | the reference (Python) | per-round | goal (ours) |');
      out.push('|---|---:|---:|---:|---:|---:|---|');
      for (const d of derived) {
        out.push(`| ${d.label} | ${d.threads} | ${fmtRatio(d.node)} | ${fmtSpread(d.nodeSpread)} | ${fmtRatio(d.python)} | ${fmtSpread(d.pythonSpread)} | ${verdict(d.node, d.goal)} |`);
      }
    }
    out.push('');
  }
  return out.join('\n');
}

function section(m, results, opts, seconds) {
  return [
    START,
    `_Generated by \`npm run bench\`${opts.quick ? ' --quick' : ''} on ${m.date} in ${seconds.toFixed(0)} s; do not edit by hand between the markers._`,
    '',
    `- CPU: ${m.cpu}, ${m.cores}; load average (1, 5, 15 min) at the start ${m.loadStart}, at the end ${m.loadavg}`,
    `- ${m.node}; ${m.python}`,
    `- libtorch ${m.libtorch}`,
    `- threads: the count in each row, set on both sides (\`sdd.setNumThreads\` / \`torch.set_num_threads\`); ${m.blas}`,
    `- commit: ${m.commit}`,
    '',
    'Each round times one block of iterations on each side back to back (the order alternates).',
    'Node and Python are the medians over the rounds, per iteration (per op for (a), per step for',
    '(b)–(d)); Node / Python is the median of the per-round ratios, and "per-round ratios" their',
    'range (how noisy the run was). Below 1× Node is faster. The ratios within one side likewise.',
    '"iters × rounds": iterations per block; a "+" marks a case whose blocks were shortened mid-run',
    'because the machine got much slower (the figure is the last block size).',
    '',
    tables(results),
    END,
  ].join('\n');
}

function writeDoc(text) {
  let doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n\n';
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a >= 0 && b > a) doc = doc.slice(0, a) + text + doc.slice(b + END.length);
  else doc = `${doc.trimEnd()}\n\n${text}\n`;
  writeFileSync(DOC, doc);
}

// ------------------------------------------------------------------ main
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(path.join(ROOT, 'dist', 'index.js'))) {
    throw new Error('dist/index.js is missing: compile the TypeScript first (`npm run build:ts`)');
  }
  const t0 = Date.now();
  const loadStart = os.loadavg().map((l) => l.toFixed(2)).join(', ');
  const log = (s) => process.stderr.write(s);
  const groups = GROUPS.filter((g) => !opts.only || opts.only.includes(g.name) || g.cases.some((c) => opts.only.includes(c)));
  const threadCounts = opts.threads ?? [...new Set(groups.flatMap((g) => g.threads))].sort((a, b) => a - b);
  // Fresh workers per thread count: Debian's libtorch calls a pthreads OpenBLAS that keeps its own
  // pool (all cores) whatever set_num_threads says, so we also cap it through its environment
  // variable, read at load time, unless the caller set one.
  const blasEnv = (n) => (process.env.OPENBLAS_NUM_THREADS ? {} : { OPENBLAS_NUM_THREADS: String(n) });
  let nodeInfo = null;
  let pyInfo = null;
  let pyUsable = true;
  const results = [];
  for (const threads of threadCounts) {
    const node = new Worker('node', process.execPath, [path.join(ROOT, 'bench', 'worker.mjs')], blasEnv(threads));
    nodeInfo = await node.call({ op: 'hello' });
    let py = null;
    if (pyUsable) {
      py = new Worker('python', opts.python, ['-B', path.join(ROOT, 'bench', 'worker.py')], blasEnv(threads));
      try {
        pyInfo = await py.call({ op: 'hello' });
      } catch (e) {
        log(`warning: no Python side (${opts.python}): ${e.message.split('\n').slice(0, 3).join(' ')}\n` +
          '         timing Node alone; the docs are not rewritten. Set --python or SDD_BENCH_PYTHON to a python3 with torch.\n');
        py = null;
        pyUsable = false;
        opts.write = false;
      }
    }
    for (const g of groups) {
      if (!(opts.threads ?? g.threads).includes(threads)) continue;
      log(`${g.name} @ ${threads} thread(s) `);
      const t = Date.now();
      const late = (Date.now() - t0) / 1000 > BUDGET_S;
      results.push(await runGroup(g, threads, node, py, opts, log, late));
      log(` ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    }
    node.close();
    py?.close();
  }
  const seconds = (Date.now() - t0) / 1000;
  const m = machine(nodeInfo, pyInfo, opts, loadStart);
  m.blas = process.env.OPENBLAS_NUM_THREADS ? `OPENBLAS_NUM_THREADS=${process.env.OPENBLAS_NUM_THREADS} (from the environment)` : 'OPENBLAS_NUM_THREADS = the row\'s thread count';
  const text = section(m, results, opts, seconds);
  console.log(text.split('\n').slice(1, -1).join('\n'));
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ machine: m, options: opts, seconds, results }, null, 2));
  if (opts.write) {
    writeDoc(text);
    log(`wrote ${path.relative(process.cwd(), DOC)}\n`);
  }
  const bad = results.flatMap((r) => r.cases).filter((c) => c.mismatch);
  if (bad.length) {
    console.error(`error: Node and Python disagree on ${bad.map((c) => `${c.id} (${c.threads} thread(s)): ${c.mismatch}`).join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e instanceof UsageError ? `bench: ${e.message}` : `bench: ${e.stack ?? e}`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
