#!/usr/bin/env node
// Model forward benchmark: resnet32x4 (CIFAR, SDD head, the reference's architecture) at B = 64,
// 32x32, against PyTorch on the same libtorch (bench/models_forward.py, /usr/bin/python3 = Debian
// python3-torch 1.13), interleaved round by round with the same thread count.
//
//   node bench/models_forward.mjs [--threads 2] [--rounds 5] [--iters 3] [--only fp32,frozen] [--json out.json] [--no-python]
//
// Cases (Node side: sdd.models.create('resnet32x4'), weights of test/fixtures/reference/model_resnet32x4_sdd.safetensors):
//   fp32         eval under noGrad
//   channelsLast model.toChannelsLast() (NHWC weights, the input converted by the model)
//   frozen       teacher.freeze(): eval, no grad, BatchNorm folded into the convolutions
//   frozenCl     toChannelsLast() then freeze()
//   bf16         freeze({ dtype: 'bfloat16' }) (outputs come back as float32)
//   trainStep    train mode forward + backward of sum(logits) + mean(scaleLogits)
//   studentStep  the same for the student resnet8x4 (weights model_resnet8x4_sdd.safetensors)
// bf16 runs one iteration per round: without AVX512-BF16/AMX, libtorch 1.13 has no fast bf16
// convolution on CPU (oneDNN is only used for bf16 where the CPU has it).
// Reports the median time per forward over the rounds, the Node/Python ratio, and the output drift
// of the frozen/bf16 teachers against the fp32 model (max |Δ logits|, top-1 agreement).
// Imports the built package (../dist, `npm run build`); SDD_TORCH_DIST=<dir>/index.js overrides it.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const sdd = await import(process.env.SDD_TORCH_DIST ? pathToFileURL(path.resolve(process.env.SDD_TORCH_DIST)).href : '../dist/index.js');
const FIXTURES = path.resolve(HERE, '..', 'test', 'fixtures', 'reference'); // vendored reference checkpoints
const B = 64, HW = 32;
const CASES = ['fp32', 'channelsLast', 'frozen', 'frozenCl', 'bf16', 'trainStep', 'studentStep'];
const ITERS = { bf16: 1 };
const ROUNDS = { bf16: 3 };
const WARMUP = { bf16: 1 };

function args() {
  const a = process.argv.slice(2);
  const get = (k, d) => { const i = a.indexOf(k); return i >= 0 ? a[i + 1] : d; };
  return {
    threads: get('--threads', String(os.availableParallelism?.() ?? os.cpus().length)).split(',').map(Number),
    rounds: Number(get('--rounds', '5')),
    iters: Number(get('--iters', '3')),
    only: get('--only', null)?.split(','),
    json: get('--json', null),
    python: !a.includes('--no-python'),
    pythonPath: get('--python', process.env.SDD_BENCH_PYTHON ?? '/usr/bin/python3'),
  };
}

function readSafetensors(file) {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const out = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [b, en] = e.data_offsets;
    const bytes = new Uint8Array(buf.subarray(8 + n + b, 8 + n + en));
    out[name] = sdd.tensor(e.dtype === 'F32' ? new Float32Array(bytes.buffer) : new BigInt64Array(bytes.buffer), { shape: e.shape });
  }
  return out;
}

function makeInput() {
  const n = B * 3 * HW * HW;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = ((i * 7919) % 1000) / 500 - 1;
  return sdd.tensor(data, { shape: [B, 3, HW, HW] });
}

function setup(kind) {
  const arch = kind === 'studentStep' ? 'resnet8x4' : 'resnet32x4';
  const model = sdd.models.create(arch, { numClasses: 100 });
  const sd = readSafetensors(path.join(FIXTURES, `model_${arch}_sdd.safetensors`));
  model.loadStateDict(sd);
  sdd.dispose(sd);
  const x = makeInput();
  if (kind === 'channelsLast' || kind === 'frozenCl') model.toChannelsLast();
  if (kind === 'frozen' || kind === 'frozenCl') model.freeze();
  else if (kind === 'bf16') model.freeze({ dtype: 'bfloat16' });
  else if (kind === 'trainStep' || kind === 'studentStep') model.train();
  else model.eval();
  const once = () => sdd.tidy(() => {
    if (kind === 'trainStep' || kind === 'studentStep') {
      model.zeroGrad();
      const out = model.forward(x);
      out.logits.sum().add(out.scaleLogits.mean()).backward();
      return sdd.keep(out.logits.detach());
    }
    return sdd.keep(sdd.noGrad(() => model.forward(x)).logits);
  });
  return {
    model, x, once,
    run(iters) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < iters; i++) once().dispose();
      return Number(process.hrtime.bigint() - t0) / 1e9;
    },
    teardown() { x.dispose(); },
  };
}

class PythonWorker {
  constructor(py) {
    this.proc = spawn(py, [path.join(HERE, 'models_forward.py'), '--worker'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.pending = [];
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      if (!line.startsWith('@@bench ')) return;
      const rep = JSON.parse(line.slice(8));
      const p = this.pending.shift();
      if (rep.ok) p.resolve(rep); else p.reject(new Error(`python: ${rep.error}`));
    });
  }
  call(req) {
    return new Promise((resolve, reject) => { this.pending.push({ resolve, reject }); this.proc.stdin.write(JSON.stringify(req) + '\n'); });
  }
  close() { this.proc.stdin.write('{"op":"exit"}\n'); this.proc.stdin.end(); }
}

const median = (v) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

function drift(ref, out) {
  return sdd.tidy(() => {
    const d = out.sub(ref).abs();
    const agree = out.argmax(1).eq(ref.argmax(1)).float().mean().item();
    return { maxAbs: d.max().item(), maxRel: d.max().item() / ref.abs().max().item(), top1Agreement: agree };
  });
}

async function main() {
  const opt = args();
  const cases = CASES.filter((c) => !opt.only || opt.only.includes(c));
  const py = opt.python ? new PythonWorker(opt.pythonPath) : null;
  const hello = py ? await py.call({ op: 'hello' }) : null;
  const results = { machine: `${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} logical CPUs)`, node: process.version, python: hello?.runtime, torch: hello?.torch, batch: B, cases: {} };
  for (const threads of opt.threads) {
    sdd.setNumThreads(threads);
    // reference output for the drift numbers
    const base = setup('fp32');
    base.once().dispose();
    const ref = base.once();
    for (const kind of cases) {
      const node = kind === 'fp32' ? base : setup(kind);
      const warmup = WARMUP[kind] ?? 2;
      for (let i = 0; i < warmup; i++) node.once().dispose();
      const nodeOut = node.once();
      const pyRep = py ? await py.call({ op: 'setup', id: kind, threads, warmup }) : null;
      const nodeT = [], pyT = [];
      const iters = ITERS[kind] ?? opt.iters;
      for (let r = 0; r < Math.min(opt.rounds, ROUNDS[kind] ?? Infinity); r++) {
        const order = r % 2 === 0 ? ['node', 'py'] : ['py', 'node'];
        for (const side of order) {
          if (side === 'node') nodeT.push(node.run(iters) / iters);
          else if (py) pyT.push((await py.call({ op: 'run', id: kind, iters })).seconds / iters);
        }
      }
      const check = pyRep ? sdd.tidy(() => {
        const first = Array.from(nodeOut.flatten().slice(0, 0, 8).toTypedArray());
        return Math.max(...first.map((v, i) => Math.abs(v - pyRep.check[i])));
      }) : null;
      const entry = {
        threads, nodeMs: median(nodeT) * 1e3, pythonMs: py ? median(pyT) * 1e3 : null,
        ratio: py ? median(nodeT) / median(pyT) : null,
        driftVsFp32: kind.endsWith('Step') ? null : drift(ref, nodeOut),
        nodeVsPythonFirst8MaxAbs: check,
      };
      results.cases[`${kind}@${threads}`] = entry;
      console.log(`${kind.padEnd(13)} threads=${threads}  node ${entry.nodeMs.toFixed(1).padStart(7)} ms` +
        (py ? `  python ${entry.pythonMs.toFixed(1).padStart(7)} ms  node/python ${entry.ratio.toFixed(3)}` : '') +
        (entry.driftVsFp32 ? `  drift max|Δ|=${entry.driftVsFp32.maxAbs.toExponential(2)} top1=${(entry.driftVsFp32.top1Agreement * 100).toFixed(1)}%` : '') +
        (check !== null ? `  node-vs-python first8 ${check.toExponential(1)}` : ''));
      nodeOut.dispose();
      if (node !== base) node.teardown();
      if (py) await py.call({ op: 'teardown', id: kind });
    }
    ref.dispose();
    base.teardown();
  }
  py?.close();
  if (opt.json) writeFileSync(opt.json, JSON.stringify(results, null, 2));
}

await main();
