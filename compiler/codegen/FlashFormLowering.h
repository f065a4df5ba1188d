//===- FlashFormLowering.h - one walk of the flash form, per-target tile ops -*- C++ -*-===//
//
// Every target lowers the same flash form (attn-tile-flash's output) by walking it
// in program order: arith ops are cloned, loops and branches are rebuilt, and each
// attn.tile_* op is handed to the target's realisation of it (vector micro-kernels
// on the CPU, a thread's row on SIMT, mma fragments on tensor cores). The walk is
// defined here once; a target subclasses FlashFormLowering and implements the
// hooks. A target that keeps the running state of a query tile (accumulator,
// max, sum, scores) in SSA values rather than memory says so through
// runningState()/setRunningState(): the walk then carries those values through
// the loops and branches it rebuilds (iter_args and results).
//
// Example (CPU): in
//   scf.parallel (%b, %h, %qt) ... {
//     %s = memref.alloca() {attn.scratch = "scores"} : memref<64x64xf32>
//     attn.tile_init %acc, %m, %l ...
//     scf.for %kt = %c0 to %nkv step %c1 {
//       attn.tile_scores %q[%b, %h, %q0], %k[_, %g, %k0] into %s scale(...)
//       ...
// emitQueryTiles() turns the parallel loop into the loop over a thread's work
// items, realizeScratch() maps %s to a stack buffer, and emitScores() emits the
// Q·Kᵀ micro-kernel for the tile_scores op.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_CODEGEN_FLASHFORMLOWERING_H
#define ATTNC_COMPILER_CODEGEN_FLASHFORMLOWERING_H

#include "compiler/codegen/KernelBuilder.h"
#include "compiler/transforms/FlashForm.h"

#include "mlir/IR/IRMapping.h"

namespace attnc::codegen {

class FlashFormLowering : public KernelBuilder {
public:
  FlashFormLowering(mlir::func::FuncOp flash, attn::VariantOp variant,
                    const FlashFormDetail &form, llvm::StringRef pass)
      : KernelBuilder(flash, flash.getLoc()), flash(flash), variant(variant), form(form),
        pass(pass) {}
  virtual ~FlashFormLowering() = default;

protected:
  /// Emits every op of `block` but its terminator (func.return goes to emitReturn).
  mlir::LogicalResult emitOps(mlir::Block &block);
  /// Emits one op of the flash form.
  mlir::LogicalResult emitOp(mlir::Operation &op);
  /// Rebuilds an scf.for, carrying the running state through iter_args.
  mlir::LogicalResult emitFor(mlir::scf::ForOp op);
  /// Rebuilds an scf.if, carrying the running state through its results.
  mlir::LogicalResult emitIf(mlir::scf::IfOp op);
  /// Emits the key loop's body for key tile `kt` (for a target that builds its
  /// own key loop in emitKeyLoop).
  mlir::LogicalResult emitKeyTile(mlir::Value kt);
  /// The class (0 empty, 1 full, 2 partial) of key tile `kt` for the current query
  /// tile, from the key loop's attn.tile_mask_class re-emitted for `kt`; null when
  /// the flash form classifies no tile (every tile is computed).
  mlir::Value maskClassOf(mlir::Value kt);
  /// Whether the key loop classifies its tiles (has an attn.tile_mask_class).
  bool classifiesKeyTiles() {
    return !form.keyLoop().getBody()->getOps<attn::TileMaskClassOp>().empty();
  }
  /// The key loop's attn.tile_scores (its query-side operands are loop invariant),
  /// or null after an error.
  attn::TileScoresOp keyLoopScores();
  /// The `scale` of a tile op (tile_scores, tile_key_grad, tile_query_grad): the
  /// factor its products are multiplied by, an f64 attribute.
  template <typename OpT> static double scaleOf(OpT op) {
    return op.getScale().convertToDouble();
  }
  /// `v` of the flash form in the code being built.
  mlir::Value lookup(mlir::Value v) const { return map.lookupOrDefault(v); }
  /// An error on `op`, prefixed with the pass.
  mlir::InFlightDiagnostic error(mlir::Operation *op, const llvm::Twine &message) {
    return op->emitError(pass) << ": " << message;
  }

  // --- structure: what the target makes of the flash form's loops and tiles ---
  /// The parallel loop over (batch, head, query tile): map its induction
  /// variables and emit its body (emitOps).
  virtual mlir::LogicalResult emitQueryTiles(mlir::scf::ParallelOp op) = 0;
  /// A scratch tile with its role ("scores", "acc", "max", "sum", "alpha").
  virtual mlir::LogicalResult realizeScratch(mlir::memref::AllocaOp op,
                                             llvm::StringRef role) = 0;
  /// A memref.dim of an argument (cloned unless the target passes sizes itself).
  virtual mlir::LogicalResult emitDim(mlir::memref::DimOp op) {
    b.clone(*op, map);
    return mlir::success();
  }
  /// The loop over key tiles (a plain rebuilt loop unless the target pipelines).
  virtual mlir::LogicalResult emitKeyLoop(mlir::scf::ForOp op) { return emitFor(op); }
  virtual mlir::LogicalResult emitReturn(mlir::func::ReturnOp op) {
    mlir::func::ReturnOp::create(b, loc);
    return mlir::success();
  }
  /// The running state kept in SSA values (none when it lives in memory).
  virtual llvm::SmallVector<mlir::Value> runningState() { return {}; }
  virtual void setRunningState(mlir::ValueRange state) {}

  // --- the tile ops (tile_scores occurs in both forms; the forward's others are
  // errors in a backward lowering, which keeps these) ---
  virtual mlir::LogicalResult emitScores(attn::TileScoresOp op) = 0;
  virtual mlir::LogicalResult emitInit(attn::TileInitOp op) { return notForward(op); }
  virtual mlir::LogicalResult emitMods(attn::TileModsOp op) { return notForward(op); }
  virtual mlir::LogicalResult emitSoftmax(attn::TileSoftmaxOp op) { return notForward(op); }
  virtual mlir::LogicalResult emitPV(attn::TilePVOp op) { return notForward(op); }
  virtual mlir::LogicalResult emitStore(attn::TileStoreOp op) { return notForward(op); }
  /// The error of a backward lowering given a forward tile op.
  mlir::LogicalResult notForward(mlir::Operation *op) {
    return error(op, "a forward tile op in the backward flash form");
  }

  // --- the backward form's tile ops (a target without a backward lowering keeps
  // these, which report the op) ---
  virtual mlir::LogicalResult emitZero(attn::TileZeroOp op) { return noBackward(op); }
  virtual mlir::LogicalResult emitDelta(attn::TileDeltaOp op) { return noBackward(op); }
  virtual mlir::LogicalResult emitProbs(attn::TileProbsOp op) { return noBackward(op); }
  virtual mlir::LogicalResult emitDScores(attn::TileDScoresOp op) { return noBackward(op); }
  virtual mlir::LogicalResult emitKeyGrad(attn::TileKeyGradOp op) { return noBackward(op); }
  virtual mlir::LogicalResult emitQueryGrad(attn::TileQueryGradOp op) {
    return noBackward(op);
  }
  virtual mlir::LogicalResult emitKeyStore(attn::TileKeyStoreOp op) { return noBackward(op); }
  /// The error of a target that does not lower the backward form.
  mlir::LogicalResult noBackward(mlir::Operation *op) {
    return error(op, "this target does not lower the backward flash form");
  }

  mlir::func::FuncOp flash;
  attn::VariantOp variant;
  FlashFormDetail form;
  llvm::StringRef pass;
  mlir::IRMapping map;

  /// Replaces the implicit terminator of `block` (if any) by a yield of the
  /// running state, which must have the types `expected`.
  mlir::LogicalResult yieldState(mlir::Block *block, mlir::TypeRange expected,
                                 mlir::Operation *flashOp);

  /// Maps the result of `op` (0 skip, 1 full, 2 partial) to the tile's class from
  /// the interval analysis (MaskIntervals.h), its operands looked up in `at`.
  virtual mlir::LogicalResult emitMaskClassOp(attn::TileMaskClassOp op,
                                              const mlir::IRMapping &at);

private:
  mlir::LogicalResult emitTileOp(mlir::Operation &op);
};

} // namespace attnc::codegen

#endif // ATTNC_COMPILER_CODEGEN_FLASHFORMLOWERING_H
