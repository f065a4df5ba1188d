//===- RegionVectorizer.cpp - score_mod/mask_mod on whole vectors ----------===//
#include "compiler/targets/cpu/RegionVectorizer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <optional>

using namespace mlir;

namespace attnc::cpu {

Type RegionVectorizer::shaped(Type scalar) { return VectorType::get({width}, scalar); }

Value RegionVectorizer::constant(Attribute value, Type scalarType) {
  auto type = cast<VectorType>(shaped(scalarType));
  return arith::ConstantOp::create(b, loc, type, DenseElementsAttr::get(type, value));
}

Value RegionVectorizer::scalar(Value value) {
  return vector::BroadcastOp::create(b, loc, shaped(value.getType()), value);
}

void RegionVectorizer::recordError(Value laneMask, int64_t code) {
  Value any = vector::ReductionOp::create(b, loc, vector::CombiningKind::OR, laneMask);
  auto ifOp = scf::IfOp::create(b, loc, any, /*withElse=*/false);
  OpBuilder tb = ifOp.getThenBodyBuilder();
  Value c = arith::ConstantIntOp::create(tb, loc, code, 64);
  Value zero = arith::ConstantIndexOp::create(tb, loc, 0);
  memref::StoreOp::create(tb, loc, c, status, ValueRange{zero});
}

std::pair<Value, Value> RegionVectorizer::elementOffset(const BufferAccess &access,
                                                       ArrayRef<Value> indices) {
  SmallVector<Value> sizes;
  Value offset = constant(b.getI64IntegerAttr(0), b.getI64Type());
  for (auto [d, index] : llvm::enumerate(indices)) {
    sizes.push_back(scalar(access.sizes[d]));
    offset = arith::AddIOp::create(b, loc, offset,
                                   arith::MulIOp::create(b, loc, index, scalar(access.strides[d])));
  }
  return {offset, inBounds(indices, sizes)};
}

Value RegionVectorizer::readBuffer(attn::BufferLoadOp op, ArrayRef<Value> indices,
                                   Value active) {
  // Indices the same in every lane, or one of them a run of consecutive elements,
  // read without a gather where that is in bounds; anything else is gathered.
  const BufferAccess &access = buffers.find(op.getBuffer())->second;
  SmallVector<Value> at;
  std::optional<unsigned> runDim;
  for (auto [d, index] : llvm::enumerate(indices)) {
    if (Value u = uniformScalar(index)) {
      at.push_back(u);
    } else if (Value start = runDim ? Value() : unitStrideBase(index)) {
      at.push_back(start);
      runDim = unsigned(d);
    } else {
      return gatherBuffer(access, indices, active, op.getType());
    }
  }
  if (!runDim)
    return readUniform(access, at, active, op.getType());
  return readContiguous(access, indices, at, *runDim, active, op.getType());
}

Value RegionVectorizer::gatherBuffer(const BufferAccess &access, ArrayRef<Value> indices,
                                     Value active, Type elementType) {
  // A masked gather at sum(index * stride) over the lanes in bounds.
  auto [offset, inside] = elementOffset(access, indices);
  Value inBoundsLanes = whereActive(inside, active);
  Value outOfRange = arith::XOrIOp::create(b, loc, inBoundsLanes,
                                           constant(b.getBoolAttr(true), b.getI1Type()));
  recordOutOfRange(outOfRange, access.ordinal, active);
  Value passThru = constant(b.getZeroAttr(elementType), elementType);
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  return vector::GatherOp::create(b, loc, cast<VectorType>(shaped(elementType)), access.base,
                                  ValueRange{c0}, offset, inBoundsLanes, passThru);
}

Value RegionVectorizer::uniformScalar(Value v) {
  if (auto broadcast = v.getDefiningOp<vector::BroadcastOp>())
    return isa<VectorType>(broadcast.getSource().getType()) ? Value() : broadcast.getSource();
  if (auto c = v.getDefiningOp<arith::ConstantOp>()) {
    auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
    if (!dense || !dense.isSplat())
      return {};
    return arith::ConstantOp::create(b, loc, dense.getSplatValue<TypedAttr>());
  }
  Operation *op = v.getDefiningOp();
  if (!isa_and_nonnull<arith::AddIOp, arith::SubIOp, arith::MulIOp>(op))
    return {};
  Value lhs = uniformScalar(op->getOperand(0));
  Value rhs = lhs ? uniformScalar(op->getOperand(1)) : Value();
  if (!rhs)
    return {};
  OperationState state(loc, op->getName(), ValueRange{lhs, rhs}, TypeRange{lhs.getType()},
                       op->getAttrs());
  return b.create(state)->getResult(0);
}

/// Whether `v` is the constant vector of lane numbers 0, 1, ..., width - 1.
static bool isLaneNumbers(Value v) {
  auto c = v.getDefiningOp<arith::ConstantOp>();
  auto dense = c ? dyn_cast<DenseIntElementsAttr>(c.getValue()) : DenseIntElementsAttr();
  if (!dense)
    return false;
  int64_t lane = 0;
  for (const APInt &value : dense.getValues<APInt>())
    if (value.getSExtValue() != lane++)
      return false;
  return true;
}

Value RegionVectorizer::unitStrideBase(Value v) {
  Operation *op = v.getDefiningOp();
  if (auto add = dyn_cast_or_null<arith::AddIOp>(op)) {
    for (auto [x, y] :
         {std::pair(add.getLhs(), add.getRhs()), std::pair(add.getRhs(), add.getLhs())}) {
      if (isLaneNumbers(x))
        if (Value u = uniformScalar(y))
          return u;
      if (Value start = unitStrideBase(x))
        if (Value u = uniformScalar(y))
          return arith::AddIOp::create(b, loc, start, u);
    }
  }
  if (auto sub = dyn_cast_or_null<arith::SubIOp>(op))
    if (Value start = unitStrideBase(sub.getLhs()))
      if (Value u = uniformScalar(sub.getRhs()))
        return arith::SubIOp::create(b, loc, start, u);
  return {};
}

Value RegionVectorizer::readUniform(const BufferAccess &access, ArrayRef<Value> at,
                                    Value active, Type elementType) {
  // %v = scf.if %inside { memref.load } else { record the error; 0 }, broadcast.
  Value inside = inBounds(at, access.sizes);
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{elementType}, inside, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value offset = arith::ConstantIntOp::create(b, loc, 0, 64);
    for (auto [index, stride] : llvm::zip(at, access.strides))
      offset = arith::AddIOp::create(b, loc, offset, arith::MulIOp::create(b, loc, index, stride));
    Value element = memref::LoadOp::create(
        b, loc, access.base,
        ValueRange{arith::IndexCastOp::create(b, loc, b.getIndexType(), offset)});
    scf::YieldOp::create(b, loc, element);
    b.setInsertionPointToStart(ifOp.elseBlock());
    recordOutOfRange(constant(b.getBoolAttr(true), b.getI1Type()), access.ordinal, active);
    scf::YieldOp::create(b, loc, ValueRange{arith::ConstantOp::create(
                                      b, loc, cast<TypedAttr>(b.getZeroAttr(elementType)))});
  }
  return scalar(ifOp.getResult(0));
}

Value RegionVectorizer::readContiguous(const BufferAccess &access, ArrayRef<Value> indices,
                                       ArrayRef<Value> at, unsigned dim, Value active,
                                       Type elementType) {
  // contiguous = stride[dim] == 1 && 0 <= at[dim] <= size[dim] - width && the other
  // indices in bounds (no overflow: sizes are >= 0, width is small).
  auto i64 = [&](int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 64); };
  Value unit = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, access.strides[dim], i64(1));
  Value lastStart = arith::SubIOp::create(b, loc, access.sizes[dim], i64(width));
  Value fits = arith::AndIOp::create(
      b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, at[dim], i64(0)),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, at[dim], lastStart));
  Value contiguous = arith::AndIOp::create(b, loc, unit, fits);
  for (auto [d, index] : llvm::enumerate(at))
    if (d != dim)
      contiguous = arith::AndIOp::create(b, loc, contiguous,
                                         inBounds(index, access.sizes[d]));
  auto type = cast<VectorType>(shaped(elementType));
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{type}, contiguous, /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  Value offset = i64(0);
  for (auto [index, stride] : llvm::zip(at, access.strides))
    offset = arith::AddIOp::create(b, loc, offset, arith::MulIOp::create(b, loc, index, stride));
  Value run = vector::LoadOp::create(
      b, loc, type, access.base,
      ValueRange{arith::IndexCastOp::create(b, loc, b.getIndexType(), offset)});
  scf::YieldOp::create(b, loc, run);
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(b, loc, gatherBuffer(access, indices, active, elementType));
  return ifOp.getResult(0);
}

LogicalResult RegionVectorizer::emitIf(scf::IfOp ifOp, IRMapping &map, Value active) {
  // Both branches, each under its lanes, blended by the condition.
  Value cond = map.lookup(ifOp.getCondition());
  Value notCond =
      arith::XOrIOp::create(b, loc, cond, constant(b.getBoolAttr(true), b.getI1Type()));
  if (failed(emitBlock(ifOp.getThenRegion().front(), map, whereActive(cond, active))))
    return failure();
  SmallVector<Value> thenValues, elseValues;
  for (Value v : ifOp.thenYield().getOperands())
    thenValues.push_back(map.lookup(v));
  if (!ifOp.getElseRegion().empty()) {
    if (failed(emitBlock(ifOp.getElseRegion().front(), map, whereActive(notCond, active))))
      return failure();
    for (Value v : ifOp.elseYield().getOperands())
      elseValues.push_back(map.lookup(v));
  }
  for (auto [i, result] : llvm::enumerate(ifOp.getResults()))
    map.map(result, arith::SelectOp::create(b, loc, cond, thenValues[i], elseValues[i]));
  return success();
}

} // namespace attnc::cpu

namespace attnc::cpu {

LogicalResult RegionVectorizer::accumulateGrad(attn::BufferGradOp op, ArrayRef<Value> indices,
                                               Value value, Value active) {
  auto it = grads.find(op.getBuffer());
  if (it == grads.end())
    return op.emitError("no gradient was passed for buffer '") << op.getBuffer() << "'";
  const BufferAccess &access = it->second;
  auto [offset, inside] = elementOffset(access, indices);
  Value live = whereActive(inside, active);
  // Lane by lane, in order: several lanes may add to the same element.
  for (int64_t lane = 0; lane < width; ++lane) {
    Value laneLive = vector::ExtractOp::create(b, loc, live, ArrayRef<int64_t>{lane});
    auto ifOp = scf::IfOp::create(b, loc, laneLive, /*withElse=*/false);
    OpBuilder tb = ifOp.getThenBodyBuilder();
    Value at = arith::IndexCastOp::create(
        tb, loc, tb.getIndexType(),
        vector::ExtractOp::create(tb, loc, offset, ArrayRef<int64_t>{lane}));
    Value add = vector::ExtractOp::create(tb, loc, value, ArrayRef<int64_t>{lane});
    Value old = memref::LoadOp::create(tb, loc, access.base, ValueRange{at});
    memref::StoreOp::create(tb, loc, arith::AddFOp::create(tb, loc, old, add), access.base,
                            ValueRange{at});
  }
  return success();
}

} // namespace attnc::cpu
