// Fused convolution layers for src/backend/native/layers.ts: one call does
// what a layer's forward or backward pass takes several tfjs kernels for.
//
// convLayer(x, filter, bias, y, xr | null, geometry, flags)
//   flags: kTransposed (y = conv2dTranspose(x) via the geometry's backward
//   data pass), kRelu (y = relu(... + bias)), kInputRelu (xr = relu(x) is
//   written and is the convolution's input). Plain: y = conv(src, w) + bias.
// convLayerBackward(dy, src, filter, y, dx | null, dw, db, geometry, flags)
//   src is what the forward convolved (xr with kInputRelu, else x). One pass
//   masks dy by y > 0 (kRelu) and sums it per channel (the bias gradient);
//   the filter gradient is the convolution's backward-weights pass (for the
//   transposed layer: the convolution's filter gradient with x and dy
//   swapped), dx from backward data (transposed: the forward convolution),
//   then masked by src > 0 (kInputRelu).
//
// The geometry is the forward convolution's (conv.h); for kTransposed the
// layer maps the geometry's output [n, oh, ow, co] to its input [n, ih, iw,
// ci], and the bias has ci elements.
#include <algorithm>
#include <vector>

#include "conv.h"

namespace vq {
namespace {

constexpr int64_t kTransposed = 1, kRelu = 2, kInputRelu = 4;

// Reused between calls: the masked output gradient.
std::vector<float> scratch;

// A layer call's geometry and flags, checked, with the sizes they imply.
struct Layer {
  Geometry g;
  bool transposed, relu, inputRelu;
  int64_t inSize, outSize, outChannels;
};

Layer ReadLayer(const Napi::CallbackInfo& info, size_t geometryIndex) {
  Geometry g = ReadGeometry(info, geometryIndex);
  const int64_t flags = Int(info, geometryIndex + 1);
  if (flags < 0 || flags > 7) throw std::invalid_argument("convLayer flags must be in [0, 7], found " + std::to_string(flags));
  const bool transposed = flags & kTransposed;
  return {g, transposed, (flags & kRelu) != 0, (flags & kInputRelu) != 0, transposed ? g.OutSize() : g.InSize(),
          transposed ? g.InSize() : g.OutSize(), transposed ? g.ci : g.co};
}

// y[p, c] = relu?(y[p, c] + bias[c]) over rows of `channels`.
void AddBiasRelu(float* y, const float* bias, int64_t rows, int64_t channels, bool relu) {
  ParallelFor(rows, rows * channels, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; r++) {
      float* row = y + r * channels;
      if (relu) {
        for (int64_t c = 0; c < channels; c++) row[c] = std::max(row[c] + bias[c], 0.0f);
      } else {
        for (int64_t c = 0; c < channels; c++) row[c] += bias[c];
      }
    }
  });
}

Napi::Value ConvLayer(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    const Layer l = ReadLayer(info, 5);
    const Geometry& g = l.g;
    const bool transposed = l.transposed, relu = l.relu, inputRelu = l.inputRelu;
    const int64_t inSize = l.inSize, outSize = l.outSize;
    const float* x = F32(info, 0, inSize);
    const float* w = F32(info, 1, g.FilterSize());
    const float* bias = F32(info, 2, l.outChannels);
    float* y = F32(info, 3, outSize);
    float* xr = inputRelu ? F32(info, 4, inSize) : nullptr;
    const float* src = x;
    if (inputRelu) {
      ProfileScope scope("layerInputRelu", g);
      ParallelFor(inSize, inSize, [&](int64_t begin, int64_t end, int) {
        for (int64_t i = begin; i < end; i++) xr[i] = x[i] < 0 ? 0.0f : x[i];
      });
      src = xr;
    }
    if (transposed) {
      ConvBackwardData(g, src, w, y);
      ProfileScope scope("layerBiasRelu", g);
      AddBiasRelu(y, bias, g.n * g.ih * g.iw, g.ci, relu);
    } else {
      ConvForward(g, src, w, bias, y, relu);
    }
    return info.Env().Undefined();
  });
}

Napi::Value ConvLayerBackward(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    const Layer l = ReadLayer(info, 7);
    const Geometry& g = l.g;
    const bool transposed = l.transposed, relu = l.relu, inputRelu = l.inputRelu;
    const int64_t inSize = l.inSize, outSize = l.outSize, outChannels = l.outChannels;
    const float* dy = F32(info, 0, outSize);
    const float* src = F32(info, 1, inSize);
    const float* w = F32(info, 2, g.FilterSize());
    const float* y = F32(info, 3, outSize);
    float* dx = F32OrNull(info, 4, inSize);
    float* dw = F32(info, 5, g.FilterSize());
    float* db = F32(info, 6, outChannels);

    const float* grad = dy;
    const int64_t rows = outSize / outChannels;
    // The bias gradient is summed in the mask pass (oneDNN's diff_bias made
    // its backward-weights pass up to 4x slower), unless the bench asks for
    // the old path (kPathDiffBias); the transposed layer's always is.
    const bool sumBias = transposed || !LegacyPath(kPathDiffBias);
    if (relu || sumBias) {
      // One pass: the ReLU mask and the bias sum.
      ProfileScope scope("layerMask", g);
      if (relu) scratch.resize(size_t(outSize));
      float* masked = relu ? scratch.data() : nullptr;
      const int nt = Threads();
      std::vector<double> partial(sumBias ? size_t(nt) * outChannels : 0, 0.0);
      ParallelFor(rows, outSize, [&](int64_t begin, int64_t end, int t) {
        std::vector<float> sum(sumBias ? outChannels : 0, 0.0f);
        double* out = sumBias ? partial.data() + size_t(t) * outChannels : nullptr;
        for (int64_t r = begin; r < end; r++) {
          const float* in = dy + r * outChannels;
          const float* yr = y + r * outChannels;
          if (relu) {
            float* m = masked + r * outChannels;
            for (int64_t c = 0; c < outChannels; c++) m[c] = yr[c] > 0 ? in[c] : 0.0f;
            if (sumBias) for (int64_t c = 0; c < outChannels; c++) sum[c] += m[c];
          } else {
            for (int64_t c = 0; c < outChannels; c++) sum[c] += in[c];
          }
          if (sumBias && (r - begin) % 64 == 63) {
            for (int64_t c = 0; c < outChannels; c++) out[c] += sum[c];
            std::fill(sum.begin(), sum.end(), 0.0f);
          }
        }
        for (int64_t c = 0; c < int64_t(sum.size()); c++) out[c] += sum[c];
      });
      if (sumBias) {
        for (int64_t c = 0; c < outChannels; c++) {
          double total = 0;
          for (int t = 0; t < nt; t++) total += partial[size_t(t) * outChannels + c];
          db[c] = float(total);
        }
      }
      if (relu) grad = masked;
    }
    if (transposed) {
      // The layer is the convolution's backward data: its filter gradient is
      // the convolution's with input and output swapped, its input gradient
      // the convolution itself.
      ConvBackwardWeights(g, grad, src, dw, nullptr);
      if (dx) ConvForward(g, grad, w, nullptr, dx, false);
    } else {
      ConvBackwardWeights(g, src, grad, dw, sumBias ? nullptr : db);
      if (dx) ConvBackwardData(g, grad, w, dx);
    }
    if (dx && inputRelu) {
      ProfileScope scope("layerInputMask", g);
      ParallelFor(inSize, inSize, [&](int64_t begin, int64_t end, int) {
        for (int64_t i = begin; i < end; i++) dx[i] = src[i] > 0 ? dx[i] : 0.0f;
      });
    }
    return info.Env().Undefined();
  });
}

}  // namespace

void InitLayer(Napi::Env env, Napi::Object exports) {
  exports.Set("convLayer", Napi::Function::New(env, ConvLayer));
  exports.Set("convLayerBackward", Napi::Function::New(env, ConvLayerBackward));
}

}  // namespace vq
