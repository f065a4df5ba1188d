//===- DeviceMemory.cpp - GPU memory and host↔device copies ----------------===//
#include "runtime/cuda/DeviceMemory.h"
#include "runtime/cuda/CudaDriver.h"

#include <cstring>
#include <tuple>
#include <vector>

namespace attnc::cuda {

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  std::swap(address_, other.address_);
  std::swap(bytes_, other.bytes_);
  return *this;
}

DeviceBuffer::~DeviceBuffer() {
  if (!address_)
    return;
  if (Result<const DriverApi *> d = driver())
    (*d)->cuMemFree(address_);
}

Result<DeviceBuffer> DeviceBuffer::allocate(size_t bytes, const std::string &what) {
  Result<const DriverApi *> d = driver();
  if (!d)
    return d.status();
  DeviceBuffer buffer;
  buffer.bytes_ = bytes ? bytes : 1;
  if (Status s = check((*d)->cuMemAlloc(&buffer.address_, buffer.bytes_),
                       "allocating " + std::to_string(buffer.bytes_) +
                           " bytes of GPU memory for '" + what + "' (cuMemAlloc)");
      !s) {
    buffer.address_ = 0;
    return s;
  }
  return buffer;
}

namespace {

/// The span of memory a view addresses: its lowest element's offset from the view's
/// data (in elements) and its size in bytes (0 for an empty view).
std::pair<int64_t, size_t> spanOf(const TensorView &view) {
  int64_t lowest = 0, highest = 0;
  bool empty = false;
  for (size_t i = 0; i < view.shape.size(); ++i) {
    empty |= view.shape[i] == 0;
    int64_t extent = (view.shape[i] - 1) * view.strides[i];
    (extent < 0 ? lowest : highest) += extent;
  }
  return {lowest, empty ? 0 : size_t(highest - lowest + 1) * dtypeSize(view.dtype)};
}

} // namespace

Status editOnHost(const TensorView &device,
                  const std::function<void(const TensorView &)> &edit) {
  auto [lowest, bytes] = spanOf(device);
  if (!bytes)
    return Status::ok();
  Result<const DriverApi *> d = driver();
  if (!d)
    return d.status();
  size_t elt = dtypeSize(device.dtype);
  uint64_t start = uint64_t(uintptr_t(device.data)) + uint64_t(lowest * int64_t(elt));
  std::vector<char> span(bytes);
  if (Status s = check((*d)->cuMemcpyDtoH(span.data(), start, bytes),
                       "copying a tensor from the GPU (cuMemcpyDtoH)");
      !s)
    return s;
  TensorView host = device;
  host.device = Device::Cpu;
  host.data = span.data() - lowest * int64_t(elt);
  edit(host);
  if (Status s = check((*d)->cuMemcpyHtoD(start, span.data(), bytes),
                       "copying a tensor to the GPU (cuMemcpyHtoD)");
      !s)
    return s;
  // A copy from pageable memory may return before it lands: wait for it, so that
  // work on any stream (a non-blocking one too) sees the edit.
  return check((*d)->cuCtxSynchronize(), "waiting for the copy (cuCtxSynchronize)");
}

Result<StagedTensor> stageToDevice(const TensorView &host, const std::string &name) {
  if (host.device != Device::Cpu)
    return Status::error("tensor '" + name + "' is already in GPU memory");
  Result<const DriverApi *> d = driver();
  if (!d)
    return d.status();
  auto [lowest, spanBytes] = spanOf(host);
  size_t elt = dtypeSize(host.dtype);
  StagedTensor staged;
  staged.lowest = lowest;
  staged.spanBytes = spanBytes;
  Result<DeviceBuffer> buffer = DeviceBuffer::allocate(staged.spanBytes, name);
  if (!buffer)
    return buffer.status();
  staged.buffer = buffer.take();
  const char *start = static_cast<const char *>(host.data) + lowest * int64_t(elt);
  if (staged.spanBytes)
    if (Status s = check((*d)->cuMemcpyHtoD(staged.buffer.address(), start, staged.spanBytes),
                         "copying '" + name + "' to the GPU (cuMemcpyHtoD)");
        !s)
      return s;
  staged.device = host;
  staged.device.device = Device::Cuda;
  staged.device.data =
      reinterpret_cast<void *>(uintptr_t(staged.buffer.address() - lowest * int64_t(elt)));
  return staged;
}

Status copyToHost(const StagedTensor &staged, const TensorView &host) {
  if (!staged.spanBytes)
    return Status::ok();
  Result<const DriverApi *> d = driver();
  if (!d)
    return d.status();
  size_t elt = dtypeSize(host.dtype);
  char *start = static_cast<char *>(host.data) + staged.lowest * int64_t(elt);
  if (staged.spanBytes == size_t(host.numel()) * elt) // dense: the span is the view
    return check((*d)->cuMemcpyDtoH(start, staged.buffer.address(), staged.spanBytes),
                 "copying a result from the GPU (cuMemcpyDtoH)");
  // Gaps (another view's elements, perhaps written meanwhile) are not written:
  // the span comes back into a scratch copy and only the view's elements move.
  std::vector<char> span(staged.spanBytes);
  if (Status s = check((*d)->cuMemcpyDtoH(span.data(), staged.buffer.address(),
                                          staged.spanBytes),
                       "copying a result from the GPU (cuMemcpyDtoH)");
      !s)
    return s;
  std::vector<int64_t> index(host.shape.size(), 0);
  do {
    int64_t offset = host.offsetOf(index.data()) - staged.lowest;
    std::memcpy(start + offset * int64_t(elt), span.data() + offset * int64_t(elt), elt);
  } while (nextIndex(index, host.shape));
  return Status::ok();
}

Result<std::unique_ptr<StagedCall>> stageCall(const AttentionCall &host) {
  auto staged = std::make_unique<StagedCall>();
  staged->device = host;
  auto stage = [&](const TensorView &view, TensorView &device, const std::string &name) {
    Result<StagedTensor> s = stageToDevice(view, name);
    if (!s)
      return s.status();
    device = s->device;
    staged->tensors.push_back(s.take());
    return Status::ok();
  };
  AttentionCall &d = staged->device;
  for (auto [name, view, device] :
       {std::tuple<const char *, const TensorView *, TensorView *>{"q", &host.q, &d.q},
        {"k", &host.k, &d.k},
        {"v", &host.v, &d.v},
        {"out", &host.out, &d.out},
        {"lse", &host.lse, &d.lse}})
    if (Status s = stage(*view, *device, name); !s)
      return s;
  for (auto &[name, view] : d.buffers)
    if (Status s = stage(host.buffers.at(name), view, name); !s)
      return s;
  return staged;
}

Status StagedCall::copyOutputs(const AttentionCall &host) const {
  if (Status s = copyToHost(tensors[3], host.out); !s)
    return s;
  return copyToHost(tensors[4], host.lse);
}

Result<std::unique_ptr<StagedBackwardCall>> stageBackwardCall(const BackwardCall &host,
                                                              int64_t splits) {
  auto staged = std::make_unique<StagedBackwardCall>();
  Result<std::unique_ptr<StagedCall>> forward = stageCall(host.forward);
  if (!forward)
    return forward.status();
  staged->forward = forward.take();
  BackwardCall &d = staged->device;
  d = host;
  d.forward = staged->forward->device;
  auto stage = [&](const TensorView &view, TensorView &device, const std::string &name) {
    Result<StagedTensor> s = stageToDevice(view, name);
    if (!s)
      return s.status();
    device = s->device;
    staged->grads.push_back(s.take());
    return Status::ok();
  };
  for (auto [name, view, device] :
       {std::tuple<const char *, const TensorView *, TensorView *>{"dout", &host.dout, &d.dout},
        {"dk", &host.dk, &d.dk},
        {"dv", &host.dv, &d.dv}})
    if (Status s = stage(*view, *device, name); !s)
      return s;
  for (auto &[name, view] : d.dbuffers)
    if (Status s = stage(host.dbuffers.at(name), view, "d" + name); !s)
      return s;
  // The partials, zeroed: staged from a zero host array of their shape.
  const TensorView &dq = host.dq;
  std::vector<int64_t> shape{splits, dq.shape[0], dq.shape[1], dq.shape[2], dq.shape[3]};
  std::vector<float> zeros(size_t(splits * dq.numel()), 0.0f);
  TensorView partials{zeros.data(), DType::F32, shape, contiguousStrides(shape)};
  Result<StagedTensor> p = stageToDevice(partials, "the dQ partials");
  if (!p)
    return p.status();
  staged->dqPartials = p.take();
  return staged;
}

Status StagedBackwardCall::copyGradients(const BackwardCall &host) const {
  if (Status s = copyToHost(grads[1], host.dk); !s)
    return s;
  if (Status s = copyToHost(grads[2], host.dv); !s)
    return s;
  size_t i = 3;
  for (const auto &[name, view] : host.dbuffers) // the same (sorted) order as staged
    if (Status s = copyToHost(grads[i++], view); !s)
      return s;
  const std::vector<int64_t> &shape = dqPartials.device.shape;
  std::vector<float> partials(size_t(dqPartials.device.numel()));
  TensorView local{partials.data(), DType::F32, shape, contiguousStrides(shape)};
  if (Status s = copyToHost(dqPartials, local); !s)
    return s;
  writeSummedPartials(partials.data(), shape[0], host.dq);
  return Status::ok();
}

} // namespace attnc::cuda
