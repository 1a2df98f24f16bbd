// Per-sample augmentation for the data loader, in plain C++ (no Node-API, no libtorch): random
// decisions come from a counter-based generator keyed by (seed, epoch, sample id), so a sample's
// augmentation does not depend on which thread runs it or in which order. lib/data/rng.ts and the
// transforms tests hold the same definitions in TypeScript. Header-only: included by data.cc alone.
//
// How an image flows: crops, pads and flips never touch pixels; they compose per-axis index maps
// (row map, column map; -1 = a padded pixel, value 0) over the source, which stays uint8. Resizes
// read the mapped image row by row and resample it into an owned float image (0..255 scale). The
// last step writes (v * scale - mean[c]) / std[c] straight into the batch tensor.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sdd {
namespace data {

// ------------------------------------------------------------------------------ the generator
// splitmix64 (Steele, Lea, Flood 2014): key = S(S(S(seed) ^ epoch) ^ id) with S(x) = mix(x + G);
// draws: state += G; return mix(state). uniform = (draw >> 11) * 2^-53; int in [lo, hi) =
// lo + floor(uniform * (hi - lo)).
constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;
inline uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
inline uint64_t SplitMix(uint64_t x) { return Mix(x + kGolden); }
inline uint64_t SampleKey(uint64_t seed, uint64_t epoch, uint64_t id) {
  return SplitMix(SplitMix(SplitMix(seed) ^ epoch) ^ id);
}

struct SampleRng {
  uint64_t state;
  explicit SampleRng(uint64_t key) : state(key) {}
  uint64_t Next() {
    state += kGolden;
    return Mix(state);
  }
  double Uniform() { return double(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double a, double b) { return a + (b - a) * Uniform(); }
  int64_t Int(int64_t lo, int64_t hi) { return lo + int64_t(std::floor(Uniform() * double(hi - lo))); }
};

// Python's round(): half to even (torchvision's parameter arithmetic uses it).
inline int64_t RoundHalfEven(double x) {
  double r = std::round(x);
  if (std::fabs(x - std::trunc(x)) == 0.5) r = 2.0 * std::round(x / 2.0);
  return int64_t(r);
}

// ------------------------------------------------------------------------------------ the ops
enum class Kind { Crop, RandomCrop, CenterCrop, Pad, HFlip, VFlip, Resize, RandomResizedCrop, Normalize };
enum class PadMode { Zeros, Reflect, Edge, Symmetric };

struct Op {
  Kind kind = Kind::Crop;
  int h = 0, w = 0;        // output size (Crop, RandomCrop, CenterCrop, Resize, RandomResizedCrop)
  int shorter = 0;         // Resize by the shorter side (h = w = 0)
  int top = 0, left = 0;   // Crop
  int pl = 0, pt = 0, pr = 0, pb = 0;  // Pad, RandomCrop padding
  PadMode mode = PadMode::Zeros;
  double p = 0.5;          // flips
  double s0 = 0.08, s1 = 1.0, r0 = 3.0 / 4.0, r1 = 4.0 / 3.0;  // RandomResizedCrop
  double scale = 1.0 / 255.0;  // Normalize: (v * scale - mean) / std
  std::vector<float> mean, std;
};

// One image on its way through the ops.
struct Work {
  int C = 0;
  const uint8_t* u8 = nullptr;  // source pixels (one of u8 / f32)
  const float* f32 = nullptr;
  int64_t sc = 0, sh = 0, sw = 0;  // element strides of the source
  std::vector<uint8_t> own8;       // owned source (a decoded image)
  std::vector<float> ownf;         // owned float source (after a resize)
  std::vector<int> rows, cols;     // index maps into the source; -1 = padding (value 0)
  int H() const { return int(rows.size()); }
  int W() const { return int(cols.size()); }
  void Identity(int h, int w) {
    rows.resize(h);
    cols.resize(w);
    for (int i = 0; i < h; i++) rows[i] = i;
    for (int i = 0; i < w; i++) cols[i] = i;
  }
  float At(int c, int r, int x) const {
    if (r < 0 || x < 0) return 0.f;
    const int64_t o = c * sc + r * sh + x * sw;
    return u8 ? float(u8[o]) : f32[o];
  }
};

// Where coordinate i of an axis of length n reads from, or -1 for a padded (zero) pixel.
inline int MapIndex(int64_t i, int64_t n, PadMode mode) {
  if (i >= 0 && i < n) return int(i);
  switch (mode) {
    case PadMode::Zeros: return -1;
    case PadMode::Edge: return i < 0 ? 0 : int(n - 1);
    case PadMode::Reflect: {  // ... 2 1 | 0 1 2 ... n-1 | n-2 ...
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      int64_t r = i % period;
      if (r < 0) r += period;
      return int(r < n ? r : period - r);
    }
    case PadMode::Symmetric: {  // ... 1 0 | 0 1 ... n-1 | n-1 ...
      const int64_t period = 2 * n;
      int64_t r = i % period;
      if (r < 0) r += period;
      return int(r < n ? r : period - 1 - r);
    }
  }
  return -1;
}

// A window (top, left, h, w) of the current image; coordinates outside it follow `mode`.
inline void PadCrop(Work& w, int64_t top, int64_t left, int h, int wd, PadMode mode) {
  std::vector<int> rows(h), cols(wd);
  for (int i = 0; i < h; i++) {
    const int r = MapIndex(top + i, w.H(), mode);
    rows[i] = r < 0 ? -1 : w.rows[r];
  }
  for (int i = 0; i < wd; i++) {
    const int c = MapIndex(left + i, w.W(), mode);
    cols[i] = c < 0 ? -1 : w.cols[c];
  }
  w.rows.swap(rows);
  w.cols.swap(cols);
}

// Row y of channel c of the mapped image, as floats (0..255 scale).
inline void LoadRow(const Work& w, int c, int y, float* buf) {
  const int W = w.W();
  const int r = w.rows[y];
  if (r < 0) {
    std::fill(buf, buf + W, 0.f);
    return;
  }
  const int* cols = w.cols.data();
  const int64_t sw = w.sw;
  if (w.u8) {
    const uint8_t* row = w.u8 + c * w.sc + int64_t(r) * w.sh;
    for (int x = 0; x < W; x++) buf[x] = cols[x] < 0 ? 0.f : float(row[cols[x] * sw]);
  } else {
    const float* row = w.f32 + c * w.sc + int64_t(r) * w.sh;
    for (int x = 0; x < W; x++) buf[x] = cols[x] < 0 ? 0.f : row[cols[x] * sw];
  }
}

// Antialiased bilinear weights, as PIL computes them (ImagingResample's precompute_coeffs):
// support 1 widened by the downscale factor, triangle filter, normalised.
struct Coeffs {
  std::vector<int> start, count;
  std::vector<double> k;  // count-padded rows of `kmax`
  int kmax = 0;
};
inline Coeffs ResampleCoeffs(int in, int out) {
  Coeffs c;
  const double scale = double(in) / out;
  const double fscale = std::max(scale, 1.0);
  const double support = 1.0 * fscale;
  c.kmax = int(std::ceil(support)) * 2 + 1;
  c.start.resize(out);
  c.count.resize(out);
  c.k.assign(size_t(out) * c.kmax, 0.0);
  for (int o = 0; o < out; o++) {
    const double center = (o + 0.5) * scale;
    int xmin = int(center - support + 0.5);  // truncation, like C's (int) in PIL
    if (xmin < 0) xmin = 0;
    int xmax = int(center + support + 0.5);
    if (xmax > in) xmax = in;
    xmax -= xmin;
    double ww = 0;
    double* k = &c.k[size_t(o) * c.kmax];
    for (int x = 0; x < xmax && x < c.kmax; x++) {
      double t = std::fabs((x + xmin - center + 0.5) / fscale);
      double v = t < 1.0 ? 1.0 - t : 0.0;
      k[x] = v;
      ww += v;
    }
    for (int x = 0; x < xmax && x < c.kmax; x++) k[x] = ww != 0 ? k[x] / ww : 0;
    c.start[o] = xmin;
    c.count[o] = std::min(xmax, c.kmax);
  }
  return c;
}

inline void Resize(Work& w, int oh, int ow) {
  if (oh == w.H() && ow == w.W()) return;
  const int C = w.C, H = w.H(), W = w.W();
  const Coeffs cx = ResampleCoeffs(W, ow), cy = ResampleCoeffs(H, oh);
  std::vector<float> kx(cx.k.begin(), cx.k.end()), ky(cy.k.begin(), cy.k.end());
  std::vector<float> tmp(size_t(C) * H * ow), out(size_t(C) * oh * ow, 0.f), src(W);
  // horizontal pass, one mapped source row at a time: each output column is a short dot product
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++) {
      LoadRow(w, c, y, src.data());
      float* dst = tmp.data() + (size_t(c) * H + y) * ow;
      for (int x = 0; x < ow; x++) {
        const float* k = &kx[size_t(x) * cx.kmax];
        const float* in = src.data() + cx.start[x];
        float s = 0.f;
        for (int i = 0; i < cx.count[x]; i++) s += k[i] * in[i];
        dst[x] = s;
      }
    }
  // vertical pass: output rows accumulate whole input rows (contiguous, vectorisable)
  for (int c = 0; c < C; c++)
    for (int y = 0; y < oh; y++) {
      const float* k = &ky[size_t(y) * cy.kmax];
      float* dst = out.data() + (size_t(c) * oh + y) * ow;
      for (int i = 0; i < cy.count[y]; i++) {
        const float* row = tmp.data() + (size_t(c) * H + cy.start[y] + i) * ow;
        const float ki = k[i];
        for (int x = 0; x < ow; x++) dst[x] += ki * row[x];
      }
    }
  w.ownf.swap(out);
  w.f32 = w.ownf.data();
  w.u8 = nullptr;
  w.own8.clear();
  w.own8.shrink_to_fit();
  w.sc = int64_t(oh) * ow;
  w.sh = ow;
  w.sw = 1;
  w.Identity(oh, ow);
}

inline std::string Dims(int h, int w) { return std::to_string(h) + "x" + std::to_string(w); }

// torchvision's RandomCrop: a random h x w window of the image padded by (pl, pt, pr, pb).
inline void RandomCrop(Work& w, const Op& op, SampleRng& rng) {
  const int ph = w.H() + op.pt + op.pb, pw = w.W() + op.pl + op.pr;
  if (ph < op.h || pw < op.w)
    throw std::runtime_error("randomCrop: the crop " + Dims(op.h, op.w) + " is larger than the (padded) image " +
                             Dims(ph, pw));
  int64_t i = 0, j = 0;
  if (!(ph == op.h && pw == op.w)) {
    i = rng.Int(0, ph - op.h + 1);
    j = rng.Int(0, pw - op.w + 1);
  }
  PadCrop(w, i - op.pt, j - op.pl, op.h, op.w, op.mode);
}

// torchvision's CenterCrop: top = round((H - h) / 2) when the image is larger; zero padding when smaller.
inline void CenterCrop(Work& w, const Op& op) {
  auto start = [](int in, int out) -> int64_t {
    const int d = in - out;
    return d >= 0 ? RoundHalfEven(d / 2.0) : -int64_t((out - in) / 2);
  };
  PadCrop(w, start(w.H(), op.h), start(w.W(), op.w), op.h, op.w, PadMode::Zeros);
}

// The output size of torchvision's Resize: a fixed h x w, or the shorter side becomes `shorter`
// and the other side int() of its scaled length.
inline std::pair<int, int> ResizeTarget(const Op& op, int H, int W) {
  if (op.shorter <= 0) return {op.h, op.w};
  int oh, ow;
  if (H <= W) {
    oh = op.shorter;
    ow = int(int64_t(op.shorter) * W / H);
  } else {
    ow = op.shorter;
    oh = int(int64_t(op.shorter) * H / W);
  }
  return {std::max(oh, 1), std::max(ow, 1)};
}

// A crop window (top, left, height, width).
struct Window {
  int64_t top, left, h, w;
};

// torchvision.transforms.RandomResizedCrop.get_params: up to 10 draws of an area fraction and a
// log-uniform aspect ratio; when none fits, a centre crop of the nearest allowed ratio.
inline Window RandomResizedCropWindow(const Op& op, int H, int W, SampleRng& rng) {
  const double area = double(H) * W;
  const double lr0 = std::log(op.r0), lr1 = std::log(op.r1);
  for (int attempt = 0; attempt < 10; attempt++) {
    const double target = area * rng.Uniform(op.s0, op.s1);
    const double aspect = std::exp(rng.Uniform(lr0, lr1));
    const int64_t tw = RoundHalfEven(std::sqrt(target * aspect));
    const int64_t th = RoundHalfEven(std::sqrt(target / aspect));
    if (tw > 0 && tw <= W && th > 0 && th <= H) {
      const int64_t top = rng.Int(0, H - th + 1);
      const int64_t left = rng.Int(0, W - tw + 1);
      return {top, left, th, tw};
    }
  }
  int64_t ch, cw;
  const double inRatio = double(W) / H;
  if (inRatio < op.r0) {
    cw = W;
    ch = RoundHalfEven(cw / op.r0);
  } else if (inRatio > op.r1) {
    ch = H;
    cw = RoundHalfEven(ch * op.r1);
  } else {
    cw = W;
    ch = H;
  }
  return {(H - ch) / 2, (W - cw) / 2, ch, cw};
}

// Runs the geometric ops of `ops` on one image (Normalize is applied by WriteOut).
inline void Apply(Work& w, const std::vector<Op>& ops, SampleRng& rng) {
  for (const Op& op : ops) {
    const int H = w.H(), W = w.W();
    switch (op.kind) {
      case Kind::Crop: PadCrop(w, op.top, op.left, op.h, op.w, PadMode::Zeros); break;
      case Kind::Pad: PadCrop(w, -op.pt, -op.pl, H + op.pt + op.pb, W + op.pl + op.pr, op.mode); break;
      case Kind::RandomCrop: RandomCrop(w, op, rng); break;
      case Kind::CenterCrop: CenterCrop(w, op); break;
      case Kind::HFlip:
        if (rng.Uniform() < op.p) std::reverse(w.cols.begin(), w.cols.end());
        break;
      case Kind::VFlip:
        if (rng.Uniform() < op.p) std::reverse(w.rows.begin(), w.rows.end());
        break;
      case Kind::Resize: {
        const auto [oh, ow] = ResizeTarget(op, H, W);
        Resize(w, oh, ow);
        break;
      }
      case Kind::RandomResizedCrop: {
        const Window c = RandomResizedCropWindow(op, H, W, rng);
        PadCrop(w, c.top, c.left, int(c.h), int(c.w), PadMode::Zeros);
        Resize(w, op.h, op.w);
        break;
      }
      case Kind::Normalize: break;
    }
    if (w.H() <= 0 || w.W() <= 0) throw std::runtime_error("the transforms left an empty image");
  }
}

// Writes the image into a CHW float block: (v * scale - mean[c]) / std[c].
inline void WriteOut(const Work& w, const Op* norm, float* out) {
  const int C = w.C, H = w.H(), W = w.W();
  for (int c = 0; c < C; c++) {
    double scale = 1.0 / 255.0, mean = 0.0, sd = 1.0;
    if (norm) {
      scale = norm->scale;
      if (!norm->mean.empty()) mean = norm->mean.size() == 1 ? norm->mean[0] : norm->mean[c];
      if (!norm->std.empty()) sd = norm->std.size() == 1 ? norm->std[0] : norm->std[c];
    }
    const float a = float(scale / sd), b = float(-mean / sd);
    float* o = out + size_t(c) * H * W;
    if (w.u8) {
      const uint8_t* base = w.u8 + c * w.sc;
      for (int y = 0; y < H; y++) {
        const int r = w.rows[y];
        float* oy = o + size_t(y) * W;
        if (r < 0) {
          for (int x = 0; x < W; x++) oy[x] = b;
          continue;
        }
        const uint8_t* row = base + int64_t(r) * w.sh;
        for (int x = 0; x < W; x++) {
          const int col = w.cols[x];
          oy[x] = col < 0 ? b : float(row[int64_t(col) * w.sw]) * a + b;
        }
      }
    } else {
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) o[size_t(y) * W + x] = w.At(c, w.rows[y], w.cols[x]) * a + b;
    }
  }
}

}  // namespace data
}  // namespace sdd
