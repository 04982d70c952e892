// The quantizer's nearest-code search in one pass (src/backend/native/nearest.ts,
// for src/quantize/ops.ts's nearestCodes through src/backend/fusedNearest.ts):
// out[i] = argmin_j ||x_i - c_j||^2 = argmin_j (||c_j||^2 - 2 x_i·c_j), the
// first j on ties, as tfjs's argMin. Where tfjs computes the whole [m, k]
// distance matrix in three passes and then reduces it, this takes the rows
// of x a block at a time: the block's dot products by sgemm into a
// per-thread buffer that stays in cache, then each row's minimum. The
// arithmetic is tfjs's (float32 ||c||^2 - 2·dot, ||c||^2 summed in double as
// the native Sum does), so the indices are the ones its ops give.
//
// nearestCodes(x, codes, out, m, k, d): x [m, d], codes [k, d], out int32 [m].
#include <immintrin.h>

#include <algorithm>

#include "common.h"

namespace vq {
namespace {

// Rows of x per block: the block's [rows, k] dot products fit in L2.
constexpr int64_t kNearestBlockRows = 256;

// The first j with the smallest norms[j] - 2 * dots[j], as tfjs's argMin
// reads them: starting at j = 0 and taking only a strictly smaller value (a
// NaN at 0 keeps 0; later NaNs are passed over). Eight lanes (AVX2) each keep
// their own first minimum, merged by value and then by the lower index.
int32_t FirstMinimum(const float* norms, const float* dots, int64_t k) {
  const float v0 = norms[0] - 2.0f * dots[0];
  if (!(v0 == v0)) return 0;
  float best = v0;
  int32_t index = 0;
  int64_t j = 1;
#ifdef __AVX2__
  if (k >= 17) {
    __m256 bestV = _mm256_set1_ps(v0);
    __m256i indexV = _mm256_setzero_si256();
    __m256i lane = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8);
    const __m256i eight = _mm256_set1_epi32(8);
    for (; j + 8 <= k; j += 8) {
      const __m256 d = _mm256_loadu_ps(dots + j);
      const __m256 v = _mm256_sub_ps(_mm256_loadu_ps(norms + j), _mm256_add_ps(d, d));
      const __m256 less = _mm256_cmp_ps(v, bestV, _CMP_LT_OQ);
      bestV = _mm256_blendv_ps(bestV, v, less);
      indexV = _mm256_blendv_epi8(indexV, lane, _mm256_castps_si256(less));
      lane = _mm256_add_epi32(lane, eight);
    }
    alignas(32) float values[8];
    alignas(32) int32_t indices[8];
    _mm256_store_ps(values, bestV);
    _mm256_store_si256(reinterpret_cast<__m256i*>(indices), indexV);
    for (int l = 0; l < 8; l++) {
      if (values[l] < best || (values[l] == best && indices[l] < index)) {
        best = values[l];
        index = indices[l];
      }
    }
  }
#endif
  for (; j < k; j++) {
    const float v = norms[j] - 2.0f * dots[j];
    if (v < best) {
      best = v;
      index = int32_t(j);
    }
  }
  return index;
}

Napi::Value NearestCodes(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    const int64_t m = Int(info, 3), k = Int(info, 4), d = Int(info, 5);
    if (m < 0) throw std::invalid_argument("nearestCodes: m must be >= 0, found " + std::to_string(m));
    if (k < 1) throw std::invalid_argument("nearestCodes: k must be >= 1, found " + std::to_string(k));
    if (d < 1) throw std::invalid_argument("nearestCodes: d must be >= 1, found " + std::to_string(d));
    const float* x = F32(info, 0, size_t(m * d));
    const float* codes = F32(info, 1, size_t(k * d));
    int32_t* out = I32(info, 2, size_t(m));
    if (m == 0) return info.Env().Undefined();

    std::vector<float> norms(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; j++) {
      double s = 0;
      for (int64_t c = 0; c < d; c++) s += double(codes[j * d + c]) * double(codes[j * d + c]);
      norms[size_t(j)] = float(s);
    }
    static std::vector<std::vector<float>> buffers;
    if (buffers.size() < size_t(Threads())) buffers.resize(size_t(Threads()));
    std::vector<int> failed(size_t(Threads()), 0);
    ParallelFor(m, m * k * d, [&](int64_t first, int64_t last, int t) {
      std::vector<float>& buffer = buffers[size_t(t)];
      if (buffer.size() < size_t(kNearestBlockRows * k)) buffer.resize(size_t(kNearestBlockRows * k));
      float* dots = buffer.data();
      for (int64_t r0 = first; r0 < last; r0 += kNearestBlockRows) {
        const int64_t rows = std::min(last, r0 + kNearestBlockRows) - r0;
        if (dnnl_sgemm('N', 'T', rows, k, d, 1.0f, x + r0 * d, d, codes, d, 0.0f, dots, k) != dnnl_success) {
          failed[size_t(t)] = 1;
          return;
        }
        for (int64_t r = 0; r < rows; r++) out[r0 + r] = FirstMinimum(norms.data(), dots + r * k, k);
      }
    });
    for (int f : failed) {
      if (f) throw std::runtime_error("nearestCodes: dnnl_sgemm failed");
    }
    return info.Env().Undefined();
  });
}

}  // namespace

void InitNearest(Napi::Env env, Napi::Object exports) {
  exports.Set("nearestCodes", Napi::Function::New(env, NearestCodes));
}

}  // namespace vq
