// nn layers as torch ops: convolution (padding modes, groups, dilation), batch norm (training with
// running-stat update, eval), the fused conv -> batch norm -> residual -> activation step the
// model zoo runs per layer, pooling, dropout, channel shuffle, initialisers and BN folding.
//
// One N-API call per layer forward. Layer settings travel as named fields of one options object
// per kind (lib/nn/options.ts builds it once per layer, and the functional forms build the same
// one), read into a small struct by one conversion function each (ToConvOptions, ...): the field
// names are the interface, not positions in an array. lib/nn validates everything first; ATen
// checks shapes/dtypes/devices and its messages reach JS through the one guard (SDD_EXPORT).
#include "common.h"

#include <ATen/core/grad_mode.h>

#include <cmath>
#include <limits>

namespace sdd {

using CI = Napi::CallbackInfo;

// ---------------------------------------------------------------- options

static Napi::Object Options(const Napi::Value& v, const char* what) {
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), std::string("Expected an options object for ") + what);
  return v.As<Napi::Object>();
}

// A [height, width] field.
static void ReadPair(const Napi::Object& o, const char* key, int64_t out[2]) {
  std::vector<int64_t> v = ToIntList(o.Get(key), key);
  if (v.size() != 2) throw Napi::TypeError::New(o.Env(), std::string("Expected [height, width] for ") + key);
  out[0] = v[0];
  out[1] = v[1];
}

// Conv2d padding modes, PyTorch's padding_mode names (native.codes.paddingMode).
enum class PaddingMode { Zeros, Reflect, Replicate, Circular };
static const char* const kPaddingModes[] = {"zeros", "reflect", "replicate", "circular"};
static_assert(sizeof(kPaddingModes) / sizeof(kPaddingModes[0]) == static_cast<size_t>(PaddingMode::Circular) + 1,
              "kPaddingModes names every PaddingMode");

// { stride: [h, w], padding: [h, w], dilation: [h, w], groups, paddingMode: 'zeros' | ... }
struct ConvOptions {
  int64_t stride[2], padding[2], dilation[2], groups;
  PaddingMode mode;
};

static ConvOptions ToConvOptions(const Napi::Value& v) {
  Napi::Object o = Options(v, "conv options");
  ConvOptions c;
  ReadPair(o, "stride", c.stride);
  ReadPair(o, "padding", c.padding);
  ReadPair(o, "dilation", c.dilation);
  c.groups = ToInt(o.Get("groups"), "groups");
  c.mode = static_cast<PaddingMode>(IndexOfName(kPaddingModes, ToString(o.Get("paddingMode"), "paddingMode"), "padding mode"));
  return c;
}

static at::Tensor Conv(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b,
                       const ConvOptions& c) {
  at::IntArrayRef stride(c.stride, 2), dilation(c.dilation, 2);
  if (c.mode == PaddingMode::Zeros || (c.padding[0] == 0 && c.padding[1] == 0)) {
    return at::conv2d(x, w, b, stride, at::IntArrayRef(c.padding, 2), dilation, c.groups);
  }
  // As PyTorch's Conv2d: pad explicitly ([left, right, top, bottom]), then convolve without padding.
  at::Tensor xp = at::pad(x, {c.padding[1], c.padding[1], c.padding[0], c.padding[0]}, kPaddingModes[static_cast<int>(c.mode)]);
  int64_t zero[2] = {0, 0};
  return at::conv2d(xp, w, b, stride, at::IntArrayRef(zero, 2), dilation, c.groups);
}

// { momentum (null: cumulative average, PyTorch's momentum=None), eps, syncGroup (0: none) }
struct BatchNormOptions {
  c10::optional<double> momentum;
  double eps;
  int syncGroup;  // > 0: SyncBatchNorm over that process group (sdd.dist.convertSyncBatchNorm)
};

static BatchNormOptions ToBatchNormOptions(const Napi::Value& v) {
  Napi::Object o = Options(v, "batch norm options");
  BatchNormOptions b;
  Napi::Value m = o.Get("momentum");
  if (!IsNullish(m)) b.momentum = ToDouble(m, "momentum");
  b.eps = ToDouble(o.Get("eps"), "eps");
  b.syncGroup = static_cast<int>(ToInt(o.Get("syncGroup"), "syncGroup"));
  return b;
}

// Batch norm state: weight, bias, running mean/var, num_batches_tracked (each may be absent).
struct BnState {
  c10::optional<at::Tensor> weight, bias, mean, var, tracked;
};

static BnState ReadBnState(const CI& info, size_t at) {
  return BnState{ToOptionalTensor(info[at], "bn weight"), ToOptionalTensor(info[at + 1], "bn bias"),
                 ToOptionalTensor(info[at + 2], "running_mean"), ToOptionalTensor(info[at + 3], "running_var"),
                 ToOptionalTensor(info[at + 4], "num_batches_tracked")};
}

// F.batch_norm as nn.BatchNormNd.forward calls it: in training the batch statistics normalise and
// (when tracked) the running statistics are updated in place with the unbiased batch variance;
// num_batches_tracked counts the updates. In eval the running statistics are used, or the batch's
// when the layer tracks none.
static at::Tensor BatchNorm(const at::Tensor& x, const BnState& s, const BatchNormOptions& o, bool training) {
  c10::optional<double> momentum = o.momentum;
  if (training && s.tracked && s.tracked->defined()) {
    {
      at::NoGradGuard ng;
      s.tracked->add_(1);
    }
    if (!momentum) momentum = 1.0 / s.tracked->item<double>();
  }
  double m = momentum.value_or(0.0);
  if (training && o.syncGroup > 0) return SyncBatchNormTrain(o.syncGroup, x, s.weight, s.bias, s.mean, s.var, m, o.eps);
  bool useBatchStats = training || (!s.mean && !s.var);
  return at::batch_norm(x, s.weight, s.bias, s.mean, s.var, useBatchStats, m, o.eps,
                        at::globalContext().userEnabledCuDNN());
}

// Activations (native.codes.activation): out of place for nnAct (the input may be a user's
// tensor), in place for the fused calls (their input is a fresh result of the same call;
// autograd saves what it needs). `param` is the negative slope of leakyRelu.
struct Activation {
  const char* name;
  at::Tensor (*apply)(const at::Tensor& x, double param);
  void (*applyInPlace)(at::Tensor& t, double param);
};
static const Activation kActivations[] = {
    {"none", [](const at::Tensor& x, double) { return x; }, [](at::Tensor&, double) {}},
    {"relu", [](const at::Tensor& x, double) { return at::relu(x); }, [](at::Tensor& t, double) { t.relu_(); }},
    {"relu6", [](const at::Tensor& x, double) { return at::hardtanh(x, 0, 6); },
     [](at::Tensor& t, double) { t.clamp_(0, 6); }},
    {"leakyRelu", [](const at::Tensor& x, double p) { return at::leaky_relu(x, p); },
     [](at::Tensor& t, double p) { at::leaky_relu_(t, p); }},
    {"sigmoid", [](const at::Tensor& x, double) { return at::sigmoid(x); }, [](at::Tensor& t, double) { t.sigmoid_(); }},
    {"tanh", [](const at::Tensor& x, double) { return at::tanh(x); }, [](at::Tensor& t, double) { t.tanh_(); }},
};

// ---------------------------------------------------------------- layers

// conv2d(x, weight, bias|null, convOptions)
static Napi::Value Conv2dJs(const CI& info) {
  return Wrap(info.Env(), Conv(Unwrap(info[0], "input"), Unwrap(info[1], "weight"),
                               ToOptionalTensor(info[2], "bias"), ToConvOptions(info[3])));
}

// batchNorm(x, weight, bias, runningMean, runningVar, numBatchesTracked, bnOptions, training)
static Napi::Value BatchNormJs(const CI& info) {
  const at::Tensor& x = Unwrap(info[0], "input");
  return Wrap(info.Env(), BatchNorm(x, ReadBnState(info, 1), ToBatchNormOptions(info[6]), ToBool(info[7], "training")));
}

// convBnAct(x, weight, bias|null, convOptions,
//           bnWeight, bnBias, runningMean, runningVar, numBatchesTracked, bnOptions|null, training,
//           residual|null, activation, actParam)
// conv -> batch norm (skipped when bnOptions is null: a folded or BN-less conv) -> + residual ->
// activation, in one call. The zoo's conv/BN/ReLU triples and residual tails run through this.
static Napi::Value ConvBnActJs(const CI& info) {
  at::Tensor y = Conv(Unwrap(info[0], "input"), Unwrap(info[1], "weight"), ToOptionalTensor(info[2], "bias"),
                      ToConvOptions(info[3]));
  if (!IsNullish(info[9])) y = BatchNorm(y, ReadBnState(info, 4), ToBatchNormOptions(info[9]), ToBool(info[10], "training"));
  auto residual = ToOptionalTensor(info[11], "residual");
  if (residual) y.add_(*residual);
  CodeEntry(kActivations, info[12], "activation").applyInPlace(y, ToDouble(info[13], "actParam"));
  return Wrap(info.Env(), y);
}

// addAct(a, b, activation, actParam): a + b, then the activation (residual joins).
static Napi::Value AddActJs(const CI& info) {
  at::Tensor y = at::add(Unwrap(info[0], "input"), Unwrap(info[1], "other"));
  CodeEntry(kActivations, info[2], "activation").applyInPlace(y, ToDouble(info[3], "actParam"));
  return Wrap(info.Env(), y);
}

// act(x, activation, actParam): out of place.
static Napi::Value ActJs(const CI& info) {
  const Activation& act = CodeEntry(kActivations, info[1], "activation");
  return Wrap(info.Env(), act.apply(Unwrap(info[0], "input"), ToDouble(info[2], "actParam")));
}

// maxPool2d(x, { kernelSize: [h, w], stride, padding, dilation, ceilMode })
struct MaxPoolOptions {
  int64_t kernel[2], stride[2], padding[2], dilation[2];
  bool ceilMode;
};

static MaxPoolOptions ToMaxPoolOptions(const Napi::Value& v) {
  Napi::Object o = Options(v, "max pool options");
  MaxPoolOptions p;
  ReadPair(o, "kernelSize", p.kernel);
  ReadPair(o, "stride", p.stride);
  ReadPair(o, "padding", p.padding);
  ReadPair(o, "dilation", p.dilation);
  p.ceilMode = ToBool(o.Get("ceilMode"), "ceilMode");
  return p;
}

static Napi::Value MaxPool2dJs(const CI& info) {
  MaxPoolOptions p = ToMaxPoolOptions(info[1]);
  return Wrap(info.Env(), at::max_pool2d(Unwrap(info[0], "input"), at::IntArrayRef(p.kernel, 2), at::IntArrayRef(p.stride, 2),
                                         at::IntArrayRef(p.padding, 2), at::IntArrayRef(p.dilation, 2), p.ceilMode));
}

// avgPool2d(x, { kernelSize: [h, w], stride, padding, ceilMode, countIncludePad, divisorOverride (null: none) })
struct AvgPoolOptions {
  int64_t kernel[2], stride[2], padding[2];
  bool ceilMode, countIncludePad;
  c10::optional<int64_t> divisorOverride;
};

static AvgPoolOptions ToAvgPoolOptions(const Napi::Value& v) {
  Napi::Object o = Options(v, "avg pool options");
  AvgPoolOptions p;
  ReadPair(o, "kernelSize", p.kernel);
  ReadPair(o, "stride", p.stride);
  ReadPair(o, "padding", p.padding);
  p.ceilMode = ToBool(o.Get("ceilMode"), "ceilMode");
  p.countIncludePad = ToBool(o.Get("countIncludePad"), "countIncludePad");
  Napi::Value d = o.Get("divisorOverride");
  if (!IsNullish(d)) p.divisorOverride = ToInt(d, "divisorOverride");
  return p;
}

static Napi::Value AvgPool2dJs(const CI& info) {
  AvgPoolOptions p = ToAvgPoolOptions(info[1]);
  return Wrap(info.Env(), at::avg_pool2d(Unwrap(info[0], "input"), at::IntArrayRef(p.kernel, 2), at::IntArrayRef(p.stride, 2),
                                         at::IntArrayRef(p.padding, 2), p.ceilMode, p.countIncludePad, p.divisorOverride));
}

// adaptiveAvgPool2d(x, [outH, outW])
static Napi::Value AdaptiveAvgPool2dJs(const CI& info) {
  return Wrap(info.Env(), at::adaptive_avg_pool2d(Unwrap(info[0], "input"), ToIntList(info[1], "outputSize")));
}

// dropout(x, p, training)
static Napi::Value DropoutJs(const CI& info) {
  return Wrap(info.Env(), at::dropout(Unwrap(info[0], "input"), ToDouble(info[1], "p"), ToBool(info[2], "training")));
}

// channelShuffle(x, groups): [N, C, H, W] -> [N, g, C/g, H, W] -> transpose(1, 2) -> [N, C, H, W], as
// the reference's ShuffleBlock. The memory format of the input is kept (channels-last stays so).
static Napi::Value ChannelShuffleJs(const CI& info) {
  const at::Tensor& x = Unwrap(info[0], "input");
  int64_t g = ToInt(info[1], "groups");
  TORCH_CHECK(x.dim() == 4, "channelShuffle expects [N, C, H, W] but got shape ", x.sizes());
  TORCH_CHECK(g > 0 && x.size(1) % g == 0, "channelShuffle: ", x.size(1), " channels do not split into ", g, " groups");
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  at::MemoryFormat fmt = x.suggest_memory_format();
  at::Tensor y = x.reshape({N, g, C / g, H, W}).transpose(1, 2).reshape({N, C, H, W});
  if (fmt == at::MemoryFormat::ChannelsLast && !y.is_contiguous(fmt)) y = y.contiguous(fmt);
  return Wrap(info.Env(), y);
}

// ---------------------------------------------------------------- initialisers (in place, no grad)

// init(t, kind, a, b), in place without grad. Kinds (native.codes.init): normal_(mean a, std b),
// uniform_(a, b), fill_(a), zero_(). The bounds/stds are computed in lib/nn/init.ts with the
// reference's own formulas, so the same seed draws the same numbers as PyTorch (same generator,
// same kernels, same order).
struct InitKind {
  const char* name;
  void (*run)(at::Tensor& t, double a, double b);
};
static const InitKind kInitKinds[] = {
    {"normal", [](at::Tensor& t, double a, double b) { t.normal_(a, b); }},
    {"uniform", [](at::Tensor& t, double a, double b) { t.uniform_(a, b); }},
    {"fill", [](at::Tensor& t, double a, double) { t.fill_(a); }},
    {"zero", [](at::Tensor& t, double, double) { t.zero_(); }},
};

static Napi::Value InitJs(const CI& info) {
  at::Tensor t = Unwrap(info[0], "tensor");
  const InitKind& kind = CodeEntry(kInitKinds, info[1], "init kind");
  double a = ToDouble(info[2], "a"), b = ToDouble(info[3], "b");
  at::NoGradGuard ng;
  kind.run(t, a, b);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- frozen teachers

// foldBatchNorm(convWeight, convBias|null, bnWeight|null, bnBias|null, runningMean, runningVar, eps)
// -> [weight, bias]: conv followed by eval-mode BN as one conv. Computed in float64, returned in
// the conv weight's dtype and memory format, detached:
//   s = gamma / sqrt(var + eps);  W' = W * s[o];  b' = (b - mean) * s + beta
static Napi::Value FoldBatchNormJs(const CI& info) {
  at::NoGradGuard ng;
  const at::Tensor& w = Unwrap(info[0], "conv weight");
  auto cb = ToOptionalTensor(info[1], "conv bias");
  auto gamma = ToOptionalTensor(info[2], "bn weight");
  auto beta = ToOptionalTensor(info[3], "bn bias");
  const at::Tensor& mean = Unwrap(info[4], "running_mean");
  const at::Tensor& var = Unwrap(info[5], "running_var");
  double eps = ToDouble(info[6], "eps");
  const int64_t O = w.size(0);
  TORCH_CHECK(mean.numel() == O && var.numel() == O, "foldBatchNorm: the conv has ", O,
              " output channels but the batch norm has ", mean.numel());
  auto d = [](const at::Tensor& t) { return t.detach().to(at::kDouble); };
  at::Tensor s = at::rsqrt(d(var) + eps);
  if (gamma) s = s * d(*gamma);
  std::vector<int64_t> shape(w.dim(), 1);
  shape[0] = O;
  at::Tensor w2 = (d(w) * s.reshape(shape)).to(w.scalar_type()).contiguous(w.suggest_memory_format());
  at::Tensor b2 = cb ? d(*cb) : at::zeros({O}, w.options().dtype(at::kDouble));
  b2 = (b2 - d(mean)) * s;
  if (beta) b2 = b2 + d(*beta);
  return WrapList(info.Env(), {w2, b2.to(w.scalar_type())});
}

// setData(param, data): param.data = data (keeps the JS handle and the autograd leaf identity,
// as Module.to() and toChannelsLast() need). The storage accounting follows the new storage.
static Napi::Value SetDataJs(const CI& info) {
  SetData(info[0], Unwrap(info[1], "data"));
  return info.Env().Undefined();
}

void InitNn(Napi::Env env, Napi::Object exports) {
  SDD_EXPORT(exports, "nnConv2d", Conv2dJs);
  SDD_EXPORT(exports, "nnBatchNorm", BatchNormJs);
  SDD_EXPORT(exports, "nnConvBnAct", ConvBnActJs);
  SDD_EXPORT(exports, "nnAddAct", AddActJs);
  SDD_EXPORT(exports, "nnAct", ActJs);
  SDD_EXPORT(exports, "nnMaxPool2d", MaxPool2dJs);
  SDD_EXPORT(exports, "nnAvgPool2d", AvgPool2dJs);
  SDD_EXPORT(exports, "nnAdaptiveAvgPool2d", AdaptiveAvgPool2dJs);
  SDD_EXPORT(exports, "nnDropout", DropoutJs);
  SDD_EXPORT(exports, "nnChannelShuffle", ChannelShuffleJs);
  SDD_EXPORT(exports, "nnInit", InitJs);
  SDD_EXPORT(exports, "nnFoldBatchNorm", FoldBatchNormJs);
  SDD_EXPORT(exports, "nnSetData", SetDataJs);
  AddCodes(env, exports, "activation", kActivations);
  AddCodes(env, exports, "init", kInitKinds);
  AddCodes(env, exports, "paddingMode", kPaddingModes);
}

}  // namespace sdd
