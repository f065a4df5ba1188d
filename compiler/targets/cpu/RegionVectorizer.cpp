//===- RegionVectorizer.cpp - score_mod/mask_mod on whole vectors ----------===//
#include "compiler/targets/cpu/RegionVectorizer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

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
  // A masked gather at sum(index * stride) over the lanes in bounds.
  const BufferAccess &access = buffers.find(op.getBuffer())->second;
  auto [offset, inside] = elementOffset(access, indices);
  Value inBoundsLanes = whereActive(inside, active);
  Value outOfRange = arith::XOrIOp::create(b, loc, inBoundsLanes,
                                           constant(b.getBoolAttr(true), b.getI1Type()));
  recordOutOfRange(outOfRange, access.ordinal, active);
  Type elementType = op.getType();
  Value passThru = constant(b.getZeroAttr(elementType), elementType);
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  return vector::GatherOp::create(b, loc, cast<VectorType>(shaped(elementType)), access.base,
                                  ValueRange{c0}, offset, inBoundsLanes, passThru);
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
