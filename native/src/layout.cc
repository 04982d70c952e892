// Kernels that move data: transpose (any permutation, 4-byte elements, so
// float32 and int32 alike), gather along an axis, and its gradient, the
// unsorted segment sum.
#include <algorithm>

#include "common.h"

namespace vq {
namespace {

// transpose(x, out, shape, perm): out.shape[i] = shape[perm[i]].
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    std::vector<int64_t> shape = Ints(info, 2), perm = Ints(info, 3);
    const int rank = static_cast<int>(shape.size());
    if (static_cast<int>(perm.size()) != rank) {
      throw std::invalid_argument("transpose: perm has " + std::to_string(perm.size()) + " entries, expected the rank " +
                                  std::to_string(rank));
    }
    std::vector<bool> seen(rank, false);
    for (int d = 0; d < rank; d++) {
      if (perm[d] < 0 || perm[d] >= rank || seen[perm[d]]) {
        throw std::invalid_argument("transpose: perm[" + std::to_string(d) + "] is " + std::to_string(perm[d]) +
                                    ", expected a permutation of 0.." + std::to_string(rank - 1));
      }
      seen[perm[d]] = true;
    }
    for (int d = 0; d < rank; d++) {
      if (shape[d] < 0) throw std::invalid_argument("transpose: shape[" + std::to_string(d) + "] is " + std::to_string(shape[d]));
    }
    std::vector<int64_t> inStride(rank, 1), outShape(rank), srcStride(rank);
    for (int d = rank - 2; d >= 0; d--) inStride[d] = inStride[d + 1] * shape[d + 1];
    int64_t total = 1;
    for (int d = 0; d < rank; d++) {
      outShape[d] = shape[perm[d]];
      srcStride[d] = inStride[perm[d]];
      total *= shape[d];
    }
    if (total == 0) return info.Env().Undefined();
    const uint32_t* x = Words(info, 0, total);
    uint32_t* out = Words(info, 1, total);
    const int64_t inner = rank == 0 ? 1 : outShape[rank - 1];
    const int64_t step = rank == 0 ? 0 : srcStride[rank - 1];
    const int64_t rows = total / inner;
    ParallelFor(rows, total, [&](int64_t begin, int64_t end, int) {
      for (int64_t row = begin; row < end; row++) {
        int64_t src = 0, rest = row;
        for (int d = rank - 2; d >= 0; d--) {
          src += (rest % outShape[d]) * srcStride[d];
          rest /= outShape[d];
        }
        uint32_t* o = out + row * inner;
        for (int64_t i = 0; i < inner; i++) o[i] = x[src + i * step];
      }
    });
    return info.Env().Undefined();
  });
}

// gather(x, indices, out, outer, axisSize, inner): x [outer, axisSize, inner]
// -> out [outer, nIndices, inner]. An index out of [0, axisSize) is an
// error (tfjs's message), raised before anything is written.
Napi::Value Gather(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    int64_t outer = Int(info, 3), axisSize = Int(info, 4), inner = Int(info, 5);
    if (outer < 0 || axisSize < 0 || inner < 0) {
      throw std::invalid_argument("gather: outer, axisSize and inner must be >= 0, found " + std::to_string(outer) + ", " +
                                  std::to_string(axisSize) + ", " + std::to_string(inner));
    }
    const int64_t count = static_cast<int64_t>(Length(info, 1));
    const int32_t* indices = I32(info, 1);
    const uint32_t* x = Words(info, 0, outer * axisSize * inner);
    uint32_t* out = Words(info, 2, outer * count * inner);
    for (int64_t i = 0; i < count; i++) {
      if (indices[i] < 0 || indices[i] >= axisSize) {
        throw std::out_of_range("GatherV2: the index value " + std::to_string(indices[i]) + " is not in [0, " +
                                std::to_string(axisSize - 1) + "]");
      }
    }
    ParallelFor(outer * count, outer * count * inner, [&](int64_t begin, int64_t end, int) {
      for (int64_t k = begin; k < end; k++) {
        const int64_t o = k / count, i = k % count;
        const uint32_t* src = x + (o * axisSize + indices[i]) * inner;
        std::copy(src, src + inner, out + k * inner);
      }
    });
    return info.Env().Undefined();
  });
}

// segmentSum(x, ids, out, inner, numSegments): x [n, inner], ids [n];
// out [numSegments, inner] (zeroed by the caller) += x rows by id. Ids out
// of [0, numSegments) are dropped, as in tfjs.
Napi::Value SegmentSum(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    int64_t inner = Int(info, 3), segments = Int(info, 4);
    const int64_t n = static_cast<int64_t>(Length(info, 1));
    const int32_t* ids = I32(info, 1);
    const float* x = F32(info, 0, n * inner);
    float* out = F32(info, 2, segments * inner);
    if (inner < 0 || segments < 0) {
      throw std::invalid_argument("segmentSum: inner and numSegments must be >= 0, found " + std::to_string(inner) + ", " +
                                  std::to_string(segments));
    }
    // Threads split the columns, so no two write the same element.
    ParallelFor(inner, n * inner, [&](int64_t begin, int64_t end, int) {
      for (int64_t row = 0; row < n; row++) {
        const int32_t id = ids[row];
        if (id < 0 || id >= segments) continue;
        const float* src = x + row * inner;
        float* dst = out + int64_t(id) * inner;
        for (int64_t i = begin; i < end; i++) dst[i] += src[i];
      }
    });
    return info.Env().Undefined();
  });
}

}  // namespace

void InitLayout(Napi::Env env, Napi::Object exports) {
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("gather", Napi::Function::New(env, Gather));
  exports.Set("segmentSum", Napi::Function::New(env, SegmentSum));
}

}  // namespace vq
