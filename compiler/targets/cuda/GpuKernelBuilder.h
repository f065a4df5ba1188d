//===- GpuKernelBuilder.h - building the GPU flash kernels --------*- C++ -*-===//
//
// Private to the CUDA target: attn-lower-flash-to-gpu's builder, shared by the
// launch set-up (LowerFlashToGpu.cpp), the SIMT kernel (SimtKernel.cpp) and the
// tensor-core kernel (TensorCoreKernel.cpp), with small helpers for emitting loops,
// branches and fragment accesses.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_GPUKERNELBUILDER_H
#define ATTNC_COMPILER_TARGETS_CUDA_GPUKERNELBUILDER_H

#include "compiler/targets/cuda/CudaPipeline.h"
#include "compiler/targets/cuda/Passes.h"
#include "compiler/targets/cuda/ScalarRegionEmitter.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <limits>

namespace attnc::cuda::detail {

// A private header of the CUDA target: its builder is written in MLIR's terms.
using namespace mlir;

class GpuKernelBuilder {
public:
  GpuKernelBuilder(func::FuncOp flash, attn::VariantOp variant, bool tensorCores,
                   int64_t stages)
      : flash(flash), variant(variant), b(flash), loc(flash.getLoc()),
        tensorCores(tensorCores), stages(stages) {}

  LogicalResult build();

private:
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value f32(double v) {
    return arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(float(v)));
  }
  Value negInf() { return f32(-std::numeric_limits<double>::infinity()); }
  Value toI64(Value index) { return arith::IndexCastOp::create(b, loc, b.getI64Type(), index); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value load(Value memref, ValueRange indices) {
    return memref::LoadOp::create(b, loc, memref, indices);
  }
  void store(Value v, Value memref, ValueRange indices) {
    memref::StoreOp::create(b, loc, v, memref, indices);
  }
  /// A tensor element as f32.
  Value loadF32(Value memref, ValueRange indices) {
    Value v = load(memref, indices);
    return v.getType().isF32() ? v : Value(arith::ExtFOp::create(b, loc, b.getF32Type(), v));
  }
  /// scf.for over [lb, ub) with `body(iv, iterArgs) -> yielded`.
  scf::ForOp loop(Value lb, Value ub, Value step, ValueRange inits,
                  function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto forOp = scf::ForOp::create(b, loc, lb, ub, step, inits);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    SmallVector<Value> yielded = body(forOp.getInductionVar(), forOp.getRegionIterArgs());
    Block *block = forOp.getBody();
    if (!block->empty() && isa<scf::YieldOp>(block->back()))
      block->back().erase(); // the builder's implicit yield, replaced by ours
    b.setInsertionPointToEnd(block);
    scf::YieldOp::create(b, loc, yielded);
    return forOp;
  }
  /// scf.if with a then-branch only.
  void ifThen(Value cond, function_ref<void()> then) {
    auto ifOp = scf::IfOp::create(b, loc, cond, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    then();
  }
  /// scf.if yielding one value.
  Value ifElse(Value cond, Type type, function_ref<Value()> then, function_ref<Value()> orElse) {
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{type}, cond, /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, then());
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, orElse());
    return ifOp.getResult(0);
  }

  void emitKernel(gpu::LaunchOp launch);
  void stageTile(Value k0, Value tid, Value batch, Value kvHead);
  void updateRow(Value k0, Value partial, Value batch, Value head, Value row);

  // The tensor-core kernel (f16, bf16): block-q / 16 warps of 16 query rows,
  // mma.sync m16n8k16, `stages` K/V tiles in flight.
  bool useTensorCores();
  int64_t tcThreads() const { return BQ / 16 * 32; }
  void emitTensorCoreKernel(gpu::LaunchOp launch);
  /// Copies rows [r0, r0 + rows) x [0, cols) of a 4-D tensor (b, head, row, col) into
  /// a workgroup tile, zero outside `limit` rows and `valid` columns.
  void stageF16(Value tensor, Value tile, ValueRange prefix, Value batch, Value head,
                Value r0, int64_t rows, int64_t cols, int64_t valid, Value limit, Value tid,
                int64_t threads);
  /// The same with cp.async into tile[buf] (16-byte chunks; the caller commits).
  void stageAsync(Value tensor, Value tile, Value buf, Value batch, Value head, Value r0,
                  int64_t rows, int64_t cols, int64_t valid, Value limit, Value tid,
                  int64_t threads);
  /// Whether every 8-element chunk of `tensor`'s rows is 16-byte aligned (cp.async).
  Value cpAsyncAligned(Value tensor);
  /// `tensor` retyped with a static innermost stride of 1 (where cpAsyncAligned).
  Value withUnitInnerStride(Value tensor);
  Value extract(Value v, int64_t i, int64_t j) {
    return vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{i, j});
  }
  Value insert(Value x, Value v, int64_t i, int64_t j) {
    return vector::InsertOp::create(b, loc, x, v, ArrayRef<int64_t>{i, j});
  }
  Value quadReduce(Value v, bool isMax);

  func::FuncOp flash;
  attn::VariantOp variant;
  OpBuilder b;
  Location loc;

  int64_t BQ = 0, BK = 0, D = 0, DV = 0, H = 0, HKV = 0;
  int64_t Dp = 0, DVp = 0; ///< head dims padded for the tensor cores (16, 8)
  bool tensorCores = false;
  int64_t stages = 2; ///< K/V tiles in workgroup memory (the cp.async pipeline depth)
  Type half; ///< the tensor-core kernel's element type: f16 or bf16
  float scale = 1;
  Value q, k, v, out, lse, status, qLen, kvLen;
  SmallVector<Value> scalarArgs;
  ScalarRegionEmitter *mods = nullptr;
  // Per thread: the query row, the accumulator, the tile's scores, (max, sum).
  Value qRow, acc, scores, state;
  // Per block: the staged K and V tiles.
  Value kTile, vTile;
};


} // namespace attnc::cuda::detail

#endif // ATTNC_COMPILER_TARGETS_CUDA_GPUKERNELBUILDER_H
