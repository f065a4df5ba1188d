//===- ScalarRegionEmitter.cpp - score_mod/mask_mod for one element --------===//
#include "compiler/targets/cuda/ScalarRegionEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace attnc::cuda {

void ScalarRegionEmitter::recordError(Value condition, int64_t code) {
  auto ifOp = scf::IfOp::create(b, loc, condition, /*withElse=*/false);
  OpBuilder tb = ifOp.getThenBodyBuilder();
  Value c = arith::ConstantIntOp::create(tb, loc, code, 64);
  Value zero = arith::ConstantIndexOp::create(tb, loc, 0);
  memref::StoreOp::create(tb, loc, c, status, ValueRange{zero});
}

Value ScalarRegionEmitter::emit(Region &region, ArrayRef<Value> args) {
  IRMapping map;
  Block &block = region.front();
  for (auto [arg, value] : llvm::zip(block.getArguments(), args))
    map.map(arg, value);
  if (failed(emitBlock(block, map)))
    return {};
  auto yield = cast<attn::YieldOp>(block.getTerminator());
  return map.lookup(yield.getValue());
}

Value ScalarRegionEmitter::emitBufferLoad(attn::BufferLoadOp op, IRMapping &map) {
  const GpuBuffer &buffer = buffers.find(op.getBuffer())->second;
  Value inBounds = arith::ConstantIntOp::create(b, loc, 1, 1);
  SmallVector<Value> indices;
  for (auto [d, index] : llvm::enumerate(op.getIndices())) {
    Value i = arith::IndexCastOp::create(b, loc, b.getIndexType(), map.lookup(index));
    Value size = memref::DimOp::create(b, loc, buffer.memref, int64_t(d));
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value ok = arith::AndIOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, i, zero),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i, size));
    inBounds = arith::AndIOp::create(b, loc, inBounds, ok);
    indices.push_back(i);
  }
  Type type = op.getType();
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{type}, inBounds, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value v = memref::LoadOp::create(b, loc, buffer.memref, indices);
    scf::YieldOp::create(b, loc, v);
    b.setInsertionPointToStart(ifOp.elseBlock());
    Value c = arith::ConstantIntOp::create(b, loc, kKernelStatusBufferBase + buffer.ordinal, 64);
    memref::StoreOp::create(b, loc, c, status,
                            ValueRange{arith::ConstantIndexOp::create(b, loc, 0)});
    scf::YieldOp::create(b, loc, ValueRange{arith::ConstantOp::create(
                                     b, loc, type, b.getZeroAttr(type))});
  }
  return ifOp.getResult(0);
}

Value ScalarRegionEmitter::emitDivision(Operation *op, IRMapping &map) {
  Value lhs = map.lookup(op->getOperand(0));
  Value rhs = map.lookup(op->getOperand(1));
  Type t = rhs.getType();
  Value zero = arith::ConstantOp::create(b, loc, t, b.getIntegerAttr(t, 0));
  Value one = arith::ConstantOp::create(b, loc, t, b.getIntegerAttr(t, 1));
  Value minusOne = arith::ConstantOp::create(b, loc, t, b.getIntegerAttr(t, -1));
  Value isZero = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rhs, zero);
  recordError(isZero, kKernelStatusDivisionByZero);
  // x / -1 is -x (and x % -1 is 0); dividing by -1 would trap on INT64_MIN.
  Value isMinusOne = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rhs, minusOne);
  Value safe = arith::SelectOp::create(
      b, loc, arith::OrIOp::create(b, loc, isZero, isMinusOne), one, rhs);
  OperationState state(loc, op->getName());
  state.addOperands({lhs, safe});
  state.addAttributes(op->getAttrs());
  state.addTypes(t);
  Value result = b.create(state)->getResult(0);
  bool isRem = isa<arith::RemSIOp, arith::RemUIOp>(op);
  Value negOrZero = isRem ? zero : Value(arith::SubIOp::create(b, loc, zero, lhs));
  return arith::SelectOp::create(b, loc, isMinusOne, negOrZero, result);
}

LogicalResult ScalarRegionEmitter::emitBlock(Block &block, IRMapping &map) {
  for (Operation &op : block.without_terminator()) {
    if (auto scalar = dyn_cast<attn::ScalarOp>(op)) {
      map.map(scalar.getResult(), scalars.lookup(scalar.getName()));
      continue;
    }
    if (auto load = dyn_cast<attn::BufferLoadOp>(op)) {
      map.map(load.getResult(), emitBufferLoad(load, map));
      continue;
    }
    if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      // Lazy: only the branch taken runs (guarded buffer reads stay guarded).
      bool hasElse = !ifOp.getElseRegion().empty();
      auto newIf = scf::IfOp::create(b, loc, ifOp.getResultTypes(),
                                     map.lookup(ifOp.getCondition()), hasElse);
      for (auto [from, to] : {std::pair<Region *, Region *>{&ifOp.getThenRegion(),
                                                            &newIf.getThenRegion()},
                              {&ifOp.getElseRegion(), &newIf.getElseRegion()}}) {
        if (from->empty())
          continue;
        OpBuilder::InsertionGuard guard(b);
        Block &target = to->front();
        if (!target.empty())
          target.getTerminator()->erase();
        b.setInsertionPointToEnd(&target);
        if (failed(emitBlock(from->front(), map)))
          return failure();
        SmallVector<Value> yielded;
        for (Value v : from->front().getTerminator()->getOperands())
          yielded.push_back(map.lookup(v));
        scf::YieldOp::create(b, loc, yielded);
      }
      for (auto [from, to] : llvm::zip(ifOp.getResults(), newIf.getResults()))
        map.map(from, to);
      continue;
    }
    if (isa<arith::FloorDivSIOp, arith::CeilDivSIOp, arith::DivSIOp, arith::DivUIOp,
            arith::RemSIOp, arith::RemUIOp, arith::CeilDivUIOp>(op)) {
      map.map(op.getResult(0), emitDivision(&op, map));
      continue;
    }
    if (op.getNumRegions() != 0)
      return op.emitError("attn-lower-flash-to-gpu: unexpected op with regions in a "
                          "modifier");
    b.clone(op, map);
  }
  return success();
}

} // namespace attnc::cuda
