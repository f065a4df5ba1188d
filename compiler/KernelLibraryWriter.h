//===- KernelLibraryWriter.h - compiled variants as a shared library -*- C++ -*-===//
//
// `attnc compile --emit library` writes its variants as a kernel library
// (runtime/library/LibraryAbi.h): a C source file holding the variant table and
// the GPU images as byte arrays, compiled by the system's C compiler ($CC, else cc,
// clang or gcc) and linked with the CPU kernels' object files (one per variant and
// x86-64 level, compiler/targets/cpu/CpuObject.h) into a shared object. The library
// needs only the C library; the attnc runtime reads it
// (runtime/library/KernelLibrary.h).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_KERNELLIBRARYWRITER_H
#define ATTNC_COMPILER_KERNELLIBRARYWRITER_H

#include "runtime/library/KernelLibrary.h"

#include <string>
#include <vector>

namespace attnc {

/// One variant to write: `images[i].data` points at `imageBytes[i]`; with
/// `variant.hasCpuKernel`, the CPU kernel's object files, each defining the packed
/// entry `cpuEntrySymbol(variant name, level)`, and with `variant.hasCpuBackward`
/// the backward kernel's, each defining `cpuEntrySymbol(variant name, level, true)`.
struct LibraryEntry {
  LibraryVariant variant;
  std::vector<std::string> imageBytes, backwardImageBytes; ///< of images, backwardImages
  std::string cpuObjectAvx512, cpuObjectAvx2;
  std::string cpuObjectAvx512Bf16; ///< bf16 variants only (else empty)
  std::string cpuBackwardObjectAvx512, cpuBackwardObjectAvx2;
};

/// The symbol of the CPU kernel (or backward kernel) of variant `name` for `isa` in
/// a library (variant names are identifiers and unique in a library; the two kinds
/// have distinct prefixes, so no name's kernel can take another's symbol).
std::string cpuEntrySymbol(const std::string &name, CpuIsa isa, bool backward = false);

/// The C source of a library holding `entries`.
std::string kernelLibrarySource(const std::vector<LibraryEntry> &entries,
                                const std::string &attncVersion);

/// Writes `entries` as the shared library `outputPath`.
Status writeKernelLibrary(const std::vector<LibraryEntry> &entries,
                          const std::string &attncVersion, const std::string &outputPath);

} // namespace attnc

#endif // ATTNC_COMPILER_KERNELLIBRARYWRITER_H
