//===- CudaAbi.h - module loads and launches on the loaded driver -*- C++ -*-===//
//
// The functions attnc loads modules and launches kernels with, in the C ABI of
// MLIR's GPU runtime (mgpuModuleLoad, mgpuLaunchKernel, ...; upstream's
// CudaRuntimeWrappers), implemented on the driver loaded at run time (CudaDriver.h)
// so that nothing links against CUDA. GpuLaunch.h calls them; keeping upstream's
// ABI lets MLIR host code that launches kernels run on them too. Differences from upstream's wrappers: the
// stream is one per thread, created once (blocking, so it is ordered with the
// copies on the default stream); a launch that needs more than 48 KiB of dynamic
// shared memory raises the function's limit first; errors are collected per
// thread, not printed: a failing call records `CALL failed: CUDA_ERROR_...`
// (takeCudaErrors) and the calls that depend on it are skipped.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CUDA_CUDAABI_H
#define ATTNC_RUNTIME_CUDA_CUDAABI_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

extern "C" {
void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleLoadJIT(void *data, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void *mgpuStreamCreate();
void mgpuStreamSynchronize(void *stream);
void mgpuStreamDestroy(void *stream);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                      intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                      int32_t sharedMemBytes, void *stream, void **params, void **extra,
                      size_t paramsCount);
}

namespace attnc::cuda {

/// The errors recorded since the last call (and forgets them).
std::vector<std::string> takeCudaErrors();

/// The stream this thread's launches go to until reset (null: the thread's own,
/// which mgpuStreamCreate returns otherwise).
void setLaunchStream(void *stream);

/// Whether this thread's launches are timed (events around each; off by default).
void timeLaunches(bool on);
/// The GPU time of this thread's last timed launch in ms (waits for it); 0 if it
/// was not timed or the driver reports no time.
double lastLaunchMilliseconds();

/// The parameter count of this thread's last launch (the expanded kernel operands;
/// a check of the launch/kernel agreement in tests).
size_t lastLaunchParamCount();

} // namespace attnc::cuda

#endif // ATTNC_RUNTIME_CUDA_CUDAABI_H
