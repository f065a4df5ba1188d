//===- EmuKernel.cpp - an attention kernel run under cuda-emu --------------===//
#include "runtime/emu/EmuKernel.h"
#include "runtime/emu/EmuAbi.h"

#include <algorithm>
#include <mutex>

namespace attnc {

EmuKernel::EmuKernel(VariantDesc variant, emu::PackedKernel entry,
                     std::vector<emu::KernelEntry> kernels, std::vector<std::string> locations,
                     std::shared_ptr<void> owner)
    : variant_(std::move(variant)), entry_(entry), kernels_(std::move(kernels)),
      locations_(std::move(locations)), owner_(std::move(owner)) {}

namespace {

std::mutex &emulatorMutex() {
  static auto *mutex = new std::mutex();
  return *mutex;
}

} // namespace

Status EmuKernel::launch(void **args) const {
  std::vector<std::string> errors;
  {
    std::lock_guard<std::mutex> lock(emulatorMutex());
    emu::setKernelTable(kernels_);
    emu::setLocationTable(locations_);
    emu::setPrintLaunchErrors(false);
    emu::takeLaunchErrors();
    entry_(args);
    errors = emu::takeLaunchErrors();
    emu::setPrintLaunchErrors(true);
  }
  if (!errors.empty())
    return Status::error("cuda-emu: " + errors.front());
  return Status::ok();
}

Status EmuKernel::run(const AttentionCall &call) const {
  if (Status s = validateCall(variant_, call); !s)
    return s;
  int64_t statusWords[4] = {0, 0, 0, 0};
  TensorView status{statusWords, DType::I64, {4}, {1}};
  PackedMemrefCall packed(variant_, call, status);
  if (Status s = launch(packed.args()); !s)
    return s;
  return kernelStatus(variant_, call, statusWords[0]);
}

Status EmuKernel::runBackward(const BackwardCall &call) const {
  if (Status s = validateBackwardCall(variant_, call); !s)
    return s;
  const AttentionCall &fwd = call.forward;
  int64_t B = fwd.batch(), H = variant_.headsQ, Q = fwd.qLen(), D = variant_.headDim;
  // A few splits of the key tiles where there are few (batch, key/value head)
  // blocks, as a GPU would use to fill its SMs (and so that partials are summed).
  int64_t splits = std::max<int64_t>(1, 4 / std::max<int64_t>(1, B * variant_.headsKV));
  std::vector<float> partials(size_t(splits * B * H * Q * D), 0.0f);
  TensorView dqPartials{partials.data(), DType::F32, {splits, B, H, Q, D},
                        {B * H * Q * D, H * Q * D, Q * D, D, 1}};
  // The kernel adds into the buffer gradients (atomically): they start at 0.
  for (const auto &[name, grad] : call.dbuffers)
    grad.fill(0.0);
  int64_t statusWords[4] = {0, 0, 0, 0};
  TensorView status{statusWords, DType::I64, {4}, {1}};
  PackedMemrefCall packed(variant_, call, dqPartials, status);
  if (Status s = launch(packed.args()); !s)
    return s;
  if (Status s = kernelStatus(variant_, fwd, statusWords[0]); !s)
    return s;
  writeSummedPartials(partials.data(), splits, call.dq);
  return Status::ok();
}

} // namespace attnc
