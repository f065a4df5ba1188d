//===- ScalarRegionEmitter.cpp - score_mod/mask_mod for one element --------===//
#include "compiler/targets/cuda/ScalarRegionEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace attnc::cuda {

Value ScalarRegionEmitter::constant(Attribute value, Type scalarType) {
  return arith::ConstantOp::create(b, loc, scalarType, cast<TypedAttr>(value));
}

void ScalarRegionEmitter::recordError(Value condition, int64_t code) {
  auto ifOp = scf::IfOp::create(b, loc, condition, /*withElse=*/false);
  OpBuilder tb = ifOp.getThenBodyBuilder();
  Value c = arith::ConstantIntOp::create(tb, loc, code, 64);
  Value zero = arith::ConstantIndexOp::create(tb, loc, 0);
  memref::StoreOp::create(tb, loc, c, status, ValueRange{zero});
}

Value ScalarRegionEmitter::readBuffer(attn::BufferLoadOp op, ArrayRef<Value> indices,
                                      Value active) {
  // The load runs only in bounds; out of range, the branch records the error and
  // yields 0.
  const GpuBuffer &buffer = buffers.find(op.getBuffer())->second;
  SmallVector<Value> at, sizes;
  for (auto [d, index] : llvm::enumerate(indices)) {
    at.push_back(arith::IndexCastOp::create(b, loc, b.getIndexType(), index));
    sizes.push_back(memref::DimOp::create(b, loc, buffer.memref, int64_t(d)));
  }
  Type type = op.getType();
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{type}, inBounds(at, sizes), /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  scf::YieldOp::create(b, loc, ValueRange{memref::LoadOp::create(b, loc, buffer.memref, at)});
  b.setInsertionPointToStart(ifOp.elseBlock());
  recordOutOfRange(arith::ConstantIntOp::create(b, loc, 1, 1), buffer.ordinal, active);
  scf::YieldOp::create(b, loc, ValueRange{arith::ConstantOp::create(b, loc, type, b.getZeroAttr(type))});
  return ifOp.getResult(0);
}

LogicalResult ScalarRegionEmitter::accumulateGrad(attn::BufferGradOp op, ArrayRef<Value> indices,
                                                  Value value, Value active) {
  auto it = grads.find(op.getBuffer());
  if (it == grads.end())
    return op.emitError("no gradient was passed for buffer '") << op.getBuffer() << "'";
  Value grad = it->second;
  SmallVector<Value> at, sizes;
  for (auto [d, index] : llvm::enumerate(indices)) {
    at.push_back(arith::IndexCastOp::create(b, loc, b.getIndexType(), index));
    sizes.push_back(memref::DimOp::create(b, loc, grad, int64_t(d)));
  }
  Value live = inBounds(at, sizes);
  if (active)
    live = arith::AndIOp::create(b, loc, live, active);
  auto ifOp = scf::IfOp::create(b, loc, live, /*withElse=*/false);
  OpBuilder tb = ifOp.getThenBodyBuilder();
  memref::AtomicRMWOp::create(tb, loc, arith::AtomicRMWKind::addf, value, grad, at);
  return success();
}

LogicalResult ScalarRegionEmitter::emitIf(scf::IfOp ifOp, IRMapping &map, Value active) {
  // Lazy: only the branch taken runs.
  bool hasElse = !ifOp.getElseRegion().empty();
  auto newIf = scf::IfOp::create(b, loc, ifOp.getResultTypes(), map.lookup(ifOp.getCondition()),
                                 hasElse);
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
    if (failed(emitBlock(from->front(), map, active)))
      return failure();
    SmallVector<Value> yielded;
    for (Value v : from->front().getTerminator()->getOperands())
      yielded.push_back(map.lookup(v));
    scf::YieldOp::create(b, loc, yielded);
  }
  for (auto [from, to] : llvm::zip(ifOp.getResults(), newIf.getResults()))
    map.map(from, to);
  return success();
}

} // namespace attnc::cuda
