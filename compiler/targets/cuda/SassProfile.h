//===- SassProfile.h - the key loop's machine code, counted ------*- C++ -*-===//
//
// What a kernel's SASS (the disassembled cubin, `nvdisasm -c`) does per key tile:
// each innermost loop that issues tensor-core mma is found from its backward branch,
// and the instructions of one iteration are counted along its cheapest and its
// costliest path through the loop's branches (the full-tile path and the masked
// one), with the mma, ldmatrix, local-memory (spill) and per-opcode counts along
// the cheapest. `attnc compile --report` prints it when nvdisasm is installed
// (scripts/setup.sh puts one from PyPI under the build folder).
//
// The parser reads nvdisasm's text only: labels (`.L_x_N:`), instructions
// (`/*0450*/ @!P0 BRA `(.L_x_1) ;`) and function headers (`.text.NAME:`). Inner
// loops without mma (the staging copies of unaligned tiles) are counted once.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_SASSPROFILE_H
#define ATTNC_COMPILER_TARGETS_CUDA_SASSPROFILE_H

#include "runtime/Status.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace attnc::cuda {

/// Instruction counts along one path through a loop iteration.
struct SassPath {
  int64_t instructions = 0; ///< NOPs left out
  int64_t mma = 0;          ///< HMMA (and HGMMA/IMMA)
  int64_t ldmatrix = 0;     ///< LDSM
  std::map<std::string, int64_t> opcodes; ///< by opcode without its modifiers
};

/// One innermost loop that issues mma.
struct SassLoop {
  int64_t headAddress = 0, backAddress = 0; ///< first instruction, backward branch
  bool asyncCopies = false;  ///< issues cp.async (LDGSTS): the pipelined loop
  int64_t innerLoops = 0;    ///< loops nested in it (their bodies counted once)
  SassPath cheapest, costliest;
};

/// A kernel's mma loops and its local-memory traffic (spills).
struct SassKernelProfile {
  std::string kernel;
  std::vector<SassLoop> loops;
  int64_t localMemoryInstructions = 0; ///< LDL/STL anywhere in the kernel
};

/// Profiles every function in `disassembly` (nvdisasm -c text); an error when the
/// text holds no function.
Result<std::vector<SassKernelProfile>> profileSass(const std::string &disassembly);

/// The path of nvdisasm: $ATTNC_NVDISASM, the CUDA toolkit's, the one setup.sh
/// installs beside the build (`BUILD/tools/bin`, found from the running
/// executable), or one on PATH; empty if none.
std::string findNvdisasm();

/// Disassembles `cubin` (its bytes) with `nvdisasm -c`.
Result<std::string> disassembleCubin(const std::string &nvdisasm, const std::string &cubin);

/// The report lines of `profile` for `chip`: per loop the mma, ldmatrix per mma and
/// instructions per mma on both paths, then the cheapest path's commonest opcodes.
std::string formatSassProfile(const SassKernelProfile &profile, const std::string &chip);

} // namespace attnc::cuda

#endif // ATTNC_COMPILER_TARGETS_CUDA_SASSPROFILE_H
