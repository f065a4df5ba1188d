//===- RegionVectorizer.h - score_mod/mask_mod on whole vectors ---*- C++ -*-===//
//
// The CPU's shape of the modifier regions (codegen/ModifierRegionEmitter.h defines
// what they mean): every value widened to a vector of `width` lanes (one lane per
// key), so a tile row is modified with SIMD code. Control flow becomes masking: the
// branches of an scf.if run under the lanes where the condition holds (buffer reads
// there are masked gathers), and the results are blended with selects. An error is
// recorded when any active lane has one. A score_mod_vjp's attn.buffer_grad adds
// lane by lane, in lane order (lanes may hit the same element).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CPU_REGIONVECTORIZER_H
#define ATTNC_COMPILER_TARGETS_CPU_REGIONVECTORIZER_H

#include "compiler/codegen/ModifierRegionEmitter.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

namespace attnc::cpu {

/// A run-time buffer as the kernel sees it: a 1-D view of its memory, and its
/// sizes and strides as i64 scalars.
struct BufferAccess {
  mlir::Value base; ///< memref<?xT, strided<[1], offset: ?>>
  llvm::SmallVector<mlir::Value> sizes, strides;
  int64_t ordinal = 0;
};

class RegionVectorizer : public codegen::ModifierRegionEmitter {
public:
  RegionVectorizer(mlir::OpBuilder &b, mlir::Location loc, int64_t width,
                   mlir::Value status)
      : ModifierRegionEmitter(b, loc, status), width(width) {}

  llvm::StringMap<BufferAccess> buffers; ///< name → access
  /// name → the f32 gradient of a requires_grad buffer (score_mod_vjp only)
  llvm::StringMap<BufferAccess> grads;

  mlir::Type shaped(mlir::Type scalar) override;

private:
  mlir::Value constant(mlir::Attribute value, mlir::Type scalarType) override;
  mlir::Value scalar(mlir::Value value) override;
  void recordError(mlir::Value laneMask, int64_t code) override;
  mlir::Value readBuffer(attn::BufferLoadOp op, mlir::ArrayRef<mlir::Value> indices,
                         mlir::Value active) override;
  mlir::LogicalResult emitIf(mlir::scf::IfOp op, mlir::IRMapping &map,
                             mlir::Value active) override;
  mlir::LogicalResult accumulateGrad(attn::BufferGradOp op, mlir::ArrayRef<mlir::Value> indices,
                                     mlir::Value value, mlir::Value active) override;
  /// The element offset sum(index * stride) of `indices` in `access`, and whether
  /// they are in bounds, lane by lane.
  std::pair<mlir::Value, mlir::Value> elementOffset(const BufferAccess &access,
                                                    mlir::ArrayRef<mlir::Value> indices);
  /// The read as a masked gather over the active lanes in bounds (the others read
  /// nothing and set the status where active).
  mlir::Value gatherBuffer(const BufferAccess &access, mlir::ArrayRef<mlir::Value> indices,
                           mlir::Value active, mlir::Type elementType);
  /// The scalar s when every lane of `v` is s (a broadcast, a splat constant, or
  /// addi/subi/muli of such), rebuilt as a scalar; null otherwise.
  mlir::Value uniformScalar(mlir::Value v);
  /// The scalar s when lane i of `v` is s + i (a key index: a uniform value plus the
  /// lane numbers, give or take uniform values); null otherwise.
  mlir::Value unitStrideBase(mlir::Value v);
  /// The read when every index is uniform (`at`): one bounds check and one scalar
  /// load, broadcast (ALiBi's slopes[h], a document id doc[q_idx]).
  mlir::Value readUniform(const BufferAccess &access, mlir::ArrayRef<mlir::Value> at,
                          mlir::Value active, mlir::Type elementType);
  /// The read when index `dim` is at[dim] + lane and the others uniform: where that
  /// dimension's stride is 1 and all `width` elements are in bounds, one vector load
  /// (doc[kv_idx]); else the gather.
  mlir::Value readContiguous(const BufferAccess &access, mlir::ArrayRef<mlir::Value> indices,
                             mlir::ArrayRef<mlir::Value> at, unsigned dim, mlir::Value active,
                             mlir::Type elementType);

  int64_t width;
};

} // namespace attnc::cpu

#endif // ATTNC_COMPILER_TARGETS_CPU_REGIONVECTORIZER_H
