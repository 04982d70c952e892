// 2-D convolutions in NHWC over oneDNN: forward (optionally with bias and
// ReLU fused as a post-op), backward data (also the transposed convolution)
// and backward weights. Activations stay in the caller's NHWC memory; the
// filter is tfjs's [kh, kw, ci, co] (oneDNN's hwio), reordered to whatever
// layout the primitive prefers into a cached buffer. Every primitive and
// reorder is created once per geometry and cached, so a training step
// creates none. Input gradients with few filter taps (one input channel)
// take an sgemm + col2im path (kCol2imMaxTaps), 1x1 convolutions' gradients
// plain sgemm (Pointwise).
//
// geometry (an array of 17 numbers), as tfjs's Conv2DInfo gives it:
//   [n, ih, iw, ci, oh, ow, co, kh, kw, sh, sw, dh, dw, padTop, padLeft, padBottom, padRight]
// with dilations dh, dw >= 1 (tfjs's convention; oneDNN's is one less).
#include <time.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <unordered_map>

#include "conv.h"

namespace vq {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// The cache key of a primitive: the geometry and which variant (bias,
// ReLU, ...), compared as numbers (no string built per call).
struct ConvKey {
  std::array<int64_t, 18> v;
  bool operator<(const ConvKey& o) const { return v < o.v; }
};

ConvKey Geometry::Key(int64_t variant) const {
  // Primitives made for bf16 are cached apart from the fp32 ones.
  return {{n, ih, iw, ci, oh, ow, co, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, variant | (Bf16() ? 64 : 0)}};
}

namespace {

// oneDNN requires out = (in - keff + padL + padR) / stride + 1 exactly;
// tfjs's 'valid' and ceil-rounded shapes may leave padR off by the
// remainder, so it is recomputed from the output size where needed.
int64_t FitPadR(int64_t in, int64_t k, int64_t dil, int64_t stride, int64_t padL, int64_t padR, int64_t out) {
  int64_t keff = (k - 1) * dil + 1;
  if ((in - keff + padL + padR) / stride + 1 == out && in - keff + padL + padR >= 0) return padR;
  return (out - 1) * stride + keff - in - padL;
}

}  // namespace

Geometry ReadGeometry(const Napi::CallbackInfo& info, size_t index) {
  std::vector<int64_t> g = Ints(info, index);
  if (g.size() != 17) throw std::invalid_argument("conv geometry must have 17 numbers, found " + std::to_string(g.size()));
  Geometry geo{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15], g[16]};
  for (int64_t v : {geo.n, geo.ih, geo.iw, geo.ci, geo.oh, geo.ow, geo.co, geo.kh, geo.kw, geo.sh, geo.sw, geo.dh, geo.dw}) {
    if (v < 1) throw std::invalid_argument("conv geometry: sizes, strides and dilations must be >= 1, found " + std::to_string(v));
  }
  geo.pb = FitPadR(geo.ih, geo.kh, geo.dh, geo.sh, geo.pt, geo.pb, geo.oh);
  geo.pr = FitPadR(geo.iw, geo.kw, geo.dw, geo.sw, geo.pl, geo.pr, geo.ow);
  return geo;
}

namespace {

// What a primitive reads activations and filters as: f32 in the caller's
// layout, or with bf16 (setPrecision) bf16 in the layout oneDNN prefers
// (converted on the way in); outputs and gradients of weights stay f32.
memory::desc ComputeSrc(const Geometry& g, bool bf16) {
  return bf16 ? memory::desc({g.n, g.ci, g.ih, g.iw}, dt::bf16, tag::any) : g.Src();
}
memory::desc ComputeDst(const Geometry& g, bool bf16) {
  return bf16 ? memory::desc({g.n, g.co, g.oh, g.ow}, dt::bf16, tag::any) : g.Dst();
}
memory::desc ComputeWeights(const Geometry& g, bool bf16) {
  return {{g.co, g.ci, g.kh, g.kw}, bf16 ? dt::bf16 : dt::f32, tag::any};
}

// Reused between calls: activations converted for a primitive (bf16).
void* Scratch(int slot, size_t bytes) {
  static std::vector<char> slots[2];
  if (slots[slot].size() < bytes) slots[slot].resize(bytes);
  return slots[slot].data();
}

// An f32 NHWC activation as a primitive wants it: itself, or converted
// (bf16) into scratch slot `slot`.
struct ActivationIn {
  memory::desc user, wanted;
  int slot;
  std::unique_ptr<dnnl::reorder> reorder;
  ActivationIn(const memory::desc& userDesc, const memory::desc& wantedDesc, int scratchSlot)
      : user(userDesc), wanted(wantedDesc), slot(scratchSlot) {
    if (user != wanted) {
      reorder = std::make_unique<dnnl::reorder>(memory(user, Engine(), nullptr), memory(wanted, Engine(), nullptr));
    }
  }
  memory Get(const float* data) {
    memory userMem(user, Engine(), const_cast<float*>(data));
    if (!reorder) return userMem;
    memory converted(wanted, Engine(), Scratch(slot, wanted.get_size()));
    reorder->execute(Stream(), userMem, converted);
    return converted;
  }
};

dnnl::convolution_forward::primitive_desc ForwardDesc(const Geometry& g, bool bias, bool relu, dnnl::prop_kind kind,
                                                     bool bf16) {
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  if (bias) {
    memory::desc biasDesc({g.co}, dt::f32, tag::x);
    dnnl::convolution_forward::desc d(kind, dnnl::algorithm::convolution_direct, ComputeSrc(g, bf16), ComputeWeights(g, bf16),
                                      biasDesc, g.Dst(), g.Strides(), g.Dilates(), g.PadL(), g.PadR());
    return {d, attr, Engine()};
  }
  dnnl::convolution_forward::desc d(kind, dnnl::algorithm::convolution_direct, ComputeSrc(g, bf16), ComputeWeights(g, bf16), g.Dst(),
                                    g.Strides(), g.Dilates(), g.PadL(), g.PadR());
  return {d, attr, Engine()};
}

// A filter in tfjs layout, reordered into a primitive's preferred layout.
struct WeightsIn {
  memory::desc user, wanted;
  std::unique_ptr<dnnl::reorder> reorder;
  std::unique_ptr<memory> buffer;

  WeightsIn(const memory::desc& userDesc, const memory::desc& wantedDesc) : user(userDesc), wanted(wantedDesc) {
    if (user != wanted) {
      buffer = std::make_unique<memory>(wanted, Engine());
      reorder = std::make_unique<dnnl::reorder>(memory(user, Engine(), nullptr), *buffer);
    }
  }
  memory Get(float* data) {
    memory userMem(user, Engine(), data);
    if (!reorder) return userMem;
    reorder->execute(Stream(), userMem, *buffer);
    return *buffer;
  }
};

struct Forward {
  dnnl::convolution_forward prim;
  WeightsIn weights;
  ActivationIn src;
  Forward(const dnnl::convolution_forward::primitive_desc& pd, const Geometry& g)
      : prim(pd), weights(g.UserWeights(), pd.weights_desc()), src(g.Src(), pd.src_desc(), 0) {}
};

struct BackwardData {
  dnnl::convolution_backward_data prim;
  WeightsIn weights;
  ActivationIn diffDst;
  BackwardData(const dnnl::convolution_backward_data::primitive_desc& pd, const Geometry& g)
      : prim(pd), weights(g.UserWeights(), pd.weights_desc()), diffDst(g.Dst(), pd.diff_dst_desc(), 0) {}
};

struct BackwardWeights {
  dnnl::convolution_backward_weights prim;
  memory::desc wanted, user;
  std::unique_ptr<dnnl::reorder> reorder;
  std::unique_ptr<memory> buffer;
  ActivationIn src, diffDst;
  BackwardWeights(const dnnl::convolution_backward_weights::primitive_desc& pd, const Geometry& g)
      : prim(pd), wanted(pd.diff_weights_desc()), user(g.UserWeights()), src(g.Src(), pd.src_desc(), 0),
        diffDst(g.Dst(), pd.diff_dst_desc(), 1) {
    if (wanted != user) {
      buffer = std::make_unique<memory>(wanted, Engine());
      reorder = std::make_unique<dnnl::reorder>(*buffer, memory(user, Engine(), nullptr));
    }
  }
};

// At most this many primitives per kind are kept; a new geometry past it
// empties that cache first (a training run uses a few dozen).
constexpr size_t kCacheMax = 256;
size_t created = 0;

template <typename T>
struct Cache {
  std::map<ConvKey, std::unique_ptr<T>> entries;
  template <typename Make>
  T& Get(const ConvKey& key, Make make) {
    auto it = entries.find(key);
    if (it != entries.end()) return *it->second;
    if (entries.size() >= kCacheMax) entries.clear();
    created++;
    return *(entries[key] = make());
  }
};
Cache<Forward> forwards;
bool profiling = false;
// Which earlier paths are back (setConvPaths, for the bench's side-by-side
// figures): kPathDiffBias, the layers' bias gradient from oneDNN's
// backward-weights pass (layer.cc); kPathPointwise, oneDNN's primitives for
// the 1x1 convolutions' gradients. 0, the default, puts back none.
int legacyPaths = 0;
struct ProfileEntry {
  double ms = 0, cpuMs = 0;
  int64_t calls = 0;
};
std::map<std::pair<std::string, std::array<int64_t, 17>>, ProfileEntry> profile;
Cache<BackwardData> backwardDatas;
Cache<BackwardWeights> backwardWeights;

}  // namespace

bool ConvProfiling() { return profiling; }
bool LegacyPath(int bit) { return (legacyPaths & bit) != 0; }

double CpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

void ConvProfileAdd(const char* pass, const Geometry& g, double ms, double cpuMs) {
  auto& entry = profile[{pass, {g.n, g.ih, g.iw, g.ci, g.oh, g.ow, g.co, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl, g.pb, g.pr}}];
  entry.ms += ms;
  entry.cpuMs += cpuMs;
  entry.calls++;
}

namespace {

void Sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
           float beta, float* c, int64_t ldc) {
  dnnl_status_t status = dnnl_sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  if (status != dnnl_success) throw std::runtime_error("dnnl_sgemm failed with status " + std::to_string(status));
}

// A 1x1 convolution with stride 1 and no padding: its gradients are matrix
// products over the n*h*w pixels (oneDNN's 1x1 backward primitives took 2-4x
// the CPU time of these sgemms on the reference model's 1x1 layers; its
// forward, with the bias fused, was as fast as sgemm and stays).
bool Pointwise(const Geometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.pb == 0 && g.pr == 0 &&
         g.oh == g.ih && g.ow == g.iw;
}

// Up to this many filter taps (kh * kw * ci), the input gradient is one
// sgemm and a scatter (col2im) instead of oneDNN's backward-data primitive,
// which runs at a few GFLOP/s when ci is 1 (the decoder's last transposed
// convolution, 4x4 to one channel, is such a pass in every forward step).
// im2col + sgemm for the forward and filter-gradient passes of such layers
// lost to oneDNN's own kernels here (2.1-2.3x and 1-1.7x the CPU time), so
// those stay.
constexpr int64_t kCol2imMaxTaps = 32;

// Per-thread buffers, reused between calls: ThreadBuffers() (before the
// parallel region) makes one per thread, each thread grows its own.
std::vector<std::vector<float>>& ThreadBuffers() {
  static std::vector<std::vector<float>> buffers;
  if (buffers.size() < size_t(Threads())) buffers.resize(size_t(Threads()));
  return buffers;
}
float* Grown(std::vector<float>& buffer, size_t count) {
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

// Rows (pixels) per block of a 1x1 filter gradient: each thread takes its
// share of the rows in one parallel region and multiplies block by block
// into its own partial sum (sgemm inside the region runs on the calling
// thread): one region per pass, where one sgemm with a long k split over
// threads ran slower here.
constexpr int64_t kBlockRows = 256;

// dw [ci, co] = xᵀ · dy over the n*h*w pixels of a 1x1 convolution; db
// (nullable) = dy's column sums in the same pass.
void PointwiseBackwardWeights(const Geometry& g, const float* x, const float* dy, float* dw, float* db) {
  const int64_t rows = g.n * g.oh * g.ow, ci = g.ci, co = g.co, size = ci * co;
  const int nt = Threads();
  std::vector<float> partial(size_t(nt) * size, 0.0f);
  std::vector<double> biasPartial(db ? size_t(nt) * co : 0, 0.0);
  ParallelFor(rows, rows * size, [&](int64_t first, int64_t last, int t) {
    float* mine = partial.data() + size_t(t) * size;
    for (int64_t p0 = first; p0 < last; p0 += kBlockRows) {
      const int64_t p1 = std::min(last, p0 + kBlockRows);
      Sgemm('T', 'N', ci, co, p1 - p0, x + p0 * ci, ci, dy + p0 * co, co, 1.0f, mine, co);
      if (db) {
        double* sums = biasPartial.data() + size_t(t) * co;
        for (int64_t c = 0; c < co; c++) {
          float s = 0;
          for (int64_t p = p0; p < p1; p++) s += dy[p * co + c];
          sums[c] += s;
        }
      }
    }
  });
  for (int64_t i = 0; i < size; i++) {
    float s = 0;
    for (int t = 0; t < nt; t++) s += partial[size_t(t) * size + i];
    dw[i] = s;
  }
  if (db) {
    for (int64_t c = 0; c < co; c++) {
      double s = 0;
      for (int t = 0; t < nt; t++) s += biasPartial[size_t(t) * co + c];
      db[c] = float(s);
    }
  }
}

}  // namespace

void ConvForward(const Geometry& g, const float* x, const float* w, const float* bias, float* y, bool relu) {
  ProfileScope scope("forward", g);
  Forward& entry = forwards.Get(g.Key((bias ? 1 : 0) | (relu ? 2 : 0)), [&] {
    return std::make_unique<Forward>(ForwardDesc(g, bias != nullptr, relu, dnnl::prop_kind::forward_training, Bf16()), g);
  });
  memory wm = entry.weights.Get(const_cast<float*>(w));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, entry.src.Get(x)},
                                       {DNNL_ARG_WEIGHTS, wm},
                                       {DNNL_ARG_DST, memory(g.Dst(), Engine(), y)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory({{g.co}, dt::f32, tag::x}, Engine(), const_cast<float*>(bias)));
  entry.prim.execute(Stream(), args);
  Stream().wait();
}

namespace {

// conv2d(x, filter, bias | null, y, geometry, relu)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Geometry g = ReadGeometry(info, 4);
    float* x = F32(info, 0, g.n * g.ih * g.iw * g.ci);
    float* w = F32(info, 1, g.kh * g.kw * g.ci * g.co);
    float* bias = F32OrNull(info, 2, g.co);
    float* y = F32(info, 3, g.n * g.oh * g.ow * g.co);
    ConvForward(g, x, w, bias, y, info[5].ToBoolean());
    return info.Env().Undefined();
  });
}

// dx = col2im(dy · Wᵀ): cols [n*oh*ow, kh*kw*ci] by sgemm against the
// filter as [kh*kw*ci, co], then each column added where its tap lands.
void BackpropInputCol2im(const Geometry& g, const float* dy, const float* w, float* dx) {
  const int64_t taps = g.kh * g.kw * g.ci, pixels = g.oh * g.ow;
  const int64_t image = g.ih * g.iw * g.ci;
  auto& buffers = ThreadBuffers();
  // Image by image, in one parallel region: that image's columns by sgemm
  // (on the calling thread), then scattered while they are in cache.
  ParallelFor(g.n, g.n * pixels * taps * g.co, [&](int64_t first, int64_t last, int t) {
    float* cols = Grown(buffers[size_t(t)], size_t(pixels * taps));
    for (int64_t b = first; b < last; b++) {
      Sgemm('N', 'T', pixels, taps, g.co, dy + b * pixels * g.co, g.co, w, g.co, 0.0f, cols, taps);
      float* out = dx + b * image;
      std::fill(out, out + image, 0.0f);
      for (int64_t oy = 0; oy < g.oh; oy++) {
        for (int64_t ox = 0; ox < g.ow; ox++) {
          const float* col = cols + (oy * g.ow + ox) * taps;
          for (int64_t r = 0; r < g.kh; r++) {
            const int64_t y = oy * g.sh - g.pt + r * g.dh;
            if (y < 0 || y >= g.ih) continue;
            for (int64_t c = 0; c < g.kw; c++) {
              const int64_t x = ox * g.sw - g.pl + c * g.dw;
              if (x < 0 || x >= g.iw) continue;
              float* target = out + (y * g.iw + x) * g.ci;
              const float* source = col + (r * g.kw + c) * g.ci;
              for (int64_t i = 0; i < g.ci; i++) target[i] += source[i];
            }
          }
        }
      }
    }
  });
}

}  // namespace

void ConvBackwardData(const Geometry& g, const float* dy, const float* w, float* dx) {
  ProfileScope scope("backwardData", g);
  if (!Bf16() && Pointwise(g) && !LegacyPath(kPathPointwise)) {
    Sgemm('N', 'T', g.n * g.ih * g.iw, g.ci, g.co, dy, g.co, w, g.co, 0.0f, dx, g.ci);
    return;
  }
  if (g.kh * g.kw * g.ci <= kCol2imMaxTaps) {
    BackpropInputCol2im(g, dy, w, dx);
    return;
  }
  BackwardData& entry = backwardDatas.Get(g.Key(0), [&] {
    const bool bf16 = Bf16();
    auto hint = ForwardDesc(g, false, false, dnnl::prop_kind::forward_training, bf16);
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, g.Src(), ComputeWeights(g, bf16),
                                            ComputeDst(g, bf16), g.Strides(), g.Dilates(), g.PadL(), g.PadR());
    return std::make_unique<BackwardData>(dnnl::convolution_backward_data::primitive_desc(d, Engine(), hint), g);
  });
  memory wm = entry.weights.Get(const_cast<float*>(w));
  entry.prim.execute(Stream(), {{DNNL_ARG_DIFF_DST, entry.diffDst.Get(dy)},
                                {DNNL_ARG_WEIGHTS, wm},
                                {DNNL_ARG_DIFF_SRC, memory(g.Src(), Engine(), dx)}});
  Stream().wait();
}

// Filter gradients stay f32 with bf16 too: oneDNN 2.6's AMX backward-weights
// kernel took 4x the CPU time of the f32 one on the reference model's
// 14x14x64 -> 128 layer (forward: half, backward data: 0.85).
void ConvBackwardWeights(const Geometry& g, const float* x, const float* dy, float* dw, float* db) {
  ProfileScope scope(db ? "backwardWeightsBias" : "backwardWeights", g);
  if (Pointwise(g) && !LegacyPath(kPathPointwise)) {
    PointwiseBackwardWeights(g, x, dy, dw, db);
    return;
  }
  BackwardWeights& entry = backwardWeights.Get(g.Key(db ? 1 : 0), [&] {
    auto hint = ForwardDesc(g, db != nullptr, false, dnnl::prop_kind::forward_training, false);
    if (db) {
      dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, g.Src(), g.AnyWeights(),
                                                 memory::desc({g.co}, dt::f32, tag::x), g.Dst(), g.Strides(),
                                                 g.Dilates(), g.PadL(), g.PadR());
      return std::make_unique<BackwardWeights>(dnnl::convolution_backward_weights::primitive_desc(d, Engine(), hint), g);
    }
    dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, g.Src(), g.AnyWeights(), g.Dst(),
                                               g.Strides(), g.Dilates(), g.PadL(), g.PadR());
    return std::make_unique<BackwardWeights>(dnnl::convolution_backward_weights::primitive_desc(d, Engine(), hint), g);
  });
  memory user(entry.user, Engine(), dw);
  memory target = entry.reorder ? *entry.buffer : user;
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, entry.src.Get(x)},
                                       {DNNL_ARG_DIFF_DST, entry.diffDst.Get(dy)},
                                       {DNNL_ARG_DIFF_WEIGHTS, target}};
  if (db) args.emplace(DNNL_ARG_DIFF_BIAS, memory({{g.co}, dt::f32, tag::x}, Engine(), db));
  entry.prim.execute(Stream(), args);
  if (entry.reorder) entry.reorder->execute(Stream(), *entry.buffer, user);
  Stream().wait();
}

namespace {

// conv2dBackpropInput(dy, filter, dx, geometry): geometry of the forward conv
// whose input gradient dx [n, ih, iw, ci] is computed from dy [n, oh, ow, co].
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Geometry g = ReadGeometry(info, 3);
    float* dy = F32(info, 0, g.n * g.oh * g.ow * g.co);
    float* w = F32(info, 1, g.kh * g.kw * g.ci * g.co);
    float* dx = F32(info, 2, g.n * g.ih * g.iw * g.ci);
    ConvBackwardData(g, dy, w, dx);
    return info.Env().Undefined();
  });
}

// conv2dBackpropFilter(x, dy, dw, geometry): dw [kh, kw, ci, co].
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Geometry g = ReadGeometry(info, 3);
    float* x = F32(info, 0, g.n * g.ih * g.iw * g.ci);
    float* dy = F32(info, 1, g.n * g.oh * g.ow * g.co);
    float* dw = F32(info, 2, g.kh * g.kw * g.ci * g.co);
    ConvBackwardWeights(g, x, dy, dw, nullptr);
    return info.Env().Undefined();
  });
}

// How many primitives this module has created so far (tests check that a
// repeated step creates none).
Napi::Value PrimitivesCreated(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(created)); }

// setConvPaths(mask): the legacyPaths bits (0: every sgemm path, the default).
Napi::Value SetConvPaths(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    const int64_t mask = Int(info, 0);
    if (mask < 0 || mask > 3) throw std::invalid_argument("setConvPaths: mask must be in [0, 3], found " + std::to_string(mask));
    legacyPaths = int(mask);
    return info.Env().Undefined();
  });
}

// setConvProfiling(on): starts (clearing what was gathered) or stops timing.
Napi::Value SetConvProfiling(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsBoolean()) throw std::invalid_argument("setConvProfiling: expected a boolean");
    profiling = info[0].As<Napi::Boolean>().Value();
    if (profiling) profile.clear();
    return info.Env().Undefined();
  });
}

// convProfile(): [{pass, geometry (17 numbers), ms, cpuMs, calls}] gathered so far.
Napi::Value ConvProfile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env, profile.size());
  uint32_t i = 0;
  for (const auto& [key, value] : profile) {
    Napi::Object row = Napi::Object::New(env);
    row.Set("pass", key.first);
    Napi::Array geometry = Napi::Array::New(env, key.second.size());
    for (uint32_t j = 0; j < key.second.size(); j++) geometry.Set(j, double(key.second[j]));
    row.Set("geometry", geometry);
    row.Set("ms", value.ms);
    row.Set("cpuMs", value.cpuMs);
    row.Set("calls", double(value.calls));
    out.Set(i++, row);
  }
  return out;
}

}  // namespace

void InitConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("primitivesCreated", Napi::Function::New(env, PrimitivesCreated));
  exports.Set("setConvPaths", Napi::Function::New(env, SetConvPaths));
  exports.Set("setConvProfiling", Napi::Function::New(env, SetConvProfiling));
  exports.Set("convProfile", Napi::Function::New(env, ConvProfile));
}

}  // namespace vq
