// Shared helpers of the addon: typed-array pointers (no copies), argument
// checks, the oneDNN engine and stream, and a wrapper that turns C++
// exceptions into JavaScript errors.
#pragma once

#include <napi.h>
#include <omp.h>
#include <pthread.h>

#include <csignal>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace vq {

// The engine and stream every primitive runs on (CPU, in-order).
dnnl::engine& Engine();
dnnl::stream& Stream();

// Thread count used by OpenMP loops and oneDNN.
int Threads();

// Whether convolutions compute in bf16 (setPrecision('bf16'), only where
// the CPU has AVX-512 bf16 or AMX): conv.cc then converts their f32 inputs
// and filters to bf16; outputs, sums and filter gradients stay f32.
bool Bf16();

// Pointer to the first element of a typed array argument (its byteOffset
// included, so subarray views work), checked for type and minimum length.
float* F32(const Napi::CallbackInfo& info, size_t index, size_t minLength = 0);
int32_t* I32(const Napi::CallbackInfo& info, size_t index, size_t minLength = 0);
// Same for any 4-byte element typed array (float32 or int32), as raw words.
uint32_t* Words(const Napi::CallbackInfo& info, size_t index, size_t minLength = 0);
// Same, or nullptr when the argument is null/undefined.
float* F32OrNull(const Napi::CallbackInfo& info, size_t index, size_t minLength = 0);
// Length (elements) of a typed array argument.
size_t Length(const Napi::CallbackInfo& info, size_t index);

int64_t Int(const Napi::CallbackInfo& info, size_t index);
double Num(const Napi::CallbackInfo& info, size_t index);
std::vector<int64_t> Ints(const Napi::CallbackInfo& info, size_t index);

// The asynchronous signals (every signal but the ones a fault raises in the
// thread itself: SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS).
const sigset_t& AsyncSignals();

// Blocks the asynchronous signals on this thread for its lifetime; they are
// delivered, in order, when it ends. oneDNN 2.6's JIT sgemm kernels (AVX2 and
// AVX-512) run with the stack pointer moved into a heap buffer, so a signal
// delivered to a thread inside one (Ctrl-C, SIGCHLD, SIGWINCH, the profiler's
// SIGPROF) has its frame written over the heap: glibc later aborts with
// "corrupted size vs. prev_size", or data is silently damaged
// (test/native/signals.test.ts sends signals during sgemm). Every addon call
// runs under one (Guard), and so do the OpenMP threads, which inherit the
// blocked mask of the call that starts them and are blocked at load (Init).
class SignalShield {
 public:
  SignalShield() { pthread_sigmask(SIG_BLOCK, &AsyncSignals(), &saved_); }
  ~SignalShield() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  SignalShield(const SignalShield&) = delete;
  SignalShield& operator=(const SignalShield&) = delete;

 private:
  sigset_t saved_;
};

// Runs body with the asynchronous signals blocked (SignalShield), rethrowing
// any C++ exception (oneDNN's included) as a JS Error.
template <typename F>
Napi::Value Guard(const Napi::CallbackInfo& info, F body) {
  SignalShield shield;
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what() + " (status " + std::to_string(int(e.status)) + ")");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

// Registration of each kernel family's functions on the exports object.
void InitConv(Napi::Env env, Napi::Object exports);
void InitMatmul(Napi::Env env, Napi::Object exports);
void InitElementwise(Napi::Env env, Napi::Object exports);
void InitReduce(Napi::Env env, Napi::Object exports);
void InitLayout(Napi::Env env, Napi::Object exports);
void InitAdam(Napi::Env env, Napi::Object exports);
void InitLayer(Napi::Env env, Napi::Object exports);
void InitNearest(Napi::Env env, Napi::Object exports);

// Parallel for over [0, n) when n is large enough to pay for the threads.
constexpr int64_t kParallelMin = 1 << 15;

// The one parallel loop of the addon's own kernels: body(begin, end, thread)
// on Threads() contiguous chunks of [0, n) (one chunk on the calling thread
// when work < kParallelMin), on the same OpenMP pool oneDNN uses, so the two
// never hold more than Threads() cores between them. `thread` indexes
// per-thread partial results (0 <= thread < Threads()).
template <typename F>
void ParallelFor(int64_t n, int64_t work, F body) {
  const int nt = Threads();
  if (n <= 0) return;
  if (nt <= 1 || work < kParallelMin || n == 1) {
    body(int64_t(0), n, 0);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), count = omp_get_num_threads();
    const int64_t begin = n * t / count, end = n * (t + 1) / count;
    if (begin < end) body(begin, end, t);
  }
}

}  // namespace vq
