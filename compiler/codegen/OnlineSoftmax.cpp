//===- OnlineSoftmax.cpp - the online softmax, defined once ----------------===//
#include "compiler/codegen/OnlineSoftmax.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;

namespace attnc::codegen {

/// A constant of `like`'s type (f32 or a vector of f32) with every element `v`.
static Value constantLike(OpBuilder &b, Location loc, Value like, double v) {
  Type type = like.getType();
  auto attr = b.getFloatAttr(b.getF32Type(), v);
  if (auto vec = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(b, loc, vec, DenseElementsAttr::get(vec, attr));
  return arith::ConstantOp::create(b, loc, type, attr);
}

/// x·y + z with the multiply and add marked contractible, so that LLVM emits one
/// fma (unmarked, NVPTX prints mul.rn and add.rn, which ptxas may not fuse; a
/// math.fma would become a libdevice call on NVIDIA GPUs).
static Value multiplyAdd(OpBuilder &b, Location loc, Value x, Value y, Value z) {
  auto contract = arith::FastMathFlagsAttr::get(b.getContext(), arith::FastMathFlags::contract);
  Value product = arith::MulFOp::create(b, loc, x, y, contract);
  return arith::AddFOp::create(b, loc, product, z, contract);
}

Value combineMax(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::MaxNumFOp::create(b, loc, x, y);
}

/// m' and m^ of rescaleRow.
static RowRescale newMaximum(OpBuilder &b, Location loc, Value oldMax, Value tileMax) {
  RowRescale r;
  r.max = combineMax(b, loc, oldMax, tileMax);
  Value minusInf = constantLike(b, loc, r.max, -std::numeric_limits<double>::infinity());
  Value empty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, r.max, minusInf);
  r.safeMax = arith::SelectOp::create(b, loc, empty, constantLike(b, loc, r.max, 0), r.max);
  return r;
}

RowRescale rescaleRow(OpBuilder &b, Location loc, Value oldMax, Value tileMax) {
  RowRescale r = newMaximum(b, loc, oldMax, tileMax);
  r.alpha = math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, oldMax, r.safeMax));
  return r;
}

RowRescale rescaleRowBase2(OpBuilder &b, Location loc, Value oldMax, Value tileMax,
                           double log2PerUnit) {
  RowRescale r = newMaximum(b, loc, oldMax, tileMax);
  Value c = constantLike(b, loc, oldMax, log2PerUnit);
  Value delta = arith::SubFOp::create(b, loc, oldMax, r.safeMax);
  r.alpha = math::Exp2Op::create(b, loc, arith::MulFOp::create(b, loc, delta, c));
  r.bias = arith::NegFOp::create(b, loc, arith::MulFOp::create(b, loc, r.safeMax, c));
  return r;
}

Value probabilityBase2(OpBuilder &b, Location loc, Value score, Value bias,
                       double log2PerUnit) {
  Value c = constantLike(b, loc, score, log2PerUnit);
  return math::Exp2Op::create(b, loc, multiplyAdd(b, loc, score, c, bias));
}

Value probability(OpBuilder &b, Location loc, Value score, Value safeMax) {
  return math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, score, safeMax));
}

Value rescaledSum(OpBuilder &b, Location loc, Value sum, Value alpha, Value tileSum) {
  return multiplyAdd(b, loc, sum, alpha, tileSum);
}

RowResult finishRow(OpBuilder &b, Location loc, Value max, Value sum, double unit) {
  Value zero = constantLike(b, loc, sum, 0);
  Value empty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, sum, zero);
  RowResult r;
  r.outScale = arith::SelectOp::create(
      b, loc, empty, zero, arith::DivFOp::create(b, loc, constantLike(b, loc, sum, 1), sum));
  if (unit != 1)
    max = arith::MulFOp::create(b, loc, max, constantLike(b, loc, max, unit));
  Value logSum = arith::AddFOp::create(b, loc, max, math::LogOp::create(b, loc, sum));
  r.lse = arith::SelectOp::create(
      b, loc, empty, constantLike(b, loc, sum, -std::numeric_limits<double>::infinity()),
      logSum);
  return r;
}

} // namespace attnc::codegen
