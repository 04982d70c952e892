// One step of fast WaveNet generation (src/audio/generate.ts states the
// algorithm and the weight layout; its JsStepKernel is the same arithmetic
// in JavaScript): per layer, the queue slot t mod d gives h[t - d], the
// gated unit tanh(a[:C]) * sigmoid(a[C:]) of a = W [h[t-d]; h[t]] + cond,
// residual and skip outputs; then the two-layer head and, when u >= 0, a
// draw from softmax(logits) by inverse CDF. One call per sample, single
// threaded: the work (about 100k multiply-adds) is too small to split.
//
// wavenetStep(weights, state, cond, condOffset, input, t, dims, logits, u) -> level or -1
//   dims = [C, S, levels, L, d_0 .. d_{L-1}]
#include <cmath>
#include <cstring>
#include <vector>

#include "common.h"

namespace vq {
namespace {

// exp(x) for float x, within about 2 ulp over [-87, 88] (inputs are clamped
// there): x = n ln 2 + r, |r| <= ln 2 / 2, e^r by its degree-6 Taylor
// polynomial, 2^n put straight into the exponent bits. Branch-free, so loops
// over it vectorize; std::exp's call per element made the gates and the
// softmax cost more than the matrix products.
inline float FastExp(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // Round to nearest by the 1.5 * 2^23 trick (std::nearbyint is a libm call).
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = x - n * 0.693145751953125f - n * 1.428606765330187045e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// y[0..m) += x[0..n) W, W [n, m] row-major. Four rows at a time, so y is
// loaded and stored once per four rows (the inner loop vectorizes).
inline void MatVecAdd(const float* __restrict x, const float* __restrict w, int n, int m, float* __restrict y) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const float x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
    const float* __restrict r0 = w + static_cast<size_t>(i) * m;
    const float* __restrict r1 = r0 + m;
    const float* __restrict r2 = r1 + m;
    const float* __restrict r3 = r2 + m;
    for (int o = 0; o < m; o++) y[o] += x0 * r0[o] + x1 * r1[o] + x2 * r2[o] + x3 * r3[o];
  }
  for (; i < n; i++) {
    const float xi = x[i];
    const float* __restrict row = w + static_cast<size_t>(i) * m;
    for (int o = 0; o < m; o++) y[o] += xi * row[o];
  }
}

Napi::Value WavenetStep(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    const size_t dimCount = Length(info, 6);
    const int32_t* dims = I32(info, 6, 4);
    const int c = dims[0], s = dims[1], levels = dims[2], layers = dims[3];
    if (c < 1 || s < 1 || levels < 2 || layers < 1 || dimCount < static_cast<size_t>(4 + layers)) {
      throw std::invalid_argument("wavenetStep: bad dims");
    }
    size_t weightCount = 2 * c + static_cast<size_t>(s) * s + s + static_cast<size_t>(s) * levels + levels;
    size_t stateCount = 0;
    for (int l = 0; l < layers; l++) {
      if (dims[4 + l] < 1) throw std::invalid_argument("wavenetStep: dilation < 1");
      weightCount += 4 * static_cast<size_t>(c) * c + static_cast<size_t>(c) * (c + s) + (c + s);
      stateCount += static_cast<size_t>(dims[4 + l]) * c;
    }
    const float* weights = F32(info, 0, weightCount);
    float* state = F32(info, 1, stateCount);
    const int64_t condOffset = Int(info, 3);
    const float* cond = F32(info, 2, condOffset + static_cast<size_t>(layers) * 2 * c);
    const float input = static_cast<float>(Num(info, 4));
    const int64_t t = Int(info, 5);
    float* logits = F32(info, 7, levels);
    const double u = Num(info, 8);
    if (condOffset < 0 || t < 0) throw std::invalid_argument("wavenetStep: negative offset or time");

    thread_local std::vector<float> scratch;
    scratch.resize(7 * c + 3 * s);
    float* h = scratch.data();
    float* x2 = h + c;
    float* a = x2 + 2 * c;
    float* z = a + 2 * c;
    float* rs = z + c;
    float* skip = rs + c + s;
    float* hidden = skip + s;

    const float* w = weights;
    for (int i = 0; i < c; i++) h[i] = input * w[i] + w[c + i];
    w += 2 * c;
    for (int i = 0; i < s; i++) skip[i] = 0.0f;
    float* q = state;
    const float* condStep = cond + condOffset;
    for (int l = 0; l < layers; l++) {
      const int d = dims[4 + l];
      float* slot = q + (t % d) * c;
      for (int i = 0; i < c; i++) {
        x2[i] = slot[i];
        x2[c + i] = h[i];
        slot[i] = h[i];
      }
      q += static_cast<size_t>(d) * c;
      const float* condL = condStep + static_cast<size_t>(l) * 2 * c;
      for (int o = 0; o < 2 * c; o++) a[o] = condL[o];
      MatVecAdd(x2, w, 2 * c, 2 * c, a);
      w += 4 * static_cast<size_t>(c) * c;
      // tanh(v) = 1 - 2 / (e^{2v} + 1), sigmoid(v) = 1 / (1 + e^{-v}).
      for (int i = 0; i < c; i++) {
        const float th = 1.0f - 2.0f / (FastExp(2.0f * a[i]) + 1.0f);
        z[i] = th / (1.0f + FastExp(-a[c + i]));
      }
      const float* bias = w + static_cast<size_t>(c) * (c + s);
      for (int o = 0; o < c + s; o++) rs[o] = bias[o];
      MatVecAdd(z, w, c, c + s, rs);
      w += static_cast<size_t>(c) * (c + s) + (c + s);
      for (int i = 0; i < c; i++) h[i] += rs[i];
      for (int i = 0; i < s; i++) skip[i] += rs[c + i];
    }
    for (int i = 0; i < s; i++) skip[i] = skip[i] > 0.0f ? skip[i] : 0.0f;
    for (int o = 0; o < s; o++) hidden[o] = w[static_cast<size_t>(s) * s + o];
    MatVecAdd(skip, w, s, s, hidden);
    w += static_cast<size_t>(s) * s + s;
    for (int i = 0; i < s; i++) hidden[i] = hidden[i] > 0.0f ? hidden[i] : 0.0f;
    for (int o = 0; o < levels; o++) logits[o] = w[static_cast<size_t>(s) * levels + o];
    MatVecAdd(hidden, w, s, levels, logits);

    if (u < 0) return Napi::Number::New(info.Env(), -1);
    float max = logits[0];
    for (int i = 1; i < levels; i++) max = logits[i] > max ? logits[i] : max;
    thread_local std::vector<float> weightsOfLevels;
    weightsOfLevels.resize(levels);
    float* e = weightsOfLevels.data();
    for (int i = 0; i < levels; i++) e[i] = FastExp(logits[i] - max);
    double total = 0;
    for (int i = 0; i < levels; i++) total += e[i];
    const double target = u * total;
    double acc = 0;
    int level = levels - 1;
    for (int i = 0; i < levels; i++) {
      acc += e[i];
      if (acc > target) {
        level = i;
        break;
      }
    }
    return Napi::Number::New(info.Env(), level);
  });
}

}  // namespace

void InitWavenet(Napi::Env env, Napi::Object exports) { exports.Set("wavenetStep", Napi::Function::New(env, WavenetStep)); }

}  // namespace vq
