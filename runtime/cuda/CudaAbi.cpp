//===- CudaAbi.cpp - module loads and launches on the loaded driver --------===//
#include "runtime/cuda/CudaAbi.h"
#include "runtime/cuda/CudaDriver.h"

namespace attnc::cuda {
namespace {

constexpr int kJitOptimizationLevel = 7; // CU_JIT_OPTIMIZATION_LEVEL
constexpr int kJitErrorLogBuffer = 5;    // CU_JIT_ERROR_LOG_BUFFER
constexpr int kJitErrorLogBufferSize = 6;
constexpr int kMaxDynamicSharedBytes = 8; // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES

thread_local size_t lastParamCount = 0;
thread_local void *launchStream = nullptr;

/// Timing of this thread's launches (when asked for): events recorded on the
/// launch's stream just before and after it.
struct LaunchTimer {
  bool on = false, recorded = false;
  void *start = nullptr, *end = nullptr;
  ~LaunchTimer() {
    if (start || end)
      if (Result<const DriverApi *> d = driver()) {
        if (start)
          (*d)->cuEventDestroy(start);
        if (end)
          (*d)->cuEventDestroy(end);
      }
  }
};
thread_local LaunchTimer timer;

std::vector<std::string> &errors() {
  thread_local std::vector<std::string> list;
  return list;
}

void record(const Status &s) {
  if (!s)
    errors().push_back(s.message());
}

/// The driver, or null after recording why there is none.
const DriverApi *api() {
  Result<const DriverApi *> d = driver();
  if (!d) {
    record(d.status());
    return nullptr;
  }
  return *d;
}

} // namespace


size_t lastLaunchParamCount() { return lastParamCount; }

void setLaunchStream(void *stream) { launchStream = stream; }

void timeLaunches(bool on) { timer.on = on; }

double lastLaunchMilliseconds() {
  Result<const DriverApi *> d = driver();
  float ms = 0;
  if (!timer.recorded || !d || (*d)->cuEventSynchronize(timer.end) != 0 ||
      (*d)->cuEventElapsedTime(&ms, timer.start, timer.end) != 0)
    return 0;
  return ms;
}

std::vector<std::string> takeCudaErrors() {
  std::vector<std::string> taken;
  taken.swap(errors());
  return taken;
}

} // namespace attnc::cuda

using namespace attnc;
using namespace attnc::cuda;

extern "C" void *mgpuModuleLoad(void *data, size_t /*size*/) {
  const DriverApi *d = api();
  void *module = nullptr;
  if (d)
    record(check(d->cuModuleLoadData(&module, data), "loading the kernel's cubin (cuModuleLoadData)"));
  return module;
}

extern "C" void *mgpuModuleLoadJIT(void *data, int optLevel) {
  const DriverApi *d = api();
  if (!d)
    return nullptr;
  char log[8192] = {};
  int options[] = {kJitOptimizationLevel, kJitErrorLogBuffer, kJitErrorLogBufferSize};
  void *values[] = {reinterpret_cast<void *>(intptr_t(optLevel)), log,
                    reinterpret_cast<void *>(intptr_t(sizeof(log)))};
  void *module = nullptr;
  Status s = check(d->cuModuleLoadDataEx(&module, data, 3, options, values),
                   "compiling the kernel's PTX (cuModuleLoadDataEx)");
  if (!s && log[0])
    s = Status::error(s.message() + "\n" + log);
  record(s);
  return s ? module : nullptr;
}

extern "C" void mgpuModuleUnload(void *module) {
  if (!module)
    return;
  if (const DriverApi *d = api())
    record(check(d->cuModuleUnload(module), "cuModuleUnload"));
}

extern "C" void *mgpuModuleGetFunction(void *module, const char *name) {
  const DriverApi *d = module ? api() : nullptr; // no module: its load failed
  void *function = nullptr;
  if (d)
    record(check(d->cuModuleGetFunction(&function, module, name),
                 std::string("looking up kernel '") + name + "' (cuModuleGetFunction)"));
  return function;
}

namespace {
/// The calling thread's stream, destroyed with the thread.
struct ThreadStream {
  void *stream = nullptr;
  ~ThreadStream() {
    if (stream)
      if (Result<const DriverApi *> d = driver())
        (*d)->cuStreamDestroy(stream);
  }
};
} // namespace

extern "C" void *mgpuStreamCreate() {
  if (launchStream)
    return launchStream;
  thread_local ThreadStream mine;
  if (mine.stream)
    return mine.stream;
  if (const DriverApi *d = api())
    record(check(d->cuStreamCreate(&mine.stream, /*CU_STREAM_DEFAULT=*/0), "cuStreamCreate"));
  return mine.stream;
}

extern "C" void mgpuStreamSynchronize(void *stream) {
  if (const DriverApi *d = stream ? api() : nullptr)
    record(check(d->cuStreamSynchronize(stream), "running the kernel (cuStreamSynchronize)"));
}

extern "C" void mgpuStreamDestroy(void *) {} // the thread's stream is kept

extern "C" void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                                 intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                                 intptr_t blockZ, int32_t sharedMemBytes, void *stream,
                                 void **params, void **extra, size_t paramsCount) {
  lastParamCount = paramsCount;
  const DriverApi *d = function && stream ? api() : nullptr;
  if (!d)
    return;
  if (sharedMemBytes > 48 * 1024) {
    Status s = check(d->cuFuncSetAttribute(function, kMaxDynamicSharedBytes, sharedMemBytes),
                     "cuFuncSetAttribute (dynamic shared memory)");
    record(s);
    if (!s)
      return;
  }
  timer.recorded = false;
  bool timed = timer.on && (timer.start || d->cuEventCreate(&timer.start, 0) == 0) &&
               (timer.end || d->cuEventCreate(&timer.end, 0) == 0) &&
               d->cuEventRecord(timer.start, stream) == 0;
  record(check(d->cuLaunchKernel(function, unsigned(gridX), unsigned(gridY), unsigned(gridZ),
                                 unsigned(blockX), unsigned(blockY), unsigned(blockZ),
                                 unsigned(sharedMemBytes), stream, params, extra),
               "launching the kernel (cuLaunchKernel, grid " + std::to_string(gridX) + "x" +
                   std::to_string(gridY) + "x" + std::to_string(gridZ) + ", block " +
                   std::to_string(blockX) + "x" + std::to_string(blockY) + "x" +
                   std::to_string(blockZ) + ")"));
  timer.recorded = timed && d->cuEventRecord(timer.end, stream) == 0;
}
