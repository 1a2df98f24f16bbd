// Shared by every native file: the tensor handle, the one error guard, and JS <-> C++ conversions.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace sdd {

// Per-environment state (main thread and each worker_thread get their own): live-tensor
// accounting and the bytes V8 has been told about.
struct EnvData {
  int64_t liveTensors = 0;
  int64_t liveBytes = 0;       // bytes of distinct storages referenced by live handles
  int64_t pendingAdjust = 0;   // not yet reported to V8 (batched: the call is not free)
  std::unordered_map<const c10::StorageImpl*, std::pair<int64_t, int64_t>> storages;  // refs, bytes
};

EnvData& GetEnvData(Napi::Env env);

// What a JS tensor handle (a Napi::External) points to. The at::Tensor is released on dispose();
// the box itself lives until V8 collects the handle (the finalizer is the safety net).
struct TensorBox {
  at::Tensor tensor;
  const c10::StorageImpl* storage = nullptr;
  bool disposed = false;
};

// Wraps a tensor in a new JS handle and accounts for it.
Napi::Value Wrap(Napi::Env env, at::Tensor t);
// The tensor behind a handle; throws a JS error naming `what` if it is not a live tensor.
const at::Tensor& Unwrap(const Napi::Value& v, const char* what = "tensor");
TensorBox* UnwrapBox(const Napi::Value& v, const char* what);
// Releases the tensor of a box now (dispose) and updates the accounting.
void Release(Napi::Env env, TensorBox* box);

// ---- argument conversion (the TS layer validates first; these are the last line) ----
int64_t ToInt(const Napi::Value& v, const char* what);
double ToDouble(const Napi::Value& v, const char* what);
bool ToBool(const Napi::Value& v, const char* what);
std::string ToString(const Napi::Value& v, const char* what);
std::vector<int64_t> ToIntList(const Napi::Value& v, const char* what);
std::vector<at::Tensor> ToTensorList(const Napi::Value& v, const char* what);
at::ScalarType ToDtype(const Napi::Value& v, const char* what = "dtype");
c10::Device ToDevice(const Napi::Value& v, const char* what = "device");
c10::optional<at::Tensor> ToOptionalTensor(const Napi::Value& v, const char* what);
at::Scalar ToScalar(const Napi::Value& v, const char* what);
Napi::Value FromIntList(Napi::Env env, at::IntArrayRef list);
Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& list);

// dtype codes shared with lib/dtype.ts (order matters).
at::ScalarType DtypeFromCode(int code);
int DtypeToCode(at::ScalarType t);

// ---- the one error guard ----
// Turns c10::Error (message without the C++ backtrace) and std::exception into JS errors.
[[noreturn]] void Rethrow(Napi::Env env);

template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (...) {
    Rethrow(info.Env());
  }
}

// Registers a guarded native function on `exports`.
#define SDD_EXPORT(exports, name, fn) \
  (exports).Set(name, Napi::Function::New<::sdd::Guarded<fn>>((exports).Env(), name))

// Module parts (each file registers its own functions).
void InitTensor(Napi::Env env, Napi::Object exports);
void InitOps(Napi::Env env, Napi::Object exports);
void InitAutograd(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);
void InitSdd(Napi::Env env, Napi::Object exports);
void InitNn(Napi::Env env, Napi::Object exports);
void InitData(Napi::Env env, Napi::Object exports);

}  // namespace sdd
