//===- RunCommands.h - `run` and `bench` of attnc and attnc-rt -----*- C++ -*-===//
//
// `attnc run|bench` (a variant compiled from its spec) and `attnc-rt run|bench` (a
// variant loaded from a kernel library) behave the same: the same random inputs,
// checks against the float64 reference, file formats, output lines, errors and exit
// codes. Both describe their variant as a `Runnable` and call these. Plain C++ (no
// LLVM), so attnc-rt builds in the runtime-only configuration.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_TOOLS_COMMON_RUNCOMMANDS_H
#define ATTNC_TOOLS_COMMON_RUNCOMMANDS_H

#include "compiler/frontend/Expr.h"
#include "runtime/Status.h"
#include "runtime/Variant.h"
#include "runtime/cuda/CudaKernel.h"
#include "tools/common/Inputs.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace attnc {

/// A variant ready to run, however it was obtained.
struct Runnable {
  VariantDesc desc;
  std::string target; ///< printed: "cpu", "cuda", "cuda-emu"
  std::function<Status(const AttentionCall &)> run;
  std::function<Status(const AttentionCall &)> reference;
  /// The backward kernel and its float64 reference (null: no backward pass).
  std::function<Status(const BackwardCall &)> runBackward;
  std::function<Status(const BackwardCall &)> referenceBackward;
  const frontend::Expr *maskMod = nullptr; ///< for the mask density (null: none)
  const frontend::Expr *scoreMod = nullptr;
  /// "FILE:LINE:COL" of byte `offset` of the mask_mod's (or score_mod's) source, or
  /// "" when the variant has no source file (a kernel library's).
  std::function<std::string(bool inMaskMod, unsigned offset)> locate;
  std::shared_ptr<CudaKernel> cudaKernel;  ///< set when it runs on a GPU
  std::string threadsLabel;                ///< where a CPU kernel runs ("2 threads")
};

struct RunOptions {
  std::string randomShape, inputsPath, outputPath, benchShape;
  uint64_t seed = 0;
  std::vector<std::string> scalars; ///< NAME=VALUE
  std::vector<std::string> buffers; ///< NAME=FILE.safetensors
  bool check = true;
  double tolerance = 0; ///< 0: 1e-5 for f32, 1e-2 for f16/bf16
  int reps = 10;
  bool withReference = false;
  bool backward = false; ///< run/bench the backward pass (after the forward)
};

/// How a kernel's out and lse differ from the reference's.
struct Errors {
  double outMaxAbs = 0, outRel = 0, lseMaxAbs = 0, lseRel = 0;
  int64_t badValues = 0; ///< NaN or infinite values where the reference differs
};

struct CallTensors;
/// Compares `got` with the reference `want` (run --random's check): NaN and
/// infinite values must sit at the same positions with the same values (each
/// mismatch is a bad value); the relative errors are over the finite pairs.
Errors compare(const CallTensors &got, const CallTensors &want);

/// Prints "error: MESSAGE" on stderr; returns 1 (the exit status).
int failWith(const std::string &message);

/// run --random (checked against the reference unless !check).
int runRandom(const Runnable &variant, const RunOptions &options);
/// run --inputs --output.
int runFiles(const Runnable &variant, const RunOptions &options);
/// run: --random or files, after checking the two are not mixed.
int runCommand(const Runnable &variant, const RunOptions &options);
/// bench --shape.
int runBench(const Runnable &variant, const RunOptions &options);

/// run --backward --random (BackwardCommands.cpp): the forward, then the backward
/// on a random dout, checked against the float64 reference backward unless !check.
int runBackwardRandom(const Runnable &variant, const RunOptions &options);
/// run --backward --inputs --output.
int runBackwardFiles(const Runnable &variant, const RunOptions &options);
/// bench --backward --shape: the backward pass's time (and the forward's, same run).
int runBackwardBench(const Runnable &variant, const RunOptions &options);
/// Prints "error: MESSAGE" for a failed run; run-time errors in an expression are
/// located (the expression, the indices, the first failing pair) as `run` does.
int failRun(const Runnable &variant, const AttentionCall &call, const Status &s);
/// The random inputs of a run or bench of shape B x Q x KV (the overrides of
/// `options` applied, `copies` sets checked against the memory), after printing
/// what the buffers and scalars hold.
Result<CallTensors> prepareRandomInputs(const Runnable &variant, const RunOptions &options,
                                        int64_t B, int64_t Q, int64_t KV, int copies,
                                        std::map<std::string, ScalarValue> &scalars,
                                        std::map<std::string, Tensor> &buffers);

} // namespace attnc

#endif // ATTNC_TOOLS_COMMON_RUNCOMMANDS_H
