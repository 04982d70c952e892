// MPI collectives for vqvae (src/distributed/mpi.ts types and loads this
// module): init, rank/size, barrier, in-place all-reduce and broadcast on a
// typed array's own memory (byteOffset included, no copies), gatherv to one
// rank and allgatherv to all, abort and finalize.
//
// Threads: only Node's main thread calls MPI, so MPI_THREAD_FUNNELED is
// enough; the oneDNN addon's OpenMP threads never touch MPI. MPI_Init runs
// once per process (init() is idempotent); finalize() once at exit.
//
// Errors: MPI_COMM_WORLD keeps MPI's default handler, MPI_ERRORS_ARE_FATAL,
// so a failed collective ends the whole job instead of returning. A rank that
// dies is noticed by mpirun, which then ends the other ranks.
#include <dlfcn.h>
#include <mpi.h>
#include <napi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <vector>

namespace {

bool initialized = false;
bool finalized = false;
int worldRank = 0;
int worldSize = 1;
int threadLevel = 0;

// Open MPI loads its components (mca_*.so) with dlopen and expects them to
// resolve symbols of libmpi globally. Node loads this addon, and libmpi with
// it, RTLD_LOCAL; re-opening libmpi RTLD_GLOBAL (it is already mapped, so
// RTLD_NOLOAD only promotes it) makes its symbols visible to the components.
void PromoteLibmpi() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &info) != 0 && info.dli_fname != nullptr) {
    dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  }
}

void RequireInit(const Napi::Env& env) {
  if (!initialized || finalized) {
    throw Napi::Error::New(env, finalized ? "MPI already finalized" : "MPI not initialized: call init() first");
  }
}

struct View {
  void* data;
  size_t length;  // elements
  size_t bytes;
  MPI_Datatype type;
};

View ViewOf(const Napi::CallbackInfo& info, size_t index) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsTypedArray()) {
    throw Napi::TypeError::New(env, "argument " + std::to_string(index) + " must be a typed array");
  }
  Napi::TypedArray array = info[index].As<Napi::TypedArray>();
  napi_typedarray_type kind;
  size_t length;
  void* data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, array, &kind, &length, &data, &buffer, &offset) != napi_ok) {
    throw Napi::Error::New(env, "napi_get_typedarray_info failed");
  }
  View view{data, length, 0, MPI_DATATYPE_NULL};
  switch (kind) {
    case napi_float32_array: view.type = MPI_FLOAT; view.bytes = length * 4; break;
    case napi_float64_array: view.type = MPI_DOUBLE; view.bytes = length * 8; break;
    case napi_int32_array: view.type = MPI_INT32_T; view.bytes = length * 4; break;
    case napi_uint32_array: view.type = MPI_UINT32_T; view.bytes = length * 4; break;
    case napi_uint8_array: view.type = MPI_UINT8_T; view.bytes = length; break;
    default: view.type = MPI_DATATYPE_NULL; view.bytes = array.ByteLength(); break;
  }
  return view;
}

int IntArg(const Napi::CallbackInfo& info, size_t index) {
  if (index >= info.Length() || !info[index].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be a number");
  }
  return info[index].As<Napi::Number>().Int32Value();
}

int RootArg(const Napi::CallbackInfo& info, size_t index) {
  int root = IntArg(info, index);
  if (root < 0 || root >= worldSize) {
    throw Napi::RangeError::New(info.Env(), "root " + std::to_string(root) + " is not a rank of " + std::to_string(worldSize));
  }
  return root;
}

// MPI counts are int: long arrays go in pieces of at most this many elements.
constexpr size_t kChunk = size_t(1) << 30;

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (finalized) throw Napi::Error::New(env, "MPI already finalized");
  if (!initialized) {
    int already = 0;
    MPI_Initialized(&already);
    if (!already) {
      PromoteLibmpi();
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &threadLevel);
    } else {
      MPI_Query_thread(&threadLevel);
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_rank(MPI_COMM_WORLD, &worldRank);
    MPI_Comm_size(MPI_COMM_WORLD, &worldSize);
    initialized = true;
  }
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(version, &length);
  std::string library(version, length);
  size_t cut = library.find_first_of(",\n");
  Napi::Object out = Napi::Object::New(env);
  out.Set("rank", worldRank);
  out.Set("size", worldSize);
  out.Set("threadLevel", threadLevel);
  out.Set("funneled", threadLevel >= MPI_THREAD_FUNNELED);
  out.Set("library", cut == std::string::npos ? library : library.substr(0, cut));
  return out;
}

Napi::Value Rank(const Napi::CallbackInfo& info) {
  RequireInit(info.Env());
  return Napi::Number::New(info.Env(), worldRank);
}

Napi::Value Size(const Napi::CallbackInfo& info) {
  RequireInit(info.Env());
  return Napi::Number::New(info.Env(), worldSize);
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  RequireInit(info.Env());
  MPI_Barrier(MPI_COMM_WORLD);
  return info.Env().Undefined();
}

// allreduce(array, op): op 0 sum, 1 max, 2 min; in place, every rank gets the result.
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireInit(env);
  View view = ViewOf(info, 0);
  if (view.type == MPI_DATATYPE_NULL || view.type == MPI_UINT8_T) {
    throw Napi::TypeError::New(env, "allreduce needs a Float32Array, Float64Array, Int32Array or Uint32Array");
  }
  int op = IntArg(info, 1);
  MPI_Op mpiOp = op == 0 ? MPI_SUM : op == 1 ? MPI_MAX : op == 2 ? MPI_MIN : MPI_OP_NULL;
  if (mpiOp == MPI_OP_NULL) throw Napi::RangeError::New(env, "op must be 0 (sum), 1 (max) or 2 (min)");
  size_t element = view.bytes / (view.length == 0 ? 1 : view.length);
  char* base = static_cast<char*>(view.data);
  for (size_t start = 0; start < view.length; start += kChunk) {
    size_t count = std::min(kChunk, view.length - start);
    MPI_Allreduce(MPI_IN_PLACE, base + start * element, static_cast<int>(count), view.type, mpiOp, MPI_COMM_WORLD);
  }
  return env.Undefined();
}

// broadcast(array, root): root's bytes into every rank's array (same byte length everywhere).
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireInit(env);
  View view = ViewOf(info, 0);
  int root = RootArg(info, 1);
  char* base = static_cast<char*>(view.data);
  for (size_t start = 0; start < view.bytes; start += kChunk) {
    size_t count = std::min(kChunk, view.bytes - start);
    MPI_Bcast(base + start, static_cast<int>(count), MPI_BYTE, root, MPI_COMM_WORLD);
  }
  return env.Undefined();
}

// Argument `index`: one byte count per rank, each and their sum within an int, this rank's equal to
// `sendBytes`; the displacements are their running sums. Returns the sum.
size_t Counts(const Napi::CallbackInfo& info, size_t index, size_t sendBytes, std::vector<int>* counts,
              std::vector<int>* displacements) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsArray()) {
    throw Napi::TypeError::New(env, "argument " + std::to_string(index) + " must be an array of byte counts");
  }
  Napi::Array countArray = info[index].As<Napi::Array>();
  if (static_cast<int>(countArray.Length()) != worldSize) {
    throw Napi::RangeError::New(env, "byte counts: need one per rank (" + std::to_string(worldSize) + ")");
  }
  counts->resize(worldSize);
  displacements->resize(worldSize);
  size_t total = 0;
  for (int r = 0; r < worldSize; r++) {
    double count = countArray.Get(static_cast<uint32_t>(r)).As<Napi::Number>().DoubleValue();
    if (count < 0 || count > INT_MAX || total + count > static_cast<double>(INT_MAX)) {
      throw Napi::RangeError::New(env, "byte counts and their sum must fit in an int");
    }
    (*counts)[r] = static_cast<int>(count);
    (*displacements)[r] = static_cast<int>(total);
    total += (*counts)[r];
  }
  if (sendBytes != static_cast<size_t>((*counts)[worldRank])) {
    throw Napi::RangeError::New(env, "this rank sends " + std::to_string(sendBytes) + " bytes, its count says " +
                                         std::to_string((*counts)[worldRank]));
  }
  return total;
}

// gatherv(send, recv, byteCounts, root): rank r's `send` bytes land in root's `recv`
// at the sum of the counts before r. recv is only read on root (null elsewhere).
Napi::Value Gatherv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireInit(env);
  View send = ViewOf(info, 0);
  int root = RootArg(info, 3);
  std::vector<int> counts, displacements;
  size_t total = Counts(info, 2, send.bytes, &counts, &displacements);
  void* recv = nullptr;
  if (worldRank == root) {
    View view = ViewOf(info, 1);
    if (view.bytes < total) throw Napi::RangeError::New(env, "gatherv: the receive array is smaller than the sum of the counts");
    recv = view.data;
  }
  MPI_Gatherv(send.data, counts[worldRank], MPI_BYTE, recv, counts.data(), displacements.data(), MPI_BYTE, root,
              MPI_COMM_WORLD);
  return env.Undefined();
}

// allgatherv(send, recv, byteCounts): every rank's `recv` gets all ranks' `send` bytes in rank order.
Napi::Value Allgatherv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireInit(env);
  View send = ViewOf(info, 0);
  View recv = ViewOf(info, 1);
  std::vector<int> counts, displacements;
  size_t total = Counts(info, 2, send.bytes, &counts, &displacements);
  if (recv.bytes < total) throw Napi::RangeError::New(env, "allgatherv: the receive array is smaller than the sum of the counts");
  MPI_Allgatherv(send.data, counts[worldRank], MPI_BYTE, recv.data, counts.data(), displacements.data(), MPI_BYTE, MPI_COMM_WORLD);
  return env.Undefined();
}

// abort(code): ends every rank of the job (mpirun exits non-zero). Does not return.
Napi::Value Abort(const Napi::CallbackInfo& info) {
  int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  if (initialized && !finalized) {
    finalized = true;
    MPI_Finalize();
  }
  return info.Env().Undefined();
}

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("rank", Napi::Function::New(env, Rank));
  exports.Set("size", Napi::Function::New(env, Size));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("allreduce", Napi::Function::New(env, Allreduce));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast));
  exports.Set("gatherv", Napi::Function::New(env, Gatherv));
  exports.Set("allgatherv", Napi::Function::New(env, Allgatherv));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  return exports;
}

}  // namespace

NODE_API_MODULE(vqvae_mpi, Register)
