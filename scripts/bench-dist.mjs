// `npm run bench:dist`: data-parallel throughput on this machine. The same SD-KD training step
// (resnet20 teacher, frozen -> resnet8 student, global batch 64, synthetic 3x32x32 images) run as
//   1 process x 2 threads (batch 64), and
//   2 processes x 1 thread (sdd-torch launch, batch 32 each, gradients averaged by sdd.dist.ddp).
// and the same two configurations in PyTorch (bench/dist_step.py: torch DDP on Gloo, mdistiller's
// ResNets with the authors' SPP head) when Debian's python3-torch is there. Prints a Markdown table:
// images/s, ms per step, and (ours) the wait for the gradient exchange after backward.
// Options: --steps <n> (default 30, after 5 warm-up steps), --json <file>
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), '..');
const arg = (name, d) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : d; };
const steps = Number(arg('steps', '30'));
const warmup = 5;
const GLOBAL_BATCH = 64;

if (process.argv.includes('--worker')) {
  const sdd = await import('sdd-torch');
  const distributed = process.env.WORLD_SIZE !== undefined && Number(process.env.WORLD_SIZE) > 1;
  const group = distributed ? await sdd.dist.initProcessGroup() : undefined;
  const rank = group?.rank ?? 0, world = group?.worldSize ?? 1;
  sdd.setNumThreads(Number(process.env.SDD_TORCH_THREADS ?? 1));
  sdd.manualSeed(0);
  // a plain eval teacher, like the Python twin's (freeze() would fold BatchNorm and be faster)
  const teacher = sdd.models.create('resnet20', { numClasses: 10 });
  teacher.eval();
  const student = sdd.models.create('resnet8', { numClasses: 10 });
  if (group) await sdd.dist.replicate(teacher, { what: 'teacher' });
  const ddp = group ? await sdd.dist.ddp(student) : undefined;
  const optimizer = sdd.optim.sgd(student.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const distiller = sdd.distillers.create('sdd_kd', { teacher, student, optimizer, ddp });
  const per = GLOBAL_BATCH / world;
  sdd.manualSeed(1 + rank);
  const images = sdd.randn([per, 3, 32, 32]);
  const targets = sdd.randint(0, 10, [per]);
  for (let i = 0; i < warmup; i++) await distiller.stepAsync({ images, targets });
  const before = ddp ? { ...ddp.totals } : undefined;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await distiller.stepAsync({ images, targets });
  const ms = (performance.now() - t0) / steps;
  const exchangeMs = ddp ? (ddp.totals.ms - before.ms) / (ddp.totals.steps - before.steps) : 0;
  if (group) await group.barrier();
  if (rank === 0) console.log(JSON.stringify({ world, threads: sdd.getNumThreads(), msPerStep: ms, imagesPerSecond: GLOBAL_BATCH / (ms / 1000), exchangeMs, bytes: ddp?.last?.bytes ?? 0, buckets: ddp?.last?.buckets ?? 0, overlapped: ddp?.last?.overlapped ?? 0 }));
  group?.destroy();
} else {
  const env = { ...process.env };
  for (const k of ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT']) delete env[k];
  const runJson = (args, extra, exe = process.execPath) => {
    const r = spawnSync(exe, args, { cwd: root, encoding: 'utf8', env: { ...env, ...extra } });
    if (r.status !== 0) { console.error(r.stdout + r.stderr); process.exit(1); }
    return JSON.parse(r.stdout.trim().split('\n').map((l) => l.replace(/^\[rank \d+\] /, '')).find((l) => l.startsWith('{')));
  };
  console.error(`bench:dist: ${steps} SD-KD steps (resnet20 -> resnet8, global batch ${GLOBAL_BATCH}) per configuration`);
  const single = runJson([here, '--worker', '--steps', String(steps)], { SDD_TORCH_THREADS: '2' });
  const port = String(29500 + Math.floor(Math.random() * 2000));
  const two = runJson([path.join(root, 'dist', 'cli', 'main.js'), 'launch', '--nproc-per-node', '2', '--threads-per-worker', '1', '--master-port', port, here, '--worker', '--steps', String(steps)], {});
  const python = '/usr/bin/python3';
  const hasTorch = spawnSync(python, ['-c', 'import torch.distributed as d; assert d.is_gloo_available()']).status === 0;
  const rows = [
    ['sdd-torch, 1 process x 2 threads', single],
    ['sdd-torch, 2 processes x 1 thread (Gloo)', two],
  ];
  let pySingle, pyTwo;
  if (hasTorch) {
    pySingle = runJson([path.join(root, 'bench', 'dist_step.py'), String(steps)], { SDD_TORCH_THREADS: '2' }, python);
    const port2 = String(29500 + Math.floor(Math.random() * 2000));
    pyTwo = runJson([path.join(root, 'dist', 'cli', 'main.js'), 'launch', '--nproc-per-node', '2', '--threads-per-worker', '1', '--master-port', port2, python, path.join(root, 'bench', 'dist_step.py'), String(steps)], {});
    rows.push(['PyTorch, 1 process x 2 threads', pySingle], ['PyTorch DDP, 2 processes x 1 thread (Gloo)', pyTwo]);
  } else {
    console.error('bench:dist: no python3-torch with Gloo at /usr/bin/python3: PyTorch rows left out');
  }
  console.log('| configuration | images/s | ms per step | gradient exchange: wait after backward |');
  console.log('|---|---:|---:|---:|');
  for (const [name, r] of rows) {
    const ex = r.world === 1 ? '-'
      : r.exchangeMs === undefined ? "inside backward (torch's Reducer), not measured separately"
        : `${r.exchangeMs.toFixed(2)} ms (${(100 * r.exchangeMs / r.msPerStep).toFixed(1)} %), ${(r.bytes / 1024).toFixed(0)} KiB in ${r.buckets} bucket(s), ${r.overlapped} started during backward`;
    console.log(`| ${name} | ${r.imagesPerSecond.toFixed(0)} | ${r.msPerStep.toFixed(1)} | ${ex} |`);
  }
  console.log(`\nsdd-torch: 2 processes / 1 process throughput ${(two.imagesPerSecond / single.imagesPerSecond).toFixed(2)}x`);
  if (hasTorch) {
    console.log(`PyTorch: 2 processes / 1 process throughput ${(pyTwo.imagesPerSecond / pySingle.imagesPerSecond).toFixed(2)}x`);
    console.log(`sdd-torch / PyTorch step time: 1 process ${(single.msPerStep / pySingle.msPerStep).toFixed(2)}x, 2 processes ${(two.msPerStep / pyTwo.msPerStep).toFixed(2)}x`);
  }
  const out = arg('json', undefined);
  if (out) writeFileSync(out, `${JSON.stringify({ steps, globalBatch: GLOBAL_BATCH, single, two, pySingle, pyTwo }, null, 2)}\n`);
}
