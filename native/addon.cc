// The addon's entry point: only Init and the export list (each part registers its functions).
#include "common.h"

namespace sdd {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  GetEnvData(env);  // per-environment state (main thread and each worker_thread)
  InitTensor(env, exports);
  InitOps(env, exports);
  InitAutograd(env, exports);
  InitRuntime(env, exports);
  InitSdd(env, exports);
  InitNn(env, exports);
  InitData(env, exports);
  InitOptim(env, exports);
  InitDist(env, exports);
  return exports;
}

}  // namespace sdd

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return sdd::Init(env, exports); }

NODE_API_MODULE(sdd_torch, InitAddon)
