// Batched matrix products over oneDNN's sgemm (OpenMP-threaded, AVX-512 on
// this machine): c[i] = op(a[i % batchA]) · op(b[i % batchB]), where op
// transposes when asked; the modulo is tfjs's cpu backend's broadcasting.
// Row-major, as tfjs stores [.., m, k] tensors. Also the machine's sgemm
// rate probe for the benchmark.
#include <chrono>

#include "common.h"

namespace vq {
namespace {

// batchMatMul(a, b, c, batchA, batchB, m, n, k, transposeA, transposeB)
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    int64_t batchA = Int(info, 3), batchB = Int(info, 4), m = Int(info, 5), n = Int(info, 6), k = Int(info, 7);
    bool ta = info[8].ToBoolean(), tb = info[9].ToBoolean();
    if (batchA < 1 || batchB < 1) throw std::invalid_argument("batch sizes must be >= 1");
    int64_t batch = std::max(batchA, batchB);
    const float* a = F32(info, 0, batchA * m * k);
    const float* b = F32(info, 1, batchB * k * n);
    float* c = F32(info, 2, batch * m * n);
    for (int64_t i = 0; i < batch; i++) {
      const float* ai = a + (i % batchA) * m * k;
      const float* bi = b + (i % batchB) * k * n;
      dnnl_status_t status = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, ai, ta ? m : k, bi, tb ? k : n,
                                        0.0f, c + i * m * n, n);
      if (status != dnnl_success) throw std::runtime_error("dnnl_sgemm failed with status " + std::to_string(status));
    }
    return info.Env().Undefined();
  });
}

// sgemmRate(size, repeats): GFLOP/s of a size^3 sgemm, best of the repeats.
Napi::Value SgemmRate(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    int64_t s = Int(info, 0), repeats = Int(info, 1);
    std::vector<float> a(s * s, 0.5f), b(s * s, 0.25f), c(s * s);
    double best = 0;
    for (int64_t r = 0; r < repeats; r++) {
      auto start = std::chrono::steady_clock::now();
      dnnl_sgemm('N', 'N', s, s, s, 1.0f, a.data(), s, b.data(), s, 0.0f, c.data(), s);
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      best = std::max(best, 2.0 * s * s * s / seconds / 1e9);
    }
    return Napi::Number::New(info.Env(), best);
  });
}

}  // namespace

void InitMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("batchMatMul", Napi::Function::New(env, BatchMatMul));
  exports.Set("sgemmRate", Napi::Function::New(env, SgemmRate));
}

}  // namespace vq
