// The Adam update of one variable in a single pass, in place (PyTorch's
// rule, as src/train/adam.ts states it):
//   m <- b1 m + (1 - b1) g      v <- b2 v + (1 - b2) g^2
//   p <- p - (lr / c1) * m / (sqrt(v / c2) + eps),  c1 = 1 - b1^t, c2 = 1 - b2^t
#include <cmath>

#include "common.h"

namespace vq {
namespace {

// adam(p, m, v, g, lr, b1, b2, eps, c1, c2)
Napi::Value Adam(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    const int64_t n = static_cast<int64_t>(Length(info, 0));
    float* p = F32(info, 0);
    float* m = F32(info, 1, n);
    float* v = F32(info, 2, n);
    const float* g = F32(info, 3, n);
    const float lr = float(Num(info, 4)), b1 = float(Num(info, 5)), b2 = float(Num(info, 6));
    const float eps = float(Num(info, 7)), c1 = float(Num(info, 8)), c2 = float(Num(info, 9));
    const float step = lr / c1;
    ParallelFor(n, n, [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; i++) {
        const float mi = b1 * m[i] + (1 - b1) * g[i];
        const float vi = b2 * v[i] + (1 - b2) * (g[i] * g[i]);
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] - (mi / (std::sqrt(vi / c2) + eps)) * step;
      }
    });
    return info.Env().Undefined();
  });
}

}  // namespace

void InitAdam(Napi::Env env, Napi::Object exports) { exports.Set("adam", Napi::Function::New(env, Adam)); }

}  // namespace vq
