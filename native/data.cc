// Data kernels: per-batch augmentation off the JS main thread.
#include "common.h"

namespace sdd {

void InitData(Napi::Env env, Napi::Object exports) {}

}  // namespace sdd
