//===- ModifierRegionEmitter.cpp - score_mod/mask_mod semantics, once ------===//
#include "compiler/codegen/ModifierRegionEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace attnc::codegen {

Value ModifierRegionEmitter::emit(Region &region, ArrayRef<Value> args, Value active) {
  IRMapping map;
  Block &block = region.front();
  for (auto [arg, value] : llvm::zip(block.getArguments(), args))
    map.map(arg, value);
  if (failed(emitBlock(block, map, active)))
    return {};
  auto yield = cast<attn::YieldOp>(block.getTerminator());
  return map.lookup(yield.getValue());
}

Value ModifierRegionEmitter::whereActive(Value condition, Value active) {
  return active ? Value(arith::AndIOp::create(b, loc, condition, active)) : condition;
}

Value ModifierRegionEmitter::constantLike(Value like, int64_t value) {
  Type type = like.getType();
  auto vec = dyn_cast<VectorType>(type);
  Type element = vec ? vec.getElementType() : type;
  TypedAttr attr = b.getIntegerAttr(element, value);
  if (vec)
    return arith::ConstantOp::create(b, loc, vec, DenseElementsAttr::get(vec, attr));
  return arith::ConstantOp::create(b, loc, type, attr);
}

bool isCheckedDivision(Operation *op) {
  return isa<arith::FloorDivSIOp, arith::CeilDivSIOp, arith::DivSIOp, arith::DivUIOp,
             arith::RemSIOp, arith::RemUIOp, arith::CeilDivUIOp>(op);
}

bool canRecordErrors(Region &region) {
  return region
      .walk([](Operation *op) {
        return isa<attn::BufferLoadOp>(op) || isCheckedDivision(op) ? WalkResult::interrupt()
                                                                     : WalkResult::advance();
      })
      .wasInterrupted();
}

Value ModifierRegionEmitter::inBounds(ArrayRef<Value> indices, ArrayRef<Value> sizes) {
  Value ok;
  for (auto [index, size] : llvm::zip(indices, sizes)) {
    Value inside = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, index, constantLike(index, 0)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, index, size));
    ok = ok ? Value(arith::AndIOp::create(b, loc, ok, inside)) : inside;
  }
  return ok;
}

Value ModifierRegionEmitter::guardedDivision(Operation *op, IRMapping &map, Value active) {
  Value lhs = map.lookup(op->getOperand(0));
  Value rhs = map.lookup(op->getOperand(1));
  Value zero = constantLike(rhs, 0), one = constantLike(rhs, 1);
  Value isZero = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rhs, zero);
  recordError(whereActive(isZero, active), kKernelStatusDivisionByZero);
  // x / -1 is -x (and x % -1 is 0); dividing by -1 would trap on INT64_MIN.
  Value isMinusOne =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rhs, constantLike(rhs, -1));
  Value safe = arith::SelectOp::create(
      b, loc, arith::OrIOp::create(b, loc, isZero, isMinusOne), one, rhs);
  OperationState state(loc, op->getName());
  state.addOperands({lhs, safe});
  state.addAttributes(op->getAttrs());
  state.addTypes(lhs.getType());
  Value result = b.create(state)->getResult(0);
  bool isRem = isa<arith::RemSIOp, arith::RemUIOp>(op);
  Value negOrZero = isRem ? zero : Value(arith::SubIOp::create(b, loc, zero, lhs));
  return arith::SelectOp::create(b, loc, isMinusOne, negOrZero, result);
}

LogicalResult ModifierRegionEmitter::emitBlock(Block &block, IRMapping &map, Value active) {
  for (Operation &op : block.without_terminator()) {
    if (auto cst = dyn_cast<arith::ConstantOp>(op)) {
      map.map(cst.getResult(), constant(cst.getValue(), cst.getType()));
      continue;
    }
    if (auto s = dyn_cast<attn::ScalarOp>(op)) {
      map.map(s.getResult(), scalar(scalars.lookup(s.getName())));
      continue;
    }
    if (auto load = dyn_cast<attn::BufferLoadOp>(op)) {
      SmallVector<Value> indices;
      for (Value index : load.getIndices())
        indices.push_back(map.lookup(index));
      map.map(load.getResult(), readBuffer(load, indices, active));
      continue;
    }
    if (auto grad = dyn_cast<attn::BufferGradOp>(op)) {
      SmallVector<Value> indices;
      for (Value index : grad.getIndices())
        indices.push_back(map.lookup(index));
      if (failed(accumulateGrad(grad, indices, map.lookup(grad.getValue()), active)))
        return failure();
      continue;
    }
    if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      if (failed(emitIf(ifOp, map, active)))
        return failure();
      continue;
    }
    if (isCheckedDivision(&op)) {
      map.map(op.getResult(0), guardedDivision(&op, map, active));
      continue;
    }
    if (op.getNumRegions() != 0)
      return op.emitError("unexpected op with regions in a modifier");
    // An elementwise arith/math op: the same op on the target's shape.
    OperationState state(op.getLoc(), op.getName());
    for (Value operand : op.getOperands())
      state.addOperands(map.lookup(operand));
    state.addAttributes(op.getAttrs());
    for (Type t : op.getResultTypes())
      state.addTypes(shaped(t));
    Operation *clone = b.create(state);
    for (auto [from, to] : llvm::zip(op.getResults(), clone->getResults()))
      map.map(from, to);
  }
  return success();
}

} // namespace attnc::codegen
