//===- FakeCudaDriver.cpp - a stand-in libcuda.so.1 for the runtime's tests ===//
//
// Implements the driver API entry points attnc's CUDA runtime binds (CudaDriver.h)
// over host memory, so the GPU path (device lookup, staging, module load, function
// lookup, launch configuration, copies back, error reporting) is tested on machines
// without a GPU: point ATTNC_CUDA_DRIVER at this library. It checks what a driver
// checks (copies inside live allocations, frees of live allocations, a loaded
// cubin is ELF and a PTX image is PTX, the kernel name is in the image, launch
// limits) and records every launch (with a PTX module, each parameter as the
// PTX's signature types it); it cannot run kernels, so their outputs are
// left as they were. FAKE_CUDA_FAIL=init|alloc|load|launch makes that call fail
// (cubin: only cubins are refused, as by a driver older than the toolkit);
// FAKE_CUDA_CC=MAJOR.MINOR sets the compute capability (default 8.0).
//
//===----------------------------------------------------------------------===//
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

constexpr int kSuccess = 0, kInvalidValue = 1, kOutOfMemory = 2, kNoDevice = 100,
              kInvalidImage = 200, kUnsupportedPtxVersion = 222, kNotFound = 500,
              kLaunchFailed = 719;

std::mutex mutex;
std::map<uint64_t, size_t> allocations;
std::string launchLog;
std::string paramLog;
int ownStream; ///< what cuStreamCreate hands out
struct Function {
  std::string name;
  std::vector<int> paramSizes; ///< from the PTX's .entry (empty for a cubin)
  /// Shared memory a launch may ask for: 48 KiB unless the kernel opted into more
  /// (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES), as the driver has it.
  int maxDynamicShared = 48 * 1024;
  /// The image declares dynamic shared memory (MLIR's `__dynamic_shmem__N`): a
  /// launch without any would run the kernel out of bounds, so the stand-in
  /// refuses it.
  bool dynamicShared = false;
};
struct Module {
  std::string image;
  bool ptx;
  /// The functions looked up in it, freed with it (as a driver's are).
  std::vector<std::unique_ptr<Function>> functions = {};
};

/// The byte sizes of the parameters of `.entry name(...)` in PTX text.
std::vector<int> ptxParams(const std::string &ptx, const std::string &name) {
  std::vector<int> sizes;
  size_t at = ptx.find(".entry " + name + "(");
  if (at == std::string::npos)
    return sizes;
  size_t end = ptx.find(')', at);
  for (size_t p = ptx.find(".param", at); p < end; p = ptx.find(".param", p + 1)) {
    std::string type = ptx.substr(p + 7, 4);
    sizes.push_back(type.find("64") != std::string::npos ? 8
                    : type.find("16") != std::string::npos ? 2
                    : type.find("8") != std::string::npos  ? 1
                                                          : 4);
  }
  return sizes;
}

bool failing(const char *what) {
  const char *f = std::getenv("FAKE_CUDA_FAIL");
  return f && std::strcmp(f, what) == 0;
}

/// Whether [address, address + bytes) lies inside one live allocation.
bool inside(uint64_t address, size_t bytes) {
  auto it = allocations.upper_bound(address);
  if (it == allocations.begin())
    return false;
  --it;
  return address >= it->first && address + bytes <= it->first + it->second;
}

} // namespace

extern "C" {

int cuInit(unsigned) { return failing("init") ? kNoDevice : kSuccess; }
int cuDeviceGetCount(int *n) {
  *n = 1;
  return kSuccess;
}
int cuDeviceGet(int *d, int ordinal) {
  *d = ordinal;
  return ordinal == 0 ? kSuccess : kInvalidValue;
}
int cuDeviceGetName(char *name, int len, int) {
  std::snprintf(name, size_t(len), "attnc fake GPU");
  return kSuccess;
}
int cuDeviceGetAttribute(int *value, int attribute, int) {
  const char *cc = std::getenv("FAKE_CUDA_CC");
  int major = 8, minor = 0;
  if (cc)
    std::sscanf(cc, "%d.%d", &major, &minor);
  *value = attribute == 75 ? major : attribute == 76 ? minor : 0;
  return kSuccess;
}
int cuDevicePrimaryCtxRetain(void **ctx, int) {
  static int context;
  *ctx = &context;
  return kSuccess;
}
thread_local void *currentContext = nullptr;
int cuCtxSetCurrent(void *ctx) {
  currentContext = ctx;
  return kSuccess;
}
int cuCtxGetCurrent(void **ctx) {
  *ctx = currentContext;
  return kSuccess;
}
int cuCtxSynchronize() { return kSuccess; }

int cuGetErrorName(int r, const char **name) {
  static const std::map<int, const char *> names = {
      {kSuccess, "CUDA_SUCCESS"},           {kInvalidValue, "CUDA_ERROR_INVALID_VALUE"},
      {kOutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY"}, {kNoDevice, "CUDA_ERROR_NO_DEVICE"},
      {kInvalidImage, "CUDA_ERROR_INVALID_IMAGE"}, {kNotFound, "CUDA_ERROR_NOT_FOUND"},
      {kUnsupportedPtxVersion, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION"},
      {kLaunchFailed, "CUDA_ERROR_LAUNCH_FAILED"}};
  auto it = names.find(r);
  *name = it == names.end() ? nullptr : it->second;
  return it == names.end() ? kInvalidValue : kSuccess;
}
int cuGetErrorString(int r, const char **text) {
  *text = r == kLaunchFailed ? "unspecified launch failure" : nullptr;
  return *text ? kSuccess : kInvalidValue;
}

int cuMemAlloc_v2(uint64_t *address, size_t bytes) {
  if (failing("alloc") || bytes == 0)
    return failing("alloc") ? kOutOfMemory : kInvalidValue;
  void *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!p)
    return kOutOfMemory;
  std::lock_guard<std::mutex> lock(mutex);
  *address = reinterpret_cast<uintptr_t>(p);
  allocations[*address] = bytes;
  return kSuccess;
}
int cuMemFree_v2(uint64_t address) {
  std::lock_guard<std::mutex> lock(mutex);
  if (!allocations.erase(address))
    return kInvalidValue;
  std::free(reinterpret_cast<void *>(uintptr_t(address)));
  return kSuccess;
}
int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  if (!inside(dst, bytes))
    return kInvalidValue;
  std::memcpy(reinterpret_cast<void *>(uintptr_t(dst)), src, bytes);
  return kSuccess;
}
int cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  if (!inside(src, bytes))
    return kInvalidValue;
  std::memcpy(dst, reinterpret_cast<const void *>(uintptr_t(src)), bytes);
  return kSuccess;
}
int cuMemsetD8_v2(uint64_t dst, unsigned char value, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  if (!inside(dst, bytes))
    return kInvalidValue;
  std::memset(reinterpret_cast<void *>(uintptr_t(dst)), value, bytes);
  return kSuccess;
}

int cuMemsetD8Async(uint64_t dst, unsigned char value, size_t bytes, void *) {
  return cuMemsetD8_v2(dst, value, bytes);
}

int cuModuleLoadData(void **module, const void *image) {
  if (failing("cubin")) // a driver older than the toolkit that made the cubin
    return kUnsupportedPtxVersion;
  if (failing("load") || std::memcmp(image, "\x7f" "ELF", 4) != 0)
    return kInvalidImage;
  // An ELF's size is in its header: e_shoff + e_shnum * e_shentsize (64-bit).
  const auto *bytes = static_cast<const unsigned char *>(image);
  uint64_t shoff;
  uint16_t shentsize, shnum;
  std::memcpy(&shoff, bytes + 0x28, 8);
  std::memcpy(&shentsize, bytes + 0x3A, 2);
  std::memcpy(&shnum, bytes + 0x3C, 2);
  *module = new Module{std::string(static_cast<const char *>(image),
                                   size_t(shoff + uint64_t(shentsize) * shnum)),
                       false};
  return kSuccess;
}
int cuModuleLoadDataEx(void **module, const void *image, unsigned, int *, void **) {
  const char *text = static_cast<const char *>(image);
  if (failing("load") || !std::strstr(text, ".version") || !std::strstr(text, ".entry"))
    return kInvalidImage;
  *module = new Module{text, true};
  return kSuccess;
}
int cuModuleUnload(void *module) {
  delete static_cast<Module *>(module);
  return kSuccess;
}
int cuModuleGetFunction(void **function, void *module, const char *name) {
  const std::string &image = static_cast<Module *>(module)->image;
  if (image.find(name) == std::string::npos)
    return kNotFound;
  auto *m = static_cast<Module *>(module);
  m->functions.push_back(std::make_unique<Function>(
      Function{name, m->ptx ? ptxParams(m->image, name) : std::vector<int>(), 48 * 1024,
               image.find("__dynamic_shmem__") != std::string::npos}));
  *function = m->functions.back().get();
  return kSuccess;
}
int cuFuncSetAttribute(void *function, int attribute, int value) {
  constexpr int kMaxDynamicSharedSizeBytes = 8;
  if (!function || attribute != kMaxDynamicSharedSizeBytes || value < 0 || value > 227 * 1024)
    return kInvalidValue;
  static_cast<Function *>(function)->maxDynamicShared = value;
  return kSuccess;
}
int cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                   unsigned by, unsigned bz, unsigned shared, void *stream, void **params,
                   void **) {
  if (!function || !params || gx == 0 || gy == 0 || gz == 0 || bx * by * bz == 0 ||
      bx * by * bz > 1024 || gy > 65535 || gz > 65535 ||
      int(shared) > static_cast<const Function *>(function)->maxDynamicShared ||
      (static_cast<const Function *>(function)->dynamicShared && shared == 0))
    return kInvalidValue;
  std::lock_guard<std::mutex> lock(mutex);
  const auto *f = static_cast<const Function *>(function);
  // With the PTX's signature, each parameter is read as the kernel would read it.
  if (!f->paramSizes.empty()) {
    paramLog = std::to_string(f->paramSizes.size()) + ":";
    for (size_t i = 0; i < f->paramSizes.size(); ++i) {
      uint64_t value = 0;
      std::memcpy(&value, params[i], size_t(f->paramSizes[i]));
      paramLog += " " + std::to_string(value);
    }
  }
  launchLog += f->name + " grid " + std::to_string(gx) + "x" +
               std::to_string(gy) + "x" + std::to_string(gz) + " block " +
               std::to_string(bx) + "x" + std::to_string(by) + "x" + std::to_string(bz) +
               (stream == &ownStream ? "" : " on the caller's stream") + "\n";
  return failing("launch") ? kLaunchFailed : kSuccess;
}
int cuStreamCreate(void **stream, unsigned) {
  *stream = &ownStream;
  return kSuccess;
}
int cuStreamSynchronize(void *) { return kSuccess; }
int cuStreamDestroy_v2(void *) { return kSuccess; }
// Events hold the host time of their record (there is no GPU time to measure).
int cuEventCreate(void **event, unsigned) {
  *event = new std::chrono::steady_clock::time_point();
  return kSuccess;
}
int cuEventRecord(void *event, void *) {
  *static_cast<std::chrono::steady_clock::time_point *>(event) =
      std::chrono::steady_clock::now();
  return kSuccess;
}
int cuEventSynchronize(void *) { return kSuccess; }
int cuEventElapsedTime(float *ms, void *start, void *end) {
  using Time = std::chrono::steady_clock::time_point;
  *ms = std::chrono::duration<float, std::milli>(*static_cast<Time *>(end) -
                                                 *static_cast<Time *>(start))
            .count();
  return kSuccess;
}
int cuEventDestroy_v2(void *event) {
  delete static_cast<std::chrono::steady_clock::time_point *>(event);
  return kSuccess;
}

/// For the tests: the launches so far (and forgets them), the live allocations.
const char *fakeCudaTakeLaunchLog() {
  static std::string taken;
  std::lock_guard<std::mutex> lock(mutex);
  taken = launchLog;
  launchLog.clear();
  return taken.c_str();
}
/// The last launch's parameters as "COUNT: v0 v1 ..." (PTX modules only).
const char *fakeCudaLastParams() {
  static std::string taken;
  std::lock_guard<std::mutex> lock(mutex);
  taken = paramLog;
  return taken.c_str();
}
size_t fakeCudaLiveAllocations() {
  std::lock_guard<std::mutex> lock(mutex);
  return allocations.size();
}

} // extern "C"
