// Autograd: requires_grad, backward, .grad, and grad-mode scopes that call back into JS.
#include "common.h"

#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>

namespace sdd {

using CI = Napi::CallbackInfo;

static Napi::Value SetRequiresGrad(const CI& info) {
  at::Tensor t = Unwrap(info[0]);
  t.set_requires_grad(ToBool(info[1], "requiresGrad"));
  return info.Env().Undefined();
}

static Napi::Value RequiresGrad(const CI& info) {
  return Napi::Boolean::New(info.Env(), Unwrap(info[0]).requires_grad());
}

static Napi::Value IsLeaf(const CI& info) { return Napi::Boolean::New(info.Env(), Unwrap(info[0]).is_leaf()); }

static Napi::Value Backward(const CI& info) {  // backward(t, grad?, retainGraph)
  const at::Tensor& t = Unwrap(info[0]);
  TORCH_CHECK(t.requires_grad(),
              "backward() was called on a tensor that does not require grad: no input of the "
              "computation had requiresGrad: true (or it ran inside noGrad())");
  c10::optional<at::Tensor> grad = ToOptionalTensor(info[1], "gradient");
  bool retain = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  if (!grad) {
    TORCH_CHECK(t.numel() == 1, "backward() without a gradient needs a scalar (one element), but the "
                "tensor has shape ", t.sizes(), "; pass a gradient of the same shape or reduce it first");
  }
  t.backward(grad.value_or(at::Tensor()), retain, false);
  return info.Env().Undefined();
}

static Napi::Value Grad(const CI& info) {
  const at::Tensor& g = Unwrap(info[0]).grad();
  if (!g.defined()) return info.Env().Null();
  return Wrap(info.Env(), g);
}

static Napi::Value HasGrad(const CI& info) {
  return Napi::Boolean::New(info.Env(), Unwrap(info[0]).grad().defined());
}

static Napi::Value SetGrad(const CI& info) {  // setGrad(t, grad|null)
  at::Tensor t = Unwrap(info[0]);
  if (info[1].IsNull() || info[1].IsUndefined()) {
    t.mutable_grad().reset();
  } else {
    t.mutable_grad() = Unwrap(info[1], "grad");
  }
  return info.Env().Undefined();
}

static Napi::Value RetainGrad(const CI& info) {
  Unwrap(info[0]).retain_grad();
  return info.Env().Undefined();
}

static Napi::Value IsGradEnabled(const CI& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

// withGradMode(mode, fn): runs fn with gradient recording off (noGrad), on (enableGrad) or in
// inference mode; the codes are indices into kGradModes (native.codes.gradMode). The guard lives on
// the C++ stack while fn runs synchronously, so it is restored even when fn throws.
enum class GradMode { NoGrad, EnableGrad, InferenceMode };
static const char* const kGradModes[] = {"noGrad", "enableGrad", "inferenceMode"};
static_assert(sizeof(kGradModes) / sizeof(kGradModes[0]) == static_cast<size_t>(GradMode::InferenceMode) + 1,
              "kGradModes names every GradMode");

static Napi::Value WithGradMode(const CI& info) {
  auto mode = static_cast<GradMode>(&CodeEntry(kGradModes, info[0], "grad mode") - kGradModes);
  if (!info[1].IsFunction()) throw Napi::TypeError::New(info.Env(), "Expected a function for fn");
  auto fn = info[1].As<Napi::Function>();
  if (mode == GradMode::InferenceMode) {
    c10::InferenceMode guard;
    return fn.Call({});
  }
  at::AutoGradMode guard(mode == GradMode::EnableGrad);
  return fn.Call({});
}

void InitAutograd(Napi::Env env, Napi::Object exports) {
  SDD_EXPORT(exports, "setRequiresGrad", SetRequiresGrad);
  SDD_EXPORT(exports, "requiresGrad", RequiresGrad);
  SDD_EXPORT(exports, "isLeaf", IsLeaf);
  SDD_EXPORT(exports, "backward", Backward);
  SDD_EXPORT(exports, "grad", Grad);
  SDD_EXPORT(exports, "setGrad", SetGrad);
  SDD_EXPORT(exports, "hasGrad", HasGrad);
  SDD_EXPORT(exports, "retainGrad", RetainGrad);
  SDD_EXPORT(exports, "isGradEnabled", IsGradEnabled);
  SDD_EXPORT(exports, "withGradMode", WithGradMode);
  AddCodes(env, exports, "gradMode", kGradModes);
}

}  // namespace sdd
