//===- KernelBuilder.h - the builder every kernel emitter uses ----*- C++ -*-===//
//
// An OpBuilder with a fixed location and the handful of shorthands the kernel
// emitters of every target need (index and f32 constants, index arithmetic,
// loads and stores, structured loops and branches written as lambdas). One
// definition, so the CPU, SIMT and tensor-core emitters read alike.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_CODEGEN_KERNELBUILDER_H
#define ATTNC_COMPILER_CODEGEN_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

#include <limits>

namespace attnc::codegen {

class KernelBuilder {
public:
  KernelBuilder(mlir::Operation *insertBefore, mlir::Location loc)
      : b(insertBefore), loc(loc) {}

  /// An index constant.
  mlir::Value idx(int64_t v) { return mlir::arith::ConstantIndexOp::create(b, loc, v); }
  /// An f32 constant.
  mlir::Value f32(double v) {
    return mlir::arith::ConstantFloatOp::create(b, loc, b.getF32Type(),
                                                llvm::APFloat(float(v)));
  }
  /// The f32 constant -inf (a masked score).
  mlir::Value negInf() { return f32(-std::numeric_limits<double>::infinity()); }
  mlir::Value add(mlir::Value x, mlir::Value y) {
    return mlir::arith::AddIOp::create(b, loc, x, y);
  }
  mlir::Value sub(mlir::Value x, mlir::Value y) {
    return mlir::arith::SubIOp::create(b, loc, x, y);
  }
  mlir::Value mul(mlir::Value x, mlir::Value y) {
    return mlir::arith::MulIOp::create(b, loc, x, y);
  }
  mlir::Value mulc(mlir::Value x, int64_t c) { return mul(x, idx(c)); }
  mlir::Value divc(mlir::Value x, int64_t c) {
    return mlir::arith::DivUIOp::create(b, loc, x, idx(c));
  }
  mlir::Value remc(mlir::Value x, int64_t c) {
    return mlir::arith::RemUIOp::create(b, loc, x, idx(c));
  }
  mlir::Value minu(mlir::Value x, mlir::Value y) {
    return mlir::arith::MinUIOp::create(b, loc, x, y);
  }
  mlir::Value cmp(mlir::arith::CmpIPredicate p, mlir::Value x, mlir::Value y) {
    return mlir::arith::CmpIOp::create(b, loc, p, x, y);
  }
  mlir::Value ult(mlir::Value x, mlir::Value y) {
    return cmp(mlir::arith::CmpIPredicate::ult, x, y);
  }
  mlir::Value andi(mlir::Value x, mlir::Value y) {
    return mlir::arith::AndIOp::create(b, loc, x, y);
  }
  mlir::Value select(mlir::Value c, mlir::Value x, mlir::Value y) {
    return mlir::arith::SelectOp::create(b, loc, c, x, y);
  }
  mlir::Value toI64(mlir::Value index) {
    return mlir::arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  }
  /// The last index of the tile starting at `first` with `size` entries, clipped
  /// to `length`: min(first + size, length) - 1.
  mlir::Value tileLast(mlir::Value first, int64_t size, mlir::Value length) {
    return sub(minu(add(first, idx(size)), length), idx(1));
  }
  mlir::Value load(mlir::Value memref, mlir::ValueRange indices) {
    return mlir::memref::LoadOp::create(b, loc, memref, indices);
  }
  void store(mlir::Value v, mlir::Value memref, mlir::ValueRange indices) {
    mlir::memref::StoreOp::create(b, loc, v, memref, indices);
  }
  /// A tensor element as f32.
  mlir::Value loadF32(mlir::Value memref, mlir::ValueRange indices) {
    mlir::Value v = load(memref, indices);
    return v.getType().isF32()
               ? v
               : mlir::Value(mlir::arith::ExtFOp::create(b, loc, b.getF32Type(), v));
  }
  /// scf.for over [lb, ub) with `body(iv, iterArgs) -> yielded`.
  mlir::scf::ForOp
  loop(mlir::Value lb, mlir::Value ub, mlir::Value step, mlir::ValueRange inits,
       llvm::function_ref<llvm::SmallVector<mlir::Value>(mlir::Value, mlir::ValueRange)>
           body) {
    auto forOp = mlir::scf::ForOp::create(b, loc, lb, ub, step, inits);
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    llvm::SmallVector<mlir::Value> yielded =
        body(forOp.getInductionVar(), forOp.getRegionIterArgs());
    mlir::Block *block = forOp.getBody();
    if (!block->empty() && llvm::isa<mlir::scf::YieldOp>(block->back()))
      block->back().erase(); // the builder's implicit yield, replaced by ours
    b.setInsertionPointToEnd(block);
    mlir::scf::YieldOp::create(b, loc, yielded);
    return forOp;
  }
  /// scf.for over [lb, ub) without loop-carried values.
  void forEach(mlir::Value lb, mlir::Value ub, mlir::Value step,
               llvm::function_ref<void(mlir::Value)> body) {
    loop(lb, ub, step, {}, [&](mlir::Value iv, mlir::ValueRange) {
      body(iv);
      return llvm::SmallVector<mlir::Value>{};
    });
  }
  /// scf.if with a then-branch only.
  void ifThen(mlir::Value cond, llvm::function_ref<void()> then) {
    auto ifOp = mlir::scf::IfOp::create(b, loc, cond, /*withElse=*/false);
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    then();
  }
  /// scf.if yielding one value.
  mlir::Value ifElse(mlir::Value cond, mlir::Type type, llvm::function_ref<mlir::Value()> then,
                     llvm::function_ref<mlir::Value()> orElse) {
    auto ifOp = mlir::scf::IfOp::create(b, loc, mlir::TypeRange{type}, cond, /*withElse=*/true);
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    mlir::scf::YieldOp::create(b, loc, then());
    b.setInsertionPointToStart(ifOp.elseBlock());
    mlir::scf::YieldOp::create(b, loc, orElse());
    return ifOp.getResult(0);
  }
  /// scf.if yielding several values.
  mlir::ValueRange ifElse(mlir::Value cond, mlir::TypeRange types,
                          llvm::function_ref<llvm::SmallVector<mlir::Value>()> then,
                          llvm::function_ref<llvm::SmallVector<mlir::Value>()> orElse) {
    auto ifOp = mlir::scf::IfOp::create(b, loc, types, cond, /*withElse=*/true);
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    mlir::scf::YieldOp::create(b, loc, then());
    b.setInsertionPointToStart(ifOp.elseBlock());
    mlir::scf::YieldOp::create(b, loc, orElse());
    return ifOp.getResults();
  }

  mlir::OpBuilder b;
  mlir::Location loc;
};

} // namespace attnc::codegen

#endif // ATTNC_COMPILER_CODEGEN_KERNELBUILDER_H
