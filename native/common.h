// Shared by every native file: the tensor handle, the one error guard, and JS <-> C++ conversions.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <cstdint>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

namespace sdd {

// A live tensor owned by a JS handle. A handle is a plain JS number encoding (generation << 24 |
// slot): creating one allocates nothing that V8 must track (an External costs a heap record, a
// global handle and a weak callback per tensor in Node 20, more than a small op), and a stale
// handle is detected by its generation. The JS Tensor object that holds a handle is what the GC
// safety net watches (Guard): a weak reference to it, checked by sweeps that run synchronously
// after V8 has collected garbage (see tensor.cc).
struct Slot {
  at::Tensor tensor;
  const c10::StorageImpl* storage = nullptr;
  uint32_t generation = 1;
  napi_ref weak = nullptr;  // set by Guard: the tensor is released once V8 has collected its owner
};

// Live storages and how many live handles reference each: an open-addressing table (no allocation
// per tensor, unlike std::unordered_map), so the byte count V8 is told about stays cheap to keep.
class StorageCounts {
 public:
  // Adds a reference; returns true when it is the storage's first (its bytes are new).
  bool Add(const c10::StorageImpl* key, int64_t bytes);
  // Drops a reference; returns the storage's bytes when it was the last one, else 0.
  int64_t Remove(const c10::StorageImpl* key);

 private:
  struct Entry {
    const c10::StorageImpl* key = nullptr;
    int64_t refs = 0;
    int64_t bytes = 0;
  };
  std::vector<Entry> table_ = std::vector<Entry>(64);
  size_t used_ = 0;
  size_t Home(const c10::StorageImpl* key) const;
  void Grow();
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
  StorageCounts storages;
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
// Puts a handle under the GC safety net: its tensor is released once V8 collects `owner`, the JS
// object holding the handle (a Tensor that escaped tidy()). Idempotent.
void Guard(const Napi::Value& handle, const Napi::Value& owner);
// param.set_data(data) on the tensor behind a handle (keeps the handle and autograd leaf identity)
// and moves the storage accounting to the new storage.
void SetData(const Napi::Value& v, const at::Tensor& data);
// True when the handle's tensor was released.
bool IsReleased(const Napi::Value& v);

// ---- argument conversion (the TS layer validates first; these are the last line) ----
int64_t ToInt(const Napi::Value& v, const char* what);
double ToDouble(const Napi::Value& v, const char* what);
bool ToBool(const Napi::Value& v, const char* what);
// A boolean, or `fallback` for anything else (an optional flag).
bool OptBool(const Napi::Value& v, bool fallback);
// undefined or null
bool IsNullish(const Napi::Value& v);
std::string ToString(const Napi::Value& v, const char* what);
std::vector<int64_t> ToIntList(const Napi::Value& v, const char* what);
std::vector<at::Tensor> ToTensorList(const Napi::Value& v, const char* what);
at::ScalarType ToDtype(const Napi::Value& v, const char* what = "dtype");
c10::Device ToDevice(const Napi::Value& v, const char* what = "device");
c10::optional<at::Tensor> ToOptionalTensor(const Napi::Value& v, const char* what);
at::Scalar ToScalar(const Napi::Value& v, const char* what);
Napi::Value FromIntList(Napi::Env env, at::IntArrayRef list);
Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& list);

// dtype codes: indices into convert.cc's kDtypes, exported as native.codes.dtype.
at::ScalarType DtypeFromCode(int code);
int DtypeToCode(at::ScalarType t);

// ---- codes: the one source of truth for every number that crosses the boundary ----
// An op family is an array of entries with a `name` (and usually the function the code runs); the
// code of an entry is its index. AddCodes exports the names of the same array as
// native.codes[family] = { name: code }, and lib/core/codes.ts reads them by name at load, so no
// number is kept in step by hand. A plain name list (const char*) works for families whose
// entries carry no function (modes, kinds).
inline const char* EntryName(const char* entry) { return entry; }
template <typename E>
const char* EntryName(const E& entry) {
  return entry.name;
}

// native.codes (created on first use), to which each part adds its families.
Napi::Object CodesObject(Napi::Env env, Napi::Object exports);

template <typename E, size_t N>
void AddCodes(Napi::Env env, Napi::Object exports, const char* family, const E (&table)[N]) {
  auto names = Napi::Object::New(env);
  for (size_t i = 0; i < N; ++i) names.Set(EntryName(table[i]), Napi::Number::New(env, static_cast<double>(i)));
  names.Freeze();
  CodesObject(env, exports).Set(family, names);
}

// The entry a JS code selects; an unknown code is an error naming the family.
template <typename E, size_t N>
const E& CodeEntry(const E (&table)[N], const Napi::Value& v, const char* family) {
  int64_t code = ToInt(v, family);
  TORCH_CHECK(code >= 0 && code < static_cast<int64_t>(N), "unknown ", family, " code ", code);
  return table[code];
}

// The index of `name` in a family (for settings passed by name, e.g. a padding mode); an unknown
// name is an error listing the known ones.
template <typename E, size_t N>
int IndexOfName(const E (&table)[N], const std::string& name, const char* what) {
  for (size_t i = 0; i < N; ++i)
    if (name == EntryName(table[i])) return static_cast<int>(i);
  std::string known;
  for (size_t i = 0; i < N; ++i) known += std::string(i ? ", '" : "'") + EntryName(table[i]) + "'";
  throw std::invalid_argument(std::string("unknown ") + what + " '" + name + "' (expected one of " + known + ")");
}

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
void InitConvert(Napi::Env env, Napi::Object exports);
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
