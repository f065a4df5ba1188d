//===- RegionVectorizer.h - score_mod/mask_mod on whole vectors ---*- C++ -*-===//
//
// Re-emits a variant region with every value widened to a vector of `width` lanes
// (one lane per key), so a tile row is modified with SIMD code. Control flow becomes
// masking: the branches of an scf.if run under the lanes where the condition holds
// (buffer reads there are masked gathers), and the results are blended with selects.
// Buffer indices are bounds-checked per lane; a lane that would read outside its
// buffer reads nothing and records an error in the status word. Integer divisions
// are guarded against zero (recorded as an error) and INT64_MIN / -1.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CPU_REGIONVECTORIZER_H
#define ATTNC_COMPILER_TARGETS_CPU_REGIONVECTORIZER_H

#include "dialect/AttnOps.h"
#include "runtime/Variant.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringMap.h"

namespace attnc::cpu {

// Status codes: kKernelStatusBufferBase + the buffer's position, or
// kKernelStatusDivisionByZero (runtime/Variant.h, which turns them into messages).

/// A run-time buffer as the kernel sees it: a 1-D view of its memory, and its
/// sizes and strides as i64 scalars.
struct BufferAccess {
  mlir::Value base; ///< memref<?xT, strided<[1], offset: ?>>
  llvm::SmallVector<mlir::Value> sizes, strides;
  int64_t ordinal = 0;
};

class RegionVectorizer {
public:
  RegionVectorizer(mlir::OpBuilder &b, mlir::Location loc, int64_t width,
                   mlir::Value status)
      : b(b), loc(loc), width(width), status(status) {}

  llvm::StringMap<mlir::Value> scalars;       ///< name → scalar value
  llvm::StringMap<BufferAccess> buffers;      ///< name → access

  /// Emits `region` with `args` (vectors, one per block argument) under the lane
  /// mask `active`; returns the vector the region yields.
  mlir::Value emit(mlir::Region &region, mlir::ArrayRef<mlir::Value> args,
                   mlir::Value active);

  mlir::Type widen(mlir::Type scalar) const;

private:
  mlir::LogicalResult emitBlock(mlir::Block &block, mlir::IRMapping &map,
                                mlir::Value active);
  mlir::Value emitBufferLoad(attn::BufferLoadOp op, mlir::IRMapping &map,
                             mlir::Value active);
  mlir::Value emitDivision(mlir::Operation *op, mlir::IRMapping &map,
                           mlir::Value active);
  void recordErrorIfAny(mlir::Value laneMask, int64_t code);
  mlir::Value splat(mlir::Attribute scalarValue, mlir::Type scalarType);

  mlir::OpBuilder &b;
  mlir::Location loc;
  int64_t width;
  mlir::Value status;
};

} // namespace attnc::cpu

#endif // ATTNC_COMPILER_TARGETS_CPU_REGIONVECTORIZER_H
