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

int64_t CudaKernel::backwardSplits(const AttentionCall &fwd) const {
  // Enough blocks to fill a large GPU (256), at most one split per key tile, and
  // the f32 dQ partials within 256 MiB.
  int64_t keyTiles = (fwd.kvLen() + launch_.threads - 1) / launch_.threads;
  int64_t partialBytes = fwd.batch() * variant_.headsQ * fwd.qLen() * variant_.headDim * 4;
  int64_t blocks = std::max<int64_t>(1, fwd.batch() * variant_.headsKV);
  return std::max<int64_t>(
      1, std::min<int64_t>({(256 + blocks - 1) / blocks, keyTiles,
                            partialBytes ? (int64_t(256) << 20) / partialBytes : 1}));
}

Status CudaKernel::launchBackward(const BackwardCall &call, const TensorView &dqPartials,
                                  void *stream) const {
  Result<TensorView> status = clearedStatus(stream);
  if (!status)
    return status.status();
  if (Status s = launchBackwardKernel(module_->function(), launch_, variant_, call, dqPartials,
                                      *status, stream);
      !s)
    return s;
  Result<int64_t> code = readStatus(*status);
  if (!code)
    return code.status();
  return kernelStatus(variant_, call.forward, *code);
}

Status CudaKernel::runBackward(const BackwardCall &call) const {
  if (!launch_.backward)
    return Status::error("'" + variant_.name + "' was not compiled as a backward kernel");
  if (call.forward.q.device == Device::Cuda)
    return runBackwardOnDevice(call);
  if (Status s = validateBackwardCall(variant_, call); !s)
    return s;
  // The buffer gradients accumulate (atomic adds) from 0: zeroed here, then staged.
  for (const auto &[name, grad] : call.dbuffers)
    grad.fill(0.0);
  Result<std::unique_ptr<cuda::StagedBackwardCall>> staged =
      cuda::stageBackwardCall(call, backwardSplits(call.forward));
  if (!staged)
    return staged.status();
  if (Status s = launchBackward((*staged)->device, (*staged)->dqPartials.device, nullptr); !s)
    return s;
  return (*staged)->copyGradients(call);
}

Status CudaKernel::runBackwardOnDevice(const BackwardCall &call) const {
  if (Status s = validateBackwardCall(variant_, call, Device::Cuda); !s)
    return s;
  Result<const cuda::DriverApi *> driver = cuda::driver();
  if (!driver)
    return driver.status();
  void *stream = call.forward.stream;
  if (!stream) {
    stream = mgpuStreamCreate();
    if (std::vector<std::string> errors = cuda::takeCudaErrors(); !errors.empty())
      return Status::error("cuda: " + errors.front());
  }
  // The gradients are zeroed after the work queued on the stream (which may still be
  // writing them) and before the kernel (editOnHost waits for its copies).
  if (!call.dbuffers.empty())
    if (Status s = cuda::check((*driver)->cuStreamSynchronize(stream),
                               "waiting for the stream (cuStreamSynchronize)");
        !s)
      return s;
  for (const auto &[name, grad] : call.dbuffers)
    if (Status s = cuda::editOnHost(grad, [](const TensorView &g) { g.fill(0.0); }); !s)
      return s;
  const TensorView &dq = call.dq;
  int64_t splits = backwardSplits(call.forward);
  std::vector<int64_t> shape{splits, dq.shape[0], dq.shape[1], dq.shape[2], dq.shape[3]};
  size_t bytes = size_t(splits * dq.numel()) * sizeof(float);
  Result<cuda::DeviceBuffer> partials = cuda::DeviceBuffer::allocate(bytes, "the dQ partials");
  if (!partials)
    return partials.status();
  if (Status s = cuda::check((*driver)->cuMemsetD8Async(partials->address(), 0, bytes, stream),
                             "clearing the dQ partials (cuMemsetD8)");
      !s)
    return s;
  TensorView partialsView{reinterpret_cast<void *>(uintptr_t(partials->address())), DType::F32,
                          shape, contiguousStrides(shape), Device::Cuda};
  if (Status s = launchBackward(call, partialsView, stream); !s)
    return s;
  // dQ: the partials summed on the host in split order, written into the GPU's dq.
  std::vector<float> host(bytes / sizeof(float));
  if (Status s = cuda::check((*driver)->cuMemcpyDtoH(host.data(), partials->address(), bytes),
                             "copying the dQ partials from the GPU (cuMemcpyDtoH)");
      !s)
    return s;
  return cuda::editOnHost(
      dq, [&](const TensorView &out) { writeSummedPartials(host.data(), splits, out); });
}

} // namespace attnc
