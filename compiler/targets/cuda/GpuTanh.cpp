//===- GpuTanh.cpp - tanh on the GPU as one exp2 and one reciprocal --------===//
//
// libdevice's tanhf costs about 19 instructions per element (a polynomial for
// small arguments and exp with a division for large ones, both evaluated and
// selected). Soft-capping runs tanh on every score, so the GPU kernels compute f32
// tanh as
//
//   tanh(x) = |x| < 2^-8 ? x : 1 - 2 / (1 + exp2(2 log2(e) x))
//
// with the constant factors around it folded in: for c * tanh(k * y) (soft-capping
// is cap * tanh((score * scale) / cap), so c * k = scale), the result is
//
//   |c k y| < |c| 2^-8 ? c k y : c - 2c / (1 + exp2(2 log2(e) k y))
//
//   %a = arith.mulf %y, (2 log2(e) k)
//   %e = math.exp2 %a                          -> ex2.approx.ftz.f32 (PtxPipeline.cpp)
//   %r = arith.divf 1.0, (1.0 + %e) fastmath<afn>  -> rcp.approx.ftz.f32
//   %t = c - 2c * %r (contract)                -> one fma
//   %x = arith.mulf %y, (c k)                  (none when c k = 1)
//   select (|%x| < |c| 2^-8), %x, %t
//
// FMUL, MUFU.EX2, FADD, MUFU.RCP, FFMA, FSETP, FSEL in SASS, against libdevice's 19
// and the multiplications by constants. With the approximate instructions' error
// bounds (relative 2^-22 for ex2, 2^-23 for rcp) tanh is within 5e-7 absolute and
// 1e-4 relative (below 2^-8, x itself is within x^2/3 relative); the limits are
// exact (exp2 overflowing to inf gives 1, underflowing to 0 gives -1) and NaN
// stays NaN. cuda-emu evaluates the same expansion with exact exp2 and division.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cuda/GpuFlashLowering.h"

#include "mlir/IR/Matchers.h"

#include <cmath>
#include <optional>

namespace attnc::cuda::detail {

/// A finite, nonzero f32 constant's value.
static std::optional<double> factorOf(Value v) {
  FloatAttr c;
  if (!matchPattern(v, m_Constant(&c)) || !c.getValue().isFiniteNonZero())
    return std::nullopt;
  return c.getValueAsDouble();
}

/// `x` as base * factor through multiplications and divisions by constants:
///   %x = arith.divf (arith.mulf %y, 0.125), 30.0   ->  (%y, 0.125 / 30)
static std::pair<Value, double> splitConstantFactor(Value x) {
  double factor = 1;
  while (Operation *def = x.getDefiningOp()) {
    std::optional<double> c;
    Value rest;
    if (auto mul = dyn_cast<arith::MulFOp>(def)) {
      if ((c = factorOf(mul.getRhs())))
        rest = mul.getLhs();
      else if ((c = factorOf(mul.getLhs())))
        rest = mul.getRhs();
    } else if (auto div = dyn_cast<arith::DivFOp>(def)) {
      if ((c = factorOf(div.getRhs())))
        c = 1 / *c, rest = div.getLhs();
    }
    if (!rest)
      break;
    factor *= *c;
    x = rest;
  }
  return {x, factor};
}

/// Whether `v` is a normal f32 number.
static bool normalF32(double v) { return std::isnormal(float(v)); }

void expandTanh(Operation *root) {
  // Collected first: the expansion erases the multiplication after each tanh.
  SmallVector<math::TanhOp> ops;
  root->walk([&](math::TanhOp op) {
    if (op.getType().isF32())
      ops.push_back(op);
  });
  for (math::TanhOp op : ops) {
    // c * tanh(k * y): the single user's constant factor c (else 1) and k.
    arith::MulFOp outer;
    double c = 1;
    if (op->hasOneUse())
      if (auto mul = dyn_cast<arith::MulFOp>(*op->user_begin())) {
        Value other = mul.getLhs() == op.getResult() ? mul.getRhs() : mul.getLhs();
        if (std::optional<double> f = factorOf(other))
          outer = mul, c = *f;
      }
    auto [y, k] = splitConstantFactor(op.getOperand());
    constexpr double kTwoLog2E = 2 * 1.4426950408889634;
    if (!normalF32(k * kTwoLog2E) || !normalF32(c * k) || !normalF32(2 * c)) {
      y = op.getOperand(), k = 1;
      if (!normalF32(2 * c))
        outer = {}, c = 1;
    }
    OpBuilder b(outer ? outer.getOperation() : op.getOperation());
    Location loc = op.getLoc();
    auto constant = [&](double v) -> Value {
      return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
    };
    auto flags = [&](arith::FastMathFlags f) {
      return arith::FastMathFlagsAttr::get(b.getContext(), f);
    };
    Value one = constant(1);
    Value e = math::Exp2Op::create(b, loc, arith::MulFOp::create(b, loc, y, constant(k * kTwoLog2E)));
    Value r = arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e),
                                    flags(arith::FastMathFlags::afn));
    auto contract = flags(arith::FastMathFlags::contract);
    Value t = arith::AddFOp::create(
        b, loc, constant(c), arith::MulFOp::create(b, loc, constant(-2 * c), r, contract),
        contract);
    Value x = float(c * k) == 1.0f ? y : Value(arith::MulFOp::create(b, loc, y, constant(c * k)));
    Value small = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                        math::AbsFOp::create(b, loc, x),
                                        constant(std::abs(c) * 0x1p-8));
    Value result = arith::SelectOp::create(b, loc, small, x, t);
    if (outer) {
      outer.getResult().replaceAllUsesWith(result);
      outer.erase();
    } else {
      op.getResult().replaceAllUsesWith(result);
    }
    op.erase();
  }
}

} // namespace attnc::cuda::detail
