//===- FlashForm.h - reading the flash form -----------------------*- C++ -*-===//
//
// attn-tile-flash produces one `@X_flash` function per attention: a parallel loop
// over (batch, head, query tile) around a loop over key tiles made of attn.tile_*
// ops, with scratch tiles marked by their role (`attn.scratch` = "scores", "acc",
// "max", "sum", "alpha"). FlashFormDetail is the one accessor every target's
// lowering starts from: tile sizes (off the score tile), head layout (off the
// variant), the function's arguments and its two loops. It reads the backward
// flash form of attn-tile-flash-backward too (`@X_flash_backward`, attribute
// `attn.backward`): there the parallel loop runs over (batch, key/value head,
// split) and the loop inside it over key tiles.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TRANSFORMS_FLASHFORM_H
#define ATTNC_COMPILER_TRANSFORMS_FLASHFORM_H

#include "dialect/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace attnc {

/// The layout of one flash-form function (see the file comment).
class FlashFormDetail {
public:
  /// Reads `flash`; a missing score tile, query-tile loop or key loop is reported
  /// (prefixed with `pass`) as an error on the function.
  static mlir::FailureOr<FlashFormDetail> get(mlir::func::FuncOp flash,
                                              attn::VariantOp variant,
                                              llvm::StringRef pass);

  int64_t blockQ() const { return bq; }
  int64_t blockKV() const { return bk; }
  int64_t headDim() const { return dHead; }
  int64_t headDimV() const { return dvHead; }
  int64_t headsQ() const { return hq; }
  int64_t headsKV() const { return hkv; }
  /// Query heads per key/value head.
  int64_t groupSize() const { return headsQ() / headsKV(); }
  unsigned numScalars() const { return nScalars; }
  unsigned numBuffers() const { return nBuffers; }
  /// The requires_grad buffers (their gradients are arguments of the backward form).
  unsigned numGrads() const { return nGrads; }
  /// Whether this is the backward flash form.
  bool isBackward() const { return backward; }

  /// The function's arguments: q, k, v, out, lse, the scalars, the buffers, the
  /// status word; in the backward form q, k, v, out, dout, lse, dq, dk, dv, the
  /// scalars, the buffers, the gradients of the requires_grad buffers, the status.
  mlir::Value query() const { return argument(0); }
  mlir::Value key() const { return argument(1); }
  mlir::Value value() const { return argument(2); }
  mlir::Value out() const { return argument(3); }
  mlir::Value lse() const { return argument(backward ? 5 : 4); }
  mlir::Value scalar(unsigned i) const { return argument(firstScalar() + i); }
  mlir::Value buffer(unsigned i) const { return argument(firstScalar() + nScalars + i); }
  mlir::Value status() const { return args.back(); }
  /// The backward form's gradient of the output, dQ partials, dK, dV and the
  /// gradient of the i-th requires_grad buffer.
  mlir::Value dout() const { return argument(4); }
  mlir::Value dq() const { return argument(6); }
  mlir::Value dk() const { return argument(7); }
  mlir::Value dv() const { return argument(8); }
  mlir::Value grad(unsigned i) const { return argument(firstScalar() + nScalars + nBuffers + i); }
  /// The element type of q, k, v and out.
  mlir::Type elementType() const {
    return llvm::cast<mlir::MemRefType>(query().getType()).getElementType();
  }

  /// The parallel loop over (batch, head, query tile) and the loop over key tiles
  /// (backward: over (batch, key/value head, split), and the key tiles).
  mlir::scf::ParallelOp queryTiles() const { return parallel; }
  mlir::scf::ForOp keyLoop() const { return keys; }

private:
  FlashFormDetail() = default;
  mlir::Value argument(unsigned i) const { return args[i]; }
  unsigned firstScalar() const { return backward ? 9 : 5; }

  llvm::SmallVector<mlir::Value> args;
  int64_t bq = 0, bk = 0, dHead = 0, dvHead = 0, hq = 0, hkv = 0;
  unsigned nScalars = 0, nBuffers = 0, nGrads = 0;
  bool backward = false;
  mlir::scf::ParallelOp parallel;
  mlir::scf::ForOp keys;
};

// --- what attn-tile-flash and attn-tile-flash-backward both build ---

/// A memref type with fully dynamic strides and offset: the flash form's view of a
/// user tensor (any strides) of `shape` and `element`.
mlir::MemRefType stridedMemRefType(llvm::ArrayRef<int64_t> shape, mlir::Type element);
/// True when `value` is the constant `true` (a mask that keeps every pair, after
/// attn-simplify).
bool isConstantTrue(mlir::Value value);

/// The class of a (query tile, key tile) pair: whether any pair of it is kept, and
/// whether the mask must be applied element by element.
struct TilePairClass {
  mlir::Value live, partial; ///< i1
};
/// Emits attn.tile_mask_class for the tile pair q_idx ∈ [q0, q1], kv_idx ∈ [k0, k1]
/// and the two tests on its result.
TilePairClass classifyTilePair(mlir::OpBuilder &b, mlir::Location loc, attn::VariantOp variant,
                               mlir::Value batch, mlir::Value head, mlir::Value q0,
                               mlir::Value q1, mlir::Value k0, mlir::Value k1,
                               mlir::Value qLen, mlir::Value kvLen, mlir::ValueRange scalars);

/// Emits `emit(builder, applyMask)`: once with `!maskIsTrivial` when there is no
/// condition (`applyMaskCond` null: the tile pairs are not classified), else in both
/// branches of an scf.if on `applyMaskCond` (true in the then-branch).
void emitUnderMaskCondition(mlir::OpBuilder &b, mlir::Location loc, mlir::Value applyMaskCond,
                            bool maskIsTrivial,
                            llvm::function_ref<void(mlir::OpBuilder &, bool)> emit);

/// Calls `fn(flash, variant)` for each flash-form function of `module` (a func.func
/// with an `attn.variant` reference); an unknown variant is reported (prefixed with
/// `pass`) and stops the walk with failure.
mlir::LogicalResult
forEachFlashFunction(mlir::ModuleOp module, llvm::StringRef pass,
                     llvm::function_ref<mlir::LogicalResult(mlir::func::FuncOp,
                                                            attn::VariantOp)>
                         fn);

} // namespace attnc

#endif // ATTNC_COMPILER_TRANSFORMS_FLASHFORM_H
