// nn layers as torch ops (convolution, batch norm, pooling, dropout, …).
#include "common.h"

namespace sdd {

void InitNn(Napi::Env env, Napi::Object exports) {}

}  // namespace sdd
