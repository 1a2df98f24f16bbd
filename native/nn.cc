// nn layers as torch ops: convolution (padding modes, groups, dilation), batch norm (training with
// running-stat update, eval), the fused conv -> batch norm -> residual -> activation step the
// model zoo runs per layer, pooling, dropout, channel shuffle, initialisers and BN folding.
//
// One N-API call per layer forward. Layer settings travel as small typed arrays that lib/nn builds
// once per layer (an Int32Array for the conv/pool geometry, a Float64Array for momentum/eps): the
// native side reads them without a property lookup per field. lib/nn validates everything first;
// ATen checks shapes/dtypes/devices and its messages reach JS through the one guard (SDD_EXPORT).
#include "common.h"

#include <ATen/core/grad_mode.h>

#include <cmath>
#include <limits>

namespace sdd {

using CI = Napi::CallbackInfo;

// ---------------------------------------------------------------- packed settings

static bool IsNullish(const Napi::Value& v) { return v.IsUndefined() || v.IsNull(); }

static const int32_t* Ints(const Napi::Value& v, size_t n, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      v.As<Napi::Int32Array>().ElementLength() != n) {
    throw Napi::TypeError::New(v.Env(), std::string("Expected an Int32Array of length ") + std::to_string(n) +
                                            " for " + what);
  }
  return v.As<Napi::Int32Array>().Data();
}

static const double* Doubles(const Napi::Value& v, size_t n, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      v.As<Napi::Float64Array>().ElementLength() != n) {
    throw Napi::TypeError::New(v.Env(), std::string("Expected a Float64Array of length ") + std::to_string(n) +
                                            " for " + what);
  }
  return v.As<Napi::Float64Array>().Data();
}

// Conv geometry: [strideH, strideW, padH, padW, dilH, dilW, groups, paddingMode]
// paddingMode: 0 zeros, 1 reflect, 2 replicate, 3 circular (PyTorch's padding_mode).
struct ConvSpec {
  int64_t stride[2], padding[2], dilation[2], groups;
  int mode;
};

static ConvSpec ReadConv(const Napi::Value& v) {
  const int32_t* a = Ints(v, 8, "conv settings");
  return ConvSpec{{a[0], a[1]}, {a[2], a[3]}, {a[4], a[5]}, a[6], a[7]};
}

static at::Tensor Conv(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b,
                       const ConvSpec& s) {
  at::IntArrayRef stride(s.stride, 2), dilation(s.dilation, 2);
  if (s.mode == 0 || (s.padding[0] == 0 && s.padding[1] == 0)) {
    return at::conv2d(x, w, b, stride, at::IntArrayRef(s.padding, 2), dilation, s.groups);
  }
  // As PyTorch's Conv2d: pad explicitly ([left, right, top, bottom]), then convolve without padding.
  const char* mode = s.mode == 1 ? "reflect" : s.mode == 2 ? "replicate" : "circular";
  TORCH_CHECK(s.mode >= 1 && s.mode <= 3, "unknown padding mode code ", s.mode);
  at::Tensor xp = at::pad(x, {s.padding[1], s.padding[1], s.padding[0], s.padding[0]}, mode);
  int64_t zero[2] = {0, 0};
  return at::conv2d(xp, w, b, stride, at::IntArrayRef(zero, 2), dilation, s.groups);
}

// Batch norm state: weight, bias, running mean/var, num_batches_tracked (each may be absent),
// [momentum (NaN = cumulative average, PyTorch's momentum=None), eps], training.
struct BnArgs {
  c10::optional<at::Tensor> weight, bias, mean, var, tracked;
  double momentum, eps;
  int syncGroup = 0;  // > 0: SyncBatchNorm over that process group (sdd.dist.convertSyncBatchNorm)
  bool training;
};

static BnArgs ReadBn(const CI& info, size_t at, size_t settingsAt, size_t trainingAt) {
  BnArgs a;
  a.weight = ToOptionalTensor(info[at], "bn weight");
  a.bias = ToOptionalTensor(info[at + 1], "bn bias");
  a.mean = ToOptionalTensor(info[at + 2], "running_mean");
  a.var = ToOptionalTensor(info[at + 3], "running_var");
  a.tracked = ToOptionalTensor(info[at + 4], "num_batches_tracked");
  const double* s = Doubles(info[settingsAt], 3, "batch norm settings");
  a.momentum = s[0];
  a.eps = s[1];
  a.syncGroup = static_cast<int>(s[2]);
  a.training = ToBool(info[trainingAt], "training");
  return a;
}

// F.batch_norm as nn.BatchNormNd.forward calls it: in training the batch statistics normalise and
// (when tracked) the running statistics are updated in place with the unbiased batch variance;
// num_batches_tracked counts the updates. In eval the running statistics are used, or the batch's
// when the layer tracks none.
static at::Tensor BatchNorm(const at::Tensor& x, const BnArgs& a) {
  double momentum = a.momentum;
  if (a.training && a.tracked && a.tracked->defined()) {
    {
      at::NoGradGuard ng;
      a.tracked->add_(1);
    }
    if (std::isnan(momentum)) momentum = 1.0 / a.tracked->item<double>();
  }
  if (std::isnan(momentum)) momentum = 0.0;
  if (a.training && a.syncGroup > 0) return SyncBatchNormTrain(a.syncGroup, x, a.weight, a.bias, a.mean, a.var, momentum, a.eps);
  bool useBatchStats = a.training || (!a.mean && !a.var);
  return at::batch_norm(x, a.weight, a.bias, a.mean, a.var, useBatchStats, momentum, a.eps,
                        at::globalContext().userEnabledCuDNN());
}

// Activations: 0 none, 1 relu, 2 relu6, 3 leaky relu (param = negative slope), 4 sigmoid, 5 tanh.
// In place: the input is always a fresh result of this call (autograd saves what it needs).
static at::Tensor& ActInPlace(at::Tensor& t, int act, double param) {
  switch (act) {
    case 0: return t;
    case 1: return t.relu_();
    case 2: return t.clamp_(0, 6);
    case 3: return at::leaky_relu_(t, param);
    case 4: return t.sigmoid_();
    case 5: return t.tanh_();
    default: TORCH_CHECK(false, "unknown activation code ", act);
  }
}

// ---------------------------------------------------------------- layers

// conv2d(x, weight, bias|null, settings)
static Napi::Value Conv2dJs(const CI& info) {
  return Wrap(info.Env(), Conv(Unwrap(info[0], "input"), Unwrap(info[1], "weight"),
                               ToOptionalTensor(info[2], "bias"), ReadConv(info[3])));
}

// batchNorm(x, weight, bias, runningMean, runningVar, numBatchesTracked, [momentum, eps], training)
static Napi::Value BatchNormJs(const CI& info) {
  const at::Tensor& x = Unwrap(info[0], "input");
  return Wrap(info.Env(), BatchNorm(x, ReadBn(info, 1, 6, 7)));
}

// convBnAct(x, weight, bias|null, convSettings,
//           bnWeight, bnBias, runningMean, runningVar, numBatchesTracked, bnSettings|null, training,
//           residual|null, act, actParam)
// conv -> batch norm (skipped when bnSettings is null: a folded or BN-less conv) -> + residual ->
// activation, in one call. The zoo's conv/BN/ReLU triples and residual tails run through this.
static Napi::Value ConvBnActJs(const CI& info) {
  at::Tensor y = Conv(Unwrap(info[0], "input"), Unwrap(info[1], "weight"), ToOptionalTensor(info[2], "bias"),
                      ReadConv(info[3]));
  if (!IsNullish(info[9])) y = BatchNorm(y, ReadBn(info, 4, 9, 10));
  auto residual = ToOptionalTensor(info[11], "residual");
  if (residual) y.add_(*residual);
  ActInPlace(y, static_cast<int>(ToInt(info[12], "act")), ToDouble(info[13], "actParam"));
  return Wrap(info.Env(), y);
}

// addAct(a, b, act, actParam): a + b, then the activation (residual joins).
static Napi::Value AddActJs(const CI& info) {
  at::Tensor y = at::add(Unwrap(info[0], "input"), Unwrap(info[1], "other"));
  ActInPlace(y, static_cast<int>(ToInt(info[2], "act")), ToDouble(info[3], "actParam"));
  return Wrap(info.Env(), y);
}

// act(x, code, param): out of place (the input may be a user's tensor).
static Napi::Value ActJs(const CI& info) {
  const at::Tensor& x = Unwrap(info[0], "input");
  int act = static_cast<int>(ToInt(info[1], "act"));
  double p = ToDouble(info[2], "actParam");
  switch (act) {
    case 0: return Wrap(info.Env(), x);
    case 1: return Wrap(info.Env(), at::relu(x));
    case 2: return Wrap(info.Env(), at::hardtanh(x, 0, 6));
    case 3: return Wrap(info.Env(), at::leaky_relu(x, p));
    case 4: return Wrap(info.Env(), at::sigmoid(x));
    case 5: return Wrap(info.Env(), at::tanh(x));
    default: TORCH_CHECK(false, "unknown activation code ", act);
  }
}

// maxPool2d(x, [kH, kW, sH, sW, pH, pW, dH, dW, ceilMode])
static Napi::Value MaxPool2dJs(const CI& info) {
  const int32_t* a = Ints(info[1], 9, "max pool settings");
  return Wrap(info.Env(), at::max_pool2d(Unwrap(info[0], "input"), {a[0], a[1]}, {a[2], a[3]}, {a[4], a[5]},
                                         {a[6], a[7]}, a[8] != 0));
}

// avgPool2d(x, [kH, kW, sH, sW, pH, pW, ceilMode, countIncludePad, divisorOverride (0 = none)])
static Napi::Value AvgPool2dJs(const CI& info) {
  const int32_t* a = Ints(info[1], 9, "avg pool settings");
  c10::optional<int64_t> divisor;
  if (a[8] != 0) divisor = a[8];
  return Wrap(info.Env(), at::avg_pool2d(Unwrap(info[0], "input"), {a[0], a[1]}, {a[2], a[3]}, {a[4], a[5]},
                                         a[6] != 0, a[7] != 0, divisor));
}

// adaptiveAvgPool2d(x, [outH, outW])
static Napi::Value AdaptiveAvgPool2dJs(const CI& info) {
  const int32_t* a = Ints(info[1], 2, "output size");
  return Wrap(info.Env(), at::adaptive_avg_pool2d(Unwrap(info[0], "input"), {a[0], a[1]}));
}

// globalPoolLinear(x, weight, bias|null): mean over H, W, then the classifier (the models' global head).
static Napi::Value GlobalPoolLinearJs(const CI& info) {
  const at::Tensor& x = Unwrap(info[0], "features");
  TORCH_CHECK(x.dim() == 4, "expected features of shape [B, C, H, W] but got shape ", x.sizes());
  return Wrap(info.Env(), at::linear(x.mean({2, 3}), Unwrap(info[1], "weight"), ToOptionalTensor(info[2], "bias")));
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

// init(t, kind, a, b): 0 normal_(mean a, std b), 1 uniform_(a, b), 2 fill_(a), 3 zero_().
// The bounds/stds are computed in lib/nn/init.ts with the reference's own formulas, so the same
// seed draws the same numbers as PyTorch (same generator, same kernels, same order).
static Napi::Value InitJs(const CI& info) {
  at::Tensor t = Unwrap(info[0], "tensor");
  int kind = static_cast<int>(ToInt(info[1], "kind"));
  double a = ToDouble(info[2], "a"), b = ToDouble(info[3], "b");
  at::NoGradGuard ng;
  switch (kind) {
    case 0: t.normal_(a, b); break;
    case 1: t.uniform_(a, b); break;
    case 2: t.fill_(a); break;
    case 3: t.zero_(); break;
    default: TORCH_CHECK(false, "unknown init kind ", kind);
  }
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

// isChannelsLast(t)
static Napi::Value IsChannelsLastJs(const CI& info) {
  const at::Tensor& t = Unwrap(info[0], "tensor");
  return Napi::Boolean::New(info.Env(), t.dim() == 4 && t.is_contiguous(at::MemoryFormat::ChannelsLast));
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
  SDD_EXPORT(exports, "nnGlobalPoolLinear", GlobalPoolLinearJs);
  SDD_EXPORT(exports, "nnDropout", DropoutJs);
  SDD_EXPORT(exports, "nnChannelShuffle", ChannelShuffleJs);
  SDD_EXPORT(exports, "nnInit", InitJs);
  SDD_EXPORT(exports, "nnFoldBatchNorm", FoldBatchNormJs);
  SDD_EXPORT(exports, "nnSetData", SetDataJs);
  SDD_EXPORT(exports, "nnIsChannelsLast", IsChannelsLastJs);
}

}  // namespace sdd
