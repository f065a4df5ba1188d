//===- EmuKernel.cpp - an attention kernel run under cuda-emu --------------===//
#include "runtime/emu/EmuKernel.h"
#include "runtime/emu/EmuAbi.h"

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

Status EmuKernel::run(const AttentionCall &call) const {
  if (Status s = validateCall(variant_, call); !s)
    return s;
  int64_t statusWords[4] = {0, 0, 0, 0};
  TensorView status{statusWords, DType::I64, {4}, {1}};
  PackedMemrefCall packed(variant_, call, status);

  std::vector<std::string> errors;
  {
    std::lock_guard<std::mutex> lock(emulatorMutex());
    emu::setKernelTable(kernels_);
    emu::setLocationTable(locations_);
    emu::setPrintLaunchErrors(false);
    emu::takeLaunchErrors();
    entry_(packed.args());
    errors = emu::takeLaunchErrors();
    emu::setPrintLaunchErrors(true);
  }
  if (!errors.empty())
    return Status::error("cuda-emu: " + errors.front());
  return kernelStatus(variant_, call, statusWords[0]);
}

} // namespace attnc
