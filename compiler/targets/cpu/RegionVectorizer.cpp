//===- RegionVectorizer.cpp - score_mod/mask_mod on whole vectors ----------===//
#include "compiler/targets/cpu/RegionVectorizer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace attnc::cpu {

Type RegionVectorizer::widen(Type scalar) const {
  return VectorType::get({width}, scalar);
}

Value RegionVectorizer::splat(Attribute scalarValue, Type scalarType) {
  auto type = cast<VectorType>(widen(scalarType));
  return arith::ConstantOp::create(
      b, loc, type, DenseElementsAttr::get(type, scalarValue));
}

void RegionVectorizer::recordErrorIfAny(Value laneMask, int64_t code) {
  Value any = vector::ReductionOp::create(b, loc, vector::CombiningKind::OR, laneMask);
  auto ifOp = scf::IfOp::create(b, loc, any, /*withElse=*/false);
  OpBuilder tb = ifOp.getThenBodyBuilder();
  Value c = arith::ConstantIntOp::create(tb, loc, code, 64);
  Value zero = arith::ConstantIndexOp::create(tb, loc, 0);
  memref::StoreOp::create(tb, loc, c, status, ValueRange{zero});
}

Value RegionVectorizer::emit(Region &region, ArrayRef<Value> args, Value active) {
  IRMapping map;
  Block &block = region.front();
  for (auto [arg, value] : llvm::zip(block.getArguments(), args))
    map.map(arg, value);
  if (failed(emitBlock(block, map, active)))
    return {};
  auto yield = cast<attn::YieldOp>(block.getTerminator());
  return map.lookup(yield.getValue());
}

Value RegionVectorizer::emitBufferLoad(attn::BufferLoadOp op, IRMapping &map,
                                       Value active) {
  const BufferAccess &access = buffers.find(op.getBuffer())->second;
  auto i64Vec = cast<VectorType>(widen(b.getI64Type()));
  Value zero = splat(b.getI64IntegerAttr(0), b.getI64Type());
  Value inBounds = active;
  Value offset = zero;
  for (auto [d, index] : llvm::enumerate(op.getIndices())) {
    Value idx = map.lookup(index);
    Value size = vector::BroadcastOp::create(b, loc, i64Vec, access.sizes[d]);
    Value stride = vector::BroadcastOp::create(b, loc, i64Vec, access.strides[d]);
    Value ok = arith::AndIOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, idx, zero),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, idx, size));
    inBounds = arith::AndIOp::create(b, loc, inBounds, ok);
    offset = arith::AddIOp::create(b, loc, offset,
                                   arith::MulIOp::create(b, loc, idx, stride));
  }
  // Lanes that are active but out of range: report, and read nothing for them.
  Value outOfRange = arith::AndIOp::create(
      b, loc, active,
      arith::XOrIOp::create(b, loc, inBounds,
                            splat(b.getBoolAttr(true), b.getI1Type())));
  recordErrorIfAny(outOfRange, kKernelStatusBufferBase + access.ordinal);
  Type elementType = op.getType();
  auto resultType = cast<VectorType>(widen(elementType));
  Value passThru = splat(b.getZeroAttr(elementType), elementType);
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  return vector::GatherOp::create(b, loc, resultType, access.base, ValueRange{c0},
                                  offset, inBounds, passThru);
}

Value RegionVectorizer::emitDivision(Operation *op, IRMapping &map, Value active) {
  Value lhs = map.lookup(op->getOperand(0));
  Value rhs = map.lookup(op->getOperand(1));
  Type elt = cast<VectorType>(rhs.getType()).getElementType();
  Value zero = splat(b.getIntegerAttr(elt, 0), elt);
  Value one = splat(b.getIntegerAttr(elt, 1), elt);
  Value minusOne = splat(b.getIntegerAttr(elt, -1), elt);
  Value isZero = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rhs, zero);
  recordErrorIfAny(arith::AndIOp::create(b, loc, isZero, active),
                   kKernelStatusDivisionByZero);
  // x / -1 is -x (and x % -1 is 0); dividing by -1 would trap on INT64_MIN.
  Value isMinusOne =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rhs, minusOne);
  Value safe = arith::SelectOp::create(
      b, loc, arith::OrIOp::create(b, loc, isZero, isMinusOne), one, rhs);
  OperationState state(loc, op->getName());
  state.addOperands({lhs, safe});
  state.addAttributes(op->getAttrs());
  state.addTypes(lhs.getType());
  Value result = b.create(state)->getResult(0);
  bool isRem = isa<arith::RemSIOp, arith::RemUIOp>(op);
  Value negOrZero =
      isRem ? zero : Value(arith::SubIOp::create(b, loc, zero, lhs));
  return arith::SelectOp::create(b, loc, isMinusOne, negOrZero, result);
}

LogicalResult RegionVectorizer::emitBlock(Block &block, IRMapping &map, Value active) {
  for (Operation &op : block.without_terminator()) {
    if (auto cst = dyn_cast<arith::ConstantOp>(op)) {
      map.map(cst.getResult(), splat(cst.getValue(), cst.getType()));
      continue;
    }
    if (auto scalar = dyn_cast<attn::ScalarOp>(op)) {
      Value v = scalars.lookup(scalar.getName());
      map.map(scalar.getResult(),
              vector::BroadcastOp::create(b, loc, widen(v.getType()), v));
      continue;
    }
    if (auto load = dyn_cast<attn::BufferLoadOp>(op)) {
      map.map(load.getResult(), emitBufferLoad(load, map, active));
      continue;
    }
    if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      Value cond = map.lookup(ifOp.getCondition());
      Value notCond = arith::XOrIOp::create(b, loc, cond,
                                            splat(b.getBoolAttr(true), b.getI1Type()));
      Value thenActive = arith::AndIOp::create(b, loc, active, cond);
      Value elseActive = arith::AndIOp::create(b, loc, active, notCond);
      if (failed(emitBlock(ifOp.getThenRegion().front(), map, thenActive)))
        return failure();
      SmallVector<Value> thenValues, elseValues;
      for (Value v : ifOp.thenYield().getOperands())
        thenValues.push_back(map.lookup(v));
      if (!ifOp.getElseRegion().empty()) {
        if (failed(emitBlock(ifOp.getElseRegion().front(), map, elseActive)))
          return failure();
        for (Value v : ifOp.elseYield().getOperands())
          elseValues.push_back(map.lookup(v));
      }
      for (auto [i, result] : llvm::enumerate(ifOp.getResults()))
        map.map(result, arith::SelectOp::create(b, loc, cond, thenValues[i],
                                                elseValues[i]));
      continue;
    }
    if (isa<arith::FloorDivSIOp, arith::CeilDivSIOp, arith::DivSIOp, arith::DivUIOp,
            arith::RemSIOp, arith::RemUIOp, arith::CeilDivUIOp>(op)) {
      map.map(op.getResult(0), emitDivision(&op, map, active));
      continue;
    }
    if (op.getNumRegions() != 0)
      return op.emitError("cannot vectorise an op with regions in a modifier");
    // Elementwise arith/math op: the same op on vectors.
    OperationState state(op.getLoc(), op.getName());
    for (Value operand : op.getOperands())
      state.addOperands(map.lookup(operand));
    state.addAttributes(op.getAttrs());
    for (Type t : op.getResultTypes())
      state.addTypes(widen(t));
    Operation *clone = b.create(state);
    for (auto [from, to] : llvm::zip(op.getResults(), clone->getResults()))
      map.map(from, to);
  }
  return success();
}

} // namespace attnc::cpu
