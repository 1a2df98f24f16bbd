// The addon's entry point: Init (each part registers its functions and its code families) and
// native.codes, the object those families are collected in.
#include "common.h"

namespace sdd {

Napi::Object CodesObject(Napi::Env env, Napi::Object exports) {
  Napi::Value v = exports.Get("codes");
  if (v.IsObject()) return v.As<Napi::Object>();
  auto codes = Napi::Object::New(env);
  exports.Set("codes", codes);
  return codes;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  GetEnvData(env);  // per-environment state (main thread and each worker_thread)
  InitConvert(env, exports);
  InitTensor(env, exports);
  InitOps(env, exports);
  InitAutograd(env, exports);
  InitRuntime(env, exports);
  InitSdd(env, exports);
  InitNn(env, exports);
  InitData(env, exports);
  InitOptim(env, exports);
  InitDist(env, exports);
  CodesObject(env, exports).Freeze();  // every part has added its code families (lib/core/codes.ts reads them)
  return exports;
}

}  // namespace sdd

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return sdd::Init(env, exports); }

NODE_API_MODULE(sdd_torch, InitAddon)
