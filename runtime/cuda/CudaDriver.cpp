//===- CudaDriver.cpp - the CUDA driver, loaded at run time ----------------===//
#include "runtime/cuda/CudaDriver.h"

#include <dlfcn.h>

namespace attnc::cuda {
namespace {

// The few driver API entry points used, with their C signatures (cuda.h).
using CUresult = int;
using CUdevice = int;
using cuInitFn = CUresult (*)(unsigned);
using cuDeviceGetCountFn = CUresult (*)(int *);
using cuDeviceGetFn = CUresult (*)(CUdevice *, int);
using cuDeviceGetNameFn = CUresult (*)(char *, int, CUdevice);
using cuDeviceGetAttributeFn = CUresult (*)(int *, int, CUdevice);
constexpr int kComputeCapabilityMajor = 75; // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kComputeCapabilityMinor = 76;

template <typename F> F symbol(void *lib, const char *name) {
  return reinterpret_cast<F>(dlsym(lib, name));
}

} // namespace

Result<CudaDevice> firstDevice() {
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return Status::error("no CUDA device (the CUDA driver, libcuda.so.1, is not installed)");
  auto init = symbol<cuInitFn>(lib, "cuInit");
  auto count = symbol<cuDeviceGetCountFn>(lib, "cuDeviceGetCount");
  auto get = symbol<cuDeviceGetFn>(lib, "cuDeviceGet");
  auto name = symbol<cuDeviceGetNameFn>(lib, "cuDeviceGetName");
  auto attribute = symbol<cuDeviceGetAttributeFn>(lib, "cuDeviceGetAttribute");
  if (!init || !count || !get || !name || !attribute)
    return Status::error("no CUDA device (libcuda.so.1 lacks the driver API)");
  if (CUresult r = init(0); r != 0)
    return Status::error("no CUDA device (cuInit failed with CUDA error " + std::to_string(r) +
                         ")");
  int n = 0;
  if (count(&n) != 0 || n == 0)
    return Status::error("no CUDA device");
  CudaDevice device;
  CUdevice handle = 0;
  char text[256] = {};
  if (get(&handle, 0) != 0 || name(text, sizeof(text), handle) != 0)
    return Status::error("no CUDA device (device 0 cannot be queried)");
  device.name = text;
  attribute(&device.computeMajor, kComputeCapabilityMajor, handle);
  attribute(&device.computeMinor, kComputeCapabilityMinor, handle);
  return device;
}

} // namespace attnc::cuda
