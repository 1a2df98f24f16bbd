#!/usr/bin/env node
// The sdd-torch command line (the package's bin): doctor, train, launch, eval, explain and export, each run from its own
// module (doctor.ts, commands/), loaded when its command runs.
import { Command } from 'commander';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkg = require('../../package.json') as { version: string };

async function doctorCommand(opts: { json?: boolean }): Promise<void> {
  // Loading the addon can fail: report that as the doctor's finding, not as a stack trace.
  let found;
  try {
    const { doctor, printDoctor } = await import('./doctor.js');
    found = { report: doctor(), printDoctor };
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
    return;
  }
  found.printDoctor(found.report, pkg.version, opts.json);
}

const program = new Command();
program
  .enablePositionalOptions()
  .name('sdd-torch')
  .description('Scale Decoupled Distillation and libtorch tensors for Node.js')
  .version(pkg.version);

program
  .command('doctor')
  .description('report Node, libtorch (version, origin), BLAS, CUDA, threads and the loaded binary')
  .option('--json', 'print the report as JSON')
  .action(doctorCommand);

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Runs a command; expected failures (bad config, missing files) print their message, not a stack. */
async function guarded(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    console.error(`sdd-torch: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

program
  .command('train')
  .description("distil a student from a teacher with one of the authors' YAML configs")
  .option('--config <yaml>', 'a reference config (EXPERIMENT/DATASET/DISTILLER/SOLVER/LOG/KD/DKD sections)')
  .option('--preset [name]', "one of the authors' configs shipped with the package, e.g. cifar100/sdd_kd/res32x4_res8x4 (without a name: list them)")
  .option('--set <KEY=VALUE>', 'override a config key, e.g. SOLVER.LR=0.01 (repeatable)', collect, [])
  .option('--M <scales>', "SDD scales, e.g. 1,2,4 or '[1,2,4]' (default 1,2,4)")
  .option('--warmup <epochs>', "SDD_DKD's loss warm-up epochs, the reference's --warmup (default 20); DKD, NKD, SDD_NKD read DKD.WARMUP")
  .option('--allow-any-scales', 'scale lists other than the reference\'s [1], [1,2], [1,2,4]')
  .option('--allow-replicate', 'replicate SDD cells on maps smaller than the largest scale (always on for the reference\'s scale lists, as the reference)')
  .option('--teacher-checkpoint <file>', 'the trained teacher (.pth or .safetensors)')
  .option('--data <dir>', 'the data set folder (CIFAR-100: cifar-100-binary/ or cifar-100-python/ inside)')
  .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
  .option('--out <dir>', 'run folder for checkpoints and metrics (default runs/<tag>)')
  .option('--resume', 'continue from <out>/latest.safetensors')
  .option('--threads <n>', 'intra-op threads')
  .option('--workers <n>', 'data loader workers (default DATASET.NUM_WORKERS)')
  .option('--limit-batches <n>', 'at most n batches per epoch (smoke runs)')
  .option('--seed <n>', "the student's initialisation, the data order and the augmentation (default 0)")
  .option('--no-augment', "train with the data set's test transforms (no random crop or flip): a deterministic pipeline")
  .option('--teacher-outputs <file>', "stored teacher outputs: read from <file>, or computed once from the teacher and written there (needs --no-augment)")

  .option('--no-progress', 'no progress bar')
  .option('--nproc-per-node <n>', 'data-parallel over n processes on this machine (Gloo); see also `sdd-torch launch`')
  .option('--sync-bn', "distributed runs: the student's BatchNorm uses the statistics of the whole global batch (SyncBatchNorm)")
  .action((opts) => guarded(async () => {
    if (opts.preset === true) {
      const { printPresets } = await import('./commands/train.js');
      printPresets();
      return;
    }
    const nproc = opts.nprocPerNode === undefined ? 1 : Number(opts.nprocPerNode);
    if (!Number.isInteger(nproc) || nproc < 1) throw new Error(`--nproc-per-node must be a positive integer (got ${JSON.stringify(opts.nprocPerNode)})`);
    if (nproc > 1 && process.env.RANK === undefined) {
      const { runLaunch, withoutNproc } = await import('./commands/launch.js');
      const i = process.argv.indexOf('train');
      await runLaunch({ nprocPerNode: String(nproc), masterPort: process.env.MASTER_PORT }, ['train', ...withoutNproc(process.argv.slice(i + 1))]);
      return;
    }
    const { runTrain } = await import('./commands/train.js');
    await runTrain(opts);
  }));

program
  .command('launch')
  .description('start N worker processes with the rendezvous environment set (like torchrun); one failing stops the others')
  .requiredOption('--nproc-per-node <n>', 'workers on this machine')
  .option('--nnodes <n>', 'machines in the job', '1')
  .option('--node-rank <r>', "this machine's index", '0')
  .option('--master-addr <addr>', "rank 0's address", '127.0.0.1')
  .option('--master-port <port>', "rank 0's rendezvous port", '29500')
  .option('--threads-per-worker <n>', 'intra-op threads per worker (default: CPUs / nproc-per-node)')
  .argument('<worker...>', 'a script (node runs it) or an sdd-torch command (train --config ...), with its arguments')
  .passThroughOptions()
  .action((worker: string[], opts) => guarded(async () => {
    const { runLaunch } = await import('./commands/launch.js');
    await runLaunch(opts, worker);
  }));

program
  .command('eval')
  .description('top-1 / top-5 of a checkpoint on a test split')
  .requiredOption('--model <name>', 'zoo model name, e.g. resnet8x4 or resnet8x4_sdd')
  .requiredOption('--checkpoint <file>', '.pth or .safetensors')
  .requiredOption('--data <dir>', 'the data set folder')
  .option('--dataset <type>', 'cifar100, cifar10, cub200, imagenet or fashion-mnist', 'cifar100')

  .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
  .option('--batch-size <n>', 'batch size', '64')
  .option('--json', 'print the result as JSON')
  .action((opts) => guarded(async () => {
    const { runEval } = await import('./commands/eval.js');
    await runEval(opts);
  }));

program
  .command('explain')
  .description("pictures of SDD's decoupling: a teacher's local predictions per 1x1/2x2/4x4 region (SVG, PNG) and the per-class table of complementary regions")
  .requiredOption('--model <name>', 'zoo model name, e.g. resnet20')
  .requiredOption('--checkpoint <file>', 'its weights: .pth or .safetensors (a Trainer checkpoint too)')
  .option('--dataset <type>', 'fashion-mnist, cifar100, cifar10, cub200 or imagenet', 'fashion-mnist')
  .option('--data <dir>', 'the data set folder (default for fashion-mnist: /usr/share/datasets/fashion-mnist)')
  .option('--images <n>', 'test images to draw (default 8)')
  .option('--first <index>', 'the first test image to draw (default 0)')
  .option('--indices <list>', 'the test images to draw, e.g. 0,17,42 (instead of --images/--first)')
  .option('--out <dir>', 'writes explain.svg, explain.png, classes.md and classes.json there', 'explain')
  .option('--table-images <n>', 'test images the per-class table covers (default all)')
  .option('--batch-size <n>', 'batch size of the table pass', '100')
  .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
  .option('--threads <n>', 'intra-op threads')
  .option('--json', 'print the file paths and the table as JSON')
  .action((opts) => guarded(async () => {
    const { runExplain } = await import('./commands/explain.js');
    await runExplain(opts);
  }));

program
  .command('export')
  .description('write a trained model as ONNX (runs in ONNX Runtime and other ONNX runtimes)')
  .requiredOption('--model <name>', 'zoo model name, e.g. resnet8x4 or resnet8x4_sdd')
  .requiredOption('--checkpoint <file>', 'its weights: .pth or .safetensors (a Trainer checkpoint too)')
  .option('--format <format>', 'onnx', 'onnx')
  .option('--out <file>', 'the ONNX file (default: the checkpoint with .onnx)')
  .option('--num-classes <n>', 'classes of the classifier (default: those of --dataset)')
  .option('--dataset <type>', 'cifar (cifar100), cifar10, cub200 or imagenet: picks the model family and input size', 'cifar')
  .option('--multi-scale', "also output the SDD head's multi-scale logits (scaleLogits, batch x classes x regions)")
  .option('--M <scales>', 'SDD scales of the multi-scale output, e.g. 1,2,4 (default 1,2,4)')
  .option('--opset <n>', 'ONNX opset, 13 to 21 (default 17)')
  .option('--input-size <n>', 'input height and width (default: 32 for CIFAR models, 224 for ImageNet and CUB-200)')
  .option('--static-batch', 'fix the batch size to 1 (default: any batch size)')
  .action((opts) => guarded(async () => {
    const { runExport } = await import('./commands/export.js');
    await runExport(opts);
  }));

await program.parseAsync(process.argv);
