//===- ExternalTool.h - running the CUDA toolkit's programs ------*- C++ -*-===//
//
// ptxas and nvdisasm read their input from a file and report on stdout/stderr:
// `runOnFile` writes the input to a temporary file, runs the program on it and
// returns what it printed, or an error naming the program with its output.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_EXTERNALTOOL_H
#define ATTNC_COMPILER_TARGETS_CUDA_EXTERNALTOOL_H

#include "runtime/Status.h"

#include <string>
#include <vector>

namespace attnc::cuda {

/// Runs `program` with `args`, where the argument "{input}" becomes a temporary
/// file holding `input` (suffix `extension`, removed afterwards); returns its
/// stdout and stderr together, or an error with them when it exits non-zero.
Result<std::string> runOnFile(const std::string &program, std::vector<std::string> args,
                              const std::string &input, const std::string &extension);

} // namespace attnc::cuda

#endif // ATTNC_COMPILER_TARGETS_CUDA_EXTERNALTOOL_H
