//===- KernelLibrary.h - loading a compiled kernel library ---------*- C++ -*-===//
//
// A kernel library (LibraryAbi.h) is opened with dlopen and its table read into
// the runtime's types: each variant's description, the sources of its modifiers
// (for the float64 reference), its CPU kernel's entries, its GPU kernel's launch and
// images. `cpuKernel` gives the CPU kernel for this processor's level (CpuIsa.h) as a
// CpuKernel run like a JIT-compiled one (`cpuBackwardKernel` its backward kernel); `cudaKernel` loads the image that runs on
// the current GPU (its chip's cubin, else PTX for the driver's JIT) and gives a
// CudaKernel launched like a JIT-compiled one.
// Everything a library can get wrong (not loadable, not a library, another ABI,
// no such variant, nothing for this GPU) is an error naming the file.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_LIBRARY_KERNELLIBRARY_H
#define ATTNC_RUNTIME_LIBRARY_KERNELLIBRARY_H

#include "runtime/AttentionInterface.h"
#include "runtime/Status.h"
#include "runtime/Variant.h"
#include "runtime/cpu/CpuBackwardKernel.h"
#include "runtime/cpu/CpuIsa.h"
#include "runtime/cpu/CpuKernel.h"
#include "runtime/cuda/CudaKernel.h"
#include "runtime/cuda/GpuLaunch.h"

#include <memory>
#include <string>
#include <vector>

namespace attnc {

struct LibraryConstant {
  std::string name;
  bool isInt = true;
  int64_t intValue = 0;
  double floatValue = 0;
};

struct LibraryImage {
  std::string chip, format; ///< "sm_90a", "cubin"
  const unsigned char *data = nullptr;
  uint64_t size = 0;
};

struct LibraryVariant {
  VariantDesc desc;
  std::vector<LibraryConstant> constants;
  std::string scoreMod, maskMod; ///< sources; empty when absent
  bool hasCpuKernel = false;
  CpuKernelEntry cpuAvx512 = nullptr, cpuAvx2 = nullptr;
  /// A bf16 variant's kernel on bf16 pairs for AVX512-BF16 (else null).
  CpuKernelEntry cpuAvx512Bf16 = nullptr;
  CpuKernelLayout cpuLayout;
  /// The CPU backward kernel (on cpuLayout's tiles), when written with --backward.
  bool hasCpuBackward = false;
  CpuKernelEntry cpuBackwardAvx512 = nullptr, cpuBackwardAvx2 = nullptr;
  bool hasGpuKernel = false;
  GpuLaunchDesc launch;
  std::vector<LibraryImage> images;
  /// The GPU backward kernel, when written with --backward.
  bool hasGpuBackward = false;
  GpuLaunchDesc backwardLaunch;
  std::vector<LibraryImage> backwardImages;
};

class KernelLibrary : public std::enable_shared_from_this<KernelLibrary> {
public:
  static Result<std::shared_ptr<KernelLibrary>> open(const std::string &path);
  KernelLibrary(const KernelLibrary &) = delete;
  KernelLibrary &operator=(const KernelLibrary &) = delete;
  ~KernelLibrary();

  const std::string &path() const { return path_; }
  const std::string &attncVersion() const { return version_; }
  const std::vector<LibraryVariant> &variants() const { return variants_; }
  /// The variant called `name`, or an error listing the names the library has.
  Result<const LibraryVariant *> find(const std::string &name) const;
  /// The image of `variant` for a device of compute capability major.minor: the
  /// chip's cubin (sm_90a for 9.0, sm_80 for 8.x), else PTX (any 8.0+ GPU).
  static const LibraryImage *imageFor(const std::vector<LibraryImage> &images, int major,
                                      int minor);
  /// `name`'s CPU kernel for `isa`.
  Result<std::shared_ptr<CpuKernel>> cpuKernel(const std::string &name, CpuIsa isa) const;
  /// `name`'s CPU backward kernel for `isa` (an error naming --backward if the
  /// library has none).
  Result<std::shared_ptr<CpuBackwardKernel>> cpuBackwardKernel(const std::string &name,
                                                               CpuIsa isa) const;
  /// `name`'s GPU kernel (or GPU backward kernel), loaded on the current device.
  Result<std::shared_ptr<CudaKernel>> cudaKernel(const std::string &name,
                                                 bool backward = false) const;
  /// Registers every variant's kernels under its name: the CPU kernel for
  /// Device::Cpu (at the level chooseCpuIsa picks; a call fails with its error where
  /// it picks none) and the GPU kernel for Device::Cuda. The GPU kernel is loaded on
  /// the GPU at its first call (so that registering needs no GPU); a call then fails
  /// with the load's error if it cannot be loaded. Backward kernels are registered
  /// as the name's backward passes the same way (Device::Cpu, Device::Cuda).
  /// `open` registers in ALL_ATTENTION_FUNCTIONS.
  void registerIn(AttentionInterface &registry) const;

private:
  struct LazyCudaKernel;
  std::shared_ptr<LazyCudaKernel> lazyCudaKernel(const std::string &name, bool backward) const;
  KernelLibrary() = default;
  std::string path_, version_;
  void *handle_ = nullptr;
  std::vector<LibraryVariant> variants_;
};

} // namespace attnc

#endif // ATTNC_RUNTIME_LIBRARY_KERNELLIBRARY_H
