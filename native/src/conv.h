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

}  // namespace vq
