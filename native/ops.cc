// Tensor operations: thin, guarded calls into ATen. Arguments were validated in lib/tensor.ts;
// ATen checks the rest (shapes, dtypes, devices) and its messages reach JS through the guard.
#include "common.h"

namespace sdd {

using CI = Napi::CallbackInfo;

#define T(i) Unwrap(info[i])
#define RET(expr) return Wrap(info.Env(), (expr))

// ---------------------------------------------------------------- elementwise, by op code
// Unary ops share one entry point: a switch is cheaper than a JS->C++ call per name and keeps the
// export list short. Codes mirror UNARY_OPS in lib/tensor.ts.
static at::Tensor UnaryOp(int code, const at::Tensor& a) {
  switch (code) {
    case 0: return at::neg(a);
    case 1: return at::abs(a);
    case 2: return at::exp(a);
    case 3: return at::log(a);
    case 4: return at::sqrt(a);
    case 5: return at::rsqrt(a);
    case 6: return at::sigmoid(a);
    case 7: return at::tanh(a);
    case 8: return at::relu(a);
    case 9: return at::sin(a);
    case 10: return at::cos(a);
    case 11: return at::floor(a);
    case 12: return at::ceil(a);
    case 13: return at::round(a);
    case 14: return at::sign(a);
    case 15: return at::logical_not(a);
    case 16: return at::reciprocal(a);
    case 17: return at::square(a);
    case 18: return at::log1p(a);
    case 19: return at::expm1(a);
    case 20: return at::gelu(a);
    case 21: return at::silu(a);
    case 22: return at::isnan(a);
    case 23: return at::isfinite(a);
    case 24: return a.clone();
    case 25: return a.detach();
    case 26: return a.contiguous();
    case 27: return at::hardtanh(a, 0, 6);  // relu6
    case 28: return at::log2(a);
    case 29: return at::trunc(a);
    case 30: return at::isinf(a);
    case 31: return at::erf(a);
    case 32: return a.contiguous(at::MemoryFormat::ChannelsLast);
    default: TORCH_CHECK(false, "unknown unary op code ", code);
  }
}

static Napi::Value Unary(const CI& info) { RET(UnaryOp(static_cast<int>(ToInt(info[0], "op")), T(1))); }

static at::Tensor BinaryOp(int code, const at::Tensor& a, const at::Tensor& b) {
  switch (code) {
    case 0: return at::add(a, b);
    case 1: return at::sub(a, b);
    case 2: return at::mul(a, b);
    case 3: return at::div(a, b);
    case 4: return at::pow(a, b);
    case 5: return at::maximum(a, b);
    case 6: return at::minimum(a, b);
    case 7: return at::eq(a, b);
    case 8: return at::ne(a, b);
    case 9: return at::lt(a, b);
    case 10: return at::le(a, b);
    case 11: return at::gt(a, b);
    case 12: return at::ge(a, b);
    case 13: return at::logical_and(a, b);
    case 14: return at::logical_or(a, b);
    case 15: return at::logical_xor(a, b);
    case 16: return at::matmul(a, b);
    case 17: return at::remainder(a, b);
    case 18: return at::atan2(a, b);
    case 19: return at::div(a, b, "floor");
    default: TORCH_CHECK(false, "unknown binary op code ", code);
  }
}

static Napi::Value Binary(const CI& info) {
  RET(BinaryOp(static_cast<int>(ToInt(info[0], "op")), Unwrap(info[1], "self"), Unwrap(info[2], "other")));
}

static at::Tensor BinaryScalarOp(int code, const at::Tensor& a, const at::Scalar& s) {
  switch (code) {
    case 0: return at::add(a, s);
    case 1: return at::sub(a, s);
    case 2: return at::mul(a, s);
    case 3: return at::div(a, s);
    case 4: return at::pow(a, s);
    case 5: return at::clamp_min(a, s);
    case 6: return at::clamp_max(a, s);
    case 7: return at::eq(a, s);
    case 8: return at::ne(a, s);
    case 9: return at::lt(a, s);
    case 10: return at::le(a, s);
    case 11: return at::gt(a, s);
    case 12: return at::ge(a, s);
    case 17: return at::remainder(a, s);
    case 19: return at::div(a, s, "floor");
    case 20: return at::rsub(a, s);  // s - a
    default: TORCH_CHECK(false, "op code ", code, " has no scalar form");
  }
}

static Napi::Value BinaryScalar(const CI& info) {
  RET(BinaryScalarOp(static_cast<int>(ToInt(info[0], "op")), T(1), ToScalar(info[2], "other")));
}

// In place (optimizers, initialisers): a.op_(b) for tensors or scalars. Codes: 0 add_, 1 sub_,
// 2 mul_, 3 div_, 4 copy_, 5 fill_. add_/sub_ take an optional alpha.
static Napi::Value InPlace(const CI& info) {
  int code = static_cast<int>(ToInt(info[0], "op"));
  at::Tensor a = T(1);
  bool scalar = !info[2].IsExternal();
  at::Scalar alpha = info[3].IsUndefined() ? at::Scalar(1) : ToScalar(info[3], "alpha");
  switch (code) {
    case 0: scalar ? a.add_(ToScalar(info[2], "other"), alpha) : a.add_(T(2), alpha); break;
    case 1: scalar ? a.sub_(ToScalar(info[2], "other"), alpha) : a.sub_(T(2), alpha); break;
    case 2: scalar ? a.mul_(ToScalar(info[2], "other")) : a.mul_(T(2)); break;
    case 3: scalar ? a.div_(ToScalar(info[2], "other")) : a.div_(T(2)); break;
    case 4: a.copy_(T(2)); break;
    case 5: scalar ? a.fill_(ToScalar(info[2], "value")) : a.fill_(T(2)); break;
    case 6: a.zero_(); break;
    default: TORCH_CHECK(false, "unknown in-place op code ", code);
  }
  return info.Env().Undefined();
}

static Napi::Value Clamp(const CI& info) {  // clamp(t, min?, max?)
  c10::optional<at::Scalar> lo, hi;
  if (!info[1].IsUndefined() && !info[1].IsNull()) lo = ToScalar(info[1], "min");
  if (!info[2].IsUndefined() && !info[2].IsNull()) hi = ToScalar(info[2], "max");
  RET(at::clamp(T(0), lo, hi));
}

static Napi::Value Where(const CI& info) {  // where(cond, a, b) with tensors or scalars for a and b
  at::Tensor cond = Unwrap(info[0], "condition");
  bool sa = !info[1].IsExternal(), sb = !info[2].IsExternal();
  if (!sa && !sb) RET(at::where(cond, Unwrap(info[1], "input"), Unwrap(info[2], "other")));
  if (sa && !sb) RET(at::where(cond, ToScalar(info[1], "input"), Unwrap(info[2], "other")));
  if (!sa && sb) RET(at::where(cond, Unwrap(info[1], "input"), ToScalar(info[2], "other")));
  at::Tensor other = Unwrap(info[3], "like");  // dtype/device source when both are scalars
  RET(at::where(cond, at::scalar_tensor(ToScalar(info[1], "input"), other.options()),
                at::scalar_tensor(ToScalar(info[2], "other"), other.options())));
}

// ---------------------------------------------------------------- reductions
// reduce(op, t, dims|null, keepdim, extra). Codes: 0 sum, 1 mean, 2 prod, 3 std, 4 var,
// 5 amax, 6 amin, 7 logsumexp, 8 all, 9 any, 10 norm (extra = p).
static Napi::Value Reduce(const CI& info) {
  int code = static_cast<int>(ToInt(info[0], "op"));
  const at::Tensor& t = T(1);
  bool all = info[2].IsNull() || info[2].IsUndefined();
  std::vector<int64_t> dims = all ? std::vector<int64_t>{} : ToIntList(info[2], "dim");
  bool keep = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  bool unbiased = !(info[4].IsBoolean() && !info[4].As<Napi::Boolean>().Value());
  switch (code) {
    case 0: RET(all ? at::sum(t) : at::sum(t, dims, keep));
    case 1: RET(all ? at::mean(t) : at::mean(t, dims, keep));
    case 2: {
      if (all) RET(at::prod(t));
      TORCH_CHECK(dims.size() == 1, "prod reduces over one dim at a time");
      RET(at::prod(t, dims[0], keep));
    }
    case 3: RET(all ? at::std(t, unbiased) : at::std(t, dims, unbiased, keep));
    case 4: RET(all ? at::var(t, unbiased) : at::var(t, dims, unbiased, keep));
    case 5: RET(at::amax(t, dims, keep));
    case 6: RET(at::amin(t, dims, keep));
    case 7: {
      if (all) RET(at::logsumexp(t.flatten(), {0}, false));
      RET(at::logsumexp(t, dims, keep));
    }
    case 8: {
      if (all) RET(at::all(t));
      TORCH_CHECK(dims.size() == 1, "all reduces over one dim at a time");
      RET(at::all(t, dims[0], keep));
    }
    case 9: {
      if (all) RET(at::any(t));
      TORCH_CHECK(dims.size() == 1, "any reduces over one dim at a time");
      RET(at::any(t, dims[0], keep));
    }
    case 10: {
      at::Scalar p = info[5].IsUndefined() ? at::Scalar(2.0) : ToScalar(info[5], "p");
      if (all) RET(at::norm(t, p));
      RET(at::norm(t, p, dims, keep));
    }
    default: TORCH_CHECK(false, "unknown reduction code ", code);
  }
}

// maxDim / minDim: [values, indices] along one dim.
static Napi::Value MaxDim(const CI& info) {
  auto r = at::max(T(0), ToInt(info[1], "dim"), info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value());
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}

static Napi::Value MinDim(const CI& info) {
  auto r = at::min(T(0), ToInt(info[1], "dim"), info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value());
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}

static Napi::Value Argmax(const CI& info) {  // argmax(t, dim|null, keepdim)
  bool keep = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  if (info[1].IsNull() || info[1].IsUndefined()) RET(at::argmax(T(0)));
  RET(at::argmax(T(0), ToInt(info[1], "dim"), keep));
}

static Napi::Value Argmin(const CI& info) {
  bool keep = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  if (info[1].IsNull() || info[1].IsUndefined()) RET(at::argmin(T(0)));
  RET(at::argmin(T(0), ToInt(info[1], "dim"), keep));
}

static Napi::Value Topk(const CI& info) {  // topk(t, k, dim, largest, sorted) -> [values, indices]
  auto r = at::topk(T(0), ToInt(info[1], "k"), ToInt(info[2], "dim"), ToBool(info[3], "largest"),
                    ToBool(info[4], "sorted"));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}

static Napi::Value Cumsum(const CI& info) { RET(at::cumsum(T(0), ToInt(info[1], "dim"))); }

// ---------------------------------------------------------------- nn-ish functions

static Napi::Value Softmax(const CI& info) { RET(at::softmax(T(0), ToInt(info[1], "dim"))); }
static Napi::Value LogSoftmax(const CI& info) { RET(at::log_softmax(T(0), ToInt(info[1], "dim"))); }

static Napi::Value Linear(const CI& info) {  // linear(x, weight, bias?)
  RET(at::linear(Unwrap(info[0], "input"), Unwrap(info[1], "weight"), ToOptionalTensor(info[2], "bias")));
}

static Napi::Value LeakyRelu(const CI& info) { RET(at::leaky_relu(T(0), ToScalar(info[1], "negativeSlope"))); }

// crossEntropy(logits, targets, reduction 0 none | 1 mean | 2 sum, labelSmoothing)
static Napi::Value CrossEntropy(const CI& info) {
  int64_t red = ToInt(info[2], "reduction");
  double smoothing = info[3].IsUndefined() ? 0.0 : ToDouble(info[3], "labelSmoothing");
  RET(at::cross_entropy_loss(Unwrap(info[0], "logits"), Unwrap(info[1], "targets"), {}, red, -100, smoothing));
}

static Napi::Value MseLoss(const CI& info) {
  RET(at::mse_loss(Unwrap(info[0], "input"), Unwrap(info[1], "target"), ToInt(info[2], "reduction")));
}

// ---------------------------------------------------------------- shape

static Napi::Value Reshape(const CI& info) { RET(at::reshape(T(0), ToIntList(info[1], "shape"))); }
static Napi::Value View(const CI& info) { RET(T(0).view(ToIntList(info[1], "shape"))); }
static Napi::Value Permute(const CI& info) { RET(T(0).permute(ToIntList(info[1], "dims"))); }
static Napi::Value Transpose(const CI& info) {
  RET(at::transpose(T(0), ToInt(info[1], "dim0"), ToInt(info[2], "dim1")));
}
static Napi::Value Flatten(const CI& info) {
  RET(at::flatten(T(0), ToInt(info[1], "startDim"), ToInt(info[2], "endDim")));
}
static Napi::Value Squeeze(const CI& info) {
  if (info[1].IsUndefined() || info[1].IsNull()) RET(at::squeeze(T(0)));
  RET(at::squeeze(T(0), ToInt(info[1], "dim")));
}
static Napi::Value Unsqueeze(const CI& info) { RET(at::unsqueeze(T(0), ToInt(info[1], "dim"))); }
static Napi::Value Expand(const CI& info) { RET(T(0).expand(ToIntList(info[1], "shape"))); }
static Napi::Value Repeat(const CI& info) { RET(T(0).repeat(ToIntList(info[1], "repeats"))); }
static Napi::Value Flip(const CI& info) { RET(at::flip(T(0), ToIntList(info[1], "dims"))); }

static Napi::Value Cat(const CI& info) { RET(at::cat(ToTensorList(info[0], "tensors"), ToInt(info[1], "dim"))); }
static Napi::Value Stack(const CI& info) { RET(at::stack(ToTensorList(info[0], "tensors"), ToInt(info[1], "dim"))); }

static Napi::Value Split(const CI& info) {  // split(t, sizeOrSizes, dim)
  if (info[1].IsArray()) {
    return WrapList(info.Env(), at::split_with_sizes(T(0), ToIntList(info[1], "sizes"), ToInt(info[2], "dim")));
  }
  return WrapList(info.Env(), at::split(T(0), ToInt(info[1], "splitSize"), ToInt(info[2], "dim")));
}
static Napi::Value Chunk(const CI& info) {
  return WrapList(info.Env(), at::chunk(T(0), ToInt(info[1], "chunks"), ToInt(info[2], "dim")));
}

// ---------------------------------------------------------------- indexing

static Napi::Value Select(const CI& info) { RET(at::select(T(0), ToInt(info[1], "dim"), ToInt(info[2], "index"))); }
static Napi::Value Narrow(const CI& info) {
  RET(at::narrow(T(0), ToInt(info[1], "dim"), ToInt(info[2], "start"), ToInt(info[3], "length")));
}
static Napi::Value Slice(const CI& info) {  // slice(t, dim, start, end, step)
  RET(at::slice(T(0), ToInt(info[1], "dim"), ToInt(info[2], "start"), ToInt(info[3], "end"), ToInt(info[4], "step")));
}
static Napi::Value IndexSelect(const CI& info) {
  RET(at::index_select(T(0), ToInt(info[1], "dim"), Unwrap(info[2], "index")));
}
static Napi::Value Gather(const CI& info) { RET(at::gather(T(0), ToInt(info[1], "dim"), Unwrap(info[2], "index"))); }
static Napi::Value Scatter(const CI& info) {  // scatter(t, dim, index, src tensor | scalar)
  if (info[3].IsExternal())
    RET(at::scatter(T(0), ToInt(info[1], "dim"), Unwrap(info[2], "index"), Unwrap(info[3], "src")));
  RET(at::scatter(T(0), ToInt(info[1], "dim"), Unwrap(info[2], "index"), ToScalar(info[3], "value")));
}
static Napi::Value ScatterAdd(const CI& info) {
  RET(at::scatter_add(T(0), ToInt(info[1], "dim"), Unwrap(info[2], "index"), Unwrap(info[3], "src")));
}
static Napi::Value MaskedFill(const CI& info) {
  RET(at::masked_fill(T(0), Unwrap(info[1], "mask"), ToScalar(info[2], "value")));
}
static Napi::Value MaskedSelect(const CI& info) { RET(at::masked_select(T(0), Unwrap(info[1], "mask"))); }
static Napi::Value OneHot(const CI& info) { RET(at::one_hot(T(0), ToInt(info[1], "numClasses"))); }

// ---------------------------------------------------------------- conversion

static Napi::Value To(const CI& info) {  // to(t, dtype|null, device|null, nonBlocking)
  const at::Tensor& t = T(0);
  at::ScalarType dtype = (info[1].IsNull() || info[1].IsUndefined()) ? t.scalar_type() : ToDtype(info[1]);
  c10::Device device = (info[2].IsNull() || info[2].IsUndefined()) ? t.device() : ToDevice(info[2]);
  bool nonBlocking = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  RET(t.to(device, dtype, nonBlocking));
}

static Napi::Value AllClose(const CI& info) {  // allclose(a, b, rtol, atol)
  return Napi::Boolean::New(info.Env(), at::allclose(T(0), T(1), ToDouble(info[2], "rtol"), ToDouble(info[3], "atol")));
}

static Napi::Value Equal(const CI& info) { return Napi::Boolean::New(info.Env(), at::equal(T(0), T(1))); }

static Napi::Value IsContiguous(const CI& info) { return Napi::Boolean::New(info.Env(), T(0).is_contiguous()); }

void InitOps(Napi::Env env, Napi::Object exports) {
  SDD_EXPORT(exports, "unary", Unary);
  SDD_EXPORT(exports, "binary", Binary);
  SDD_EXPORT(exports, "binaryScalar", BinaryScalar);
  SDD_EXPORT(exports, "inPlace", InPlace);
  SDD_EXPORT(exports, "clamp", Clamp);
  SDD_EXPORT(exports, "where", Where);
  SDD_EXPORT(exports, "reduce", Reduce);
  SDD_EXPORT(exports, "maxDim", MaxDim);
  SDD_EXPORT(exports, "minDim", MinDim);
  SDD_EXPORT(exports, "argmax", Argmax);
  SDD_EXPORT(exports, "argmin", Argmin);
  SDD_EXPORT(exports, "topk", Topk);
  SDD_EXPORT(exports, "cumsum", Cumsum);
  SDD_EXPORT(exports, "softmax", Softmax);
  SDD_EXPORT(exports, "logSoftmax", LogSoftmax);
  SDD_EXPORT(exports, "linear", Linear);
  SDD_EXPORT(exports, "leakyRelu", LeakyRelu);
  SDD_EXPORT(exports, "crossEntropy", CrossEntropy);
  SDD_EXPORT(exports, "mseLoss", MseLoss);
  SDD_EXPORT(exports, "reshape", Reshape);
  SDD_EXPORT(exports, "view", View);
  SDD_EXPORT(exports, "permute", Permute);
  SDD_EXPORT(exports, "transpose", Transpose);
  SDD_EXPORT(exports, "flatten", Flatten);
  SDD_EXPORT(exports, "squeeze", Squeeze);
  SDD_EXPORT(exports, "unsqueeze", Unsqueeze);
  SDD_EXPORT(exports, "expand", Expand);
  SDD_EXPORT(exports, "repeat", Repeat);
  SDD_EXPORT(exports, "flip", Flip);
  SDD_EXPORT(exports, "cat", Cat);
  SDD_EXPORT(exports, "stack", Stack);
  SDD_EXPORT(exports, "split", Split);
  SDD_EXPORT(exports, "chunk", Chunk);
  SDD_EXPORT(exports, "select", Select);
  SDD_EXPORT(exports, "narrow", Narrow);
  SDD_EXPORT(exports, "slice", Slice);
  SDD_EXPORT(exports, "indexSelect", IndexSelect);
  SDD_EXPORT(exports, "gather", Gather);
  SDD_EXPORT(exports, "scatter", Scatter);
  SDD_EXPORT(exports, "scatterAdd", ScatterAdd);
  SDD_EXPORT(exports, "maskedFill", MaskedFill);
  SDD_EXPORT(exports, "maskedSelect", MaskedSelect);
  SDD_EXPORT(exports, "oneHot", OneHot);
  SDD_EXPORT(exports, "to", To);
  SDD_EXPORT(exports, "allclose", AllClose);
  SDD_EXPORT(exports, "equal", Equal);
  SDD_EXPORT(exports, "isContiguous", IsContiguous);
}

}  // namespace sdd
