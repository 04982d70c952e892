// 2-D convolutions in NHWC over oneDNN: forward (optionally with bias and
// ReLU fused as a post-op), backward data (also the transposed convolution)
// and backward weights. Activations stay in the caller's NHWC memory; the
// filter is tfjs's [kh, kw, ci, co] (oneDNN's hwio), reordered to whatever
// layout the primitive prefers into a cached buffer. Every primitive and
// reorder is created once per geometry and cached, so a training step
// creates none. Input gradients with few filter taps (one input channel)
// take an sgemm + col2im path instead (kCol2imMaxTaps).
//
// geometry (an array of 17 numbers), as tfjs's Conv2DInfo gives it:
//   [n, ih, iw, ci, oh, ow, co, kh, kw, sh, sw, dh, dw, padTop, padLeft, padBottom, padRight]
// with dilations dh, dw >= 1 (tfjs's convention; oneDNN's is one less).
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
Cache<BackwardData> backwardDatas;
Cache<BackwardWeights> backwardWeights;

}  // namespace

void ConvForward(const Geometry& g, const float* x, const float* w, const float* bias, float* y, bool relu) {
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

// Up to this many filter taps (kh * kw * ci), the input gradient is one
// sgemm and a scatter (col2im) instead of oneDNN's backward-data primitive,
// which runs at a few GFLOP/s when ci is 1 (the decoder's last transposed
// convolution, 4x4 to one channel, is such a pass in every forward step).
constexpr int64_t kCol2imMaxTaps = 32;

// dx = col2im(dy · Wᵀ): cols [n*oh*ow, kh*kw*ci] by sgemm against the
// filter as [kh*kw*ci, co], then each column added where its tap lands.
void BackpropInputCol2im(const Geometry& g, const float* dy, const float* w, float* dx) {
  const int64_t taps = g.kh * g.kw * g.ci, pixels = g.oh * g.ow;
  std::vector<float> cols(size_t(g.n * pixels * taps));
  dnnl_status_t status = dnnl_sgemm('N', 'T', g.n * pixels, taps, g.co, 1.0f, dy, g.co, w, g.co, 0.0f, cols.data(), taps);
  if (status != dnnl_success) throw std::runtime_error("dnnl_sgemm failed with status " + std::to_string(status));
  const int64_t image = g.ih * g.iw * g.ci;
  ParallelFor(g.n, g.n * image, [&](int64_t first, int64_t last, int) {
    for (int64_t b = first; b < last; b++) {
      float* out = dx + b * image;
      std::fill(out, out + image, 0.0f);
      for (int64_t oy = 0; oy < g.oh; oy++) {
        for (int64_t ox = 0; ox < g.ow; ox++) {
          const float* col = cols.data() + ((b * g.oh + oy) * g.ow + ox) * taps;
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

}  // namespace

void InitConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("primitivesCreated", Napi::Function::New(env, PrimitivesCreated));
}

}  // namespace vq
