// Reductions over the middle axis of a tensor viewed as [outer, r, inner]
// (any set of adjacent axes collapses to that view; the caller transposes
// other sets first): sum, mean, max, min, and argmax/argmin (first index of
// the extreme, int32); and softmax over the last axis. Sums accumulate in
// double, like tfjs's cpu backend, which sums in JavaScript numbers.
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

// Checks an [outer, r, inner] view: every size >= 0, r >= minR.
void CheckView(const char* what, int64_t outer, int64_t r, int64_t inner, int64_t minR) {
  if (outer < 0 || inner < 0 || r < minR) {
    throw std::invalid_argument(std::string(what) + ": view [outer, r, inner] must have sizes >= 0 and r >= " +
                                std::to_string(minR) + ", found [" + std::to_string(outer) + ", " + std::to_string(r) +
                                ", " + std::to_string(inner) + "]");
  }
}

// One reduction, the op fixed at compile time so its loops vectorise.
template <int Op>
void ReduceImpl(const float* x, float* out, int64_t outer, int64_t r, int64_t inner) {
  constexpr bool extreme = Op == kMax || Op == kMin;
  constexpr double init = Op == kMax ? -INFINITY : Op == kMin ? INFINITY : Op == kProd ? 1.0 : 0.0;
  auto finish = [r](double acc) { return static_cast<float>(Op == kMean ? acc / double(r) : acc); };
  const int64_t work = outer * r * inner;
  if (inner == 1) {
    ParallelFor(outer, work, [&](int64_t begin, int64_t end, int) {
      for (int64_t o = begin; o < end; o++) {
        const float* row = x + o * r;
        double acc = init;
        if (extreme) {
          for (int64_t j = 0; j < r && !std::isnan(acc); j++) acc = Combine<Op>(acc, row[j]);
        } else {
          for (int64_t j = 0; j < r; j++) acc = Combine<Op>(acc, row[j]);
        }
        out[o] = finish(acc);
      }
    });
  } else if (outer >= 2 * Threads() || work < kParallelMin) {
    ParallelFor(outer, work, [&](int64_t begin, int64_t end, int) {
      std::vector<double> acc(inner);
      for (int64_t o = begin; o < end; o++) {
        std::fill(acc.begin(), acc.end(), init);
        const float* block = x + o * r * inner;
        for (int64_t j = 0; j < r; j++)
          for (int64_t i = 0; i < inner; i++) acc[i] = Combine<Op>(acc[i], block[j * inner + i]);
        for (int64_t i = 0; i < inner; i++) out[o * inner + i] = finish(acc[i]);
      }
    });
  } else {
    // Few outer blocks (e.g. a bias gradient, [1, b*h*w, c]): the threads
    // split r, each keeps partial results, combined at the end.
    for (int64_t o = 0; o < outer; o++) {
      const float* block = x + o * r * inner;
      const int nt = Threads();
      std::vector<double> partial(size_t(nt) * inner, init);
      ParallelFor(r, r * inner, [&](int64_t begin, int64_t end, int t) {
        double* acc = partial.data() + size_t(t) * inner;
        for (int64_t j = begin; j < end; j++)
          for (int64_t i = 0; i < inner; i++) acc[i] = Combine<Op>(acc[i], block[j * inner + i]);
      });
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
    CheckView("reduce", outer, r, inner, 0);
    if (op < kSum || op > kProd) throw std::invalid_argument("reduce: op must be in [0, 4], found " + std::to_string(op));
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
    // An empty axis has no extreme to point at (it used to read x[0]).
    CheckView("argReduce", outer, r, inner, 1);
    const float* x = F32(info, 1, outer * r * inner);
    int32_t* out = I32(info, 2, outer * inner);
    if (inner == 1) {
      // Rows (e.g. code distances [m, K]): the extreme by a branch-free
      // pass the compiler vectorises, then its first position. NaNs are
      // skipped as in the strided loop below (a NaN first element wins).
      ParallelFor(outer, outer * r, [&](int64_t begin, int64_t end, int) {
        for (int64_t o = begin; o < end; o++) {
          const float* p = x + o * r;
          float best = p[0];
          if (best == best) {
            if (isMax) {
              for (int64_t j = 1; j < r; j++) best = p[j] > best ? p[j] : best;
            } else {
              for (int64_t j = 1; j < r; j++) best = p[j] < best ? p[j] : best;
            }
          }
          int64_t at = 0;
          if (best == best) while (p[at] != best) at++;
          out[o] = static_cast<int32_t>(at);
        }
      });
      return info.Env().Undefined();
    }
    ParallelFor(outer, outer * r * inner, [&](int64_t begin, int64_t end, int) {
      for (int64_t o = begin; o < end; o++) {
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
    });
    return info.Env().Undefined();
  });
}

// softmax(x, out, rows, cols): over the last axis, max-subtracted.
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    int64_t rows = Int(info, 2), cols = Int(info, 3);
    CheckView("softmax", rows, cols, 1, 0);
    const float* x = F32(info, 0, rows * cols);
    float* out = F32(info, 1, rows * cols);
    ParallelFor(rows, rows * cols, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; r++) {
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
    });
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
