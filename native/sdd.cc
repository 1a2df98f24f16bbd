// Scale Decoupled Distillation in torch ops: multi-scale pooling, the shared-classifier head and
// the KD / DKD / NKD losses with their SDD (multi-region, consistency-weighted) variants.
// Semantics: ../shared/docs/sdd-method.md (the authors' code); lib/sdd/*.ts documents the options.
#include "common.h"

#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <limits>
#include <sstream>

namespace sdd {

using CI = Napi::CallbackInfo;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// ---------------------------------------------------------------- pooling

// The reference pools a 4x4 grid first and derives coarser levels from it ("nested"), also for
// M = [1] and [1, 2]. For other lists the base grid is the largest scale; a level is pooled from
// the base grid when it divides it, directly from the map otherwise. mode "direct" pools every
// level from the map (exact means when H, W are not multiples of the scales).
// adaptive_avg_pool2d(x, G) as one GEMM: x viewed as (B*C) x (H*W) times an (H*W) x G² matrix
// holding 1/|window| for each cell's adaptive window (PyTorch's windows: [floor(iH/G), ceil((i+1)H/G))).
// libtorch 1.13's adaptive pooling backward is scalar code; the GEMM is ~3x faster forward+backward.
static at::Tensor PoolMatrix(int64_t H, int64_t W, int64_t G, const at::TensorOptions& opts) {
  struct Key { int64_t H, W, G; at::ScalarType t; c10::Device d; };
  thread_local std::vector<std::pair<Key, at::Tensor>> cache;
  for (auto& [k, m] : cache)
    if (k.H == H && k.W == W && k.G == G && k.t == opts.dtype().toScalarType() && k.d == opts.device()) return m;
  at::Tensor m = at::zeros({H * W, G * G}, at::TensorOptions().dtype(at::kDouble));
  auto acc = m.accessor<double, 2>();
  for (int64_t i = 0; i < G; ++i) {
    int64_t h0 = (i * H) / G, h1 = ((i + 1) * H + G - 1) / G;
    for (int64_t j = 0; j < G; ++j) {
      int64_t w0 = (j * W) / G, w1 = ((j + 1) * W + G - 1) / G;
      double v = 1.0 / static_cast<double>((h1 - h0) * (w1 - w0));
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) acc[h * W + w][i * G + j] = v;
    }
  }
  m = m.to(opts);
  if (cache.size() > 16) cache.erase(cache.begin());
  cache.push_back({Key{H, W, G, opts.dtype().toScalarType(), opts.device()}, m});
  return m;
}

// B x C x H x W -> B x C x G² (row-major cells), equal to adaptive_avg_pool2d(x, G).flatten(2).
static at::Tensor GridPool(const at::Tensor& x, int64_t G) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  if (H == G && W == G) return x.reshape({B, C, G * G});
  return at::matmul(x.reshape({B, C, H * W}), PoolMatrix(H, W, G, x.options()));
}

static at::Tensor MultiScalePool(const at::Tensor& x, const std::vector<int64_t>& scales, bool nested) {
  TORCH_CHECK(x.dim() == 4, "multiScalePool expects features of shape [B, C, H, W] but got shape ", x.sizes());
  if (x.device().is_cpu() && x.scalar_type() == at::kHalf) {
    // libtorch's CPU kernels lack float16 pooling: pool in float32 (exact for a mean), cast back.
    return MultiScalePool(x.to(at::kFloat), scales, nested).to(at::kHalf);
  }
  TORCH_CHECK(!scales.empty(), "multiScalePool needs at least one scale");
  int64_t largest = 0;
  bool allDivide4 = true;
  for (int64_t s : scales) {
    TORCH_CHECK(s > 0, "scales must be positive integers, got ", s);
    largest = std::max(largest, s);
    if (4 % s != 0) allDivide4 = false;
  }
  std::vector<at::Tensor> levels;
  levels.reserve(scales.size());
  const int64_t B = x.size(0), C = x.size(1);
  if (nested) {
    int64_t base = allDivide4 ? 4 : largest;
    at::Tensor grid = GridPool(x, base);  // B x C x G²
    at::Tensor gridMap = grid.view({B, C, base, base});
    for (int64_t s : scales) {
      at::Tensor level = s == base ? grid
                         : (base % s == 0 ? at::adaptive_avg_pool2d(gridMap, {s, s}).reshape({B, C, s * s}) : GridPool(x, s));
      levels.push_back(level.reshape({B, C, s * s}));
    }
  } else {
    for (int64_t s : scales) levels.push_back(GridPool(x, s));
  }
  return levels.size() == 1 ? levels[0] : at::cat(levels, 2);
}

static bool ToNested(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return true;
  std::string m = ToString(v, "mode");
  if (m == "nested") return true;
  if (m == "direct") return false;
  throw Napi::TypeError::New(v.Env(), "Expected 'nested' or 'direct' for mode but received '" + m + "'");
}

static Napi::Value PoolJs(const CI& info) {  // multiScalePool(x, scales, mode)
  return Wrap(info.Env(), MultiScalePool(Unwrap(info[0], "features"), ToIntList(info[1], "scales"), ToNested(info[2])));
}

// scaleLogits(x, weight, bias?, scales, mode) -> B x K x N: the classifier applied to every region.
// B x K x N region logits. The classifier is affine and pooling is a mean, so a coarse cell's logits
// are the mean of its sub-cells' logits. In nested mode, when the base grid has no more cells than
// there are regions (the reference's [1, 2, 4]: 16 <= 21), the GEMM runs once on the base grid's
// cells and the coarser levels pool the logits (B x K x G x G, cheap) instead of running the GEMM
// again on their features. Otherwise: pool the features of every region, one GEMM.
static at::Tensor ScaleLogits(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias,
                              const std::vector<int64_t>& scales, bool nested) {
  TORCH_CHECK(!scales.empty(), "scaleLogits needs at least one scale");
  int64_t largest = 0, regions = 0;
  bool allDivide4 = true;
  for (int64_t sc : scales) {
    TORCH_CHECK(sc > 0, "scales must be positive integers, got ", sc);
    largest = std::max(largest, sc);
    regions += sc * sc;
    if (4 % sc != 0) allDivide4 = false;
  }
  const int64_t base = allDivide4 ? 4 : largest;
  bool allNested = true;
  for (int64_t sc : scales) if (base % sc != 0) allNested = false;
  const int64_t B = x.size(0), K = w.size(0);
  if (nested && allNested && base * base <= regions && !(x.device().is_cpu() && x.scalar_type() == at::kHalf)) {
    at::Tensor grid = GridPool(x, base);                                               // B x C x G²
    // 2-D input: libtorch 1.13 runs linear on a 3-D non-contiguous input as B small GEMMs
    at::Tensor cell = at::linear(grid.transpose(1, 2).reshape({B * base * base, x.size(1)}), w, bias)
                          .view({B, base * base, K});                                  // B x G² x K
    at::Tensor map = cell.transpose(1, 2).reshape({B, K, base, base});                // B x K x G x G
    std::vector<at::Tensor> levels;
    for (int64_t sc : scales) {
      at::Tensor level = sc == base ? map : at::adaptive_avg_pool2d(map, {sc, sc});
      levels.push_back(level.reshape({B, K, sc * sc}));
    }
    return levels.size() == 1 ? levels[0] : at::cat(levels, 2);
  }
  at::Tensor pooled = MultiScalePool(x, scales, nested);  // B x C x N
  const int64_t N = pooled.size(2);
  return at::linear(pooled.transpose(1, 2).reshape({B * N, x.size(1)}), w, bias).view({B, N, K}).transpose(1, 2);
}

static Napi::Value ScaleLogitsJs(const CI& info) {
  at::Tensor x = Unwrap(info[0], "features");
  at::Tensor w = Unwrap(info[1], "weight");
  auto bias = ToOptionalTensor(info[2], "bias");
  TORCH_CHECK(w.dim() == 2, "scaleLogits expects a weight of shape [K, C] but got shape ", w.sizes());
  TORCH_CHECK(x.dim() == 4 && x.size(1) == w.size(1), "scaleLogits: features of shape ", x.sizes(),
              " do not match a classifier weight of shape ", w.sizes(), " (C must equal weight.shape[1])");
  at::ScalarType outType = x.scalar_type();
  if (x.device().is_cpu() && (outType == at::kHalf || w.scalar_type() == at::kHalf)) {
    // no float16 GEMM on the CPU: compute in float32 and return float16
    x = x.to(at::kFloat);
    w = w.to(at::kFloat);
    if (bias) bias = bias->to(at::kFloat);
  }
  std::vector<int64_t> scales = ToIntList(info[3], "scales");
  bool nested = ToNested(info[4]);
  at::Tensor logits = ScaleLogits(x, w, bias, scales, nested);
  if (logits.scalar_type() != outType) logits = logits.to(outType);
  return Wrap(info.Env(), logits);
}

// ---------------------------------------------------------------- shared loss plumbing

struct Rows {
  at::Tensor s, t;   // (N*B) x K, row r = n*B + b
  at::Tensor target; // (N*B), int64
  int64_t B, K, N;
};

static void CheckFinite(const at::Tensor& x, const char* name, const char* fn) {
  at::Tensor v = x.detach();
  if (at::isfinite(v).all().item<bool>()) return;
  at::Tensor bad = at::nonzero(at::logical_not(at::isfinite(v))).select(0, 0).cpu();
  std::ostringstream os;
  os << fn << ": " << name << " contains a non-finite value at index [";
  for (int64_t i = 0; i < bad.numel(); ++i) {
    int64_t idx = bad[i].item<int64_t>();
    os << (i ? ", " : "") << idx;
    v = v.select(0, idx);
  }
  os << "] (" << v.item<double>() << "); check the model's outputs (a too-high learning rate or a bad "
     << "input batch), or pass nonFinite: 'skip' to return a zero loss for such batches";
  TORCH_CHECK(false, os.str());
}

// Student/teacher logits B x K x N (or B x K for the plain losses) -> rows, validated.
static Rows ToRows(const at::Tensor& s, const at::Tensor& t, const c10::optional<at::Tensor>& target, bool multi,
                   const char* fn) {
  const char* want = multi ? "[B, K, N]" : "[B, K]";
  TORCH_CHECK(s.dim() == (multi ? 3 : 2), fn, ": studentLogits must have shape ", want, " but has shape ", s.sizes());
  TORCH_CHECK(t.dim() == (multi ? 3 : 2), fn, ": teacherLogits must have shape ", want, " but has shape ", t.sizes());
  TORCH_CHECK(s.sizes() == t.sizes(), fn, ": studentLogits ", s.sizes(), " and teacherLogits ", t.sizes(),
              " must have the same shape");
  TORCH_CHECK(s.is_floating_point() && t.is_floating_point(), fn, ": logits must be floating point, got ",
              c10::toString(s.scalar_type()), " and ", c10::toString(t.scalar_type()));
  TORCH_CHECK(s.device() == t.device(), fn, ": studentLogits is on ", s.device(), " but teacherLogits on ", t.device());
  Rows r;
  r.B = s.size(0);
  r.K = s.size(1);
  r.N = multi ? s.size(2) : 1;
  TORCH_CHECK(r.B > 0 && r.K > 0 && r.N > 0, fn, ": empty logits of shape ", s.sizes());
  // Half types are computed in float32 (softmax of low-precision logits loses the tail mass).
  at::ScalarType ct = (s.scalar_type() == at::kDouble) ? at::kDouble : at::kFloat;
  at::Tensor sc = s.scalar_type() == ct ? s : s.to(ct);
  at::Tensor tc = (t.scalar_type() == ct ? t : t.to(ct)).detach();
  if (multi) {
    r.s = sc.permute({2, 0, 1}).reshape({r.N * r.B, r.K});
    r.t = tc.permute({2, 0, 1}).reshape({r.N * r.B, r.K});
  } else {
    r.s = sc;
    r.t = tc;
  }
  if (target) {
    const at::Tensor& y = *target;
    TORCH_CHECK(y.dim() == 1 && y.size(0) == r.B, fn, ": targets must have shape [", r.B, "] but has shape ", y.sizes());
    TORCH_CHECK(!y.is_floating_point() && y.scalar_type() != at::kBool, fn,
                ": targets must be an integer tensor (class indices), got ", c10::toString(y.scalar_type()));
    at::Tensor yl = y.to(s.device(), at::kLong);
    if (yl.numel() > 0) {
      at::Tensor range = at::stack({yl.min(), yl.max()}).cpu();  // one device sync, not two
      int64_t lo = range[0].item<int64_t>(), hi = range[1].item<int64_t>();
      TORCH_CHECK(lo >= 0 && hi < r.K, fn, ": targets must lie in [0, ", r.K, ") but range over [", lo, ", ", hi, "]");
    }
    r.target = multi ? yl.repeat({r.N}) : yl;
  }
  return r;
}

// Row weights: 1 where the teacher's region prediction agrees in correctness with its global
// prediction (consistent), `beta` where it does not (complementary). Region-0 rows are always 1.
static at::Tensor RowWeights(const Rows& r, double beta) {
  at::NoGradGuard ng;
  at::Tensor pred = r.t.argmax(1);  // first maximum on ties, as torch.argmax
  at::Tensor localOk = pred.eq(r.target);
  at::Tensor globalOk = localOk.narrow(0, 0, r.B).repeat({r.N});
  at::Tensor consistent = localOk.eq(globalOk);
  return at::where(consistent, at::scalar_tensor(1.0, r.s.options()), at::scalar_tensor(beta, r.s.options()));
}

// ---------------------------------------------------------------- KD / SD-KD (fused)
// Loss = sum_r w_r * T^2 * KL(p_r || q_r) / (N*B); dL/ds_r = w_r * T * (q_r - p_r) / (N*B).
// One fused autograd node instead of ~10: SD-KD costs about what KD costs.
struct WeightedKdFn : public torch::autograd::Function<WeightedKdFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& s, const at::Tensor& t, const at::Tensor& w,
                            double T) {
    at::Tensor ls = at::log_softmax(s / T, 1);
    at::Tensor lt = at::log_softmax(t / T, 1);
    at::Tensor pt = lt.exp();
    // PyTorch's kl_div(log q, p): p*(log p - log q), 0 where p == 0. Finite logits give finite
    // terms. The reference also zeroes NaN terms, which turns a NaN logit into a finite loss with a
    // NaN gradient; we do not: non-finite logits are an error, or with nonFinite: 'skip' the whole
    // loss is replaced by zero (LossJs), and the affected rows show NaN in details.rowLosses.
    // p (log p - log q) with log p from log_softmax: 0 where p underflows to 0 (as kl_div's xlogy),
    // and one pass cheaper than xlogy(p, p) - p log q.
    at::Tensor row = (pt * (lt - ls)).sum(1) * (T * T);
    ctx->save_for_backward({ls, pt, w});
    ctx->saved_data["T"] = T;
    ctx->saved_data["rows"] = s.size(0);
    return row;  // per-row losses (unweighted); the caller reduces
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    double T = ctx->saved_data["T"].toDouble();
    // d row_r / d s_r = T * (q_r - p_r); grads[0] is dL/d row_r (already holds w_r / (N*B)).
    at::Tensor g = (saved[0].exp() - saved[1]) * (grads[0].unsqueeze(1) * T);
    return {g, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

struct LossResult {
  at::Tensor loss, rowLosses, weights;
};

static LossResult Reduce(const Rows& r, const at::Tensor& rowLoss, const at::Tensor& w) {
  LossResult out;
  out.loss = (rowLoss * w).sum() / static_cast<double>(r.N * r.B);
  out.rowLosses = rowLoss.detach();
  out.weights = w;
  return out;
}

// ---------------------------------------------------------------- DKD row loss (log space)
static at::Tensor DkdRows(const Rows& r, double alpha, double beta, double T) {
  at::Tensor gt = at::zeros_like(r.s, r.s.options().dtype(at::kBool)).scatter_(1, r.target.unsqueeze(1), true);
  at::Tensor ls = at::log_softmax(r.s / T, 1);
  at::Tensor lt = at::log_softmax(r.t / T, 1);
  auto binary = [&](const at::Tensor& l) {  // log of (p_target, 1 - p_target), in log space
    at::Tensor lgt = l.gather(1, r.target.unsqueeze(1));
    at::Tensor lother = at::logsumexp(l.masked_fill(gt, -std::numeric_limits<double>::infinity()), {1}, true);
    return at::cat({lgt, lother}, 1);
  };
  at::Tensor bs = binary(ls), bt = binary(lt);
  at::Tensor pbt = bt.exp();
  at::Tensor tckd = (pbt * (bt - bs)).sum(1);
  // non-target distribution exactly as the reference: softmax(z/T - 1000 * onehot)
  at::Tensor shift = gt.to(r.s.scalar_type()) * 1000.0;
  at::Tensor ls2 = at::log_softmax(r.s / T - shift, 1);
  at::Tensor lt2 = at::log_softmax(r.t / T - shift, 1);
  at::Tensor nckd = (lt2.exp() * (lt2 - ls2)).sum(1);
  return (alpha * tckd + beta * nckd) * (T * T);
}

// ---------------------------------------------------------------- NKD row loss
// -p_t[y] log q[y] (T = 1) - gamma T^2 sum_k softmax(t/T)_k log_softmax(s/T)_k. The reference's
// mask keeps the target class in the second sum (its scatter writes 1 into ones); excludeTarget
// removes it (the paper's normalised non-target distributions).
static at::Tensor NkdRows(const Rows& r, double T, double gamma, bool excludeTarget) {
  at::Tensor idx = r.target.unsqueeze(1);
  at::Tensor sT = at::log_softmax(r.s, 1).gather(1, idx).squeeze(1);
  at::Tensor tT = at::softmax(r.t, 1).gather(1, idx).squeeze(1);
  at::Tensor lossT = -(tT * sT);
  at::Tensor S, Tt;
  if (excludeTarget) {
    at::Tensor keep = at::ones_like(r.s, r.s.options().dtype(at::kBool)).scatter_(1, idx, false);
    int64_t rows = r.s.size(0);
    S = at::log_softmax(r.s.masked_select(keep).view({rows, r.K - 1}) / T, 1);
    Tt = at::softmax(r.t.masked_select(keep).view({rows, r.K - 1}) / T, 1);
  } else {
    S = at::log_softmax(r.s / T, 1);
    Tt = at::softmax(r.t / T, 1);
  }
  at::Tensor lossNon = -gamma * (T * T) * (Tt * S).sum(1);
  return lossT + lossNon;
}

// ---------------------------------------------------------------- JS entry

// The logit losses, in code order (native.codes.loss).
enum class LossKind { Kd, Dkd, Nkd };
static const char* const kLossKinds[] = {"kd", "dkd", "nkd"};
static_assert(sizeof(kLossKinds) / sizeof(kLossKinds[0]) == static_cast<size_t>(LossKind::Nkd) + 1,
              "kLossKinds names every LossKind");

// loss(kind, s, t, targets|null, opts) with opts = { multi, temperature, complementaryWeight,
// alpha, beta, gamma, excludeTarget, skipNonFinite, details }.
static Napi::Value LossJs(const CI& info) {
  Napi::Env env = info.Env();
  auto kind = static_cast<LossKind>(&CodeEntry(kLossKinds, info[0], "loss kind") - kLossKinds);
  const at::Tensor& s = Unwrap(info[1], "studentLogits");
  const at::Tensor& t = Unwrap(info[2], "teacherLogits");
  c10::optional<at::Tensor> target = ToOptionalTensor(info[3], "targets");
  auto o = info[4].As<Napi::Object>();
  bool multi = ToBool(o.Get("multi"), "multi");
  std::string fn = ToString(o.Get("name"), "name");
  double T = ToDouble(o.Get("temperature"), "temperature");
  double cw = multi ? ToDouble(o.Get("complementaryWeight"), "complementaryWeight") : 1.0;
  bool skip = ToBool(o.Get("skipNonFinite"), "nonFinite");
  bool details = ToBool(o.Get("details"), "details");
  TORCH_CHECK(kind == LossKind::Kd || target, fn, ": targets are required");

  // Non-finite logits: an error naming the tensor and the first bad index; with nonFinite: 'skip'
  // the batch's loss is a graph-less zero (no gradient reaches the student). That is what the
  // reference returns for DKD/NKD (its "inf" fallback); for KD it instead zeroes the NaN terms and
  // returns a finite loss whose gradient is NaN on the affected rows, which would poison the
  // optimizer step, so 'skip' returns zero there too (details.rowLosses shows NaN on the bad rows).
  bool bad = false;
  if (!skip) {
    // one device sync for both; the slow path only runs to name the first bad element
    at::NoGradGuard ng;
    if (!at::logical_and(at::isfinite(s.detach()).all(), at::isfinite(t.detach()).all()).item<bool>()) {
      CheckFinite(s, "studentLogits", fn.c_str());
      CheckFinite(t, "teacherLogits", fn.c_str());
    }
  } else {
    at::NoGradGuard ng;
    bad = !(at::isfinite(s).all().item<bool>() && at::isfinite(t).all().item<bool>());
  }
  // A skipped batch builds no graph (its rows are still computed for details).
  at::AutoGradMode gradMode(at::GradMode::is_enabled() && !bad);
  Rows r = ToRows(s, t, target, multi, fn.c_str());
  at::Tensor w;
  if (multi && target) {
    w = RowWeights(r, cw);
  } else {
    w = at::ones({r.s.size(0)}, r.s.options());
  }
  at::Tensor rows;
  switch (kind) {
    case LossKind::Kd: rows = WeightedKdFn::apply(r.s, r.t, w, T); break;
    case LossKind::Dkd:
      rows = DkdRows(r, ToDouble(o.Get("alpha"), "alpha"), ToDouble(o.Get("beta"), "beta"), T);
      break;
    case LossKind::Nkd:
      rows = NkdRows(r, T, ToDouble(o.Get("gamma"), "gamma"), ToBool(o.Get("excludeTarget"), "excludeTarget"));
      break;
  }
  LossResult res = Reduce(r, rows, w);
  if (skip) {
    // finite logits can still overflow a sum (huge temperatures/weights): skip that too
    bad = bad || !at::isfinite(res.loss.detach()).item<bool>();
    if (bad) res.loss = at::zeros({}, res.loss.options().requires_grad(false));
  }
  if (res.loss.scalar_type() != s.scalar_type() && s.scalar_type() != at::kDouble) {
    res.loss = res.loss.to(s.scalar_type());
  }
  if (!details && !bad) return Wrap(env, res.loss);
  auto out = Napi::Object::New(env);
  out.Set("loss", Wrap(env, res.loss));
  out.Set("skipped", Napi::Boolean::New(env, bad));
  if (details) {
    out.Set("rowLosses", Wrap(env, res.rowLosses));
    out.Set("weights", Wrap(env, res.weights));
  }
  return out;
}

void InitSdd(Napi::Env env, Napi::Object exports) {
  SDD_EXPORT(exports, "multiScalePool", PoolJs);
  SDD_EXPORT(exports, "scaleLogits", ScaleLogitsJs);
  SDD_EXPORT(exports, "loss", LossJs);
  AddCodes(env, exports, "loss", kLossKinds);
}

}  // namespace sdd
