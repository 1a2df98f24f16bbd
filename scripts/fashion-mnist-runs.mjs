// What `npm run demo` and `npm run experiment` share: Fashion-MNIST (Debian's dataset-fashion-mnist,
// opened by sdd.experiment as 3-channel images the transforms pad to 32x32 for the zoo's CIFAR
// models) and one training run, built by sdd.experiment from a config (a fresh model, SGD + cosine
// schedule, metrics.jsonl and checkpoints in its folder).
import os from 'node:os';
import path from 'node:path';
import * as sdd from 'sdd-torch';

export const FASHION_MNIST_ROOT = '/usr/share/datasets/fashion-mnist';

/** Command-line option `--name value`, or the default. */
export function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) {
    console.error(`--${name} needs a value`);
    process.exit(2);
  }
  return v;
}

/** A positive integer option: a clear message and exit 2 otherwise. */
export function intOption(name, fallback) {
  const raw = option(name, String(fallback));
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer (got ${JSON.stringify(raw)})`);
    process.exit(2);
  }
  return n;
}

/** The first n images of a data set (a copy; the rest is freed). */
function first(ds, n) {
  if (n >= ds.length) return ds;
  const images = sdd.tidy(() => ds.images.narrow(0, 0, n).clone());
  const subset = new sdd.data.TensorDataset(images, ds.targets.slice(0, n), { classes: ds.classes, owned: true });
  ds.dispose();
  return subset;
}

/** The first nTrain training and nTest test images; exits with the install command when the data set is missing. */
export async function loadFashionMnist(nTrain, nTest) {
  let train, test;
  try {
    [train, test] = await Promise.all(['train', 'test'].map((split) => sdd.experiment.openDataset('fashion-mnist', FASHION_MNIST_ROOT, split)));
  } catch (e) {
    console.error(`${e.message}\nInstall the data set: apt-get install dataset-fashion-mnist (npm install does it as root on Debian/Ubuntu).`);
    process.exit(1);
  }
  return { trainSet: first(train, nTrain), testSet: first(test, nTest) };
}

/** The test loader of the runs (the experiment layer's Fashion-MNIST test transforms). */
export function testLoader(testSet, device) {
  return new sdd.data.DataLoader(testSet, { batchSize: 256, device, transforms: sdd.experiment.datasetRecipe('fashion-mnist').transforms('test') });
}

export const OPTIMIZER_TEXT = 'SGD lr 0.05 momentum 0.9 weight decay 5e-4, cosine schedule, batch 64';

/** The shipped Fashion-MNIST teacher (`npm run train-teacher` made it): its weights and description. */
export const SHIPPED_TEACHER = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'teachers', 'fashion-mnist-resnet20');

/** Loads the shipped teacher (or a resnet20 .safetensors), frozen on `device`; exits with a message when missing. */
export async function loadTeacher(file, device) {
  const weights = file ?? path.join(SHIPPED_TEACHER, 'resnet20.safetensors');
  let sd;
  try {
    sd = await sdd.checkpoint.load(weights);
  } catch (e) {
    console.error(`cannot read the teacher ${weights}: ${e.message}\n(the repository ships it under teachers/; \`npm run train-teacher\` makes it again)`);
    process.exit(1);
  }
  const teacher = sdd.models.create('resnet20', { numClasses: 10 });
  teacher.loadStateDict(sd);
  sdd.dispose(Object.values(sd));
  return { teacher: teacher.to(device).freeze(), file: weights };
}

/**
 * Trains a fresh `model` with `method` for `epochs` epochs into `<out>/<name>` on { trainSet, testSet };
 * `teacher` is a model or stored outputs (sdd.distillers.OfflineTeacher, then augment must be false);
 * `warmup` is the DKD family's loss warm-up in epochs; `settings` the method's settings over the
 * config's (e.g. { complementaryWeight: 4 }). Returns the run's figures and the trained model.
 */
export async function trainRun({ name, method, model, teacher, epochs, seed, device, data, out, warmup, settings, augment = true,
  batchSize = 64, lr = 0.05, quiet = false }) {
  const config = {
    DATASET: { TYPE: 'fashion-mnist', TEST: { BATCH_SIZE: 256 } },
    DISTILLER: { TYPE: method, TEACHER: 'resnet20', STUDENT: model },
    SOLVER: { BATCH_SIZE: batchSize, EPOCHS: epochs, LR: lr, MOMENTUM: 0.9, WEIGHT_DECAY: 5e-4, SCHEDULE: 'cosine' },
    ...(warmup === undefined ? {} : { DKD: { WARMUP: warmup } }),
  };
  const experiment = await sdd.experiment.build(config, {
    datasets: { train: data.trainSet, test: data.testSet }, teacher, seed, device, out: path.join(out, name), augment,
    ...(warmup === undefined || method !== 'sdd_dkd' ? {} : { warmup }), ...(settings ? { settings } : {}),
    progress: quiet ? false : 'auto', trainer: { log: quiet ? () => {} : (l) => console.log(`  [${name}] ${l}`) },
  });
  const t0 = performance.now();
  const r = await experiment.run();
  // Ctrl-C / SIGTERM: the Trainer finished the step and wrote its checkpoint; stop the whole script
  // (not only this run) with the conventional 128 + signal number
  if (r.interrupted) {
    console.error(`[${name}] interrupted by ${r.signal ?? 'a signal'}: stopped (its checkpoint is in ${path.join(out, name)})`);
    process.exit(128 + (r.signal ? os.constants.signals[r.signal] ?? 2 : 2));
  }
  const seconds = (performance.now() - t0) / 1000;
  const { student } = experiment;
  await sdd.checkpoint.save(student.stateDict(), path.join(out, name, 'final.safetensors'));
  const last = r.history[r.history.length - 1];
  return {
    name, method, model, seed, top1: last.test.top1, best: r.best.top1, seconds,
    history: r.history.map((h) => ({ epoch: h.epoch, top1: h.test.top1, loss: h.train.loss })), student,
  };
}
