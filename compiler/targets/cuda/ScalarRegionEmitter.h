//===- ScalarRegionEmitter.h - score_mod/mask_mod for one element -*- C++ -*-===//
//
// The GPU kernel evaluates a variant's regions once per (query, key) element in
// each thread. This re-emits a region with scalar values: control flow stays control
// flow (the lazy `&&`, `||` and `?:` of the expression language are scf.if), a buffer
// read is bounds-checked against the buffer's sizes and reads nothing when out of
// range, and an integer division by zero divides by one; both record their error in
// the status word (status[0]: 1 + the buffer's ordinal, or -1), which the runtime
// turns into the message naming the buffer.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_SCALARREGIONEMITTER_H
#define ATTNC_COMPILER_TARGETS_CUDA_SCALARREGIONEMITTER_H

#include "dialect/AttnOps.h"
#include "runtime/Variant.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringMap.h"

namespace attnc::cuda {

// Status codes: kKernelStatusBufferBase + the buffer's position, or
// kKernelStatusDivisionByZero (runtime/Variant.h, which turns them into messages).

struct GpuBuffer {
  mlir::Value memref; ///< the buffer argument (any strides)
  int64_t ordinal = 0;
};

class ScalarRegionEmitter {
public:
  ScalarRegionEmitter(mlir::OpBuilder &b, mlir::Location loc, mlir::Value status)
      : b(b), loc(loc), status(status) {}

  llvm::StringMap<mlir::Value> scalars;  ///< name → scalar value
  llvm::StringMap<GpuBuffer> buffers;    ///< name → buffer

  /// Emits `region` with `args` (one scalar per block argument); returns the value
  /// it yields, or null after an error.
  mlir::Value emit(mlir::Region &region, mlir::ArrayRef<mlir::Value> args);

private:
  mlir::LogicalResult emitBlock(mlir::Block &block, mlir::IRMapping &map);
  mlir::Value emitBufferLoad(attn::BufferLoadOp op, mlir::IRMapping &map);
  mlir::Value emitDivision(mlir::Operation *op, mlir::IRMapping &map);
  void recordError(mlir::Value condition, int64_t code);

  mlir::OpBuilder &b;
  mlir::Location loc;
  mlir::Value status;
};

} // namespace attnc::cuda

#endif // ATTNC_COMPILER_TARGETS_CUDA_SCALARREGIONEMITTER_H
