//===- MaskIntervals.cpp - classify a tile pair by its mask ----------------===//
#include "compiler/transforms/MaskIntervals.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/DenseMap.h"

#include <optional>

using namespace mlir;

namespace attnc {
namespace {

/// An abstract value: i64 → [lo, hi]; i1 → (canBeFalse, canBeTrue).
struct Interval {
  Value lo, hi;
};

class MaskInterpreter {
public:
  MaskInterpreter(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  std::optional<Interval> lookup(Value v) {
    auto it = values.find(v);
    if (it != values.end())
      return it->second;
    return std::nullopt;
  }
  void set(Value v, Value lo, Value hi) { values[v] = {lo, hi}; }

  Value i1(bool v) { return arith::ConstantIntOp::create(b, loc, v ? 1 : 0, 1); }
  Value min(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value max(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  Value slt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, y);
  }
  Value sle(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, x, y);
  }
  Value eq(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y);
  }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value notI(Value x) { return arith::XOrIOp::create(b, loc, x, i1(true)); }

  /// Interprets one op; ops it cannot bound leave their results unknown.
  void interpret(Operation *op) {
    if (auto cst = dyn_cast<arith::ConstantOp>(op)) {
      auto intAttr = dyn_cast<IntegerAttr>(cst.getValue());
      if (!intAttr)
        return;
      if (intAttr.getType().isInteger(1)) {
        bool v = intAttr.getValue().getBoolValue();
        set(cst, i1(!v), i1(v));
      } else {
        Value c = b.clone(*op)->getResult(0);
        set(cst, c, c);
      }
      return;
    }
    if (auto scalar = dyn_cast<attn::ScalarOp>(op)) {
      auto it = scalarValues.find(scalar.getName());
      if (it != scalarValues.end() && it->second.getType().isSignlessInteger())
        set(scalar, it->second, it->second);
      return;
    }
    SmallVector<Interval> in;
    for (Value operand : op->getOperands()) {
      std::optional<Interval> iv = lookup(operand);
      if (!iv)
        return interpretUnknownOperands(op);
      in.push_back(*iv);
    }
    Value r = op->getNumResults() == 1 ? op->getResult(0) : Value();
    if (!r)
      return;
    bool boolResult = r.getType().isInteger(1);
    // A select's condition is a bool whatever it selects; its values decide.
    auto values = isa<arith::SelectOp>(op) ? op->getOperands().drop_front() : op->getOperands();
    bool boolOperands =
        llvm::any_of(values, [](Value v) { return v.getType().isInteger(1); });
    if (isa<arith::ExtSIOp, arith::ExtUIOp>(op) && boolOperands) {
      interpretBoolToInt(op, in[0]);
    } else if (isa<arith::ExtSIOp>(op)) {
      Type t = r.getType();
      set(r, arith::ExtSIOp::create(b, loc, t, in[0].lo),
          arith::ExtSIOp::create(b, loc, t, in[0].hi));
    } else if (boolResult || boolOperands) {
      // Booleans: (canBeFalse, canBeTrue) pairs, never integer ranges.
      interpretBoolOp(op, in);
    } else if (isa<arith::AddIOp>(op)) {
      Value lo = arith::AddIOp::create(b, loc, in[0].lo, in[1].lo);
      Value hi = arith::AddIOp::create(b, loc, in[0].hi, in[1].hi);
      setOrFull(r, lo, hi,
                orI(addOverflows(in[0].lo, in[1].lo, lo), addOverflows(in[0].hi, in[1].hi, hi)));
    } else if (isa<arith::SubIOp>(op)) {
      Value lo = arith::SubIOp::create(b, loc, in[0].lo, in[1].hi);
      Value hi = arith::SubIOp::create(b, loc, in[0].hi, in[1].lo);
      setOrFull(r, lo, hi,
                orI(subOverflows(in[0].lo, in[1].hi, lo), subOverflows(in[0].hi, in[1].lo, hi)));
    } else if (isa<arith::MulIOp>(op)) {
      // A product over a box takes its extremes at the corners; when no corner
      // overflows, no product inside does.
      Value p[4], overflow = i1(false);
      Value corners[4][2] = {{in[0].lo, in[1].lo}, {in[0].lo, in[1].hi},
                             {in[0].hi, in[1].lo}, {in[0].hi, in[1].hi}};
      for (int i = 0; i < 4; ++i) {
        auto product = arith::MulSIExtendedOp::create(b, loc, corners[i][0], corners[i][1]);
        p[i] = product.getLow();
        overflow = orI(overflow, mulOverflows(product.getLow(), product.getHigh()));
      }
      setOrFull(r, min(min(p[0], p[1]), min(p[2], p[3])), max(max(p[0], p[1]), max(p[2], p[3])),
                overflow);
    } else if (isa<arith::MinSIOp>(op)) {
      set(r, min(in[0].lo, in[1].lo), min(in[0].hi, in[1].hi));
    } else if (isa<arith::MaxSIOp>(op)) {
      set(r, max(in[0].lo, in[1].lo), max(in[0].hi, in[1].hi));
    } else if (auto div = dyn_cast<arith::FloorDivSIOp>(op)) {
      // Monotone in the dividend for a positive constant divisor.
      auto c = div.getRhs().getDefiningOp<arith::ConstantIntOp>();
      if (!c || c.value() <= 0)
        return;
      set(r, arith::FloorDivSIOp::create(b, loc, in[0].lo, in[1].lo),
          arith::FloorDivSIOp::create(b, loc, in[0].hi, in[1].lo));
    } else if (isa<arith::SelectOp>(op)) {
      // An integer select under a bool condition (operand 0 is a pair).
      Value both = andI(in[0].lo, in[0].hi);
      Interval &t = in[1], &f = in[2];
      Value lo = arith::SelectOp::create(b, loc, both, min(t.lo, f.lo),
                                         arith::SelectOp::create(b, loc, in[0].hi, t.lo, f.lo));
      Value hi = arith::SelectOp::create(b, loc, both, max(t.hi, f.hi),
                                         arith::SelectOp::create(b, loc, in[0].hi, t.hi, f.hi));
      set(r, lo, hi);
    }
  }

  /// Ops on or to booleans, over (canBeFalse, canBeTrue) pairs: and, or, xor, ==, !=
  /// of two bools, and selects of bools; anything else stays unknown.
  void interpretBoolOp(Operation *op, ArrayRef<Interval> in) {
    Value r = op->getResult(0);
    if (isa<arith::AndIOp>(op)) {
      set(r, orI(in[0].lo, in[1].lo), andI(in[0].hi, in[1].hi));
    } else if (isa<arith::OrIOp>(op)) {
      set(r, andI(in[0].lo, in[1].lo), orI(in[0].hi, in[1].hi));
    } else if (isa<arith::XOrIOp>(op)) {
      // (a ^ b) can be true if one can be true while the other can be false.
      set(r, orI(andI(in[0].hi, in[1].hi), andI(in[0].lo, in[1].lo)),
          orI(andI(in[0].hi, in[1].lo), andI(in[0].lo, in[1].hi)));
    } else if (auto cmp = dyn_cast<arith::CmpIOp>(op);
               cmp && cmp.getLhs().getType().isInteger(1) &&
               (cmp.getPredicate() == arith::CmpIPredicate::eq ||
                cmp.getPredicate() == arith::CmpIPredicate::ne)) {
      Value canEqual = orI(andI(in[0].hi, in[1].hi), andI(in[0].lo, in[1].lo));
      Value canDiffer = orI(andI(in[0].hi, in[1].lo), andI(in[0].lo, in[1].hi));
      if (cmp.getPredicate() == arith::CmpIPredicate::eq)
        set(r, canDiffer, canEqual);
      else
        set(r, canEqual, canDiffer);
    } else if (isa<arith::SelectOp>(op) && r.getType().isInteger(1)) {
      Value both = andI(in[0].lo, in[0].hi);
      const Interval &t = in[1], &f = in[2];
      Value lo = arith::SelectOp::create(b, loc, both, orI(t.lo, f.lo),
                                         arith::SelectOp::create(b, loc, in[0].hi, t.lo, f.lo));
      Value hi = arith::SelectOp::create(b, loc, both, orI(t.hi, f.hi),
                                         arith::SelectOp::create(b, loc, in[0].hi, t.hi, f.hi));
      set(r, lo, hi);
    } else if (auto cmp = dyn_cast<arith::CmpIOp>(op); cmp && !cmp.getLhs().getType().isInteger(1)) {
      interpretCompare(cmp, in[0], in[1]);
    }
  }

  /// A bool widened to an integer: extsi gives 0 or -1, extui 0 or 1.
  void interpretBoolToInt(Operation *op, Interval in) {
    Type t = op->getResult(0).getType();
    Value zero = arith::ConstantIntOp::create(b, loc, t, 0);
    Value one = arith::ConstantIntOp::create(b, loc, t, isa<arith::ExtSIOp>(op) ? -1 : 1);
    Value trueLo = isa<arith::ExtSIOp>(op) ? one : zero, trueHi = isa<arith::ExtSIOp>(op) ? zero : one;
    // Both possible: [min(0, t), max(0, t)]; only one: that value.
    Value both = andI(in.lo, in.hi);
    Value only = arith::SelectOp::create(b, loc, in.hi, one, zero);
    set(op->getResult(0), arith::SelectOp::create(b, loc, both, trueLo, only),
        arith::SelectOp::create(b, loc, both, trueHi, only));
  }

  /// Whether the wrapping sum/difference `result` of x and y overflowed.
  Value addOverflows(Value x, Value y, Value result) {
    // Overflow iff x and y have the same sign and the result's differs.
    Value zero = arith::ConstantIntOp::create(b, loc, x.getType(), 0);
    Value bits = andI(arith::XOrIOp::create(b, loc, x, result),
                      arith::XOrIOp::create(b, loc, y, result));
    return slt(bits, zero);
  }
  Value subOverflows(Value x, Value y, Value result) {
    // Overflow iff x and y have different signs and the result's sign is not x's.
    Value zero = arith::ConstantIntOp::create(b, loc, x.getType(), 0);
    Value bits = andI(arith::XOrIOp::create(b, loc, x, y), arith::XOrIOp::create(b, loc, x, result));
    return slt(bits, zero);
  }
  /// A signed product overflowed unless its high half is the low half's sign.
  Value mulOverflows(Value low, Value high) {
    unsigned width = low.getType().getIntOrFloatBitWidth();
    Value shift = arith::ConstantIntOp::create(b, loc, low.getType(), int64_t(width - 1));
    Value sign = arith::ShRSIOp::create(b, loc, low, shift);
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, high, sign);
  }

  /// r ∈ [lo, hi], or the type's whole range when `overflow` (wrapped values can be
  /// anywhere).
  void setOrFull(Value r, Value lo, Value hi, Value overflow) {
    unsigned width = r.getType().getIntOrFloatBitWidth();
    Value minV = arith::ConstantOp::create(
        b, loc, b.getIntegerAttr(r.getType(), APInt::getSignedMinValue(width)));
    Value maxV = arith::ConstantOp::create(
        b, loc, b.getIntegerAttr(r.getType(), APInt::getSignedMaxValue(width)));
    set(r, arith::SelectOp::create(b, loc, overflow, minV, lo),
        arith::SelectOp::create(b, loc, overflow, maxV, hi));
  }

  /// Logical ops still bound their result when an operand is unknown.
  void interpretUnknownOperands(Operation *op) {
    if (op->getNumResults() != 1 || !op->getResult(0).getType().isInteger(1))
      return;
    if (!isa<arith::AndIOp, arith::OrIOp>(op))
      return;
    auto get = [&](Value v) -> Interval {
      if (std::optional<Interval> iv = lookup(v))
        return *iv;
      return {i1(true), i1(true)};
    };
    Interval x = get(op->getOperand(0)), y = get(op->getOperand(1));
    if (isa<arith::AndIOp>(op))
      set(op->getResult(0), orI(x.lo, y.lo), andI(x.hi, y.hi));
    else
      set(op->getResult(0), andI(x.lo, y.lo), orI(x.hi, y.hi));
  }

  void interpretCompare(arith::CmpIOp cmp, Interval x, Interval y) {
    using P = arith::CmpIPredicate;
    Value canTrue, canFalse;
    switch (cmp.getPredicate()) {
    case P::slt: // always x < y if x.hi < y.lo; never if x.lo >= y.hi
      canTrue = slt(x.lo, y.hi);
      canFalse = notI(slt(x.hi, y.lo));
      break;
    case P::sle:
      canTrue = sle(x.lo, y.hi);
      canFalse = notI(sle(x.hi, y.lo));
      break;
    case P::sgt:
      canTrue = slt(y.lo, x.hi);
      canFalse = notI(slt(y.hi, x.lo));
      break;
    case P::sge:
      canTrue = sle(y.lo, x.hi);
      canFalse = notI(sle(y.hi, x.lo));
      break;
    case P::eq:
    case P::ne: {
      Value overlap = andI(sle(x.lo, y.hi), sle(y.lo, x.hi));
      Value allEqual = andI(andI(eq(x.lo, x.hi), eq(y.lo, y.hi)), eq(x.lo, y.lo));
      canTrue = overlap;
      canFalse = notI(allEqual);
      if (cmp.getPredicate() == P::ne)
        std::swap(canTrue, canFalse);
      break;
    }
    default:
      return;
    }
    set(cmp, canFalse, canTrue);
  }

  llvm::StringMap<Value> scalarValues;

private:
  OpBuilder &b;
  Location loc;
  llvm::DenseMap<Value, Interval> values;
};

} // namespace

Value emitMaskClass(OpBuilder &b, Location loc, attn::VariantOp variant, Value batch,
                    Value head, Value q0, Value q1, Value k0, Value k1, Value qLen,
                    Value kvLen, ValueRange scalars) {
  MaskInterpreter interp(b, loc);
  Block &block = variant.getMaskMod().front();
  auto toI64 = [&](Value v) -> Value {
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
  };
  Value bb = toI64(batch), hh = toI64(head), qlen = toI64(qLen), kvlen = toI64(kvLen);
  interp.set(block.getArgument(0), bb, bb);
  interp.set(block.getArgument(1), hh, hh);
  interp.set(block.getArgument(2), toI64(q0), toI64(q1));
  interp.set(block.getArgument(3), toI64(k0), toI64(k1));
  interp.set(block.getArgument(4), qlen, qlen);
  interp.set(block.getArgument(5), kvlen, kvlen);
  if (DictionaryAttr decls = variant.getScalarsAttr())
    for (auto [i, entry] : llvm::enumerate(decls.getValue()))
      interp.scalarValues[entry.getName().getValue()] = scalars[i];

  for (Operation &op : block.without_terminator())
    interp.interpret(&op);

  Value result = variant.getMaskModResult();
  auto iv = interp.lookup(result);
  Value two = arith::ConstantIndexOp::create(b, loc, 2);
  if (!iv)
    return two;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  // canTrue ? (canFalse ? 2 : 1) : 0
  Value kept = arith::SelectOp::create(b, loc, iv->lo, two, one);
  return arith::SelectOp::create(b, loc, iv->hi, kept, zero);
}

} // namespace attnc
