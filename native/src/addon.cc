// Entry point of the vqvae native addon: the oneDNN engine, the thread count
// (VQVAE_THREADS, else every core OpenMP sees), typed-array helpers, and the
// registration of every kernel family.
#include <malloc.h>
#include <omp.h>

#include <cstdlib>

#include "common.h"

namespace vq {

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& Stream() {
  static dnnl::stream stream(Engine());
  return stream;
}

static int threads = 0;
static bool bf16 = false;

int Threads() { return threads; }
bool Bf16() { return bf16; }

// Whether oneDNN can use bf16 instructions here: its ISA includes
// avx512_core_bf16 (AVX-512 bf16; AMX CPUs have it too).
static bool CpuHasBf16() {
  const int isa = static_cast<int>(dnnl::get_effective_cpu_isa());
  const int bf16Isa = static_cast<int>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16Isa) == bf16Isa;
}

static napi_typedarray_type TypeOf(const Napi::CallbackInfo& info, size_t index, void** data, size_t* length) {
  if (index >= info.Length() || !info[index].IsTypedArray()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be a typed array");
  }
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  napi_status status = napi_get_typedarray_info(info.Env(), info[index], &type, length, data, &buffer, &offset);
  if (status != napi_ok) throw Napi::Error::New(info.Env(), "napi_get_typedarray_info failed");
  return type;
}

static void* Checked(const Napi::CallbackInfo& info, size_t index, size_t minLength, bool (*ok)(napi_typedarray_type),
                     const char* what) {
  void* data;
  size_t length;
  napi_typedarray_type type = TypeOf(info, index, &data, &length);
  if (!ok(type)) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be a " + what);
  if (length < minLength) {
    throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(index) + " has " + std::to_string(length) +
                                                " elements, needs " + std::to_string(minLength));
  }
  return data;
}

float* F32(const Napi::CallbackInfo& info, size_t index, size_t minLength) {
  return static_cast<float*>(Checked(info, index, minLength, [](napi_typedarray_type t) { return t == napi_float32_array; },
                                     "Float32Array"));
}

int32_t* I32(const Napi::CallbackInfo& info, size_t index, size_t minLength) {
  return static_cast<int32_t*>(Checked(info, index, minLength, [](napi_typedarray_type t) { return t == napi_int32_array; },
                                       "Int32Array"));
}

uint32_t* Words(const Napi::CallbackInfo& info, size_t index, size_t minLength) {
  return static_cast<uint32_t*>(Checked(
      info, index, minLength,
      [](napi_typedarray_type t) {
        return t == napi_float32_array || t == napi_int32_array || t == napi_uint32_array;
      },
      "Float32Array or Int32Array"));
}

float* F32OrNull(const Napi::CallbackInfo& info, size_t index, size_t minLength) {
  if (index >= info.Length() || info[index].IsNull() || info[index].IsUndefined()) return nullptr;
  return F32(info, index, minLength);
}

size_t Length(const Napi::CallbackInfo& info, size_t index) {
  void* data;
  size_t length;
  TypeOf(info, index, &data, &length);
  return length;
}

int64_t Int(const Napi::CallbackInfo& info, size_t index) {
  if (index >= info.Length() || !info[index].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be a number");
  }
  return info[index].As<Napi::Number>().Int64Value();
}

double Num(const Napi::CallbackInfo& info, size_t index) {
  if (index >= info.Length() || !info[index].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be a number");
  }
  return info[index].As<Napi::Number>().DoubleValue();
}

std::vector<int64_t> Ints(const Napi::CallbackInfo& info, size_t index) {
  if (index >= info.Length() || !info[index].IsArray()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be an array of numbers");
  }
  Napi::Array array = info[index].As<Napi::Array>();
  std::vector<int64_t> out(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) out[i] = array.Get(i).As<Napi::Number>().Int64Value();
  return out;
}

static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    int n = static_cast<int>(Int(info, 0));
    if (n < 1) throw std::invalid_argument("thread count must be >= 1");
    threads = n;
    omp_set_num_threads(n);
    return Napi::Number::New(info.Env(), n);
  });
}

// setPrecision('fp32' | 'bf16'): bf16 throws where the CPU lacks it.
static Napi::Value SetPrecision(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) throw std::invalid_argument("precision must be 'fp32' or 'bf16'");
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    if (name != "fp32" && name != "bf16") throw std::invalid_argument("precision must be 'fp32' or 'bf16', found '" + name + "'");
    if (name == "bf16" && !CpuHasBf16()) throw std::invalid_argument("this CPU lacks AVX-512 bf16 and AMX");
    bf16 = name == "bf16";
    return Napi::String::New(info.Env(), name);
  });
}

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  const dnnl_version_t* v = dnnl_version();
  out.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  out.Set("threads", threads);
  out.Set("isa", static_cast<int>(dnnl::get_effective_cpu_isa()));
  out.Set("bf16", CpuHasBf16());
  out.Set("precision", bf16 ? "bf16" : "fp32");
  return out;
}

void InitWavenet(Napi::Env env, Napi::Object exports);  // wavenet.cc

const sigset_t& AsyncSignals() {
  static const sigset_t set = [] {
    sigset_t s;
    sigfillset(&s);
    for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) sigdelset(&s, fault);
    return s;
  }();
  return set;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Tensors are ArrayBuffers of up to a few MB, freed by V8's GC and made
  // anew every step. Above glibc's default mmap threshold each would be a
  // fresh mapping: page faults and kernel zeroing on every use. Serving them
  // from the heap (and not trimming it) lets freed memory be reused as is.
  // VQVAE_MALLOC=default keeps glibc's defaults.
  const char* malloc = std::getenv("VQVAE_MALLOC");
  if (malloc == nullptr || std::string(malloc) != "default") {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
  const char* fromEnv = std::getenv("VQVAE_THREADS");
  int n = fromEnv != nullptr ? std::atoi(fromEnv) : 0;
  threads = n > 0 ? n : omp_get_max_threads();
  omp_set_num_threads(threads);
  // OpenMP's worker threads block the asynchronous signals for good (SignalShield,
  // common.h): oneDNN's kernels run on them too. Threads started later start inside
  // a Guard and inherit its blocked mask.
  {
    SignalShield shield;
#pragma omp parallel num_threads(threads)
    {
      if (omp_get_thread_num() != 0) pthread_sigmask(SIG_BLOCK, &AsyncSignals(), nullptr);
    }
  }
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setPrecision", Napi::Function::New(env, SetPrecision));
  InitConv(env, exports);
  InitMatmul(env, exports);
  InitElementwise(env, exports);
  InitReduce(env, exports);
  InitLayout(env, exports);
  InitAdam(env, exports);
  InitLayer(env, exports);
  InitNearest(env, exports);
  InitWavenet(env, exports);
  return exports;
}

}  // namespace vq

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return vq::Init(env, exports); }

NODE_API_MODULE(vqvae_native, InitAddon)
