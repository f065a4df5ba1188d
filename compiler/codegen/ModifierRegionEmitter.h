//===- ModifierRegionEmitter.h - score_mod/mask_mod semantics, once -*- C++ -*-===//
//
// Every target re-emits a variant's score_mod and mask_mod regions inside its
// kernel, with values of its own shape: the CPU with a vector of lanes (one per
// key, RegionVectorizer), the GPU with one element per thread
// (ScalarRegionEmitter). What the regions mean is defined here once:
//
//  - a buffer read is in bounds when 0 <= index < size in every dimension; an
//    out-of-range read records kKernelStatusBufferBase + the buffer's position in
//    the status word and reads nothing (0);
//  - an integer division or remainder by 0 records kKernelStatusDivisionByZero and
//    divides by 1; by -1 it gives -x (x % -1 = 0), so INT64_MIN / -1 never traps;
//  - attn.buffer_grad (score_mod_vjp only) adds to a gradient element where the
//    element is live and the indices are in bounds;
//  - every other op is applied elementwise.
//
// A target says how: constants and scalars in its value shape, how an error is
// recorded (for any active lane, or when the element's condition holds), how a
// buffer is read once its bounds are known, and how an scf.if runs (masked blend
// of both branches, or real control flow).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_CODEGEN_MODIFIERREGIONEMITTER_H
#define ATTNC_COMPILER_CODEGEN_MODIFIERREGIONEMITTER_H

#include "dialect/AttnOps.h"
#include "runtime/Variant.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringMap.h"

namespace attnc::codegen {

/// Whether `op` is an integer division or remainder (checked for a zero divisor).
bool isCheckedDivision(mlir::Operation *op);
/// Whether evaluating `region` can record a run-time error: it reads a buffer or
/// divides integers. A region that cannot may run on elements that do not count
/// (rows past the query sequence, keys past the key sequence) with nothing to mask.
bool canRecordErrors(mlir::Region &region);

class ModifierRegionEmitter {
public:
  ModifierRegionEmitter(mlir::OpBuilder &b, mlir::Location loc, mlir::Value status)
      : b(b), loc(loc), status(status) {}
  virtual ~ModifierRegionEmitter() = default;

  llvm::StringMap<mlir::Value> scalars; ///< name → the run-time scalar's value

  /// Emits `region` with `args` (one value per block argument, in the target's
  /// shape) under the lane mask `active` (null: the element is live); returns the
  /// value the region yields, or null after an error.
  mlir::Value emit(mlir::Region &region, mlir::ArrayRef<mlir::Value> args,
                   mlir::Value active = {});

protected:
  /// Emits the ops of `block` but its terminator.
  mlir::LogicalResult emitBlock(mlir::Block &block, mlir::IRMapping &map, mlir::Value active);
  /// Whether every index lies in [0, size) (an i1 of the target's shape).
  mlir::Value inBounds(mlir::ArrayRef<mlir::Value> indices, mlir::ArrayRef<mlir::Value> sizes);
  /// Records `code` where `outOfRange` holds, for a read of buffer `ordinal`.
  void recordOutOfRange(mlir::Value outOfRange, int64_t ordinal, mlir::Value active) {
    recordError(whereActive(outOfRange, active), kKernelStatusBufferBase + ordinal);
  }
  /// `condition` and `active` (just `condition` where there is no mask).
  mlir::Value whereActive(mlir::Value condition, mlir::Value active);
  /// A constant of `like`'s shape (scalar or vector) with every element `value`.
  mlir::Value constantLike(mlir::Value like, int64_t value);

  // --- the target's part ---
  /// The scalar type `scalar` in the target's shape.
  virtual mlir::Type shaped(mlir::Type scalar) = 0;
  /// An arith.constant op's value in the target's shape.
  virtual mlir::Value constant(mlir::Attribute value, mlir::Type scalarType) = 0;
  /// A run-time scalar in the target's shape.
  virtual mlir::Value scalar(mlir::Value value) = 0;
  /// Stores `code` into the status word where `condition` holds (any lane).
  virtual void recordError(mlir::Value condition, int64_t code) = 0;
  /// A buffer read (indices in the target's shape, i64 elements).
  virtual mlir::Value readBuffer(attn::BufferLoadOp op, mlir::ArrayRef<mlir::Value> indices,
                                 mlir::Value active) = 0;
  /// An scf.if of the region.
  virtual mlir::LogicalResult emitIf(mlir::scf::IfOp op, mlir::IRMapping &map,
                                     mlir::Value active) = 0;
  /// An attn.buffer_grad of a score_mod_vjp region: adds `value` to the gradient
  /// element at `indices` (the target's shape) where `active` holds and the indices
  /// are in bounds (out of range, the matching read has recorded the error).
  virtual mlir::LogicalResult accumulateGrad(attn::BufferGradOp op,
                                             mlir::ArrayRef<mlir::Value> indices,
                                             mlir::Value value, mlir::Value active) {
    return op.emitError("this target does not accumulate buffer gradients");
  }

  mlir::OpBuilder &b;
  mlir::Location loc;
  mlir::Value status;

private:
  /// An integer division or remainder with the rules of the file comment.
  mlir::Value guardedDivision(mlir::Operation *op, mlir::IRMapping &map, mlir::Value active);
};

} // namespace attnc::codegen

#endif // ATTNC_COMPILER_CODEGEN_MODIFIERREGIONEMITTER_H
