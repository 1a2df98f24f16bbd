// Shared by every native file: the tensor handle, the one error guard, and JS <-> C++ conversions.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace sdd {

// A live tensor owned by a JS handle. Handles are Napi::External values whose pointer field encodes
// (generation << 32 | slot) rather than pointing anywhere: creating one needs no heap record and no
// V8 weak callback (those cost more than a small op itself), and a stale handle is detected by its
// generation. Tensors that escape tidy() get a GC safety net (Guard): a weak reference to their
// handle, checked by sweeps that run synchronously after V8 has collected garbage (see tensor.cc).
struct Slot {
  at::Tensor tensor;
  const c10::StorageImpl* storage = nullptr;
  uint32_t generation = 1;
  napi_ref weak = nullptr;  // set by Guard: the tensor is released once V8 has collected its handle
};

struct GcToken;

// Per-environment state (main thread and each worker_thread get their own): the handle table,
// live-tensor accounting and the bytes V8 has been told about.
struct EnvData {
  std::deque<Slot> slots;  // a deque: references returned by Unwrap stay valid when it grows
  std::vector<uint32_t> freeSlots;
  int64_t liveTensors = 0;
  int64_t liveBytes = 0;       // bytes of distinct storages referenced by live handles
  int64_t pendingAdjust = 0;   // not yet reported to V8 (batched: the call is not free)
  std::unordered_map<const c10::StorageImpl*, std::pair<int64_t, int64_t>> storages;  // refs, bytes
  // The GC safety net (tensor.cc): guarded slots, and a sentinel object whose collection says that
  // V8 has run a GC since the last sweep.
  napi_env env = nullptr;
  int64_t guarded = 0;            // slots with a weak reference
  int64_t guardsSinceSweep = 0;
  int64_t guardedAfterSweep = 0;
  int64_t bytesAfterSweep = 0;
  napi_ref sentinel = nullptr;    // weak; empty once a GC has collected the sentinel
  GcToken* token = nullptr;       // the sentinel's finalizer data
  bool terminating = false;       // the environment is being torn down: no more JS, no more sweeps
};

EnvData& GetEnvData(Napi::Env env);

// Wraps a tensor in a new JS handle and accounts for it.
Napi::Value Wrap(Napi::Env env, at::Tensor t);
// The tensor behind a handle; throws a JS error naming `what` if it is not a live tensor.
const at::Tensor& Unwrap(const Napi::Value& v, const char* what = "tensor");
// Releases the tensor of a handle now (dispose; idempotent) and updates the accounting.
void Release(const Napi::Value& v);
// Puts a handle under the GC safety net: its tensor is released once V8 collects the handle (a
// tensor that escaped tidy()). Idempotent.
void Guard(const Napi::Value& v);
// param.set_data(data) on the tensor behind a handle (keeps the handle and autograd leaf identity)
// and moves the storage accounting to the new storage.
void SetData(const Napi::Value& v, const at::Tensor& data);
// True when the handle's tensor was released.
bool IsReleased(const Napi::Value& v);

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
// The message of the exception being handled, formatted as Rethrow does (for async workers'
// SetError; call only inside a catch block).
std::string InFlightErrorMessage();

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

// dist.cc: BatchNorm in training with statistics over every rank of process group `group`
// (torch.nn.SyncBatchNorm); the running statistics are updated in place as BatchNorm does.
at::Tensor SyncBatchNormTrain(int group, const at::Tensor& x, const c10::optional<at::Tensor>& weight,
                              const c10::optional<at::Tensor>& bias, const c10::optional<at::Tensor>& runningMean,
                              const c10::optional<at::Tensor>& runningVar, double momentum, double eps);

// Module parts (each file registers its own functions).
void InitTensor(Napi::Env env, Napi::Object exports);
void InitOps(Napi::Env env, Napi::Object exports);
void InitAutograd(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);
void InitSdd(Napi::Env env, Napi::Object exports);
void InitDist(Napi::Env env, Napi::Object exports);
void InitNn(Napi::Env env, Napi::Object exports);
void InitData(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);

}  // namespace sdd
