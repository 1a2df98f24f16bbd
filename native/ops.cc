// Tensor operations: thin, guarded calls into ATen. Arguments were validated in lib/core/tensor.ts;
// ATen checks the rest (shapes, dtypes, devices) and its messages reach JS through the guard.
#include "common.h"

namespace sdd {

using CI = Napi::CallbackInfo;

#define T(i) Unwrap(info[i])
#define RET(expr) return Wrap(info.Env(), (expr))

// ---------------------------------------------------------------- elementwise, by op code
// Op families share one entry point each: an index into a table is cheaper than a JS->C++ function
// per name and keeps the export list short. The tables below are the only place a code is defined:
// a code is an entry's index, and native.codes.<family> exports the names (lib/core/codes.ts).
using TensorRef = const at::Tensor&;

struct UnaryOp {
  const char* name;
  at::Tensor (*run)(TensorRef a);
};
static const UnaryOp kUnary[] = {
    {"neg", [](TensorRef a) { return at::neg(a); }},
    {"abs", [](TensorRef a) { return at::abs(a); }},
    {"exp", [](TensorRef a) { return at::exp(a); }},
    {"log", [](TensorRef a) { return at::log(a); }},
    {"sqrt", [](TensorRef a) { return at::sqrt(a); }},
    {"rsqrt", [](TensorRef a) { return at::rsqrt(a); }},
    {"sigmoid", [](TensorRef a) { return at::sigmoid(a); }},
    {"tanh", [](TensorRef a) { return at::tanh(a); }},
    {"relu", [](TensorRef a) { return at::relu(a); }},
    {"sin", [](TensorRef a) { return at::sin(a); }},
    {"cos", [](TensorRef a) { return at::cos(a); }},
    {"floor", [](TensorRef a) { return at::floor(a); }},
    {"ceil", [](TensorRef a) { return at::ceil(a); }},
    {"round", [](TensorRef a) { return at::round(a); }},
    {"sign", [](TensorRef a) { return at::sign(a); }},
    {"logicalNot", [](TensorRef a) { return at::logical_not(a); }},
    {"reciprocal", [](TensorRef a) { return at::reciprocal(a); }},
    {"square", [](TensorRef a) { return at::square(a); }},
    {"log1p", [](TensorRef a) { return at::log1p(a); }},
    {"expm1", [](TensorRef a) { return at::expm1(a); }},
    {"gelu", [](TensorRef a) { return at::gelu(a); }},
    {"silu", [](TensorRef a) { return at::silu(a); }},
    {"isnan", [](TensorRef a) { return at::isnan(a); }},
    {"isfinite", [](TensorRef a) { return at::isfinite(a); }},
    {"clone", [](TensorRef a) { return a.clone(); }},
    {"detach", [](TensorRef a) { return a.detach(); }},
    {"contiguous", [](TensorRef a) { return a.contiguous(); }},
    {"relu6", [](TensorRef a) { return at::hardtanh(a, 0, 6); }},
    {"log2", [](TensorRef a) { return at::log2(a); }},
    {"trunc", [](TensorRef a) { return at::trunc(a); }},
    {"isinf", [](TensorRef a) { return at::isinf(a); }},
    {"erf", [](TensorRef a) { return at::erf(a); }},
    {"channelsLast", [](TensorRef a) { return a.contiguous(at::MemoryFormat::ChannelsLast); }},
};

static Napi::Value Unary(const CI& info) { RET(CodeEntry(kUnary, info[0], "unary op").run(T(1))); }

struct BinaryOp {
  const char* name;
  at::Tensor (*run)(TensorRef a, TensorRef b);
};
static const BinaryOp kBinary[] = {
    {"add", [](TensorRef a, TensorRef b) { return at::add(a, b); }},
    {"sub", [](TensorRef a, TensorRef b) { return at::sub(a, b); }},
    {"mul", [](TensorRef a, TensorRef b) { return at::mul(a, b); }},
    {"div", [](TensorRef a, TensorRef b) { return at::div(a, b); }},
    {"pow", [](TensorRef a, TensorRef b) { return at::pow(a, b); }},
    {"maximum", [](TensorRef a, TensorRef b) { return at::maximum(a, b); }},
    {"minimum", [](TensorRef a, TensorRef b) { return at::minimum(a, b); }},
    {"eq", [](TensorRef a, TensorRef b) { return at::eq(a, b); }},
    {"ne", [](TensorRef a, TensorRef b) { return at::ne(a, b); }},
    {"lt", [](TensorRef a, TensorRef b) { return at::lt(a, b); }},
    {"le", [](TensorRef a, TensorRef b) { return at::le(a, b); }},
    {"gt", [](TensorRef a, TensorRef b) { return at::gt(a, b); }},
    {"ge", [](TensorRef a, TensorRef b) { return at::ge(a, b); }},
    {"logicalAnd", [](TensorRef a, TensorRef b) { return at::logical_and(a, b); }},
    {"logicalOr", [](TensorRef a, TensorRef b) { return at::logical_or(a, b); }},
    {"logicalXor", [](TensorRef a, TensorRef b) { return at::logical_xor(a, b); }},
    {"matmul", [](TensorRef a, TensorRef b) { return at::matmul(a, b); }},
    {"remainder", [](TensorRef a, TensorRef b) { return at::remainder(a, b); }},
    {"atan2", [](TensorRef a, TensorRef b) { return at::atan2(a, b); }},
    {"floorDivide", [](TensorRef a, TensorRef b) { return at::div(a, b, "floor"); }},
};

static Napi::Value Binary(const CI& info) {
  RET(CodeEntry(kBinary, info[0], "binary op").run(Unwrap(info[1], "self"), Unwrap(info[2], "other")));
}

// The ops that take a scalar on the right (a separate family: its own names and codes).
struct BinaryScalarOp {
  const char* name;
  at::Tensor (*run)(TensorRef a, const at::Scalar& s);
};
static const BinaryScalarOp kBinaryScalar[] = {
    {"add", [](TensorRef a, const at::Scalar& s) { return at::add(a, s); }},
    {"sub", [](TensorRef a, const at::Scalar& s) { return at::sub(a, s); }},
    {"mul", [](TensorRef a, const at::Scalar& s) { return at::mul(a, s); }},
    {"div", [](TensorRef a, const at::Scalar& s) { return at::div(a, s); }},
    {"pow", [](TensorRef a, const at::Scalar& s) { return at::pow(a, s); }},
    {"maximum", [](TensorRef a, const at::Scalar& s) { return at::clamp_min(a, s); }},
    {"minimum", [](TensorRef a, const at::Scalar& s) { return at::clamp_max(a, s); }},
    {"eq", [](TensorRef a, const at::Scalar& s) { return at::eq(a, s); }},
    {"ne", [](TensorRef a, const at::Scalar& s) { return at::ne(a, s); }},
    {"lt", [](TensorRef a, const at::Scalar& s) { return at::lt(a, s); }},
    {"le", [](TensorRef a, const at::Scalar& s) { return at::le(a, s); }},
    {"gt", [](TensorRef a, const at::Scalar& s) { return at::gt(a, s); }},
    {"ge", [](TensorRef a, const at::Scalar& s) { return at::ge(a, s); }},
    {"remainder", [](TensorRef a, const at::Scalar& s) { return at::remainder(a, s); }},
    {"floorDivide", [](TensorRef a, const at::Scalar& s) { return at::div(a, s, "floor"); }},
    {"rsub", [](TensorRef a, const at::Scalar& s) { return at::rsub(a, s); }},  // s - a
};

static Napi::Value BinaryScalar(const CI& info) {
  RET(CodeEntry(kBinaryScalar, info[0], "binaryScalar op").run(T(1), ToScalar(info[2], "other")));
}

// In place (optimizers, initialisers, Tensor.add_ ...): a.op_(other) where `other` is a tensor
// handle, or null and then the scalar that follows it. add_/sub_ take an optional alpha. An entry
// without a tensor (or scalar) form rejects that form.
struct InPlaceOp {
  const char* name;
  void (*withTensor)(at::Tensor& a, TensorRef b, const at::Scalar& alpha);
  void (*withScalar)(at::Tensor& a, const at::Scalar& s, const at::Scalar& alpha);
};
static const InPlaceOp kInPlace[] = {
    {"add", [](at::Tensor& a, TensorRef b, const at::Scalar& alpha) { a.add_(b, alpha); },
     [](at::Tensor& a, const at::Scalar& s, const at::Scalar& alpha) { a.add_(s, alpha); }},
    {"sub", [](at::Tensor& a, TensorRef b, const at::Scalar& alpha) { a.sub_(b, alpha); },
     [](at::Tensor& a, const at::Scalar& s, const at::Scalar& alpha) { a.sub_(s, alpha); }},
    {"mul", [](at::Tensor& a, TensorRef b, const at::Scalar&) { a.mul_(b); },
     [](at::Tensor& a, const at::Scalar& s, const at::Scalar&) { a.mul_(s); }},
    {"div", [](at::Tensor& a, TensorRef b, const at::Scalar&) { a.div_(b); },
     [](at::Tensor& a, const at::Scalar& s, const at::Scalar&) { a.div_(s); }},
    {"copy", [](at::Tensor& a, TensorRef b, const at::Scalar&) { a.copy_(b); }, nullptr},
    {"fill", [](at::Tensor& a, TensorRef b, const at::Scalar&) { a.fill_(b); },
     [](at::Tensor& a, const at::Scalar& s, const at::Scalar&) { a.fill_(s); }},
    {"zero", nullptr, [](at::Tensor& a, const at::Scalar&, const at::Scalar&) { a.zero_(); }},
};

// inPlace(op, a, other|null, scalar?, alpha?)
static Napi::Value InPlace(const CI& info) {
  const InPlaceOp& op = CodeEntry(kInPlace, info[0], "inPlace op");
  at::Tensor a = T(1);
  at::Scalar alpha = IsNullish(info[4]) ? at::Scalar(1) : ToScalar(info[4], "alpha");
  if (IsNullish(info[2])) {
    TORCH_CHECK(op.withScalar != nullptr, op.name, "_ needs a tensor");
    op.withScalar(a, IsNullish(info[3]) ? at::Scalar(0) : ToScalar(info[3], "other"), alpha);
  } else {
    TORCH_CHECK(op.withTensor != nullptr, op.name, "_ takes no tensor");
    op.withTensor(a, Unwrap(info[2], "other"), alpha);
  }
  return info.Env().Undefined();
}

static Napi::Value Clamp(const CI& info) {  // clamp(t, min?, max?)
  c10::optional<at::Scalar> lo, hi;
  if (!info[1].IsUndefined() && !info[1].IsNull()) lo = ToScalar(info[1], "min");
  if (!info[2].IsUndefined() && !info[2].IsNull()) hi = ToScalar(info[2], "max");
  RET(at::clamp(T(0), lo, hi));
}

// where(cond, a|null, b|null, aScalar, bScalar, like): a tensor argument is a handle, or null and
// then its scalar is used; `like` gives the dtype and device when both are scalars.
static Napi::Value Where(const CI& info) {
  at::Tensor cond = Unwrap(info[0], "condition");
  bool sa = info[1].IsNull(), sb = info[2].IsNull();
  if (!sa && !sb) RET(at::where(cond, Unwrap(info[1], "input"), Unwrap(info[2], "other")));
  if (sa && !sb) RET(at::where(cond, ToScalar(info[3], "input"), Unwrap(info[2], "other")));
  if (!sa && sb) RET(at::where(cond, Unwrap(info[1], "input"), ToScalar(info[4], "other")));
  at::Tensor other = Unwrap(info[5], "like");
  RET(at::where(cond, at::scalar_tensor(ToScalar(info[3], "input"), other.options()),
                at::scalar_tensor(ToScalar(info[4], "other"), other.options())));
}

// ---------------------------------------------------------------- reductions
// reduce(op, t, dims|null, keepdim, unbiased?, p?): null dims reduce over every element.
struct ReduceArgs {
  bool all;
  std::vector<int64_t> dims;
  bool keep;
  bool unbiased;
  Napi::Value p;
};

static int64_t OneDim(const ReduceArgs& r, const char* op) {
  TORCH_CHECK(r.dims.size() == 1, op, " reduces over one dim at a time");
  return r.dims[0];
}

struct ReduceOp {
  const char* name;
  at::Tensor (*run)(TensorRef t, const ReduceArgs& r);
};
static const ReduceOp kReduce[] = {
    {"sum", [](TensorRef t, const ReduceArgs& r) { return r.all ? at::sum(t) : at::sum(t, r.dims, r.keep); }},
    {"mean", [](TensorRef t, const ReduceArgs& r) { return r.all ? at::mean(t) : at::mean(t, r.dims, r.keep); }},
    {"prod", [](TensorRef t, const ReduceArgs& r) { return r.all ? at::prod(t) : at::prod(t, OneDim(r, "prod"), r.keep); }},
    {"std", [](TensorRef t, const ReduceArgs& r) {
       return r.all ? at::std(t, r.unbiased) : at::std(t, r.dims, r.unbiased, r.keep);
     }},
    {"var", [](TensorRef t, const ReduceArgs& r) {
       return r.all ? at::var(t, r.unbiased) : at::var(t, r.dims, r.unbiased, r.keep);
     }},
    {"amax", [](TensorRef t, const ReduceArgs& r) { return at::amax(t, r.dims, r.keep); }},
    {"amin", [](TensorRef t, const ReduceArgs& r) { return at::amin(t, r.dims, r.keep); }},
    {"logsumexp", [](TensorRef t, const ReduceArgs& r) {
       return r.all ? at::logsumexp(t.flatten(), {0}, false) : at::logsumexp(t, r.dims, r.keep);
     }},
    {"all", [](TensorRef t, const ReduceArgs& r) { return r.all ? at::all(t) : at::all(t, OneDim(r, "all"), r.keep); }},
    {"any", [](TensorRef t, const ReduceArgs& r) { return r.all ? at::any(t) : at::any(t, OneDim(r, "any"), r.keep); }},
    {"norm", [](TensorRef t, const ReduceArgs& r) {
       at::Scalar p = r.p.IsUndefined() ? at::Scalar(2.0) : ToScalar(r.p, "p");
       return r.all ? at::norm(t, p) : at::norm(t, p, r.dims, r.keep);
     }},
};

static Napi::Value Reduce(const CI& info) {
  const ReduceOp& op = CodeEntry(kReduce, info[0], "reduce op");
  bool all = IsNullish(info[2]);
  ReduceArgs r{all, all ? std::vector<int64_t>{} : ToIntList(info[2], "dim"), OptBool(info[3], false), OptBool(info[4], true),
               info[5]};
  RET(op.run(T(1), r));
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

// Loss reductions, in at::Reduction's order (native.codes.reduction).
static const char* const kReductions[] = {"none", "mean", "sum"};
static_assert(at::Reduction::None == 0 && at::Reduction::Mean == 1 && at::Reduction::Sum == 2,
              "kReductions follows at::Reduction");

// crossEntropy(logits, targets, reduction code, labelSmoothing)
static Napi::Value CrossEntropy(const CI& info) {
  int64_t red = &CodeEntry(kReductions, info[2], "reduction") - kReductions;
  double smoothing = info[3].IsUndefined() ? 0.0 : ToDouble(info[3], "labelSmoothing");
  RET(at::cross_entropy_loss(Unwrap(info[0], "logits"), Unwrap(info[1], "targets"), {}, red, -100, smoothing));
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
static Napi::Value Scatter(const CI& info) {  // scatter(t, dim, index, src|null, value)
  if (!info[3].IsNull())
    RET(at::scatter(T(0), ToInt(info[1], "dim"), Unwrap(info[2], "index"), Unwrap(info[3], "src")));
  RET(at::scatter(T(0), ToInt(info[1], "dim"), Unwrap(info[2], "index"), ToScalar(info[4], "value")));
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
  AddCodes(env, exports, "unary", kUnary);
  AddCodes(env, exports, "binary", kBinary);
  AddCodes(env, exports, "binaryScalar", kBinaryScalar);
  AddCodes(env, exports, "inPlace", kInPlace);
  AddCodes(env, exports, "reduce", kReduce);
  AddCodes(env, exports, "reduction", kReductions);
}

}  // namespace sdd
