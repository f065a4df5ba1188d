//===- CudaKernel.cpp - an attention kernel run on a CUDA GPU --------------===//
#include "runtime/cuda/CudaKernel.h"
#include "runtime/cuda/CudaAbi.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/DeviceMemory.h"

namespace attnc {

void CudaKernel::timeLaunches(bool on) { cuda::timeLaunches(on); }

double CudaKernel::lastKernelMilliseconds() { return cuda::lastLaunchMilliseconds(); }

CudaKernel::CudaKernel(VariantDesc variant, GpuLaunchDesc launch,
                       std::shared_ptr<GpuModule> module, std::string chip)
    : variant_(std::move(variant)), launch_(std::move(launch)), module_(std::move(module)),
      chip_(std::move(chip)) {}

Status CudaKernel::run(const AttentionCall &call) const {
  if (call.q.device == Device::Cuda) {
    if (Status s = validateCall(variant_, call, Device::Cuda); !s)
      return s;
    return runOnDevice(call);
  }
  if (Status s = validateCall(variant_, call, Device::Cpu); !s)
    return s;
  // Host tensors: stage each to the GPU, run, copy out and lse back, on the
  // thread's own stream (blocking: ordered after the synchronous copies).
  Result<std::unique_ptr<cuda::StagedCall>> staged = cuda::stageCall(call);
  if (!staged)
    return staged.status();
  (*staged)->device.stream = nullptr;
  if (Status s = runOnDevice((*staged)->device); !s)
    return s;
  return (*staged)->copyOutputs(call);
}

Status CudaKernel::runOnDevice(const AttentionCall &call) const {
  Result<const cuda::DriverApi *> driver = cuda::driver();
  if (!driver)
    return driver.status();
  // The status word: one buffer per calling thread, kept (calls on a thread are
  // synchronous), cleared before each launch.
  thread_local cuda::DeviceBuffer statusBuffer;
  if (!statusBuffer.address()) {
    Result<cuda::DeviceBuffer> allocated = cuda::DeviceBuffer::allocate(32, "status");
    if (!allocated)
      return allocated.status();
    statusBuffer = allocated.take();
  }
  // The call's stream, or this thread's (the same mgpuStreamCreate gives the launch).
  void *stream = call.stream;
  if (!stream) {
    stream = mgpuStreamCreate();
    if (std::vector<std::string> errors = cuda::takeCudaErrors(); !errors.empty())
      return Status::error("cuda: " + errors.front());
  }
  if (Status s = cuda::check((*driver)->cuMemsetD8Async(statusBuffer.address(), 0, 32, stream),
                             "clearing the status word (cuMemsetD8)");
      !s)
    return s;
  TensorView status{reinterpret_cast<void *>(uintptr_t(statusBuffer.address())),
                    DType::I64, {4}, {1}, Device::Cuda};
  if (Status s = launchAttentionKernel(module_->function(), launch_, variant_, call, status,
                                       stream);
      !s)
    return s;
  int64_t statusWords[4] = {0, 0, 0, 0};
  if (Status s = cuda::check((*driver)->cuMemcpyDtoH(statusWords, statusBuffer.address(), 32),
                             "reading the status word (cuMemcpyDtoH)");
      !s)
    return s;
  return kernelStatus(variant_, call, statusWords[0]);
}

} // namespace attnc
