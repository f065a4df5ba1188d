//===- CudaDriver.cpp - the CUDA driver, loaded at run time ----------------===//
#include "runtime/cuda/CudaDriver.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>

namespace attnc::cuda {
namespace {

constexpr int kComputeCapabilityMajor = 75; // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kComputeCapabilityMinor = 76;

struct LoadedDriver {
  DriverApi api{};
  void *context = nullptr;
  Status status = Status::ok();
};

std::string describe(const DriverApi &a, int result) {
  const char *name = nullptr, *description = nullptr;
  if (a.cuGetErrorName)
    a.cuGetErrorName(result, &name);
  if (a.cuGetErrorString)
    a.cuGetErrorString(result, &description);
  std::string text = name ? name : "CUDA error " + std::to_string(result);
  if (description)
    text += std::string(": ") + description;
  return text;
}

template <typename F> bool bind(void *lib, F &fn, const char *name) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

/// Opens the library and binds every entry point (the _v2 names of the calls that
/// have them, as cuda.h's macros do), then initialises device 0.
LoadedDriver *load() {
  auto *d = new LoadedDriver();
  const char *path = std::getenv("ATTNC_CUDA_DRIVER");
  std::string library = path && *path ? path : "libcuda.so.1";
  void *lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    d->status = Status::error("no CUDA device (the CUDA driver, " + library +
                              ", is not installed)");
    return d;
  }
  DriverApi &a = d->api;
  bool ok = bind(lib, a.cuInit, "cuInit") && bind(lib, a.cuDeviceGetCount, "cuDeviceGetCount") &&
            bind(lib, a.cuDeviceGet, "cuDeviceGet") &&
            bind(lib, a.cuDeviceGetName, "cuDeviceGetName") &&
            bind(lib, a.cuDeviceGetAttribute, "cuDeviceGetAttribute") &&
            bind(lib, a.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain") &&
            bind(lib, a.cuCtxSetCurrent, "cuCtxSetCurrent") &&
            bind(lib, a.cuCtxGetCurrent, "cuCtxGetCurrent") &&
            bind(lib, a.cuCtxSynchronize, "cuCtxSynchronize") &&
            bind(lib, a.cuGetErrorName, "cuGetErrorName") &&
            bind(lib, a.cuGetErrorString, "cuGetErrorString") &&
            bind(lib, a.cuMemAlloc, "cuMemAlloc_v2") && bind(lib, a.cuMemFree, "cuMemFree_v2") &&
            bind(lib, a.cuMemcpyHtoD, "cuMemcpyHtoD_v2") &&
            bind(lib, a.cuMemcpyDtoH, "cuMemcpyDtoH_v2") &&
            bind(lib, a.cuMemsetD8, "cuMemsetD8_v2") &&
            bind(lib, a.cuMemsetD8Async, "cuMemsetD8Async") &&
            bind(lib, a.cuModuleLoadData, "cuModuleLoadData") &&
            bind(lib, a.cuModuleLoadDataEx, "cuModuleLoadDataEx") &&
            bind(lib, a.cuModuleUnload, "cuModuleUnload") &&
            bind(lib, a.cuModuleGetFunction, "cuModuleGetFunction") &&
            bind(lib, a.cuFuncSetAttribute, "cuFuncSetAttribute") &&
            bind(lib, a.cuLaunchKernel, "cuLaunchKernel") &&
            bind(lib, a.cuStreamCreate, "cuStreamCreate") &&
            bind(lib, a.cuStreamSynchronize, "cuStreamSynchronize") &&
            bind(lib, a.cuStreamDestroy, "cuStreamDestroy_v2") &&
            bind(lib, a.cuEventCreate, "cuEventCreate") &&
            bind(lib, a.cuEventRecord, "cuEventRecord") &&
            bind(lib, a.cuEventSynchronize, "cuEventSynchronize") &&
            bind(lib, a.cuEventElapsedTime, "cuEventElapsedTime") &&
            bind(lib, a.cuEventDestroy, "cuEventDestroy_v2");
  if (!ok) {
    d->status = Status::error("no CUDA device (" + library + " lacks the driver API: " +
                              dlerror() + ")");
    return d;
  }
  if (int r = a.cuInit(0); r != 0) {
    d->status = Status::error("no CUDA device (cuInit failed: " + describe(a, r) + ")");
    return d;
  }
  int n = 0;
  if (a.cuDeviceGetCount(&n) != 0 || n == 0) {
    d->status = Status::error("no CUDA device");
    return d;
  }
  int handle = 0;
  char text[256] = {};
  if (a.cuDeviceGet(&handle, 0) != 0 || a.cuDeviceGetName(text, sizeof(text), handle) != 0) {
    d->status = Status::error("no CUDA device (device 0 cannot be queried)");
    return d;
  }
  a.device.ordinal = handle;
  a.device.name = text;
  a.cuDeviceGetAttribute(&a.device.computeMajor, kComputeCapabilityMajor, handle);
  a.cuDeviceGetAttribute(&a.device.computeMinor, kComputeCapabilityMinor, handle);
  if (a.device.computeMajor < 8) {
    d->status = Status::error("no CUDA device attnc supports (" + a.device.name +
                              " has compute capability " +
                              std::to_string(a.device.computeMajor) + "." +
                              std::to_string(a.device.computeMinor) +
                              "; attnc's kernels need 8.0 or newer)");
    return d;
  }
  if (int r = a.cuDevicePrimaryCtxRetain(&d->context, handle); r != 0)
    d->status = Status::error("no CUDA device (cuDevicePrimaryCtxRetain failed: " +
                              describe(a, r) + ")");
  return d;
}

LoadedDriver &loaded() {
  static LoadedDriver *d = load(); // never unloaded: kernels may outlive main
  return *d;
}

} // namespace

std::string CudaDevice::chip() const {
  return computeMajor == 9 && computeMinor == 0 ? "sm_90a" : "sm_80";
}

Result<const DriverApi *> driver() {
  LoadedDriver &d = loaded();
  if (!d.status)
    return d.status;
  // Asked each time: the application (or another library) may have made another
  // context current on this thread since.
  void *current = nullptr;
  if (d.api.cuCtxGetCurrent(&current) != 0 || current != d.context)
    if (Status s = check(d.api.cuCtxSetCurrent(d.context), "cuCtxSetCurrent"); !s)
      return s;
  return &d.api;
}

Result<CudaDevice> firstDevice() {
  Result<const DriverApi *> api = driver();
  if (!api)
    return api.status();
  return (*api)->device;
}

std::string errorText(int result) { return describe(loaded().api, result); }

Status check(int result, const std::string &call) {
  if (result == 0)
    return Status::ok();
  return Status::error(call + " failed: " + errorText(result));
}

} // namespace attnc::cuda
