//===- WmmaToEmu.h - gpu.subgroup_mma_* for the emulator ----------*- C++ -*-===//
//
// Part of attn-gpu-to-emu. A WMMA fragment (!gpu.mma_matrix) is opaque to the
// program: how its elements are spread over the lanes is the hardware's business.
// Under the emulator each lane holds the whole matrix as a vector<R x C x T>, and the
// load, store and compute operations are warp collectives in runtime/emu/WarpOps.h.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_EMU_WMMATOEMU_H
#define ATTNC_COMPILER_TARGETS_EMU_WMMATOEMU_H

#include "compiler/targets/emu/EmuBuilder.h"

#include "mlir/IR/Operation.h"

#include <optional>

namespace attnc::emu {

/// Replaces every !gpu.mma_matrix<R x C x T> type in `op` (values, block arguments,
/// function types) by vector<R x C x T>.
void replaceMmaMatrixTypes(mlir::Operation *op);

/// Lowers `op` if it is a gpu.subgroup_mma_* operation (after
/// replaceMmaMatrixTypes); std::nullopt if it is not one.
std::optional<mlir::LogicalResult> lowerWmmaOp(mlir::Operation *op, EmuBuilder &eb);

} // namespace attnc::emu

#endif // ATTNC_COMPILER_TARGETS_EMU_WMMATOEMU_H
