// What `npm run demo` and `npm run experiment` share: Fashion-MNIST (Debian's dataset-fashion-mnist)
// as 3-channel 32x32 images for the zoo's CIFAR models, the loaders, and one training run through
// the Trainer (a fresh model, SGD + cosine schedule, metrics.jsonl and checkpoints in its folder).
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

/** The zoo's CIFAR models take 3x32x32: repeat the gray channel (the transforms pad 28 -> 32). */
function threeChannels(ds, n) {
  const count = Math.min(n, ds.length);
  const images = sdd.tidy(() => ds.images.narrow(0, 0, count).unsqueeze(1).expand([count, 3, 28, 28]).contiguous());
  return new sdd.data.TensorDataset(images, ds.targets.subarray(0, count), { classes: ds.classes, owned: true });
}

/** The first nTrain training and nTest test images; exits with the install command when the data set is missing. */
export async function loadFashionMnist(nTrain, nTest) {
  let train, test;
  try {
    [train, test] = await Promise.all([
      sdd.data.fashionMnist(FASHION_MNIST_ROOT, { split: 'train' }),
      sdd.data.fashionMnist(FASHION_MNIST_ROOT, { split: 'test' }),
    ]);
  } catch (e) {
    console.error(`${e.message}\nInstall the data set: apt-get install dataset-fashion-mnist (npm install does it as root on Debian/Ubuntu).`);
    process.exit(1);
  }
  return { trainSet: threeChannels(train, nTrain), testSet: threeChannels(test, nTest) };
}

const MEAN = [0.286, 0.286, 0.286], STD = [0.353, 0.353, 0.353];

/** Training loader (order from the seed, light augmentation) and test loader (no augmentation). */
export function makeLoaders(trainSet, testSet, { seed, device }) {
  const T = sdd.transforms;
  return {
    train: new sdd.data.DataLoader(trainSet, { batchSize: 64, shuffle: true, seed, device,
      transforms: [T.pad(2), T.randomCrop(32, { padding: 2 }), T.randomHorizontalFlip(), T.normalize(MEAN, STD)] }),
    test: new sdd.data.DataLoader(testSet, { batchSize: 256, device, transforms: [T.pad(2), T.normalize(MEAN, STD)] }),
  };
}

export const OPTIMIZER = { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 };
export const OPTIMIZER_TEXT = 'SGD lr 0.05 momentum 0.9 weight decay 5e-4, cosine schedule, batch 64';

/**
 * Trains a fresh `model` with `method` for `epochs` epochs into `<out>/<name>`; `settings` are the
 * method's own options (temperature, warmup, ...). Returns the run's figures and the trained model.
 */
export async function trainRun({ name, method, model, teacher, epochs, seed, device, loaders, out, config, settings = {}, quiet = false }) {
  sdd.manualSeed(seed);
  const student = sdd.models.create(model, { numClasses: 10 }).to(device);
  const optimizer = sdd.optim.sgd(student.parameters(), OPTIMIZER);
  const distiller = sdd.distillers.create(method, { teacher, student, optimizer, ...settings });
  const trainer = new sdd.Trainer({ distiller, train: loaders.train, test: loaders.test, epochs, outDir: path.join(out, name),
    schedule: sdd.schedules.cosine({ epochs }), config: { ...config, run: name, method, model, seed, settings },
    progress: quiet ? false : undefined,
    log: (l) => console.log(`  [${name}] ${l}`) });
  const t0 = performance.now();
  const r = await trainer.fit();
  const seconds = (performance.now() - t0) / 1000;
  await sdd.checkpoint.save(student.stateDict(), path.join(out, name, 'final.safetensors'));
  const last = r.history[r.history.length - 1];
  return {
    name, method, model, seed, top1: last.test.top1, best: r.best.top1, seconds,
    history: r.history.map((h) => ({ epoch: h.epoch, top1: h.test.top1, loss: h.train.loss })), student,
  };
}
