// Image decoding for the data loader: JPEG through libjpeg-turbo and PNG through libpng, both
// loaded at run time with dlopen, so the addon links and loads without them and the build needs
// only their headers (Debian: libjpeg62-turbo-dev, libpng-dev; without the headers the decoders
// report themselves unavailable). Runs on libuv pool threads: no Node-API in here.
// Header-only on purpose: included by data.cc alone.
#pragma once

#include <dlfcn.h>

#include <cerrno>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#if __has_include(<jpeglib.h>)
extern "C" {
#include <jpeglib.h>
#include <jerror.h>
}
#define SDD_HAVE_JPEG_HEADERS 1
#endif
#if __has_include(<png.h>)
#include <png.h>
#if defined(PNG_SIMPLIFIED_READ_SUPPORTED)
#define SDD_HAVE_PNG_HEADERS 1
#endif
#endif

namespace sdd {
namespace image {

struct Decoded {
  int width = 0;
  int height = 0;
  int channels = 0;          // of the file (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA or CMYK)
  const char* format = "";   // "jpeg" or "png"
  std::vector<uint8_t> rgb;  // HWC, 3 channels: gray replicated, alpha dropped (PIL's convert('RGB'))
};

// The largest image accepted, in pixels: a corrupt header must not make us allocate terabytes.
constexpr int64_t kMaxPixels = int64_t(1) << 28;

inline bool ReadFile(const std::string& path, std::vector<uint8_t>* out, std::string* error) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    *error = std::string("cannot open it: ") + std::strerror(errno);
    return false;
  }
  out->clear();
  uint8_t chunk[1 << 16];
  for (;;) {
    size_t n = std::fread(chunk, 1, sizeof chunk, f);
    out->insert(out->end(), chunk, chunk + n);
    if (n < sizeof chunk) break;
  }
  bool bad = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (bad) {
    *error = std::string("cannot read it: ") + std::strerror(err);
    return false;
  }
  return true;
}

inline bool CheckSize(int64_t w, int64_t h, std::string* error) {
  if (w <= 0 || h <= 0) {
    *error = "the header gives an empty image (" + std::to_string(w) + "x" + std::to_string(h) + ")";
    return false;
  }
  if (w * h > kMaxPixels) {
    *error = "the header gives a " + std::to_string(w) + "x" + std::to_string(h) +
             " image, larger than the 2^28 pixels accepted";
    return false;
  }
  return true;
}

// ------------------------------------------------------------------------------------------ JPEG
#ifdef SDD_HAVE_JPEG_HEADERS
struct JpegApi {
  jpeg_error_mgr* (*std_error)(jpeg_error_mgr*) = nullptr;
  void (*create)(j_decompress_ptr, int, size_t) = nullptr;
  void (*mem_src)(j_decompress_ptr, const unsigned char*, unsigned long) = nullptr;
  int (*read_header)(j_decompress_ptr, boolean) = nullptr;
  boolean (*start)(j_decompress_ptr) = nullptr;
  JDIMENSION (*read_scanlines)(j_decompress_ptr, JSAMPARRAY, JDIMENSION) = nullptr;
  boolean (*finish)(j_decompress_ptr) = nullptr;
  void (*destroy)(j_decompress_ptr) = nullptr;
  std::string status = "not loaded";
};

inline const JpegApi& Jpeg() {
  static JpegApi api;
  static std::once_flag once;
  std::call_once(once, [] {
    // The soname must match the header's ABI (JPEG_LIB_VERSION 62 for libjpeg62-turbo).
    const std::string want = "libjpeg.so." + std::to_string(JPEG_LIB_VERSION);
    void* lib = dlopen(want.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      api.status = "JPEG decoding needs " + want + " (Debian/Ubuntu: apt-get install libjpeg62-turbo " +
                   "or libjpeg-turbo8): " + dlerror();
      return;
    }
    bool ok = true;
    auto sym = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
      if (!fn) ok = false;
    };
    sym(api.std_error, "jpeg_std_error");
    sym(api.create, "jpeg_CreateDecompress");
    sym(api.mem_src, "jpeg_mem_src");
    sym(api.read_header, "jpeg_read_header");
    sym(api.start, "jpeg_start_decompress");
    sym(api.read_scanlines, "jpeg_read_scanlines");
    sym(api.finish, "jpeg_finish_decompress");
    sym(api.destroy, "jpeg_destroy_decompress");
    api.status = ok ? "ok" : want + " lacks the decompression functions (jpeg_mem_src needs libjpeg 8 or libjpeg-turbo)";
  });
  return api;
}

struct JpegErr {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

extern "C" inline void SddJpegErrorExit(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegErr*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

extern "C" inline void SddJpegEmit(j_common_ptr c, int level) {
  // Warnings (level -1) are tolerated like PIL does, except a premature end of data: PIL refuses a
  // truncated JPEG ("image file is truncated") and so do we.
  if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) reinterpret_cast<JpegErr*>(c->err)->truncated = true;
}

// No C++ object with a destructor may live in this frame between setjmp and a longjmp.
inline bool DecodeJpeg(const uint8_t* data, size_t size, bool headerOnly, Decoded* out, std::string* error) {
  const JpegApi& api = Jpeg();
  if (api.status != "ok") {
    *error = api.status;
    return false;
  }
  jpeg_decompress_struct cinfo;
  JpegErr jerr;
  std::memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = api.std_error(&jerr.pub);
  jerr.pub.error_exit = SddJpegErrorExit;
  jerr.pub.emit_message = SddJpegEmit;
  jerr.truncated = false;
  jerr.message[0] = 0;
  if (setjmp(jerr.jump)) {
    api.destroy(&cinfo);
    *error = std::string("not a decodable JPEG: ") + jerr.message;
    return false;
  }
  api.create(&cinfo, JPEG_LIB_VERSION, sizeof cinfo);
  api.mem_src(&cinfo, data, static_cast<unsigned long>(size));
  api.read_header(&cinfo, TRUE);
  out->format = "jpeg";
  out->width = static_cast<int>(cinfo.image_width);
  out->height = static_cast<int>(cinfo.image_height);
  out->channels = cinfo.num_components;
  if (!CheckSize(out->width, out->height, error)) {
    api.destroy(&cinfo);
    return false;
  }
  if (headerOnly) {
    api.destroy(&cinfo);
    return true;
  }
  cinfo.out_color_space = JCS_RGB;  // gray and YCbCr convert; CMYK/YCCK do not (an error names it)
  api.start(&cinfo);
  if (cinfo.output_components != 3) {
    api.destroy(&cinfo);
    *error = "not a decodable JPEG: unsupported colour space";
    return false;
  }
  const size_t row = size_t(cinfo.output_width) * 3;
  out->width = static_cast<int>(cinfo.output_width);
  out->height = static_cast<int>(cinfo.output_height);
  out->rgb.resize(row * cinfo.output_height);  // may throw bad_alloc: no libjpeg frame is live here
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rowp = out->rgb.data() + size_t(cinfo.output_scanline) * row;
    if (api.read_scanlines(&cinfo, &rowp, 1) != 1) break;
  }
  if (!jerr.truncated) api.finish(&cinfo);
  api.destroy(&cinfo);
  if (jerr.truncated) {
    *error = "truncated JPEG: the data ends before the image does";
    return false;
  }
  return true;
}
#endif

// ------------------------------------------------------------------------------------------- PNG
#ifdef SDD_HAVE_PNG_HEADERS
struct PngApi {
  int (*begin)(png_imagep, png_const_voidp, size_t) = nullptr;
  int (*finish)(png_imagep, png_const_colorp, void*, png_int_32, void*) = nullptr;
  void (*free_)(png_imagep) = nullptr;
  std::string status = "not loaded";
};

inline const PngApi& Png() {
  static PngApi api;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* want = "libpng16.so.16";
    void* lib = dlopen(want, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      api.status = std::string("PNG decoding needs ") + want + " (Debian/Ubuntu: apt-get install libpng16-16): " + dlerror();
      return;
    }
    api.begin = reinterpret_cast<decltype(api.begin)>(dlsym(lib, "png_image_begin_read_from_memory"));
    api.finish = reinterpret_cast<decltype(api.finish)>(dlsym(lib, "png_image_finish_read"));
    api.free_ = reinterpret_cast<decltype(api.free_)>(dlsym(lib, "png_image_free"));
    api.status = api.begin && api.finish && api.free_ ? "ok" : std::string(want) + " lacks the simplified read API";
  });
  return api;
}

inline bool DecodePng(const uint8_t* data, size_t size, bool headerOnly, Decoded* out, std::string* error) {
  const PngApi& api = Png();
  if (api.status != "ok") {
    *error = api.status;
    return false;
  }
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!api.begin(&img, data, size)) {
    *error = std::string("not a decodable PNG: ") + img.message;
    api.free_(&img);
    return false;
  }
  out->format = "png";
  out->width = static_cast<int>(img.width);
  out->height = static_cast<int>(img.height);
  out->channels = (img.format & PNG_FORMAT_FLAG_COLORMAP) ? 3 : int(PNG_IMAGE_SAMPLE_CHANNELS(img.format));
  if (!CheckSize(img.width, img.height, error)) {
    api.free_(&img);
    return false;
  }
  if (headerOnly) {
    api.free_(&img);
    return true;
  }
  // RGBA then drop alpha: the colour values of transparent pixels survive, as with PIL.
  img.format = PNG_FORMAT_RGBA;
  std::vector<uint8_t> rgba(PNG_IMAGE_SIZE(img));
  if (!api.finish(&img, nullptr, rgba.data(), 0, nullptr)) {
    *error = std::string("not a decodable PNG: ") + img.message;
    api.free_(&img);
    return false;
  }
  const size_t n = size_t(img.width) * img.height;
  out->rgb.resize(n * 3);
  for (size_t i = 0; i < n; i++) {
    out->rgb[3 * i] = rgba[4 * i];
    out->rgb[3 * i + 1] = rgba[4 * i + 1];
    out->rgb[3 * i + 2] = rgba[4 * i + 2];
  }
  return true;
}
#endif

inline std::string JpegStatus() {
#ifdef SDD_HAVE_JPEG_HEADERS
  return Jpeg().status;
#else
  return "this build of sdd-torch has no JPEG support (jpeglib.h was missing when it was compiled)";
#endif
}

inline std::string PngStatus() {
#ifdef SDD_HAVE_PNG_HEADERS
  return Png().status;
#else
  return "this build of sdd-torch has no PNG support (png.h was missing when it was compiled)";
#endif
}

// Decodes a JPEG or PNG held in memory (told apart by their signatures). Returns false with
// *error set; the caller adds the file name.
inline bool Decode(const uint8_t* data, size_t size, bool headerOnly, Decoded* out, std::string* error) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  error->clear();
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
#ifdef SDD_HAVE_JPEG_HEADERS
    return DecodeJpeg(data, size, headerOnly, out, error);
#else
    *error = JpegStatus();
    return false;
#endif
  }
  if (size >= 8 && std::memcmp(data, kPng, 8) == 0) {
#ifdef SDD_HAVE_PNG_HEADERS
    return DecodePng(data, size, headerOnly, out, error);
#else
    *error = PngStatus();
    return false;
#endif
  }
  if (size == 0) {
    *error = "the file is empty (expected a JPEG or PNG image)";
    return false;
  }
  char hex[64];
  std::snprintf(hex, sizeof hex, "%02x %02x %02x %02x", size > 0 ? data[0] : 0, size > 1 ? data[1] : 0,
                size > 2 ? data[2] : 0, size > 3 ? data[3] : 0);
  *error = std::string("not a JPEG or PNG image (it starts with bytes ") + hex + ")";
  return false;
}

}  // namespace image
}  // namespace sdd
