//===- ScalarRegionEmitter.h - score_mod/mask_mod for one element -*- C++ -*-===//
//
// The GPU's shape of the modifier regions (codegen/ModifierRegionEmitter.h defines
// what they mean): the kernels evaluate a variant's regions once per (query, key)
// element in each thread, with scalar values. Control flow stays control flow (the
// lazy `&&`, `||` and `?:` of the expression language are scf.if, and only the
// branch taken runs, so guarded buffer reads stay guarded); a buffer read is a
// memref.load under its bounds check, and a buffer gradient (score_mod_vjp's
// attn.buffer_grad) an atomic add under the same check.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_SCALARREGIONEMITTER_H
#define ATTNC_COMPILER_TARGETS_CUDA_SCALARREGIONEMITTER_H

#include "compiler/codegen/ModifierRegionEmitter.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

namespace attnc::cuda {

struct GpuBuffer {
  mlir::Value memref; ///< the buffer argument (any strides)
  int64_t ordinal = 0;
};

class ScalarRegionEmitter : public codegen::ModifierRegionEmitter {
public:
  using ModifierRegionEmitter::ModifierRegionEmitter;

  llvm::StringMap<GpuBuffer> buffers; ///< name → buffer
  /// name → the gradient of a requires_grad buffer (f32, the buffer's shape), for
  /// the attn.buffer_grad ops of score_mod_vjp.
  llvm::StringMap<mlir::Value> grads;

private:
  mlir::Type shaped(mlir::Type scalar) override { return scalar; }
  mlir::Value constant(mlir::Attribute value, mlir::Type scalarType) override;
  mlir::Value scalar(mlir::Value value) override { return value; }
  void recordError(mlir::Value condition, int64_t code) override;
  mlir::Value readBuffer(attn::BufferLoadOp op, mlir::ArrayRef<mlir::Value> indices,
                         mlir::Value active) override;
  mlir::LogicalResult emitIf(mlir::scf::IfOp op, mlir::IRMapping &map,
                             mlir::Value active) override;
  /// An atomic add into the gradient, where `active` holds and the indices are in
  /// bounds: threads of a block, and blocks, may add to the same element.
  mlir::LogicalResult accumulateGrad(attn::BufferGradOp op, mlir::ArrayRef<mlir::Value> indices,
                                     mlir::Value value, mlir::Value active) override;
};

} // namespace attnc::cuda

#endif // ATTNC_COMPILER_TARGETS_CUDA_SCALARREGIONEMITTER_H
