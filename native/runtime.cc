// Process-wide settings and facts for `doctor`: versions, threads, seeds, CUDA.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/csrc/api/include/torch/version.h>

#ifndef SDD_TORCH_LIBDIR
#define SDD_TORCH_LIBDIR ""
#endif
#ifndef SDD_TORCH_CMAKE_DIR
#define SDD_TORCH_CMAKE_DIR ""
#endif

namespace sdd {

using CI = Napi::CallbackInfo;

static Napi::Value BuildInfo(const CI& info) {
  Napi::Env env = info.Env();
  auto out = Napi::Object::New(env);
  out.Set("torchVersion", TORCH_VERSION);
  out.Set("torchLibDir", SDD_TORCH_LIBDIR);
  out.Set("torchCmakeDir", SDD_TORCH_CMAKE_DIR);
#ifdef SDD_WITH_CUDA
  out.Set("builtWithCuda", true);
#else
  out.Set("builtWithCuda", false);
#endif
  out.Set("parallelInfo", at::get_parallel_info());
  out.Set("config", at::show_config());
  return out;
}

static Napi::Value CudaIsAvailable(const CI& info) { return Napi::Boolean::New(info.Env(), at::hasCUDA()); }

static Napi::Value CudaDeviceCount(const CI& info) {
  int n = at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0;
  return Napi::Number::New(info.Env(), n);
}

static Napi::Value CudaSynchronize(const CI& info) {
  // A tiny device->host copy drains the current stream without linking CUDA headers here.
  if (at::hasCUDA()) at::zeros({1}, at::TensorOptions().device(at::kCUDA)).cpu();
  return info.Env().Undefined();
}

static Napi::Value SetNumThreads(const CI& info) {
  int64_t n = ToInt(info[0], "threads");
  TORCH_CHECK(n >= 1, "setNumThreads needs at least 1 thread, got ", n);
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

static Napi::Value GetNumThreads(const CI& info) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

static Napi::Value ManualSeed(const CI& info) {
  uint64_t seed = static_cast<uint64_t>(ToInt(info[0], "seed"));
  auto gen = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
  if (at::hasCUDA()) {
    int n = static_cast<int>(at::detail::getCUDAHooks().getNumGPUs());
    for (int i = 0; i < n; ++i) {
      auto g = at::detail::getCUDAHooks().getDefaultCUDAGenerator(i);
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
  }
  return info.Env().Undefined();
}

void InitRuntime(Napi::Env env, Napi::Object exports) {
  SDD_EXPORT(exports, "buildInfo", BuildInfo);
  SDD_EXPORT(exports, "cudaIsAvailable", CudaIsAvailable);
  SDD_EXPORT(exports, "cudaDeviceCount", CudaDeviceCount);
  SDD_EXPORT(exports, "cudaSynchronize", CudaSynchronize);
  SDD_EXPORT(exports, "setNumThreads", SetNumThreads);
  SDD_EXPORT(exports, "getNumThreads", GetNumThreads);
  SDD_EXPORT(exports, "manualSeed", ManualSeed);
}

}  // namespace sdd
