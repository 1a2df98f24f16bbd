// JS <-> C++ value conversion and the single place where C++ exceptions become JS errors.
#include "common.h"

#include <c10/util/Exception.h>

namespace sdd {

std::string InFlightErrorMessage() {
  try {
    throw;
  } catch (const c10::Error& e) {
    // libtorch messages end with "Exception raised from ..." context lines: users need the message.
    std::string msg = e.what_without_backtrace();
    auto cut = msg.find("\nException raised from");
    if (cut != std::string::npos) msg.erase(cut);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return "libtorch: " + msg;
  } catch (const std::bad_alloc&) {
    return "libtorch: out of memory";
  } catch (const std::exception& e) {
    return std::string("libtorch: ") + e.what();
  } catch (...) {
    return "libtorch: unknown native error";
  }
}

[[noreturn]] void Rethrow(Napi::Env env) {
  try {
    throw;
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw Napi::Error::New(env, InFlightErrorMessage());
  }
}

static std::string Describe(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_bigint: return "bigint";
    case napi_external: return "external";
    case napi_function: return "function";
    default: return "object";
  }
}

[[noreturn]] static void Bad(const Napi::Value& v, const char* what, const char* expected) {
  throw Napi::TypeError::New(v.Env(), std::string("Expected ") + expected + " for " + what +
                                          " but received a value of type " + Describe(v));
}

// The converters try the expected type's getter first (one Node-API call on the path every op takes)
// and look at the value's type only when that fails.
int64_t ToInt(const Napi::Value& v, const char* what) {
  double d;
  if (napi_get_value_double(v.Env(), v, &d) == napi_ok) {
    if (d != static_cast<double>(static_cast<int64_t>(d))) Bad(v, what, "an integer");
    return static_cast<int64_t>(d);
  }
  if (v.IsBigInt()) {
    bool lossless = true;
    int64_t r = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) Bad(v, what, "a 64-bit integer");
    return r;
  }
  Bad(v, what, "an integer");
}

double ToDouble(const Napi::Value& v, const char* what) {
  double d;
  if (napi_get_value_double(v.Env(), v, &d) == napi_ok) return d;
  bool b;
  if (napi_get_value_bool(v.Env(), v, &b) == napi_ok) return b ? 1.0 : 0.0;
  Bad(v, what, "a number");
}

bool ToBool(const Napi::Value& v, const char* what) {
  bool b;
  if (napi_get_value_bool(v.Env(), v, &b) == napi_ok) return b;
  Bad(v, what, "a boolean");
}

bool OptBool(const Napi::Value& v, bool fallback) {
  bool b;
  return napi_get_value_bool(v.Env(), v, &b) == napi_ok ? b : fallback;
}

bool IsNullish(const Napi::Value& v) {
  napi_valuetype t;
  return napi_typeof(v.Env(), v, &t) == napi_ok && (t == napi_undefined || t == napi_null);
}

std::string ToString(const Napi::Value& v, const char* what) {
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  Bad(v, what, "a string");
}

std::vector<int64_t> ToIntList(const Napi::Value& v, const char* what) {
  std::vector<int64_t> out;
  if (v.IsNumber()) {
    out.push_back(ToInt(v, what));
    return out;
  }
  if (!v.IsArray()) Bad(v, what, "an array of integers");
  auto arr = v.As<Napi::Array>();
  uint32_t n = arr.Length();
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) out.push_back(ToInt(arr.Get(i), what));
  return out;
}

std::vector<at::Tensor> ToTensorList(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) Bad(v, what, "an array of tensors");
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(Unwrap(arr.Get(i), what));
  return out;
}

c10::optional<at::Tensor> ToOptionalTensor(const Napi::Value& v, const char* what) {
  if (IsNullish(v)) return c10::nullopt;
  return Unwrap(v, what);
}

at::Scalar ToScalar(const Napi::Value& v, const char* what) {
  double d;
  if (napi_get_value_double(v.Env(), v, &d) == napi_ok) {
    // Integral JS numbers stay integral so that int tensors keep their dtype (like Python ints).
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0)
      return at::Scalar(static_cast<int64_t>(d));
    return at::Scalar(d);
  }
  bool b;
  if (napi_get_value_bool(v.Env(), v, &b) == napi_ok) return at::Scalar(b);
  if (v.IsBigInt()) return at::Scalar(ToInt(v, what));
  Bad(v, what, "a number");
}

// The dtypes JS can name, in code order (native.codes.dtype; lib/core/dtype.ts lists the same names).
struct DtypeEntry {
  const char* name;
  at::ScalarType type;
};
static const DtypeEntry kDtypes[] = {
    {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16},
    {"int64", at::kLong},    {"int32", at::kInt},      {"uint8", at::kByte},   {"bool", at::kBool},
    {"int8", at::kChar},     {"int16", at::kShort},
};
static constexpr int kDtypeCount = static_cast<int>(sizeof(kDtypes) / sizeof(kDtypes[0]));

at::ScalarType DtypeFromCode(int code) {
  TORCH_CHECK(code >= 0 && code < kDtypeCount, "unknown dtype code ", code);
  return kDtypes[code].type;
}

int DtypeToCode(at::ScalarType t) {
  for (int i = 0; i < kDtypeCount; ++i)
    if (kDtypes[i].type == t) return i;
  TORCH_CHECK(false, "dtype ", c10::toString(t), " is not supported by sdd-torch");
}

void InitConvert(Napi::Env env, Napi::Object exports) { AddCodes(env, exports, "dtype", kDtypes); }

at::ScalarType ToDtype(const Napi::Value& v, const char* what) {
  return DtypeFromCode(static_cast<int>(ToInt(v, what)));
}

c10::Device ToDevice(const Napi::Value& v, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return c10::Device(c10::kCPU);
  std::string s = ToString(v, what);
  c10::Device d(s);  // throws c10::Error with libtorch's own message on a bad string
  if (d.is_cuda()) {
    TORCH_CHECK(at::hasCUDA(), "device '", s,
                "' was requested but this libtorch has no usable CUDA (no CUDA build or no GPU); "
                "use 'cpu' or install a CUDA-enabled libtorch (see `npx sdd-torch doctor`)");
  }
  return d;
}

Napi::Value FromIntList(Napi::Env env, at::IntArrayRef list) {
  auto arr = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); ++i) arr.Set(i, Napi::Number::New(env, static_cast<double>(list[i])));
  return arr;
}

Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& list) {
  auto arr = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); ++i) arr.Set(i, Wrap(env, list[i]));
  return arr;
}

}  // namespace sdd
