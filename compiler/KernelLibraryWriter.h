//===- KernelLibraryWriter.h - compiled variants as a shared library -*- C++ -*-===//
//
// `attnc compile --emit library` writes its variants as a kernel library
// (runtime/library/LibraryAbi.h): a C source file holding the variant table and
// the GPU images as byte arrays, compiled into a shared object by the system's C
// compiler ($CC, else cc, clang or gcc). The library needs only the C library; the
// attnc runtime reads it (runtime/library/KernelLibrary.h).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_KERNELLIBRARYWRITER_H
#define ATTNC_COMPILER_KERNELLIBRARYWRITER_H

#include "runtime/library/KernelLibrary.h"

#include <string>
#include <vector>

namespace attnc {

/// One variant to write: `images[i].data` points at `imageBytes[i]`.
struct LibraryEntry {
  LibraryVariant variant;
  std::vector<std::string> imageBytes;
};

/// The C source of a library holding `entries`.
std::string kernelLibrarySource(const std::vector<LibraryEntry> &entries,
                                const std::string &attncVersion);

/// Writes `entries` as the shared library `outputPath`.
Status writeKernelLibrary(const std::vector<LibraryEntry> &entries,
                          const std::string &attncVersion, const std::string &outputPath);

} // namespace attnc

#endif // ATTNC_COMPILER_KERNELLIBRARYWRITER_H
