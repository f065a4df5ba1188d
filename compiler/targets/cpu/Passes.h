//===- Passes.h - the CPU target's passes -------------------------*- C++ -*-===//
#ifndef ATTNC_COMPILER_TARGETS_CPU_PASSES_H
#define ATTNC_COMPILER_TARGETS_CPU_PASSES_H

#include "dialect/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/Pass/Pass.h"

#include <algorithm>

namespace attnc::cpu {

/// The SIMD width (f32 lanes) the CPU kernels are written for.
constexpr int64_t kVectorWidth = 16;
/// Rows of the register-blocked micro-kernels.
constexpr int64_t kRowBlock = 4;

/// DV rounded up to the vector width (the packed v/out row length).
inline int64_t paddedHeadDimV(int64_t dv) {
  return (dv + kVectorWidth - 1) / kVectorWidth * kVectorWidth;
}

/// Key tiles the backward kernel takes a pass over the query tiles
/// (attn-tile-flash-backward's key-tiles-per-pass): as many as keep their dK/dV
/// accumulators within half of a 1 MiB L2, at most 8. Each pass reads every query
/// tile's Q, dO and dQ rows once; with one key tile a pass, which streams them from
/// memory for every 64 keys, plain f32 at 4096 tokens took 7-11% longer
/// (docs/performance.md, "The backward at FlashAttention-2's ratio").
inline int64_t backwardKeyTilesPerPass(int64_t headDim, int64_t headDimV, int64_t blockKV) {
  constexpr int64_t kAccumulatorBytes = 512 << 10, kMaxTiles = 8;
  int64_t perTile = blockKV * (paddedHeadDimV(headDim) + paddedHeadDimV(headDimV)) * 4;
  return std::clamp<int64_t>(kAccumulatorBytes / std::max<int64_t>(perTile, 1), 1, kMaxTiles);
}

/// How the forward kernel's Q·Kᵀ and P·V take their operands: f32 panels and
/// FMAs, or bf16 panels of pairs and AVX512-BF16's pair dot product
/// (`attn-lower-flash-to-cpu{operands=bf16}`).
enum class CpuOperands { F32, Bf16Pairs };

/// The pass option's spelling of `operands` ("f32", "bf16").
inline const char *cpuOperandsName(CpuOperands operands) {
  return operands == CpuOperands::Bf16Pairs ? "bf16" : "f32";
}

/// The head dim of a bf16-pairs panel: `d` rounded up to a whole pair.
inline int64_t pairedHeadDim(int64_t d) { return (d + 1) / 2 * 2; }

#define GEN_PASS_DECL
#include "compiler/targets/cpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/targets/cpu/Passes.h.inc"

} // namespace attnc::cpu

#endif // ATTNC_COMPILER_TARGETS_CPU_PASSES_H
