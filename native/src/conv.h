// Convolution geometry and the three oneDNN convolution passes, shared by
// conv.cc (the tfjs kernels) and layer.cc (the fused layers). NHWC
// activations, tfjs's [kh, kw, ci, co] filters; see conv.cc.
#pragma once

#include "common.h"

namespace vq {

struct ConvKey;

struct Geometry {
  int64_t n, ih, iw, ci, oh, ow, co, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;

  // The primitive cache key of this geometry and a variant (bias, ReLU, ...).
  ConvKey Key(int64_t variant) const;
  dnnl::memory::desc Src() const { return {{n, ci, ih, iw}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::nhwc}; }
  dnnl::memory::desc Dst() const { return {{n, co, oh, ow}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::nhwc}; }
  dnnl::memory::desc UserWeights() const {
    return {{co, ci, kh, kw}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::hwio};
  }
  dnnl::memory::desc AnyWeights() const {
    return {{co, ci, kh, kw}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::any};
  }
  dnnl::memory::dims Strides() const { return {sh, sw}; }
  dnnl::memory::dims Dilates() const { return {dh - 1, dw - 1}; }
  dnnl::memory::dims PadL() const { return {pt, pl}; }
  dnnl::memory::dims PadR() const { return {pb, pr}; }
  int64_t InSize() const { return n * ih * iw * ci; }
  int64_t OutSize() const { return n * oh * ow * co; }
  int64_t FilterSize() const { return kh * kw * ci * co; }
};

// Reads an argument of 17 numbers [n, ih, iw, ci, oh, ow, co, kh, kw, sh,
// sw, dh, dw, padTop, padLeft, padBottom, padRight] (tfjs's Conv2DInfo,
// dilations >= 1), checked, padBottom/padRight fitted to oneDNN's rule.
Geometry ReadGeometry(const Napi::CallbackInfo& info, size_t index);

// y = conv(x, w) (+ bias) (then ReLU); bias may be null.
void ConvForward(const Geometry& g, const float* x, const float* w, const float* bias, float* y, bool relu);
// dx = the input gradient of conv(., w) given dy (also the transposed convolution).
void ConvBackwardData(const Geometry& g, const float* dy, const float* w, float* dx);
// dw = the filter gradient; db (nullable) = the bias gradient, from the same pass.
void ConvBackwardWeights(const Geometry& g, const float* x, const float* dy, float* dw, float* db);

// The paths setConvPaths puts back for the bench's side-by-side figures
// (conv.cc): 1, oneDNN's diff_bias in the layers' backward-weights pass; 2,
// oneDNN's primitives for the 1x1 convolutions' gradients. 0 is the default.
constexpr int kPathDiffBias = 1, kPathPointwise = 2;
bool LegacyPath(int bit);

// Per-pass timings for the bench (convProfile / setConvProfiling): while
// profiling is on, each scope adds its wall time and the process's CPU time
// (all threads; on a machine shared with other jobs the steadier of the two)
// under (pass, geometry). Off, a scope costs one branch.
bool ConvProfiling();
double CpuSeconds();
void ConvProfileAdd(const char* pass, const Geometry& g, double ms, double cpuMs);
struct ProfileScope {
  const char* pass;
  const Geometry& g;
  double start, cpuStart;
  ProfileScope(const char* passName, const Geometry& geo)
      : pass(passName), g(geo), start(ConvProfiling() ? omp_get_wtime() : -1), cpuStart(start >= 0 ? CpuSeconds() : 0) {}
  ~ProfileScope() {
    if (start >= 0) ConvProfileAdd(pass, g, (omp_get_wtime() - start) * 1e3, (CpuSeconds() - cpuStart) * 1e3);
  }
};

}  // namespace vq
