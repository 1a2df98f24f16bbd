// Tensor handles (ownership, accounting, V8 memory pressure), creation from JS data and read-back.
#include "common.h"

#include <algorithm>
#include <cstring>

namespace sdd {

// V8 is told about native memory in batches: every call is a VM round trip.
static constexpr int64_t kAdjustThreshold = 1 << 20;

static void OnEnvCleanup(void* arg);

EnvData& GetEnvData(Napi::Env env) {
  auto* data = env.GetInstanceData<EnvData>();
  if (data == nullptr) {
    data = new EnvData();
    data->env = env;
    env.SetInstanceData<EnvData>(data);  // deleted by node-addon-api when the env ends
    // Cleanup hooks run before the env's references and instance data are finalized: the last
    // moment our weak references can be deleted (and the point after which no sweep may run).
    napi_add_env_cleanup_hook(env, OnEnvCleanup, data);
  }
  return *data;
}

static void FlushAdjust(Napi::Env env, EnvData& d, bool force) {
  if (d.pendingAdjust == 0) return;
  if (force || d.pendingAdjust >= kAdjustThreshold || d.pendingAdjust <= -kAdjustThreshold) {
    Napi::MemoryManagement::AdjustExternalMemory(env, d.pendingAdjust);
    d.pendingAdjust = 0;
  }
}

// ---------------------------------------------------------------- storage accounting

size_t StorageCounts::Home(const c10::StorageImpl* key) const {
  auto h = reinterpret_cast<uintptr_t>(key);
  h ^= h >> 17;
  h *= 0x9E3779B97F4A7C15ULL;
  return static_cast<size_t>(h >> 20) & (table_.size() - 1);
}

void StorageCounts::Grow() {
  std::vector<Entry> old(table_.size() * 2);
  old.swap(table_);
  used_ = 0;
  for (const Entry& e : old) {
    if (e.key == nullptr) continue;
    size_t i = Home(e.key);
    while (table_[i].key != nullptr) i = (i + 1) & (table_.size() - 1);
    table_[i] = e;
    used_ += 1;
  }
}

bool StorageCounts::Add(const c10::StorageImpl* key, int64_t bytes) {
  size_t mask = table_.size() - 1;
  for (size_t i = Home(key);; i = (i + 1) & mask) {
    Entry& e = table_[i];
    if (e.key == key) {
      e.refs += 1;
      return false;
    }
    if (e.key == nullptr) {
      e = Entry{key, 1, bytes};
      if (++used_ * 2 > table_.size()) Grow();  // load <= 1/2: probes stay short
      return true;
    }
  }
}

int64_t StorageCounts::Remove(const c10::StorageImpl* key) {
  size_t mask = table_.size() - 1;
  size_t i = Home(key);
  while (table_[i].key != key) {
    if (table_[i].key == nullptr) return 0;  // not counted (cannot happen for an accounted slot)
    i = (i + 1) & mask;
  }
  if (--table_[i].refs > 0) return 0;
  int64_t bytes = table_[i].bytes;
  // Backward-shift deletion: later entries of the probe run move up, so no tombstones pile up.
  size_t hole = i;
  for (size_t j = (i + 1) & mask; table_[j].key != nullptr; j = (j + 1) & mask) {
    size_t home = Home(table_[j].key);
    // entry j may fill the hole if its home is not in the cyclic range (hole, j]
    bool between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!between) {
      table_[hole] = table_[j];
      hole = j;
    }
  }
  table_[hole] = Entry{};
  used_ -= 1;
  return bytes;
}

static void Account(Napi::Env env, EnvData& d, Slot& slot) {
  d.liveTensors += 1;
  if (!slot.tensor.defined() || !slot.tensor.has_storage()) return;
  const c10::Storage& storage = slot.tensor.storage();
  const c10::StorageImpl* impl = storage.unsafeGetStorageImpl();
  slot.storage = impl;
  auto bytes = static_cast<int64_t>(storage.nbytes());
  if (d.storages.Add(impl, bytes)) {
    d.liveBytes += bytes;
    d.pendingAdjust += bytes;
    FlushAdjust(env, d, false);
  }
}

static void Unaccount(Napi::Env env, EnvData& d, Slot& slot) {
  d.liveTensors -= 1;
  if (slot.storage != nullptr) {
    int64_t bytes = d.storages.Remove(slot.storage);
    if (bytes != 0) {
      d.liveBytes -= bytes;
      d.pendingAdjust -= bytes;
      FlushAdjust(env, d, false);
    }
    slot.storage = nullptr;
  }
}

// ---------------------------------------------------------------- handles

// A handle is the number generation * 2^24 + slot index: exact in a double (generations wrap
// below 2^29, so the value stays below 2^53).
static constexpr int kIndexBits = 24;
static constexpr uint32_t kMaxSlots = 1u << kIndexBits;
static constexpr uint32_t kGenerations = 1u << 29;

static inline double Encode(uint32_t index, uint32_t generation) {
  return static_cast<double>((static_cast<uint64_t>(generation) << kIndexBits) | index);
}

// The slot index a handle names, or -1 for a value that is no handle at all.
static inline int64_t DecodeIndex(const Napi::Value& v, uint32_t* generation) {
  double x;
  if (napi_get_value_double(v.Env(), v, &x) != napi_ok) return -1;  // not a number
  if (!(x >= 1.0 && x < 9007199254740992.0)) return -1;
  auto bits = static_cast<uint64_t>(x);
  if (static_cast<double>(bits) != x) return -1;
  *generation = static_cast<uint32_t>(bits >> kIndexBits);
  return static_cast<int64_t>(bits & (kMaxSlots - 1));
}

// The index of the slot a handle names if it is still live, else -1.
static int64_t LiveIndex(EnvData& d, const Napi::Value& v, const char* what) {
  uint32_t generation = 0;
  int64_t index = DecodeIndex(v, &generation);
  if (index < 0) {
    throw Napi::TypeError::New(v.Env(), std::string("Expected a Tensor for ") + what + " but received something else");
  }
  if (static_cast<uint64_t>(index) >= d.slots.size() || d.slots[index].generation != generation) return -1;
  return index;
}

// The slot a handle names if it is still live, else nullptr.
static Slot* Lookup(EnvData& d, const Napi::Value& v, const char* what) {
  int64_t index = LiveIndex(d, v, what);
  return index < 0 ? nullptr : &d.slots[index];
}

Napi::Value Wrap(Napi::Env env, at::Tensor t) {
  EnvData& d = GetEnvData(env);
  uint32_t index;
  if (!d.freeSlots.empty()) {
    index = d.freeSlots.back();
    d.freeSlots.pop_back();
  } else {
    TORCH_CHECK(d.slots.size() < kMaxSlots, "too many live tensors (", kMaxSlots,
                "): dispose() tensors or use tidy()");
    index = static_cast<uint32_t>(d.slots.size());
    d.slots.emplace_back();
  }
  Slot& slot = d.slots[index];
  slot.tensor = std::move(t);
  Account(env, d, slot);
  napi_value out;
  NAPI_THROW_IF_FAILED(env, napi_create_double(env, Encode(index, slot.generation), &out), Napi::Value());
  return Napi::Value(env, out);
}

const at::Tensor& Unwrap(const Napi::Value& v, const char* what) {
  Slot* slot = Lookup(GetEnvData(v.Env()), v, what);
  if (slot == nullptr) {
    throw Napi::Error::New(v.Env(), std::string("Tensor used after dispose() for ") + what +
                                        ": keep it (tidy's return value or keep()) or clone it first");
  }
  return slot->tensor;
}

static void DropWeak(EnvData& d, Slot& slot) {
  if (slot.weak == nullptr) return;
  napi_delete_reference(d.env, slot.weak);  // plain napi call: never throws, harmless at teardown
  slot.weak = nullptr;
  d.guarded -= 1;
}

static void ReleaseSlot(Napi::Env env, EnvData& d, uint32_t index) {
  Slot& slot = d.slots[index];
  DropWeak(d, slot);
  Unaccount(env, d, slot);
  slot.tensor.reset();
  slot.generation += 1;  // every outstanding handle to this slot is now stale
  if (slot.generation >= kGenerations) slot.generation = 1;
  d.freeSlots.push_back(index);
}

void Release(const Napi::Value& v) {
  Napi::Env env = v.Env();
  EnvData& d = GetEnvData(env);
  int64_t index = LiveIndex(d, v, "tensor");
  if (index < 0) return;  // already released: dispose() is idempotent
  ReleaseSlot(env, d, static_cast<uint32_t>(index));
}

// ---------------------------------------------------------------- the GC safety net
//
// A tensor that escapes tidy() (made at top level, returned from tidy to top level, or keep()) is
// guarded: its slot holds a weak reference to the JS Tensor that holds its handle (the handle is a
// number; the Tensor is the only object that carries it). V8 clears a weak reference during the
// GC that collects the Tensor, synchronously; it only *runs finalizers* (Node-API finalizers and
// FinalizationRegistry callbacks alike) later, when the event loop turns. So a sweep over the
// guarded slots releases every tensor whose Tensor is gone, without waiting for the event loop:
// a synchronous training loop that never yields stays bounded.
//
// When to sweep: a sentinel object, referenced only weakly, dies at the first GC after it was
// made. Guard() checks it (one call) and sweeps once a GC has happened and enough was guarded
// (64 handles, or half as many as were guarded after the last sweep: amortised, as each sweep
// visits every slot) or 4 MiB was allocated since the last sweep. The sentinel's own finalizer
// sweeps too, when the loop turns: that covers programs that stop making tensors. memory() does
// not sweep, so counts read within synchronous code change only where tensors escape tidy().
struct GcToken {
  EnvData* d;
};

static constexpr int64_t kSweepBytes = 4 << 20;

static void Sweep(Napi::Env env, EnvData& d);

static void OnSentinelCollected(napi_env env, void* data, void* hint) {
  auto* token = static_cast<GcToken*>(data);
  EnvData* d = token->d;
  delete token;
  if (d == nullptr || d->terminating) return;  // replaced by a newer sentinel, or the env is ending
  d->token = nullptr;
  Sweep(Napi::Env(env), *d);
}

// A fresh sentinel (the previous one is dead or being replaced).
static void Arm(Napi::Env env, EnvData& d) {
  if (d.token != nullptr) d.token->d = nullptr;  // its finalizer, when it runs, does nothing
  d.token = nullptr;
  if (d.sentinel != nullptr) napi_delete_reference(env, d.sentinel);
  d.sentinel = nullptr;
  if (d.terminating || d.guarded == 0) return;
  auto* token = new GcToken{&d};
  napi_value ext;
  if (napi_create_external(env, token, OnSentinelCollected, nullptr, &ext) != napi_ok) {
    delete token;
    return;
  }
  d.token = token;  // from here the finalizer owns it
  if (napi_create_reference(env, ext, 0, &d.sentinel) != napi_ok) d.sentinel = nullptr;
}

static void Sweep(Napi::Env env, EnvData& d) {
  if (d.terminating) return;
  napi_handle_scope scope;
  bool scoped = napi_open_handle_scope(env, &scope) == napi_ok;
  for (uint32_t i = 0; i < d.slots.size(); ++i) {
    Slot& slot = d.slots[i];
    if (slot.weak == nullptr) continue;
    napi_value v = nullptr;
    if (napi_get_reference_value(env, slot.weak, &v) == napi_ok && v == nullptr) ReleaseSlot(env, d, i);
  }
  if (scoped) napi_close_handle_scope(env, scope);
  d.guardsSinceSweep = 0;
  d.guardedAfterSweep = d.guarded;
  d.bytesAfterSweep = d.liveBytes;
  Arm(env, d);
}

// True once a GC has collected the sentinel (or there is none yet).
static bool GcSinceSweep(Napi::Env env, EnvData& d) {
  if (d.sentinel == nullptr) return true;
  napi_value v = nullptr;
  return napi_get_reference_value(env, d.sentinel, &v) == napi_ok && v == nullptr;
}

void Guard(const Napi::Value& v, const Napi::Value& owner) {
  Napi::Env env = v.Env();
  EnvData& d = GetEnvData(env);
  Slot* slot = Lookup(d, v, "tensor");
  if (slot == nullptr || slot->weak != nullptr || d.terminating) return;
  if (!owner.IsObject()) throw Napi::TypeError::New(env, "guard(handle, owner): the owner must be the Tensor holding the handle");
  if (napi_create_reference(env, owner, 0, &slot->weak) != napi_ok) {
    slot->weak = nullptr;
    return;
  }
  d.guarded += 1;
  d.guardsSinceSweep += 1;
  bool due = d.guardsSinceSweep >= std::max<int64_t>(64, d.guardedAfterSweep / 2) ||
             d.liveBytes - d.bytesAfterSweep >= kSweepBytes;
  if (due && GcSinceSweep(env, d)) Sweep(env, d);
  else if (d.sentinel == nullptr && d.token == nullptr) Arm(env, d);
}

// Env teardown (worker exit or terminate()): no sweep may run any more, and the weak references
// must go now (after this hook Node finalizes the env's references itself). The tensors are freed
// with the instance data.
static void OnEnvCleanup(void* arg) {
  auto* d = static_cast<EnvData*>(arg);
  d->terminating = true;
  for (auto& slot : d->slots) DropWeak(*d, slot);
  if (d->token != nullptr) d->token->d = nullptr;
  d->token = nullptr;
  if (d->sentinel != nullptr) napi_delete_reference(d->env, d->sentinel);
  d->sentinel = nullptr;
}

void SetData(const Napi::Value& v, const at::Tensor& data) {
  Napi::Env env = v.Env();
  EnvData& d = GetEnvData(env);
  Slot* slot = Lookup(d, v, "parameter");
  if (slot == nullptr) throw Napi::Error::New(env, "setData: the tensor was disposed");
  slot->tensor.set_data(data);
  Unaccount(env, d, *slot);  // storage may have changed: account afresh
  Account(env, d, *slot);
}

bool IsReleased(const Napi::Value& v) { return Lookup(GetEnvData(v.Env()), v, "tensor") == nullptr; }

// ---------------------------------------------------------------- handle management

static Napi::Value Dispose(const Napi::CallbackInfo& info) {
  Release(info[0]);
  return info.Env().Undefined();
}

static Napi::Value GuardHandle(const Napi::CallbackInfo& info) {  // guard(handle, owner)
  Guard(info[0], info[1]);
  return info.Env().Undefined();
}

static Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), IsReleased(info[0]));
}

static Napi::Value Memory(const Napi::CallbackInfo& info) {
  EnvData& d = GetEnvData(info.Env());
  FlushAdjust(info.Env(), d, true);
  auto out = Napi::Object::New(info.Env());
  out.Set("liveTensors", Napi::Number::New(info.Env(), static_cast<double>(d.liveTensors)));
  out.Set("bytes", Napi::Number::New(info.Env(), static_cast<double>(d.liveBytes)));
  return out;
}

// ---------------------------------------------------------------- creation

static at::TensorOptions Options(const Napi::CallbackInfo& info, size_t dtypeArg, size_t deviceArg) {
  return at::TensorOptions().dtype(ToDtype(info[dtypeArg])).device(ToDevice(info[deviceArg]));
}

static at::Tensor MaybeGrad(at::Tensor t, const Napi::Value& v) {
  if (v.IsBoolean() && v.As<Napi::Boolean>().Value()) t.set_requires_grad(true);
  return t;
}

// fromTypedArray(typedArray, shape, dtype, device, requiresGrad): copies the JS memory (the JS
// buffer may be mutated or collected while autograd threads still read the tensor).
static Napi::Value FromTypedArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "Expected a TypedArray for data");
  auto ta = info[0].As<Napi::TypedArray>();
  at::ScalarType src;
  switch (ta.TypedArrayType()) {
    case napi_float32_array: src = at::kFloat; break;
    case napi_float64_array: src = at::kDouble; break;
    case napi_int32_array: src = at::kInt; break;
    case napi_bigint64_array: src = at::kLong; break;
    case napi_uint8_array:
    case napi_uint8_clamped_array: src = at::kByte; break;
    case napi_int8_array: src = at::kChar; break;
    case napi_int16_array: src = at::kShort; break;
    default:
      throw Napi::TypeError::New(env, "Expected a Float32Array, Float64Array, Int32Array, BigInt64Array, "
                                      "Uint8Array, Int8Array or Int16Array for data");
  }
  auto shape = ToIntList(info[1], "shape");
  int64_t numel = 1;
  for (auto s : shape) numel *= s;
  if (numel != static_cast<int64_t>(ta.ElementLength())) {
    throw Napi::RangeError::New(env, "Expected " + std::to_string(numel) + " elements for shape but the data has " +
                                         std::to_string(ta.ElementLength()));
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(src));
  if (numel > 0) {
    const uint8_t* base = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    std::memcpy(t.data_ptr(), base, ta.ByteLength());
  }
  at::ScalarType dtype = ToDtype(info[2]);
  c10::Device device = ToDevice(info[3]);
  if (dtype != src || !device.is_cpu()) t = t.to(device, dtype);
  return Wrap(env, MaybeGrad(t, info[4]));
}

static Napi::Value Scalar(const Napi::CallbackInfo& info) {  // scalar(value, dtype, device, requiresGrad)
  at::Tensor t = at::scalar_tensor(ToScalar(info[0], "value"), Options(info, 1, 2));
  return Wrap(info.Env(), MaybeGrad(t, info[3]));
}

static Napi::Value Full(const Napi::CallbackInfo& info) {  // full(shape, value, dtype, device, requiresGrad)
  at::Tensor t = at::full(ToIntList(info[0], "shape"), ToScalar(info[1], "value"), Options(info, 2, 3));
  return Wrap(info.Env(), MaybeGrad(t, info[4]));
}

static Napi::Value Empty(const Napi::CallbackInfo& info) {  // empty(shape, dtype, device, requiresGrad)
  at::Tensor t = at::empty(ToIntList(info[0], "shape"), Options(info, 1, 2));
  return Wrap(info.Env(), MaybeGrad(t, info[3]));
}

static Napi::Value Arange(const Napi::CallbackInfo& info) {  // arange(start, end, step, dtype, device)
  at::Tensor t = at::arange(ToScalar(info[0], "start"), ToScalar(info[1], "end"), ToScalar(info[2], "step"),
                            Options(info, 3, 4));
  return Wrap(info.Env(), t);
}

static Napi::Value Linspace(const Napi::CallbackInfo& info) {  // linspace(start, end, steps, dtype, device)
  at::Tensor t = at::linspace(ToScalar(info[0], "start"), ToScalar(info[1], "end"), ToInt(info[2], "steps"),
                              Options(info, 3, 4));
  return Wrap(info.Env(), t);
}

static Napi::Value Eye(const Napi::CallbackInfo& info) {  // eye(n, m, dtype, device)
  at::Tensor t = at::eye(ToInt(info[0], "n"), ToInt(info[1], "m"), Options(info, 2, 3));
  return Wrap(info.Env(), t);
}

static Napi::Value Rand(const Napi::CallbackInfo& info) {  // rand(shape, dtype, device, requiresGrad)
  at::Tensor t = at::rand(ToIntList(info[0], "shape"), Options(info, 1, 2));
  return Wrap(info.Env(), MaybeGrad(t, info[3]));
}

static Napi::Value Randn(const Napi::CallbackInfo& info) {
  at::Tensor t = at::randn(ToIntList(info[0], "shape"), Options(info, 1, 2));
  return Wrap(info.Env(), MaybeGrad(t, info[3]));
}

static Napi::Value Randint(const Napi::CallbackInfo& info) {  // randint(low, high, shape, dtype, device)
  at::Tensor t = at::randint(ToInt(info[0], "low"), ToInt(info[1], "high"), ToIntList(info[2], "shape"),
                             Options(info, 3, 4));
  return Wrap(info.Env(), t);
}

static Napi::Value Randperm(const Napi::CallbackInfo& info) {  // randperm(n, dtype, device)
  return Wrap(info.Env(), at::randperm(ToInt(info[0], "n"), Options(info, 1, 2)));
}

// ---------------------------------------------------------------- read-back

static Napi::Value Shape(const Napi::CallbackInfo& info) {
  return FromIntList(info.Env(), Unwrap(info[0]).sizes());
}

static Napi::Value Dtype(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), DtypeToCode(Unwrap(info[0]).scalar_type()));
}

static Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), Unwrap(info[0]).device().str());
}

static Napi::Value Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Unwrap(info[0]).numel()));
}

static Napi::Value Dim(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Unwrap(info[0]).dim()));
}

static Napi::Value Item(const Napi::CallbackInfo& info) {
  const at::Tensor& t = Unwrap(info[0]);
  TORCH_CHECK(t.numel() == 1, "item() needs a tensor with exactly one element, but this one has shape ",
              t.sizes(), " (", t.numel(), " elements); reduce it first (e.g. .sum() or .mean())");
  at::Scalar s = t.item();
  if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
  if (s.isIntegral(false)) return Napi::Number::New(info.Env(), static_cast<double>(s.toLong()));
  return Napi::Number::New(info.Env(), s.toDouble());
}

template <typename T>
static Napi::Value CopyOut(Napi::Env env, const at::Tensor& t, napi_typedarray_type type) {
  size_t n = static_cast<size_t>(t.numel());
  auto buf = Napi::ArrayBuffer::New(env, n * sizeof(T));
  if (n > 0) std::memcpy(buf.Data(), t.data_ptr(), n * sizeof(T));
  return Napi::TypedArrayOf<T>::New(env, n, buf, 0, type);
}

// toTypedArray(t): a copy on the CPU; float16/bfloat16 widen to Float32Array, bool to Uint8Array,
// int64 to BigInt64Array (exact).
static Napi::Value ToTypedArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor t = Unwrap(info[0]).detach();
  if (!t.device().is_cpu()) t = t.to(at::kCPU);
  switch (t.scalar_type()) {
    case at::kHalf:
    case at::kBFloat16: t = t.to(at::kFloat); break;
    case at::kBool: t = t.to(at::kByte); break;
    default: break;
  }
  t = t.contiguous();
  switch (t.scalar_type()) {
    case at::kFloat: return CopyOut<float>(env, t, napi_float32_array);
    case at::kDouble: return CopyOut<double>(env, t, napi_float64_array);
    case at::kLong: return CopyOut<int64_t>(env, t, napi_bigint64_array);
    case at::kInt: return CopyOut<int32_t>(env, t, napi_int32_array);
    case at::kByte: return CopyOut<uint8_t>(env, t, napi_uint8_array);
    case at::kChar: return CopyOut<int8_t>(env, t, napi_int8_array);
    case at::kShort: return CopyOut<int16_t>(env, t, napi_int16_array);
    default: TORCH_CHECK(false, "toTypedArray: unsupported dtype ", c10::toString(t.scalar_type()));
  }
}

// viewTypedArray(t): a typed array over the tensor's own memory (no copy). The ArrayBuffer holds a
// reference to the tensor, so the memory stays valid as long as either is alive. CPU, contiguous,
// and a dtype JS has a typed array for.
static void ReleaseViewed(Napi::Env env, void* data, at::Tensor* hold) { delete hold; }

static Napi::Value ViewTypedArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = Unwrap(info[0]);
  TORCH_CHECK(t.device().is_cpu(), "toTypedArray({ copy: false }) needs a CPU tensor (this one is on ", t.device(),
              "); use toTypedArray() to copy it to the host");
  TORCH_CHECK(t.is_contiguous(), "toTypedArray({ copy: false }) needs a contiguous tensor; call .contiguous() first "
              "or use toTypedArray()");
  napi_typedarray_type type;
  switch (t.scalar_type()) {
    case at::kFloat: type = napi_float32_array; break;
    case at::kDouble: type = napi_float64_array; break;
    case at::kLong: type = napi_bigint64_array; break;
    case at::kInt: type = napi_int32_array; break;
    case at::kByte: type = napi_uint8_array; break;
    case at::kBool: type = napi_uint8_array; break;
    case at::kChar: type = napi_int8_array; break;
    case at::kShort: type = napi_int16_array; break;
    default:
      TORCH_CHECK(false, "toTypedArray({ copy: false }): JS has no typed array for ", c10::toString(t.scalar_type()),
                  "; use toTypedArray() (it widens half types to float32)");
  }
  size_t n = static_cast<size_t>(t.numel());
  size_t bytes = n * t.element_size();
  Napi::ArrayBuffer buf;
  if (bytes == 0) {
    buf = Napi::ArrayBuffer::New(env, 0);
  } else {
    auto* hold = new at::Tensor(t.detach());
    buf = Napi::ArrayBuffer::New(env, hold->data_ptr(), bytes, ReleaseViewed, hold);
  }
  napi_value arr;
  NAPI_THROW_IF_FAILED(env, napi_create_typedarray(env, type, n, buf, 0, &arr), Napi::Value());
  return Napi::Value(env, arr);
}

// toFloat64Array(t): every dtype as doubles (used by toArray()/toString(), int64 included).
static Napi::Value ToFloat64Array(const Napi::CallbackInfo& info) {
  at::Tensor t = Unwrap(info[0]).detach().to(at::kCPU, at::kDouble).contiguous();
  return CopyOut<double>(info.Env(), t, napi_float64_array);
}

static Napi::Value Info(const Napi::CallbackInfo& info) {  // [shape, dtypeCode, device, requiresGrad]
  const at::Tensor& t = Unwrap(info[0]);
  auto out = Napi::Array::New(info.Env(), 4);
  out.Set(0u, FromIntList(info.Env(), t.sizes()));
  out.Set(1u, Napi::Number::New(info.Env(), DtypeToCode(t.scalar_type())));
  out.Set(2u, Napi::String::New(info.Env(), t.device().str()));
  out.Set(3u, Napi::Boolean::New(info.Env(), t.requires_grad()));
  return out;
}

void InitTensor(Napi::Env env, Napi::Object exports) {
  SDD_EXPORT(exports, "dispose", Dispose);
  SDD_EXPORT(exports, "guard", GuardHandle);
  SDD_EXPORT(exports, "isDisposed", IsDisposed);
  SDD_EXPORT(exports, "memory", Memory);
  SDD_EXPORT(exports, "fromTypedArray", FromTypedArray);
  SDD_EXPORT(exports, "scalar", Scalar);
  SDD_EXPORT(exports, "full", Full);
  SDD_EXPORT(exports, "empty", Empty);
  SDD_EXPORT(exports, "arange", Arange);
  SDD_EXPORT(exports, "linspace", Linspace);
  SDD_EXPORT(exports, "eye", Eye);
  SDD_EXPORT(exports, "rand", Rand);
  SDD_EXPORT(exports, "randn", Randn);
  SDD_EXPORT(exports, "randint", Randint);
  SDD_EXPORT(exports, "randperm", Randperm);
  SDD_EXPORT(exports, "shape", Shape);
  SDD_EXPORT(exports, "dtype", Dtype);
  SDD_EXPORT(exports, "device", DeviceOf);
  SDD_EXPORT(exports, "numel", Numel);
  SDD_EXPORT(exports, "dim", Dim);
  SDD_EXPORT(exports, "item", Item);
  SDD_EXPORT(exports, "toTypedArray", ToTypedArray);
  SDD_EXPORT(exports, "toFloat64Array", ToFloat64Array);
  SDD_EXPORT(exports, "viewTypedArray", ViewTypedArray);
  SDD_EXPORT(exports, "info", Info);
}

}  // namespace sdd
