// Element-wise kernels, OpenMP-parallel: unary maps, and binary maps with
// broadcasting given as per-dimension strides (0 on a broadcast dimension),
// dimensions already collapsed by the caller so the innermost runs long.
// NaN handling follows tfjs's cpu backend (relu keeps NaN, max/min give NaN).
#include <algorithm>
#include <cmath>

#include "common.h"

namespace vq {
namespace {

enum Unary { kRelu, kSquare, kSqrt, kExp, kLog, kTanh, kSigmoid, kNeg, kAbs, kRsqrt, kStep, kReciprocal, kRelu6, kLog1p };
enum Binary { kAdd, kSub, kMul, kDiv, kSquaredDifference, kMaximum, kMinimum };

template <typename F>
void Map(int64_t n, const float* x, float* y, F f) {
  ParallelFor(n, n, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; i++) y[i] = f(x[i]);
  });
}

// unary(op, x, y, alpha)
Napi::Value UnaryOp(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    int op = static_cast<int>(Int(info, 0));
    int64_t n = static_cast<int64_t>(Length(info, 1));
    const float* x = F32(info, 1);
    float* y = F32(info, 2, n);
    float alpha = info.Length() > 3 && info[3].IsNumber() ? static_cast<float>(Num(info, 3)) : 0.0f;
    switch (op) {
      case kRelu: Map(n, x, y, [](float v) { return v < 0 ? 0.0f : v; }); break;
      case kSquare: Map(n, x, y, [](float v) { return v * v; }); break;
      case kSqrt: Map(n, x, y, [](float v) { return std::sqrt(v); }); break;
      case kExp: Map(n, x, y, [](float v) { return std::exp(v); }); break;
      case kLog: Map(n, x, y, [](float v) { return std::log(v); }); break;
      case kTanh: Map(n, x, y, [](float v) { return std::tanh(v); }); break;
      case kSigmoid: Map(n, x, y, [](float v) { return 1.0f / (1.0f + std::exp(-v)); }); break;
      case kNeg: Map(n, x, y, [](float v) { return -v; }); break;
      case kAbs: Map(n, x, y, [](float v) { return std::fabs(v); }); break;
      case kRsqrt: Map(n, x, y, [](float v) { return 1.0f / std::sqrt(v); }); break;
      // v == v is false only for NaN; unlike std::isnan it lets the loop vectorise.
      case kStep: Map(n, x, y, [alpha](float v) { const float s = v > 0 ? 1.0f : alpha; return v == v ? s : v; }); break;
      case kReciprocal: Map(n, x, y, [](float v) { return 1.0f / v; }); break;
      case kRelu6: Map(n, x, y, [](float v) { return std::isnan(v) ? v : std::min(std::max(v, 0.0f), 6.0f); }); break;
      case kLog1p: Map(n, x, y, [](float v) { return std::log1p(v); }); break;
      default: throw std::invalid_argument("unknown unary op " + std::to_string(op));
    }
    return info.Env().Undefined();
  });
}

template <typename F>
void Broadcast(const std::vector<int64_t>& shape, const std::vector<int64_t>& sa, const std::vector<int64_t>& sb,
               const float* a, const float* b, float* out, F f) {
  const int rank = static_cast<int>(shape.size());
  const int64_t inner = rank == 0 ? 1 : shape[rank - 1];
  const int64_t ia = rank == 0 ? 0 : sa[rank - 1], ib = rank == 0 ? 0 : sb[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d + 1 < rank; d++) rows *= shape[d];
  ParallelFor(rows, rows * inner, [&](int64_t begin, int64_t end, int) {
    for (int64_t row = begin; row < end; row++) {
      int64_t offA = 0, offB = 0, rest = row;
      for (int d = rank - 2; d >= 0; d--) {
        int64_t idx = rest % shape[d];
        rest /= shape[d];
        offA += idx * sa[d];
        offB += idx * sb[d];
      }
      const float* pa = a + offA;
      const float* pb = b + offB;
      float* po = out + row * inner;
      if (ia == 1 && ib == 1) {
        for (int64_t i = 0; i < inner; i++) po[i] = f(pa[i], pb[i]);
      } else if (ia == 1) {
        const float vb = pb[0];
        for (int64_t i = 0; i < inner; i++) po[i] = f(pa[i], vb);
      } else if (ib == 1) {
        const float va = pa[0];
        for (int64_t i = 0; i < inner; i++) po[i] = f(va, pb[i]);
      } else {
        for (int64_t i = 0; i < inner; i++) po[i] = f(pa[i * ia], pb[i * ib]);
      }
    }
  });
}

// binary(op, a, b, out, shape, stridesA, stridesB)
Napi::Value BinaryOp(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    int op = static_cast<int>(Int(info, 0));
    std::vector<int64_t> shape = Ints(info, 4), sa = Ints(info, 5), sb = Ints(info, 6);
    if (sa.size() != shape.size() || sb.size() != shape.size()) throw std::invalid_argument("stride ranks differ");
    int64_t total = 1, lastA = 0, lastB = 0;
    for (size_t d = 0; d < shape.size(); d++) {
      total *= shape[d];
      lastA += (shape[d] - 1) * sa[d];
      lastB += (shape[d] - 1) * sb[d];
    }
    if (total == 0) return info.Env().Undefined();
    const float* a = F32(info, 1, lastA + 1);
    const float* b = F32(info, 2, lastB + 1);
    float* out = F32(info, 3, total);
    switch (op) {
      case kAdd: Broadcast(shape, sa, sb, a, b, out, [](float x, float y) { return x + y; }); break;
      case kSub: Broadcast(shape, sa, sb, a, b, out, [](float x, float y) { return x - y; }); break;
      case kMul: Broadcast(shape, sa, sb, a, b, out, [](float x, float y) { return x * y; }); break;
      case kDiv: Broadcast(shape, sa, sb, a, b, out, [](float x, float y) { return x / y; }); break;
      case kSquaredDifference:
        Broadcast(shape, sa, sb, a, b, out, [](float x, float y) { return (x - y) * (x - y); });
        break;
      case kMaximum:
        Broadcast(shape, sa, sb, a, b, out,
                  [](float x, float y) { return std::isnan(x) || std::isnan(y) ? NAN : std::max(x, y); });
        break;
      case kMinimum:
        Broadcast(shape, sa, sb, a, b, out,
                  [](float x, float y) { return std::isnan(x) || std::isnan(y) ? NAN : std::min(x, y); });
        break;
      default: throw std::invalid_argument("unknown binary op " + std::to_string(op));
    }
    return info.Env().Undefined();
  });
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("unary", Napi::Function::New(env, UnaryOp));
  exports.Set("binary", Napi::Function::New(env, BinaryOp));
}

}  // namespace vq
