import { createHash } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as sdd from '../lib/index.js';

const { models, nn } = sdd;

// The reference zoo (shicaiwei123/SDD-CVPR2024 mdistiller models, the *_sdd constructors with
// num_classes 100 / ImageNet 1000, M='[1,2,4]'), as PyTorch reports it: trainable parameters,
// state-dict entries, and the first 16 hex digits of sha256(JSON [[key, shape], ...]) in order
// (keys and shapes computed from the reference definitions with torch 1.13).
const REFERENCE: [family: 'cifar' | 'imagenet', name: string, params: number, entries: number, keysSha: string][] = [
  ['cifar', 'resnet8', 83892, 56, '8454cf760e88e282'],
  ['cifar', 'resnet14', 181108, 92, '9fe2d47f83b316b5'],
  ['cifar', 'resnet20', 278324, 128, 'f9dffb5cd056d222'],
  ['cifar', 'resnet32', 472756, 200, 'b8c084b09c3e7845'],
  ['cifar', 'resnet44', 667188, 272, '8f2eb9ffdc5da52f'],
  ['cifar', 'resnet56', 861620, 344, 'a0b7f7cd4900c329'],
  ['cifar', 'resnet110', 1736564, 668, '9d552da9247104fa'],
  ['cifar', 'resnet8x4', 1233540, 62, '0b8003cb891e2402'],
  ['cifar', 'resnet32x4', 7433860, 206, 'aecfcad6824123a5'],
  ['cifar', 'wrn_16_1', 180916, 82, 'a7ef59715312da46'],
  ['cifar', 'wrn_16_2', 703284, 83, 'ed178d5242382ddb'],
  ['cifar', 'wrn_40_1', 569780, 226, '1e65af2e365ab351'],
  ['cifar', 'wrn_40_2', 2255156, 227, 'f50f409af9f63048'],
  ['cifar', 'vgg8', 3965028, 37, 'ce35fd5c12ab155f'],
  ['cifar', 'vgg11', 9277284, 58, 'b3ec7411fc36322e'],
  ['cifar', 'vgg13', 9462180, 72, '20ef2419bbf1b10a'],
  ['cifar', 'vgg16', 14774436, 93, 'a4f169502f98906b'],
  ['cifar', 'vgg19', 20086692, 114, '3ff64c602411bb17'],
  ['cifar', 'MobileNetV2', 812836, 320, 'cccb917695b99fd6'],
  ['cifar', 'ShuffleV1', 949258, 296, '71109132f0772d4e'],
  ['cifar', 'ShuffleV2', 1355528, 338, '47ee01a49bb03be4'],
  ['cifar', 'ResNet18', 11220132, 122, 'f7566e411bc6cfca'],
  ['cifar', 'ResNet50', 23705252, 320, '54d081fac0265c06'],
  ['imagenet', 'ResNet18', 11689512, 122, 'ee7a67a94df88219'],
  ['imagenet', 'ResNet34', 21797672, 218, '560e815d542c9f3d'],
  ['imagenet', 'ResNet50', 25557032, 320, 'b16eb9b46153f1f3'],
  ['imagenet', 'ResNet101', 44549160, 626, 'ef97dd14ba0f32b9'],
  ['imagenet', 'ResNet152', 60192808, 932, 'd04fa535adb93f13'],
  ['imagenet', 'MobileNetV2', 4231976, 164, '41fc6cce9724135e'],
];

function keysSha(model: sdd.nn.Module): string {
  const keys = Object.entries(model.stateDict()).map(([k, v]) => [k, v.shape]);
  return createHash('sha256').update(JSON.stringify(keys)).digest('hex').slice(0, 16);
}

describe('model zoo: architecture, keys and parameter counts of the reference', () => {
  for (const [family, name, params, entries, sha] of REFERENCE) {
    it(`${family} ${name}: ${params.toLocaleString('en')} parameters, forward + backward`, () => {
      sdd.manualSeed(0);
      // CIFAR MobileNetV2's last map is 2x2: the [1, 2, 4] head repeats cells only when asked
      const model = models.create(`${name}_sdd`, { dataset: family, ...(family === 'cifar' && name === 'MobileNetV2' ? { allowReplicate: true } : {}) });
      expect(model.numParameters()).toBe(params);
      expect(Object.keys(model.stateDict()).length).toBe(entries);
      expect(keysSha(model)).toBe(sha);
      const K = family === 'cifar' ? 100 : 1000;
      const hw = family === 'cifar' ? 32 : 128; // ImageNet models at 128x128 keep the test quick (4x4 last map)
      sdd.tidy(() => {
        const x = sdd.randn([2, 3, hw, hw]);
        const out = model.forward(x);
        expect(out.logits.shape).toEqual([2, K]);
        expect(out.scaleLogits.shape).toEqual([2, K, 21]);
        expect(out.features.map.shape[0]).toBe(2);
        expect(out.features.pooled.shape).toEqual([2, out.features.map.shape[1]]);
        expect(out.features.stages.length).toBeGreaterThanOrEqual(4);
        for (const t of [out.features.map, ...out.features.stages, ...(out.features.preact ?? [])]) expect(t.isDisposed).toBe(false);
        expect(x.isDisposed).toBe(false);
        out.logits.sum().add(out.scaleLogits.mean()).backward();
      });
      for (const [n, p] of model.namedParameters()) {
        expect(p.grad?.shape, n).toEqual(p.shape);
      }
      const finite = sdd.tidy(() => model.parameters().every((p) => p.grad!.isfinite().all().item() === true));
      expect(finite).toBe(true);
      model.zeroGrad();
    });
  }
});

describe('models registry', () => {
  it('resolves the reference names (with _sdd), per data set, and lists them', () => {
    expect(models.resolve('resnet32x4_sdd')).toEqual({ family: 'cifar', name: 'resnet32x4' });
    expect(models.resolve('vgg13_bn')).toEqual({ family: 'cifar', name: 'vgg13' });
    expect(models.resolve('MobileNetV2_sdd')).toEqual({ family: 'cifar', name: 'MobileNetV2' });
    expect(models.resolve('MobileNetV2_sdd', 'imagenet')).toEqual({ family: 'imagenet', name: 'MobileNetV2' });
    expect(models.resolve('ResNet34_sdd')).toEqual({ family: 'imagenet', name: 'ResNet34' });
    expect(models.resolve('ShuffleV1_sdd', 'cub200')).toEqual({ family: 'cifar', name: 'ShuffleV1' });
    expect(models.list('imagenet')).toEqual(['ResNet18', 'ResNet34', 'ResNet50', 'ResNet101', 'ResNet152', 'MobileNetV2']);
    expect(() => models.create('resnet9000')).toThrow('models.create: unknown model "resnet9000"; CIFAR: resnet8, resnet14');
    expect(() => models.create('resnet8', { bogus: 1 } as never)).toThrow("Unknown option 'bogus' in models.create options");
    const m = models.create('MobileNetV2', { dataset: 'imagenet', numClasses: 10 });
    expect(m).toBeInstanceOf(models.MobileNetV1);
    expect(m.numClasses).toBe(10);
    expect(models.create('resnet8', { dataset: 'cifar10' }).numClasses).toBe(10);
  });

  it('types: create() returns an SddModel whose forward gives { logits, scaleLogits, features }', () => {
    const m = models.create('resnet8');
    expectTypeOf(m).toEqualTypeOf<sdd.models.SddModel>();
    expectTypeOf(m.forward).returns.toEqualTypeOf<sdd.models.ModelOutput>();
    expectTypeOf<sdd.models.ModelOutput['scaleLogits']>().toEqualTypeOf<sdd.Tensor>();
    expectTypeOf(m.stateDict()).toEqualTypeOf<Record<string, sdd.Tensor>>();
    expectTypeOf(models.register).parameter(1).toEqualTypeOf<sdd.models.ModelFactory>();
  });

  it('lets users register their own models', () => {
    class Tiny extends models.SddModel {
      conv = new nn.Conv2d(3, 8, 3, { padding: 1 });
      fc: InstanceType<typeof nn.Linear>;
      constructor(o: sdd.models.ModelOptions) {
        super('tiny', o, { numClasses: 100 });
        this.fc = new nn.Linear(8, this.numClasses);
      }
      classifierLayer() { return this.fc; }
      protected body(x: sdd.Tensor) {
        const map = this.conv.forwardFused(x, { activation: 'relu' });
        return { map, stages: [map] };
      }
    }
    models.register('tiny', (o) => new Tiny(o));
    expect(() => models.register('tiny', (o) => new Tiny(o))).toThrow('"tiny" is already registered for cifar');
    const t = models.create('tiny_sdd', { numClasses: 7, scales: [1, 2] });
    const out = t.forward(sdd.randn([2, 3, 8, 8]));
    expect(out.scaleLogits.shape).toEqual([2, 7, 5]);
    expect(Object.keys(t.stateDict())).toEqual(['conv.weight', 'conv.bias', 'fc.weight', 'fc.bias']);
  });

  it('a forward frees its intermediates: nothing but the outputs stays alive (train, eval, frozen)', () => {
    const m = models.create('ShuffleV2');
    const x = sdd.randn([2, 3, 32, 32]);
    const live = () => sdd.memory().liveTensors;
    sdd.tidy(() => { m.forward(x).logits.sum().backward(); });
    m.zeroGrad();
    // counted inside an outer tidy(): tensors that stay there are not handed to the GC safety net,
    // whose sweep could free older garbage between the two readings
    sdd.tidy(() => {
      const before = live();
      const out = m.forward(x);
      const returned = new Set([out.logits, out.scaleLogits, out.features.map, out.features.pooled, ...out.features.stages, ...(out.features.preact ?? [])]);
      expect(live() - before).toBe(returned.size);
      sdd.dispose(out);
    });
    m.freeze();
    sdd.tidy(() => { m.forward(x); });
    const before = live();
    sdd.tidy(() => { m.forward(x); });
    expect(live()).toBeLessThanOrEqual(before);
  });

  it('channels-last trains like the default layout (outputs, gradients, BN statistics)', () => {
    sdd.manualSeed(3);
    const a = models.create('resnet8');
    const b = models.create('resnet8');
    b.loadStateDict(a.stateDict());
    b.toChannelsLast();
    const x = sdd.randn([4, 3, 32, 32]);
    const oa = a.forward(x), ob = b.forward(x);
    expect(ob.features.map.isContiguous()).toBe(false); // NHWC all the way
    expect(ob.logits.allclose(oa.logits, { atol: 1e-4, rtol: 1e-4 })).toBe(true);
    oa.logits.square().sum().backward();
    ob.logits.square().sum().backward();
    // relative L2 error per gradient: a ReLU whose input is within rounding of 0 may flip between
    // layouts (both are right to float32 precision), so no elementwise max here
    const gb = new Map(b.namedParameters());
    for (const [n, p] of a.namedParameters()) {
      const rel = sdd.tidy(() => (gb.get(n)!.grad!.sub(p.grad!).norm().item() as number) / ((p.grad!.norm().item() as number) + 1e-12));
      expect(rel, n).toBeLessThan(1e-3);
    }
    expect(b.stateDict()['bn1.running_var']!.allclose(a.stateDict()['bn1.running_var']!, { atol: 1e-5 })).toBe(true);
  });

  it('scales and the SDD head: region 0 equals the global logits on CIFAR maps; MobileNetV2 repeats cells', () => {
    sdd.manualSeed(1);
    const m = models.create('resnet8', { scales: [1, 2] }).eval();
    const out = sdd.noGrad(() => m.forward(sdd.randn([3, 3, 32, 32])));
    expect(out.scaleLogits.shape).toEqual([3, 100, 5]);
    expect(out.scaleLogits.select(2, 0).allclose(out.logits, { atol: 1e-5 })).toBe(true);
    // the reference's CIFAR MobileNetV2 has a 2x2 last map: [1, 2, 4] repeats cells, only when asked
    expect(() => sdd.noGrad(() => models.create('MobileNetV2').eval().forward(sdd.randn([1, 3, 32, 32])))).toThrow(/allowReplicate/);
    const mv2 = models.create('MobileNetV2', { allowReplicate: true }).eval();
    const o2 = sdd.noGrad(() => mv2.forward(sdd.randn([2, 3, 32, 32])));
    expect(o2.features.map.shape).toEqual([2, 1280, 2, 2]);
    expect(o2.scaleLogits.shape).toEqual([2, 100, 21]);
  });
});
