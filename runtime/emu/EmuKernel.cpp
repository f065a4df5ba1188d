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

/// A memref descriptor (the C interface's layout) over a tensor view.
std::vector<int64_t> descriptorOf(const TensorView &t) {
  auto ptr = int64_t(reinterpret_cast<intptr_t>(t.data));
  std::vector<int64_t> d{ptr, ptr, 0};
  d.insert(d.end(), t.shape.begin(), t.shape.end());
  d.insert(d.end(), t.strides.begin(), t.strides.end());
  return d;
}

std::mutex &emulatorMutex() {
  static auto *mutex = new std::mutex();
  return *mutex;
}

} // namespace

Status EmuKernel::run(const AttentionCall &call) const {
  if (Status s = validateCall(variant_, call); !s)
    return s;
  // Descriptors (q, k, v, out, lse, buffers..., status) and pointers to them.
  int64_t statusWords[4] = {0, 0, 0, 0};
  TensorView status{statusWords, DType::I64, {4}, {1}};
  std::vector<std::vector<int64_t>> descs;
  for (const TensorView *t : {&call.q, &call.k, &call.v, &call.out, &call.lse})
    descs.push_back(descriptorOf(*t));
  for (const BufferDecl &b : variant_.buffers)
    descs.push_back(descriptorOf(call.buffers.at(b.name)));
  descs.push_back(descriptorOf(status));
  std::vector<void *> descPtrs;
  for (std::vector<int64_t> &d : descs)
    descPtrs.push_back(d.data());
  // Packed arguments: a pointer to each memref's descriptor pointer, to each scalar.
  ScalarSlots scalars(scalarValues(variant_, call));
  std::vector<void *> args;
  for (size_t i = 0; i < 5; ++i)
    args.push_back(&descPtrs[i]);
  for (size_t i = 0; i < scalars.size(); ++i)
    args.push_back(scalars.at(i));
  for (size_t i = 5; i < descPtrs.size(); ++i)
    args.push_back(&descPtrs[i]);

  std::vector<std::string> errors;
  {
    std::lock_guard<std::mutex> lock(emulatorMutex());
    emu::setKernelTable(kernels_);
    emu::setLocationTable(locations_);
    emu::setPrintLaunchErrors(false);
    emu::takeLaunchErrors();
    entry_(args.data());
    errors = emu::takeLaunchErrors();
    emu::setPrintLaunchErrors(true);
  }
  if (!errors.empty())
    return Status::error("cuda-emu: " + errors.front());
  return kernelStatus(variant_, call, statusWords[0]);
}

} // namespace attnc
