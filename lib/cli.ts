#!/usr/bin/env node
// The sdd-torch command line. `doctor` reports the installation; later commands train and evaluate.
import { Command } from 'commander';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkg = require('../package.json') as { version: string };

async function doctorCommand(opts: { json?: boolean }): Promise<void> {
  // Loading the addon can fail: report that as the doctor's finding, not as a stack trace.
  let report;
  try {
    const { doctor } = await import('./runtime.js');
    report = doctor();
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
    return;
  }
  if (opts.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const rows: [string, string][] = [
    ['sdd-torch', pkg.version],
    ['node', `${report.node} (N-API ${report.napi}, ${report.platform})`],
    ['libtorch', report.libtorch.version],
    ['libtorch from', `${report.libtorch.foundVia}: ${report.libtorch.cmakeDir}`],
    ['libtorch libs', report.libtorch.libDir],
    ['BLAS (build)', report.blas.buildConfig],
    ['BLAS (loaded)', report.blas.loaded.join('; ') || 'none mapped'],
    ['CUDA', report.libtorch.builtWithCuda
      ? `built with CUDA; available: ${report.cuda.available ? 'yes' : 'no'}; devices: ${report.cuda.deviceCount}`
      : 'CPU-only libtorch (no CUDA)'],
    ['threads', `${report.threads.intraOp} intra-op (${report.threads.cpus} CPUs; ${report.threads.parallelBackend})`],
    ['binary', `${report.binary.file} (${report.binary.kind})`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  if (report.blas.loaded.some((l) => /libblas\.so[^ ]*$/.test(l) && !/openblas|mkl|blis/i.test(l))) {
    console.log('\nwarning: the reference BLAS is in use (about 20x slower matmuls): apt-get install libopenblas0');
  }
}

const program = new Command();
program
  .name('sdd-torch')
  .description('Scale Decoupled Distillation and libtorch tensors for Node.js')
  .version(pkg.version);

program
  .command('doctor')
  .description('report Node, libtorch (version, origin), BLAS, CUDA, threads and the loaded binary')
  .option('--json', 'print the report as JSON')
  .action(doctorCommand);

await program.parseAsync(process.argv);
