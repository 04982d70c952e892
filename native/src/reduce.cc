// Reductions over the middle axis of a tensor viewed as [outer, r, inner]
// (any set of adjacent axes collapses to that view; the caller transposes
// other sets first): sum, mean, max, min, and argmax/argmin (first index of
// the extreme, int32); and softmax over the last axis. Sums accumulate in
// double, like tfjs's cpu backend, which sums in JavaScript numbers.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common.h"

namespace vq {
namespace {

enum Reduction { kSum, kMean, kMax, kMin, kProd };

template <int Op>
double Combine(double acc, double v) {
  if constexpr (Op == kMax) return std::isnan(v) || v > acc ? v : acc;
  if constexpr (Op == kMin) return std::isnan(v) || v < acc ? v : acc;
  if constexpr (Op == kProd) return acc * v;
  return acc + v;  // kSum, kMean
}

// One reduction, the op fixed at compile time so its loops vectorise.
template <int Op>
void ReduceImpl(const float* x, float* out, int64_t outer, int64_t r, int64_t inner) {
  constexpr bool extreme = Op == kMax || Op == kMin;
  constexpr double init = Op == kMax ? -INFINITY : Op == kMin ? INFINITY : Op == kProd ? 1.0 : 0.0;
  auto finish = [r](double acc) { return static_cast<float>(Op == kMean ? acc / double(r) : acc); };
  const int64_t work = outer * r * inner;
  if (inner == 1) {
#pragma omp parallel for if (work >= kParallelMin) schedule(static)
    for (int64_t o = 0; o < outer; o++) {
      const float* row = x + o * r;
      double acc = init;
      if (extreme) {
        for (int64_t j = 0; j < r && !std::isnan(acc); j++) acc = Combine<Op>(acc, row[j]);
      } else {
        for (int64_t j = 0; j < r; j++) acc = Combine<Op>(acc, row[j]);
      }
      out[o] = finish(acc);
    }
  } else if (outer >= 2 * Threads() || work < kParallelMin) {
#pragma omp parallel for if (work >= kParallelMin) schedule(static)
    for (int64_t o = 0; o < outer; o++) {
      std::vector<double> acc(inner, init);
      const float* block = x + o * r * inner;
      for (int64_t j = 0; j < r; j++)
        for (int64_t i = 0; i < inner; i++) acc[i] = Combine<Op>(acc[i], block[j * inner + i]);
      for (int64_t i = 0; i < inner; i++) out[o * inner + i] = finish(acc[i]);
    }
  } else {
    // Few outer blocks (e.g. a bias gradient, [1, b*h*w, c]): the threads
    // split r, each keeps partial results, combined at the end.
    for (int64_t o = 0; o < outer; o++) {
      const float* block = x + o * r * inner;
      const int nt = Threads();
      std::vector<double> partial(size_t(nt) * inner, init);
#pragma omp parallel num_threads(nt)
      {
        const int t = omp_get_thread_num();
        double* acc = partial.data() + size_t(t) * inner;
#pragma omp for schedule(static)
        for (int64_t j = 0; j < r; j++)
          for (int64_t i = 0; i < inner; i++) acc[i] = Combine<Op>(acc[i], block[j * inner + i]);
      }
      for (int64_t i = 0; i < inner; i++) {
        double acc = init;
        for (int t = 0; t < nt; t++) acc = Combine<Op>(acc, partial[size_t(t) * inner + i]);
        out[o * inner + i] = finish(acc);
      }
    }
  }
}

// reduce(op, x, out, outer, r, inner)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    int op = static_cast<int>(Int(info, 0));
    int64_t outer = Int(info, 3), r = Int(info, 4), inner = Int(info, 5);
    const float* x = F32(info, 1, outer * r * inner);
    float* out = F32(info, 2, outer * inner);
    switch (op) {
      case kSum: ReduceImpl<kSum>(x, out, outer, r, inner); break;
      case kMean: ReduceImpl<kMean>(x, out, outer, r, inner); break;
      case kMax: ReduceImpl<kMax>(x, out, outer, r, inner); break;
      case kMin: ReduceImpl<kMin>(x, out, outer, r, inner); break;
      case kProd: ReduceImpl<kProd>(x, out, outer, r, inner); break;
      default: throw std::invalid_argument("unknown reduction " + std::to_string(op));
    }
    return info.Env().Undefined();
  });
}

// argReduce(isMax, x, out int32, outer, r, inner)
Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    bool isMax = info[0].ToBoolean();
    int64_t outer = Int(info, 3), r = Int(info, 4), inner = Int(info, 5);
    const float* x = F32(info, 1, outer * r * inner);
    int32_t* out = I32(info, 2, outer * inner);
#pragma omp parallel for if (outer * r * inner >= kParallelMin) schedule(static)
    for (int64_t o = 0; o < outer; o++) {
      for (int64_t i = 0; i < inner; i++) {
        const float* p = x + o * r * inner + i;
        float best = p[0];
        int32_t at = 0;
        for (int64_t j = 1; j < r; j++) {
          float v = p[j * inner];
          if (isMax ? v > best : v < best) {
            best = v;
            at = static_cast<int32_t>(j);
          }
        }
        out[o * inner + i] = at;
      }
    }
    return info.Env().Undefined();
  });
}

// softmax(x, out, rows, cols): over the last axis, max-subtracted.
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    int64_t rows = Int(info, 2), cols = Int(info, 3);
    const float* x = F32(info, 0, rows * cols);
    float* out = F32(info, 1, rows * cols);
#pragma omp parallel for if (rows * cols >= kParallelMin) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* in = x + r * cols;
      float* o = out + r * cols;
      float max = -INFINITY;
      for (int64_t c = 0; c < cols; c++) max = std::max(max, in[c]);
      double sum = 0;
      for (int64_t c = 0; c < cols; c++) {
        o[c] = std::exp(in[c] - max);
        sum += o[c];
      }
      for (int64_t c = 0; c < cols; c++) o[c] = static_cast<float>(o[c] / sum);
    }
    return info.Env().Undefined();
  });
}

}  // namespace

void InitReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("argReduce", Napi::Function::New(env, ArgReduce));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
}

}  // namespace vq
