// Data kernels: per-batch gather, decode and augmentation off the JS main thread.
//
// dataBatch() takes a batch description, queues a Napi::AsyncWorker on the libuv pool and returns
// a promise. Execute() (a pool thread, no Node-API) reads the samples (rows of a uint8 tensor,
// slices of a uint8 buffer, or JPEG/PNG files it reads and decodes), applies the ops of
// data_pipeline.h with per-sample random streams keyed by (seed, epoch, sample id), and writes one
// float32 B x C x H x W tensor (pinned, then copied without blocking when the device is CUDA).
// OnOK() (main thread) only wraps the tensors. lib/data/loader.ts drives it.
#include <array>
#include <thread>

#include "common.h"
#include "data_image.h"
#include "data_pipeline.h"

namespace sdd {

namespace {

using data::Kind;
using data::Op;
using data::PadMode;
using data::Work;

// ------------------------------------------------------------------ argument parsing (main thread)
Napi::Object ToObject(const Napi::Value& v, const char* what) {
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), std::string("Expected an object for ") + what);
  return v.As<Napi::Object>();
}

int GetInt(const Napi::Object& o, const char* key, int def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  const int64_t x = ToInt(v, key);
  if (x < INT32_MIN || x > INT32_MAX) throw Napi::RangeError::New(o.Env(), std::string(key) + " is out of range");
  return int(x);
}

double GetDouble(const Napi::Object& o, const char* key, double def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  return ToDouble(v, key);
}

std::vector<float> GetFloats(const Napi::Object& o, const char* key) {
  std::vector<float> out;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), std::string("Expected an array of numbers for ") + key);
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(float(ToDouble(a.Get(i), key)));
  return out;
}

PadMode ToPadMode(const std::string& s, Napi::Env env) {
  if (s == "zeros" || s == "constant") return PadMode::Zeros;
  if (s == "reflect") return PadMode::Reflect;
  if (s == "edge" || s == "replicate") return PadMode::Edge;
  if (s == "symmetric") return PadMode::Symmetric;
  throw Napi::TypeError::New(env, "Unknown padding mode '" + s + "' (expected zeros, reflect, edge or symmetric)");
}

std::vector<Op> ToOps(const Napi::Value& v) {
  Napi::Env env = v.Env();
  std::vector<Op> ops;
  if (v.IsUndefined() || v.IsNull()) return ops;
  if (!v.IsArray()) throw Napi::TypeError::New(env, "Expected an array of transform ops");
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object o = ToObject(arr.Get(i), "a transform op");
    const std::string kind = ToString(o.Get("kind"), "op.kind");
    Op op;
    op.h = GetInt(o, "h", 0);
    op.w = GetInt(o, "w", 0);
    op.pl = GetInt(o, "padLeft", 0);
    op.pt = GetInt(o, "padTop", 0);
    op.pr = GetInt(o, "padRight", 0);
    op.pb = GetInt(o, "padBottom", 0);
    Napi::Value mode = o.Get("mode");
    if (mode.IsString()) op.mode = ToPadMode(mode.As<Napi::String>().Utf8Value(), env);
    if (kind == "crop") {
      op.kind = Kind::Crop;
      op.top = GetInt(o, "top", 0);
      op.left = GetInt(o, "left", 0);
    } else if (kind == "randomCrop") {
      op.kind = Kind::RandomCrop;
    } else if (kind == "centerCrop") {
      op.kind = Kind::CenterCrop;
    } else if (kind == "pad") {
      op.kind = Kind::Pad;
    } else if (kind == "hflip" || kind == "vflip") {
      op.kind = kind == "hflip" ? Kind::HFlip : Kind::VFlip;
      op.p = GetDouble(o, "p", 0.5);
    } else if (kind == "resize") {
      op.kind = Kind::Resize;
      op.shorter = GetInt(o, "shorter", 0);
    } else if (kind == "randomResizedCrop") {
      op.kind = Kind::RandomResizedCrop;
      op.s0 = GetDouble(o, "scaleMin", 0.08);
      op.s1 = GetDouble(o, "scaleMax", 1.0);
      op.r0 = GetDouble(o, "ratioMin", 3.0 / 4.0);
      op.r1 = GetDouble(o, "ratioMax", 4.0 / 3.0);
      if (!(op.s0 > 0 && op.s0 <= op.s1 && op.r0 > 0 && op.r0 <= op.r1))
        throw Napi::RangeError::New(env, "randomResizedCrop: scale and ratio must be positive ranges [min, max]");
    } else if (kind == "normalize") {
      op.kind = Kind::Normalize;
      op.scale = GetDouble(o, "scale", 1.0 / 255.0);
      op.mean = GetFloats(o, "mean");
      op.std = GetFloats(o, "std");
      for (float s : op.std)
        if (!(s != 0.f)) throw Napi::RangeError::New(env, "normalize: std must not be 0");
      if (i + 1 != arr.Length()) throw Napi::TypeError::New(env, "normalize must be the last transform");
    } else {
      throw Napi::TypeError::New(env, "Unknown transform op '" + kind + "'");
    }
    const bool sized = op.kind == Kind::Crop || op.kind == Kind::RandomCrop || op.kind == Kind::CenterCrop ||
                       op.kind == Kind::RandomResizedCrop || (op.kind == Kind::Resize && op.shorter == 0);
    if (sized && (op.h <= 0 || op.w <= 0)) throw Napi::RangeError::New(env, "transform op '" + kind + "' needs a positive size");
    if (op.pl < 0 || op.pt < 0 || op.pr < 0 || op.pb < 0) throw Napi::RangeError::New(env, "padding must be >= 0");
    ops.push_back(std::move(op));
  }
  return ops;
}

// ----------------------------------------------------------------------------- the batch worker
enum class Source { Tensor, Buffer, Files };

class BatchWorker : public Napi::AsyncWorker {
 public:
  explicit BatchWorker(const Napi::CallbackInfo& info)
      : Napi::AsyncWorker(info.Env(), "sdd.data.batch"), deferred_(Napi::Promise::Deferred::New(info.Env())) {
    Napi::Env env = info.Env();
    Napi::Object o = ToObject(info[0], "the batch description");
    Napi::Object src = ToObject(o.Get("source"), "source");
    const std::string kind = ToString(src.Get("kind"), "source.kind");
    ops_ = ToOps(o.Get("ops"));
    if (!ops_.empty() && ops_.back().kind == Kind::Normalize) norm_ = &ops_.back();
    // ids: one per sample, the key of its random stream (the data set index).
    Napi::Value idsV = o.Get("ids");
    if (!idsV.IsTypedArray() || idsV.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throw Napi::TypeError::New(env, "Expected a Float64Array for ids");
    Napi::Float64Array ids = idsV.As<Napi::Float64Array>();
    ids_.assign(ids.Data(), ids.Data() + ids.ElementLength());
    for (double id : ids_)
      if (!(id >= 0 && id < 9007199254740992.0 && id == std::floor(id)))
        throw Napi::RangeError::New(env, "ids must be non-negative integers (data set indices)");
    const size_t B = ids_.size();
    Napi::Value seedV = o.Get("seed");
    if (seedV.IsBigInt()) {
      bool lossless = true;
      seed_ = seedV.As<Napi::BigInt>().Uint64Value(&lossless);
    } else {
      seed_ = uint64_t(ToInt(seedV, "seed"));
    }
    const int64_t epoch = ToInt(o.Get("epoch"), "epoch");
    if (epoch < 0) throw Napi::RangeError::New(env, "epoch must be >= 0");
    epoch_ = uint64_t(epoch);
    threads_ = std::max(1, GetInt(o, "threads", 1));
    Napi::Value tV = o.Get("targets");
    if (!tV.IsUndefined() && !tV.IsNull()) {
      if (!tV.IsTypedArray() || tV.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw Napi::TypeError::New(env, "Expected an Int32Array for targets");
      Napi::Int32Array t = tV.As<Napi::Int32Array>();
      if (t.ElementLength() != B) throw Napi::RangeError::New(env, "targets and ids differ in length");
      targets_.assign(t.Data(), t.Data() + t.ElementLength());
      hasTargets_ = true;
    }
    Napi::Value devV = o.Get("device");
    if (!devV.IsUndefined() && !devV.IsNull()) {
      device_ = ToDevice(devV, "device");
      if (device_.is_cuda() && !at::hasCUDA())
        throw Napi::Error::New(env, "device '" + device_.str() + "' asked for, but this libtorch was built without CUDA");
    }

    if (kind == "tensor") {
      source_ = Source::Tensor;
      images_ = Unwrap(src.Get("images"), "source.images");
      if (images_.scalar_type() != at::kByte || !images_.device().is_cpu() || !images_.is_contiguous())
        throw Napi::TypeError::New(env, "source.images must be a contiguous uint8 CPU tensor");
      const std::string layout = ToString(src.Get("layout"), "source.layout");
      auto s = images_.sizes();
      if (layout == "NHW" && s.size() == 3) {
        C_ = 1, H_ = s[1], W_ = s[2], sc_ = 0, sh_ = W_, sw_ = 1;
      } else if (layout == "NCHW" && s.size() == 4) {
        C_ = s[1], H_ = s[2], W_ = s[3], sc_ = H_ * W_, sh_ = W_, sw_ = 1;
      } else if (layout == "NHWC" && s.size() == 4) {
        H_ = s[1], W_ = s[2], C_ = s[3], sc_ = 1, sh_ = W_ * C_, sw_ = C_;
      } else {
        throw Napi::TypeError::New(env, "source.layout '" + layout + "' does not fit an images tensor of " +
                                            std::to_string(s.size()) + " dimensions");
      }
      const int64_t N = s[0];
      for (double id : ids_)
        if (!(id >= 0 && id < double(N) && id == std::floor(id)))
          throw Napi::RangeError::New(env, "sample index " + std::to_string(id) + " is outside the " +
                                               std::to_string(N) + " images");
    } else if (kind == "buffer") {
      source_ = Source::Buffer;
      Napi::Value d = src.Get("data");
      if (!d.IsTypedArray() || d.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
        throw Napi::TypeError::New(env, "Expected a Uint8Array for source.data");
      Napi::Uint8Array data = d.As<Napi::Uint8Array>();
      bufferRef_ = Napi::Persistent(data.As<Napi::Object>());  // kept alive until the worker is done
      buffer_ = data.Data();
      bufferLen_ = data.ByteLength();
      Napi::Value offV = src.Get("offsets"), dimV = src.Get("dims");
      if (!offV.IsTypedArray() || offV.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
          !dimV.IsTypedArray() || dimV.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw Napi::TypeError::New(env, "Expected source.offsets (Float64Array) and source.dims (Int32Array)");
      Napi::Float64Array off = offV.As<Napi::Float64Array>();
      Napi::Int32Array dims = dimV.As<Napi::Int32Array>();
      if (off.ElementLength() != B || dims.ElementLength() != 3 * B)
        throw Napi::RangeError::New(env, "source.offsets/dims do not match the number of samples");
      hwc_ = ToString(src.Get("layout"), "source.layout") == "HWC";
      for (size_t b = 0; b < B; b++) {
        const int64_t c = dims[3 * b], h = dims[3 * b + 1], w = dims[3 * b + 2];
        const double at = off[b];
        if (c <= 0 || h <= 0 || w <= 0 || at < 0 || at + double(c * h * w) > double(bufferLen_))
          throw Napi::RangeError::New(env, "sample " + std::to_string(b) + " lies outside source.data");
        offsets_.push_back(size_t(at));
        dims_.push_back({int(c), int(h), int(w)});
      }
    } else if (kind == "files") {
      source_ = Source::Files;
      Napi::Value p = src.Get("paths");
      if (!p.IsArray()) throw Napi::TypeError::New(env, "Expected an array of paths for source.paths");
      Napi::Array paths = p.As<Napi::Array>();
      for (uint32_t i = 0; i < paths.Length(); i++) paths_.push_back(ToString(paths.Get(i), "path"));
      if (paths_.size() != B) throw Napi::RangeError::New(env, "source.paths does not match the number of samples");
    } else {
      throw Napi::TypeError::New(env, "Unknown source.kind '" + kind + "'");
    }
  }

  ~BatchWorker() override { bufferRef_.Reset(); }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      Run();
    } catch (const std::bad_alloc&) {
      SetError("out of memory while preparing a batch");
    } catch (...) {
      SetError(InFlightErrorMessage());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, Wrap(env, out_));
    out.Set(1u, hasTargets_ ? Wrap(env, outTargets_) : env.Null());
    out_ = at::Tensor();
    outTargets_ = at::Tensor();
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::string Name(size_t b) const {
    std::string s = "sample " + std::to_string(b) + " (data set index " + std::to_string(int64_t(ids_[b])) + ")";
    if (source_ == Source::Files) s = paths_[b];
    return s;
  }

  void Load(size_t b, Work& w) {
    if (source_ == Source::Tensor) {
      w.C = int(C_);
      w.u8 = images_.data_ptr<uint8_t>() + int64_t(ids_[b]) * C_ * H_ * W_;
      w.sc = sc_, w.sh = sh_, w.sw = sw_;
      w.Identity(int(H_), int(W_));
    } else if (source_ == Source::Buffer) {
      const auto& d = dims_[b];
      w.C = d[0];
      w.u8 = buffer_ + offsets_[b];
      if (hwc_) {
        w.sc = 1, w.sh = int64_t(d[2]) * d[0], w.sw = d[0];
      } else {
        w.sc = int64_t(d[1]) * d[2], w.sh = d[2], w.sw = 1;
      }
      w.Identity(d[1], d[2]);
    } else {
      std::vector<uint8_t> bytes;
      std::string err;
      if (!image::ReadFile(paths_[b], &bytes, &err)) throw std::runtime_error(err);
      image::Decoded img;
      if (!image::Decode(bytes.data(), bytes.size(), false, &img, &err)) throw std::runtime_error(err);
      w.C = 3;
      w.own8.swap(img.rgb);
      w.u8 = w.own8.data();
      w.sc = 1, w.sh = int64_t(img.width) * 3, w.sw = 3;
      w.Identity(img.height, img.width);
    }
  }

  // Runs fn(b) for every sample on `threads_` threads; the lowest failing sample's error wins.
  template <typename F>
  void ForEach(size_t B, F fn) {
    std::vector<std::string> errors(B);
    auto body = [&](size_t t, size_t n) {
      for (size_t b = t; b < B; b += n) {
        try {
          fn(b);
        } catch (const c10::Error& e) {
          errors[b] = e.what_without_backtrace();
        } catch (const std::exception& e) {
          errors[b] = e.what();
          if (errors[b].empty()) errors[b] = "unknown error";
        }
      }
    };
    const size_t n = std::min<size_t>(size_t(threads_), std::max<size_t>(B, 1));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < n; t++) pool.emplace_back(body, t, n);
    body(0, n);
    for (auto& th : pool) th.join();
    for (size_t b = 0; b < B; b++)
      if (!errors[b].empty()) throw std::runtime_error(Name(b) + ": " + errors[b]);
  }

  void Run() {
    const size_t B = ids_.size();
    std::vector<Work> works(B);
    ForEach(B, [&](size_t b) {
      Load(b, works[b]);
      data::SampleRng rng(data::SampleKey(seed_, epoch_, uint64_t(ids_[b])));
      data::Apply(works[b], ops_, rng);
    });
    int C = B ? works[0].C : int(C_), H = B ? works[0].H() : int(H_), W = B ? works[0].W() : int(W_);
    for (size_t b = 1; b < B; b++) {
      const Work& w = works[b];
      if (w.C != C || w.H() != H || w.W() != W)
        throw std::runtime_error(
            "the images of a batch must have one size after the transforms, but " + Name(0) + " is " +
            std::to_string(C) + "x" + std::to_string(H) + "x" + std::to_string(W) + " and " + Name(b) + " is " +
            std::to_string(w.C) + "x" + std::to_string(w.H()) + "x" + std::to_string(w.W()) +
            " (add a resize/centerCrop or randomResizedCrop transform)");
    }
    if (norm_) {
      for (const auto* v : {&norm_->mean, &norm_->std})
        if (v->size() > 1 && int(v->size()) != C)
          throw std::runtime_error("normalize has " + std::to_string(v->size()) + " values per channel but the images have " +
                                   std::to_string(C) + " channel" + (C == 1 ? "" : "s"));
    }
    auto opts = at::TensorOptions().dtype(at::kFloat);
    const bool cuda = device_.is_cuda();
    if (cuda) opts = opts.pinned_memory(true);
    at::Tensor images = at::empty({int64_t(B), C, H, W}, opts);
    float* base = images.data_ptr<float>();
    const size_t per = size_t(C) * H * W;
    ForEach(B, [&](size_t b) {
      data::WriteOut(works[b], norm_, base + b * per);
      works[b] = Work();  // free decoded pixels early
    });
    at::Tensor targets;
    if (hasTargets_) {
      targets = at::empty({int64_t(B)}, at::TensorOptions().dtype(at::kLong).pinned_memory(cuda));
      int64_t* t = targets.data_ptr<int64_t>();
      for (size_t b = 0; b < B; b++) t[b] = targets_[b];
    }
    if (cuda) {
      // Pinned host memory, copied on the current stream without blocking this thread; the caching
      // host allocator keeps the pinned block until the copy has completed.
      images = images.to(device_, at::kFloat, /*non_blocking=*/true);
      if (hasTargets_) targets = targets.to(device_, at::kLong, /*non_blocking=*/true);
    }
    out_ = images;
    outTargets_ = targets;
  }

  Napi::Promise::Deferred deferred_;
  std::vector<Op> ops_;
  const Op* norm_ = nullptr;
  std::vector<double> ids_;
  uint64_t seed_ = 0, epoch_ = 0;
  int threads_ = 1;
  std::vector<int32_t> targets_;
  bool hasTargets_ = false;
  c10::Device device_ = c10::Device(c10::kCPU);
  Source source_ = Source::Tensor;
  at::Tensor images_;
  int64_t C_ = 0, H_ = 0, W_ = 0, sc_ = 0, sh_ = 0, sw_ = 0;
  Napi::ObjectReference bufferRef_;
  const uint8_t* buffer_ = nullptr;
  size_t bufferLen_ = 0;
  std::vector<size_t> offsets_;
  std::vector<std::array<int, 3>> dims_;
  bool hwc_ = false;
  std::vector<std::string> paths_;
  at::Tensor out_, outTargets_;
};

Napi::Value DataBatch(const Napi::CallbackInfo& info) {
  auto* w = new BatchWorker(info);  // if the constructor throws, nothing was queued
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// --------------------------------------------------------------- probing and decoding images
// dataProbeImages(paths, decode) -> Promise<Array<[width, height, channels, format] | string>>:
// per file, its header facts, or why it cannot be used. decode=true decodes every pixel too.
class ProbeWorker : public Napi::AsyncWorker {
 public:
  ProbeWorker(Napi::Env env, std::vector<std::string> paths, bool decode)
      : Napi::AsyncWorker(env, "sdd.data.probe"), deferred_(Napi::Promise::Deferred::New(env)),
        paths_(std::move(paths)), decode_(decode), results_(paths_.size()), errors_(paths_.size()) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i < paths_.size(); i++) {
      std::string err;
      image::Decoded img;
      if (!image::ReadFile(paths_[i], &bytes, &err) || !image::Decode(bytes.data(), bytes.size(), !decode_, &img, &err)) {
        errors_[i] = err.empty() ? "unknown error" : err;
        continue;
      }
      results_[i] = {img.width, img.height, img.channels};
      formats_.push_back(img.format);
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array out = Napi::Array::New(env, paths_.size());
    size_t f = 0;
    for (size_t i = 0; i < paths_.size(); i++) {
      if (!errors_[i].empty()) {
        out.Set(uint32_t(i), Napi::String::New(env, errors_[i]));
        continue;
      }
      Napi::Array r = Napi::Array::New(env, 4);
      for (uint32_t k = 0; k < 3; k++) r.Set(k, Napi::Number::New(env, results_[i][k]));
      r.Set(3u, Napi::String::New(env, formats_[f++]));
      out.Set(uint32_t(i), r);
    }
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<std::string> paths_;
  bool decode_;
  std::vector<std::array<int, 3>> results_;
  std::vector<std::string> errors_;
  std::vector<const char*> formats_;
};

Napi::Value DataProbeImages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "Expected an array of paths");
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<std::string> paths;
  for (uint32_t i = 0; i < a.Length(); i++) paths.push_back(ToString(a.Get(i), "path"));
  auto* w = new ProbeWorker(env, std::move(paths), info[1].ToBoolean().Value());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// dataDecodeImage(pathOrBytes) -> Promise<[Uint8Array (HWC RGB), height, width]>.
class DecodeWorker : public Napi::AsyncWorker {
 public:
  DecodeWorker(Napi::Env env, std::string path, std::vector<uint8_t> bytes)
      : Napi::AsyncWorker(env, "sdd.data.decode"), deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)), bytes_(std::move(bytes)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    std::string err;
    if (!path_.empty() && !image::ReadFile(path_, &bytes_, &err)) return SetError(path_ + ": " + err);
    if (!image::Decode(bytes_.data(), bytes_.size(), false, &img_, &err))
      return SetError((path_.empty() ? std::string("image") : path_) + ": " + err);
    bytes_.clear();
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Uint8Array px = Napi::Uint8Array::New(env, img_.rgb.size());
    std::memcpy(px.Data(), img_.rgb.data(), img_.rgb.size());
    Napi::Array out = Napi::Array::New(env, 3);
    out.Set(0u, px);
    out.Set(1u, Napi::Number::New(env, img_.height));
    out.Set(2u, Napi::Number::New(env, img_.width));
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  std::vector<uint8_t> bytes_;
  image::Decoded img_;
};

Napi::Value DataDecodeImage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  std::vector<uint8_t> bytes;
  if (info[0].IsString()) {
    path = info[0].As<Napi::String>().Utf8Value();
    if (path.empty()) throw Napi::TypeError::New(env, "Expected a non-empty path");
  } else if (info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    Napi::Uint8Array a = info[0].As<Napi::Uint8Array>();
    bytes.assign(a.Data(), a.Data() + a.ByteLength());
  } else {
    throw Napi::TypeError::New(env, "Expected a path or a Uint8Array of JPEG/PNG bytes");
  }
  auto* w = new DecodeWorker(env, std::move(path), std::move(bytes));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value DataImageSupport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("jpeg", image::JpegStatus());
  o.Set("png", image::PngStatus());
  return o;
}

// dataSampleKey(seed, epoch, id) -> bigint: the key of a sample's random stream (for tests).
Napi::Value DataSampleKey(const Napi::CallbackInfo& info) {
  bool lossless = true;
  const uint64_t seed = info[0].IsBigInt() ? info[0].As<Napi::BigInt>().Uint64Value(&lossless) : uint64_t(ToInt(info[0], "seed"));
  const uint64_t epoch = uint64_t(ToInt(info[1], "epoch"));
  const uint64_t id = uint64_t(ToInt(info[2], "id"));
  return Napi::BigInt::New(info.Env(), data::SampleKey(seed, epoch, id));
}

}  // namespace

void InitData(Napi::Env env, Napi::Object exports) {
  SDD_EXPORT(exports, "dataBatch", DataBatch);
  SDD_EXPORT(exports, "dataProbeImages", DataProbeImages);
  SDD_EXPORT(exports, "dataDecodeImage", DataDecodeImage);
  SDD_EXPORT(exports, "dataImageSupport", DataImageSupport);
  SDD_EXPORT(exports, "dataSampleKey", DataSampleKey);
}

}  // namespace sdd
