//===- CudaDriver.h - the CUDA driver, loaded at run time ---------*- C++ -*-===//
//
// attnc never links against CUDA: the driver library (libcuda.so.1) is opened with
// dlopen when a GPU is asked for, so binaries start and run everything else on
// machines without one. For now this answers whether a GPU is there (and which);
// loading modules and launching kernels come with the GPU runtime.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CUDA_CUDADRIVER_H
#define ATTNC_RUNTIME_CUDA_CUDADRIVER_H

#include "runtime/Status.h"

#include <string>

namespace attnc::cuda {

struct CudaDevice {
  int ordinal = 0;
  std::string name;
  int computeMajor = 0, computeMinor = 0;
};

/// The first CUDA device, or `no CUDA device` (with the reason: no driver library,
/// the driver failed to initialise, or it sees no device).
Result<CudaDevice> firstDevice();

} // namespace attnc::cuda

#endif // ATTNC_RUNTIME_CUDA_CUDADRIVER_H
