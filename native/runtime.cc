// Process-wide settings and facts for `doctor`: versions, threads, seeds, CUDA.
#include "common.h"

#include <ATen/Parallel.h>

#include <dlfcn.h>
#ifdef SDD_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif
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
#ifdef SDD_CUDA_VERSION
  out.Set("cudaVersion", SDD_CUDA_VERSION);
#else
  out.Set("cudaVersion", env.Null());
#endif
  // The C++ ABI the binary was compiled with: a prebuild only links with a libtorch of the same ABI.
  out.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
  out.Set("parallelInfo", at::get_parallel_info());
  out.Set("config", at::show_config());
  return out;
}

static Napi::Value CudaIsAvailable(const CI& info) { return Napi::Boolean::New(info.Env(), at::hasCUDA()); }

// c10::cuda is stable across libtorch 1.13 and 2.x (the ATen CUDA hooks API is not).
static int DeviceCount() {
#ifdef SDD_WITH_CUDA
  return at::hasCUDA() ? static_cast<int>(c10::cuda::device_count()) : 0;
#else
  return 0;
#endif
}

static Napi::Value CudaDeviceCount(const CI& info) { return Napi::Number::New(info.Env(), DeviceCount()); }

static Napi::Value CudaSynchronize(const CI& info) {
#ifdef SDD_WITH_CUDA
  if (at::hasCUDA()) c10::cuda::device_synchronize();
#endif
  return info.Env().Undefined();
}

static Napi::Value SetNumThreads(const CI& info) {
  int64_t n = ToInt(info[0], "threads");
  TORCH_CHECK(n >= 1, "setNumThreads needs at least 1 thread, got ", n);
  at::set_num_threads(static_cast<int>(n));
  // Debian's libtorch calls a pthreads OpenBLAS whose own pool ignores at::set_num_threads: size it
  // too when that OpenBLAS is in the process (looked up at run time; absent with MKL or others).
  using SetBlasThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(static_cast<int>(n));
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
  for (int i = 0, n = DeviceCount(); i < n; ++i) {
    auto g = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_current_seed(seed);
  }
  return info.Env().Undefined();
}

// The CPU generator's state as a uint8 tensor (for checkpoints that resume bit-exactly).
static Napi::Value GetRngState(const CI& info) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return Wrap(info.Env(), gen.get_state());
}

static Napi::Value SetRngState(const CI& info) {
  const at::Tensor& state = Unwrap(info[0], "state");
  TORCH_CHECK(state.scalar_type() == at::kByte && state.device().is_cpu(), "setRngState needs the uint8 CPU tensor getRngState() returned");
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
  return info.Env().Undefined();
}

void InitRuntime(Napi::Env env, Napi::Object exports) {
  SDD_EXPORT(exports, "getRngState", GetRngState);
  SDD_EXPORT(exports, "setRngState", SetRngState);
  SDD_EXPORT(exports, "buildInfo", BuildInfo);
  SDD_EXPORT(exports, "cudaIsAvailable", CudaIsAvailable);
  SDD_EXPORT(exports, "cudaDeviceCount", CudaDeviceCount);
  SDD_EXPORT(exports, "cudaSynchronize", CudaSynchronize);
  SDD_EXPORT(exports, "setNumThreads", SetNumThreads);
  SDD_EXPORT(exports, "getNumThreads", GetNumThreads);
  SDD_EXPORT(exports, "manualSeed", ManualSeed);
}

}  // namespace sdd
