//===- CudaDriver.h - the CUDA driver, loaded at run time ---------*- C++ -*-===//
//
// attnc never links against CUDA: the driver library (libcuda.so.1, or the file
// named by $ATTNC_CUDA_DRIVER) is opened with dlopen the first time a GPU is asked
// for, so binaries start and run everything else on machines without one. `driver()`
// returns the driver API entry points attnc uses, with device 0's primary context
// current on the calling thread; `check` turns a CUresult into an error that names
// the failing call and the CUDA error.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CUDA_CUDADRIVER_H
#define ATTNC_RUNTIME_CUDA_CUDADRIVER_H

#include "runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace attnc::cuda {

struct CudaDevice {
  int ordinal = 0;
  std::string name;
  int computeMajor = 0, computeMinor = 0;
  /// The chip attnc compiles for on this device: "sm_90a" for compute capability
  /// 9.0, "sm_80" for the other 8.x and newer ones (PTX for sm_80 runs on them).
  std::string chip() const;
};

/// The driver API entry points, with cuda.h's C signatures (handles as void *,
/// device addresses as uint64_t, CUresult as int).
struct DriverApi {
  using CUresult = int;
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(int *, int);
  CUresult (*cuDeviceGetName)(char *, int, int);
  CUresult (*cuDeviceGetAttribute)(int *, int, int);
  CUresult (*cuDevicePrimaryCtxRetain)(void **, int);
  CUresult (*cuCtxSetCurrent)(void *);
  CUresult (*cuCtxGetCurrent)(void **);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuMemAlloc)(uint64_t *, size_t);
  CUresult (*cuMemFree)(uint64_t);
  CUresult (*cuMemcpyHtoD)(uint64_t, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, uint64_t, size_t);
  CUresult (*cuMemsetD8)(uint64_t, unsigned char, size_t);
  CUresult (*cuMemsetD8Async)(uint64_t, unsigned char, size_t, void *);
  CUresult (*cuModuleLoadData)(void **, const void *);
  CUresult (*cuModuleLoadDataEx)(void **, const void *, unsigned, int *, void **);
  CUresult (*cuModuleUnload)(void *);
  CUresult (*cuModuleGetFunction)(void **, void *, const char *);
  CUresult (*cuFuncSetAttribute)(void *, int, int);
  CUresult (*cuLaunchKernel)(void *, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, void *, void **, void **);
  CUresult (*cuStreamCreate)(void **, unsigned);
  CUresult (*cuStreamSynchronize)(void *);
  CUresult (*cuStreamDestroy)(void *);
  CUresult (*cuEventCreate)(void **, unsigned);
  CUresult (*cuEventRecord)(void *, void *);
  CUresult (*cuEventSynchronize)(void *);
  CUresult (*cuEventElapsedTime)(float *, void *, void *);
  CUresult (*cuEventDestroy)(void *);

  CudaDevice device; ///< device 0, whose primary context is used
};

/// The loaded driver with device 0's primary context current on this thread (made
/// current when another context is: attnc's calls run in its own context), or
/// `no CUDA device (REASON)`: no driver library, the driver failed to initialise,
/// or it sees no device.
Result<const DriverApi *> driver();

/// The first CUDA device, or `no CUDA device (...)` as for driver().
Result<CudaDevice> firstDevice();

/// "CUDA_ERROR_OUT_OF_MEMORY: out of memory" for a CUresult.
std::string errorText(int result);

/// OK for CUDA_SUCCESS, else `CALL failed: CUDA_ERROR_...: description`.
Status check(int result, const std::string &call);

} // namespace attnc::cuda

#endif // ATTNC_RUNTIME_CUDA_CUDADRIVER_H
