//===- CudaKernel.cpp - an attention kernel run on a CUDA GPU --------------===//
#include "runtime/cuda/CudaKernel.h"
#include "runtime/cuda/CudaAbi.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/DeviceMemory.h"

#include <algorithm>

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

namespace {

/// The status word a kernel wrote (its first word).
Result<int64_t> readStatus(const TensorView &status) {
  Result<const cuda::DriverApi *> driver = cuda::driver();
  if (!driver)
    return driver.status();
  int64_t statusWords[4] = {0, 0, 0, 0};
  if (Status s = cuda::check((*driver)->cuMemcpyDtoH(statusWords, uintptr_t(status.data), 32),
                             "reading the status word (cuMemcpyDtoH)");
      !s)
    return s;
  return statusWords[0];
}

} // namespace

Result<TensorView> CudaKernel::clearedStatus(void *stream) const {
  Result<const cuda::DriverApi *> driver = cuda::driver();
  if (!driver)
    return driver.status();
  // One buffer per calling thread, kept (calls on a thread are synchronous),
  // cleared before each launch.
  thread_local cuda::DeviceBuffer statusBuffer;
  if (!statusBuffer.address()) {
    Result<cuda::DeviceBuffer> allocated = cuda::DeviceBuffer::allocate(32, "status");
    if (!allocated)
      return allocated.status();
    statusBuffer = allocated.take();
  }
  if (Status s = cuda::check((*driver)->cuMemsetD8Async(statusBuffer.address(), 0, 32, stream),
                             "clearing the status word (cuMemsetD8)");
      !s)
    return s;
  return TensorView{reinterpret_cast<void *>(uintptr_t(statusBuffer.address())), DType::I64,
                    {4}, {1}, Device::Cuda};
}

Status CudaKernel::runOnDevice(const AttentionCall &call) const {
  // The call's stream, or this thread's (the same mgpuStreamCreate gives the launch).
  void *stream = call.stream;
  if (!stream) {
    stream = mgpuStreamCreate();
    if (std::vector<std::string> errors = cuda::takeCudaErrors(); !errors.empty())
      return Status::error("cuda: " + errors.front());
  }
  Result<TensorView> status = clearedStatus(stream);
  if (!status)
    return status.status();
  if (Status s = launchAttentionKernel(module_->function(), launch_, variant_, call, *status,
                                       stream);
      !s)
    return s;
  Result<int64_t> code = readStatus(*status);
  if (!code)
    return code.status();
  return kernelStatus(variant_, call, *code);
}

Status CudaKernel::runBackward(const BackwardCall &call) const {
  if (!launch_.backward)
    return Status::error("'" + variant_.name + "' was not compiled as a backward kernel");
  if (call.forward.q.device == Device::Cuda)
    return Status::error("the GPU backward pass takes host tensors only so far");
  if (Status s = validateBackwardCall(variant_, call); !s)
    return s;
  // The buffer gradients accumulate (atomic adds) from 0: zeroed here, then staged.
  for (const auto &[name, grad] : call.dbuffers)
    grad.fill(0.0);
  const AttentionCall &fwd = call.forward;
  int64_t B = fwd.batch(), H = variant_.headsQ, Q = fwd.qLen(), D = variant_.headDim;
  int64_t keyTiles = (fwd.kvLen() + launch_.threads - 1) / launch_.threads;
  int64_t partialBytes = B * H * Q * D * 4;
  int64_t blocks = std::max<int64_t>(1, B * variant_.headsKV);
  int64_t splits = std::max<int64_t>(
      1, std::min<int64_t>({(256 + blocks - 1) / blocks, keyTiles,
                            partialBytes ? (int64_t(256) << 20) / partialBytes : 1}));
  Result<std::unique_ptr<cuda::StagedBackwardCall>> staged = cuda::stageBackwardCall(call, splits);
  if (!staged)
    return staged.status();
  const cuda::StagedBackwardCall &device = **staged;
  Result<TensorView> status = clearedStatus(nullptr);
  if (!status)
    return status.status();
  if (Status s = launchBackwardKernel(module_->function(), launch_, variant_, device.device,
                                      device.dqPartials.device, *status, nullptr);
      !s)
    return s;
  Result<int64_t> code = readStatus(*status);
  if (!code)
    return code.status();
  if (Status s = kernelStatus(variant_, fwd, *code); !s)
    return s;
  return device.copyGradients(call);
}

} // namespace attnc
