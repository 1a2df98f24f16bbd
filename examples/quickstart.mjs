// A first taste of sdd-torch: tensors, autograd and an SD-KD distillation step loop on synthetic
// data. A fixed "teacher" feature extractor + classifier labels the data; a smaller student learns
// from the labels (cross-entropy) and from the teacher's multi-scale logits (SD-KD).
// Run: node examples/quickstart.mjs
import * as sdd from 'sdd-torch';

sdd.manualSeed(0);
const B = 64, C = 16, H = 8, W = 8, K = 10, steps = 150;

// Teacher: a fixed random 1x1 "conv" (C <- 3 channels) + ReLU, then a shared classifier.
const tConv = sdd.randn([3, C]);
const tFc = sdd.randn([K, C]).mul(0.5);
const teacherFeatures = (x) => x.permute([0, 2, 3, 1]).matmul(tConv).relu().permute([0, 3, 1, 2]); // B x C x H x W

// Student: its own 1x1 conv and classifier, trained.
const sConv = sdd.randn([3, C]).mul(0.1).requiresGrad_();
const sFc = sdd.zeros([K, C]).requiresGrad_();
const sBias = sdd.zeros([K]).requiresGrad_();
const params = [sConv, sFc, sBias];

function batch() {
  return sdd.tidy(() => {
    const images = sdd.randn([B, 3, H, W]);
    const feats = teacherFeatures(images);
    const targets = sdd.noGrad(() => feats.mean([2, 3]).matmul(tFc.T).argmax(1)); // the teacher's labels
    return { images, targets, teacherLogits: sdd.scaleLogits(feats, tFc, null) }; // B x K x 21
  });
}

console.log(`sdd-torch quick start: SD-KD on synthetic data (B=${B}, C=${C}, ${H}x${W} maps, K=${K}, 21 regions)`);
for (let step = 1; step <= steps; step++) {
  const { images, targets, teacherLogits } = batch();
  const stats = sdd.tidy(() => {
    const feats = images.permute([0, 2, 3, 1]).matmul(sConv).relu().permute([0, 3, 1, 2]);
    const multi = sdd.scaleLogits(feats, sFc, sBias);          // B x K x 21 (same classifier)
    const logits = multi.select(2, 0);                         // region 0 = the global logit
    const ce = sdd.losses.crossEntropy(logits, targets);
    const sd = sdd.losses.sddKd(multi, teacherLogits, targets, { temperature: 4, details: true });
    const loss = ce.mul(0.1).add(sd.loss.mul(0.9));
    loss.backward();
    sdd.noGrad(() => { for (const p of params) { p.sub_(p.grad, 0.5); p.zeroGrad(); } });
    const acc = logits.argmax(1).eq(targets).float().mean().item();
    return { loss: loss.item(), ce: ce.item(), kd: sd.loss.item(), complementary: sd.complementary, acc };
  });
  sdd.dispose([images, targets, teacherLogits]);
  if (step === 1 || step % 25 === 0) {
    console.log(`step ${String(step).padStart(3)}  loss ${stats.loss.toFixed(4)}  ce ${stats.ce.toFixed(4)}  sd-kd ${stats.kd.toFixed(4)}  ` +
      `complementary regions ${String(stats.complementary).padStart(3)}/${20 * B}  accuracy ${(100 * stats.acc).toFixed(1)}%`);
  }
}
console.log(`live tensors at the end: ${sdd.memory().liveTensors} (the parameters and the teacher)`);
