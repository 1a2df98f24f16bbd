// Optimizers as fused native loops over the parameter list: one N-API call per step. The update
// rules follow torch.optim (1.13, single-tensor path) operation by operation so that results match
// PyTorch to float rounding.
#include "common.h"

#include <ATen/core/grad_mode.h>

#include <cmath>

namespace sdd {

using CI = Napi::CallbackInfo;

static std::vector<c10::optional<at::Tensor>> OptionalList(const Napi::Value& v, size_t n, const char* what) {
  std::vector<c10::optional<at::Tensor>> out(n);
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string("Expected an array for ") + what);
  auto arr = v.As<Napi::Array>();
  if (arr.Length() != n) throw Napi::RangeError::New(v.Env(), std::string(what) + " must have one entry per parameter");
  for (uint32_t i = 0; i < n; ++i) out[i] = ToOptionalTensor(arr.Get(i), what);
  return out;
}

// sgdStep(params, momentumBuffers (tensor|null)[], { lr, momentum, dampening, weightDecay, nesterov, maximize })
// -> (tensor|null)[]: the momentum buffers created this step (null where one existed or none is used).
static Napi::Value SgdStep(const CI& info) {
  Napi::Env env = info.Env();
  auto params = ToTensorList(info[0], "params");
  auto bufs = OptionalList(info[1], params.size(), "momentumBuffers");
  auto o = info[2].As<Napi::Object>();
  double lr = ToDouble(o.Get("lr"), "lr"), momentum = ToDouble(o.Get("momentum"), "momentum");
  double dampening = ToDouble(o.Get("dampening"), "dampening"), wd = ToDouble(o.Get("weightDecay"), "weightDecay");
  bool nesterov = ToBool(o.Get("nesterov"), "nesterov"), maximize = ToBool(o.Get("maximize"), "maximize");
  at::NoGradGuard ng;
  auto created = Napi::Array::New(env, params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    at::Tensor p = params[i];
    created.Set(static_cast<uint32_t>(i), env.Null());
    if (!p.grad().defined()) continue;  // parameters without a gradient are skipped, as in PyTorch
    at::Tensor d_p = maximize ? -p.grad() : p.grad();
    if (wd != 0) d_p = d_p.add(p, wd);
    if (momentum != 0) {
      at::Tensor buf;
      if (!bufs[i]) {
        buf = at::clone(d_p).detach();
        created.Set(static_cast<uint32_t>(i), Wrap(env, buf));
      } else {
        buf = *bufs[i];
        buf.mul_(momentum).add_(d_p, 1 - dampening);
      }
      d_p = nesterov ? d_p.add(buf, momentum) : buf;
    }
    p.add_(d_p, -lr);
  }
  return created;
}

// adamwStep(params, expAvg[], expAvgSq[], steps (number[]), { lr, beta1, beta2, eps, weightDecay, amsgrad: false, maximize })
// State tensors are created by the caller (zeros like the parameter) on the first step.
static Napi::Value AdamwStep(const CI& info) {
  auto params = ToTensorList(info[0], "params");
  auto expAvg = ToTensorList(info[1], "expAvg");
  auto expAvgSq = ToTensorList(info[2], "expAvgSq");
  auto steps = ToIntList(info[3], "steps");
  TORCH_CHECK(expAvg.size() == params.size() && expAvgSq.size() == params.size() && steps.size() == params.size(),
              "adamw: one state entry per parameter");
  auto o = info[4].As<Napi::Object>();
  double lr = ToDouble(o.Get("lr"), "lr"), beta1 = ToDouble(o.Get("beta1"), "beta1");
  double beta2 = ToDouble(o.Get("beta2"), "beta2"), eps = ToDouble(o.Get("eps"), "eps");
  double wd = ToDouble(o.Get("weightDecay"), "weightDecay");
  bool maximize = ToBool(o.Get("maximize"), "maximize");
  at::NoGradGuard ng;
  for (size_t i = 0; i < params.size(); ++i) {
    at::Tensor p = params[i];
    if (!p.grad().defined()) continue;
    at::Tensor grad = maximize ? -p.grad() : p.grad();
    double step = static_cast<double>(steps[i]);
    p.mul_(1 - lr * wd);
    expAvg[i].mul_(beta1).add_(grad, 1 - beta1);
    expAvgSq[i].mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    double bc1 = 1 - std::pow(beta1, step), bc2 = 1 - std::pow(beta2, step);
    at::Tensor denom = (expAvgSq[i].sqrt() / std::sqrt(bc2)).add_(eps);
    p.addcdiv_(expAvg[i], denom, -(lr / bc1));
  }
  return info.Env().Undefined();
}

// clipGradNorm(params, maxNorm, normType) -> total norm (a number), like
// torch.nn.utils.clip_grad_norm_: norms per gradient, the norm of those, scale by
// clamp(max / (total + 1e-6), max = 1).
static Napi::Value ClipGradNorm(const CI& info) {
  auto params = ToTensorList(info[0], "params");
  double maxNorm = ToDouble(info[1], "maxNorm");
  double normType = ToDouble(info[2], "normType");
  at::NoGradGuard ng;
  std::vector<at::Tensor> grads;
  for (auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad().detach());
  if (grads.empty()) return Napi::Number::New(info.Env(), 0.0);
  at::Tensor total;
  if (std::isinf(normType)) {
    std::vector<at::Tensor> norms;
    for (auto& g : grads) norms.push_back(g.abs().max());
    total = norms.size() == 1 ? norms[0] : at::stack(norms).max();
  } else {
    std::vector<at::Tensor> norms;
    for (auto& g : grads) norms.push_back(at::norm(g, normType));
    total = at::norm(at::stack(norms), normType);
  }
  at::Tensor coef = at::clamp(maxNorm / (total + 1e-6), c10::nullopt, 1.0);
  for (auto& g : grads) g.mul_(coef);
  return Napi::Number::New(info.Env(), total.item<double>());
}

void InitOptim(Napi::Env env, Napi::Object exports) {
  SDD_EXPORT(exports, "sgdStep", SgdStep);
  SDD_EXPORT(exports, "adamwStep", AdamwStep);
  SDD_EXPORT(exports, "clipGradNorm", ClipGradNorm);
}

}  // namespace sdd
