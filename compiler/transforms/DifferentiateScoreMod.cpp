//===- DifferentiateScoreMod.cpp - score_mod's vector-Jacobian product ----===//
//
// Gives every attn.variant a `score_mod_vjp` region, what the backward pass needs
// of score_mod: given `dout` (the loss's gradient with respect to the modified
// score) it yields the gradient with respect to `score` and adds, through
// `attn.buffer_grad`, the gradient of every `requires_grad` buffer element that
// score_mod reads.
//
// The derivative is taken in forward mode. The region recomputes score_mod and
// carries beside every f32 value its tangents with respect to a few seeds: `score`,
// then each read of a requires_grad buffer (an expression reads a handful). Control
// flow then needs no reversal: the scf.if that `&&`, `||` and `?:` build around
// guarded reads computes its tangents inside each branch and yields them, together
// with the indices of the reads it holds, so that the gradient of a read is added
// at the index it read. The derivative rules and subgradients (abs, min/max ties,
// floor, ceil, the floor modulo) are those docs/spec.md states under "Gradients".
//
//===----------------------------------------------------------------------===//
#include "compiler/transforms/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/TypeSwitch.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace attnc {
#define GEN_PASS_DEF_ATTNDIFFERENTIATESCOREMOD
#include "compiler/transforms/Passes.h.inc"

namespace {

/// A value's tangents, one per seed (0: score, then one per requires_grad read); a
/// null entry is zero.
using Tangents = SmallVector<Value, 4>;

/// d result / d operand for the operands of one op: (operand number, factor).
using Partials = SmallVector<std::pair<unsigned, Value>, 3>;

/// Emits the forward-mode derivative of a score_mod region.
class TangentEmitter {
public:
  /// Seeds: `score` and each read of a requires_grad buffer in `scoreMod`.
  TangentEmitter(OpBuilder &b, attn::VariantOp variant, Region &scoreMod) : b(b) {
    scoreMod.walk<WalkOrder::PreOrder>([&](attn::BufferLoadOp load) {
      if (variant.bufferRequiresGrad(load.getBuffer())) {
        seedOfRead[load] = reads.size() + 1;
        reads.push_back({load.getBuffer(), {}});
      }
    });
  }

  unsigned numSeeds() const { return reads.size() + 1; }

  /// Builds `score_mod_vjp` from `scoreMod` into `vjp` (empty).
  LogicalResult emit(Region &scoreMod, Region &vjp) {
    Block &source = scoreMod.front();
    Block *block = b.createBlock(&vjp);
    for (BlockArgument arg : source.getArguments())
      map.map(arg, block->addArgument(arg.getType(), arg.getLoc()));
    Value dout = block->addArgument(b.getF32Type(), scoreMod.getLoc());
    Value score = block->getArgument(0);
    tangents[score] = seedTangents(0);
    if (failed(emitOps(source)))
      return failure();
    auto yield = cast<attn::YieldOp>(source.getTerminator());
    Location loc = yield.getLoc();
    Value result = map.lookup(yield.getValue());
    Tangents dResult = tangentsOf(result);
    for (unsigned seed = 1; seed < numSeeds(); ++seed)
      if (dResult[seed])
        attn::BufferGradOp::create(b, loc, reads[seed - 1].buffer, reads[seed - 1].indices,
                                   mul(loc, dout, dResult[seed]));
    attn::YieldOp::create(b, loc, dResult[0] ? mul(loc, dout, dResult[0]) : constant(loc, 0.0));
    return success();
  }

private:
  /// The tangents of a seed: one at `seed`, zero elsewhere.
  Tangents seedTangents(unsigned seed) {
    Tangents t(numSeeds());
    t[seed] = constant(b.getUnknownLoc(), 1.0);
    return t;
  }

  /// The tangents of a cloned value (all null when it has none).
  Tangents tangentsOf(Value v) {
    auto it = tangents.find(v);
    return it == tangents.end() ? Tangents(numSeeds()) : it->second;
  }

  Value constant(Location loc, double x) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(x)));
  }
  Value mul(Location loc, Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value div(Location loc, Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value cmp(Location loc, arith::CmpFPredicate p, Value x, Value y) {
    return arith::CmpFOp::create(b, loc, p, x, y);
  }
  Value select(Location loc, Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }

  /// Clones the ops of `source` (all but its terminator) with their tangents.
  LogicalResult emitOps(Block &source) {
    for (Operation &op : source.without_terminator())
      if (failed(emitOp(op)))
        return failure();
    return success();
  }

  LogicalResult emitOp(Operation &op) {
    if (auto ifOp = dyn_cast<scf::IfOp>(op))
      return emitIf(ifOp);
    Operation *clone = b.clone(op, map);
    if (auto load = dyn_cast<attn::BufferLoadOp>(op)) {
      if (auto it = seedOfRead.find(load); it != seedOfRead.end()) {
        reads[it->second - 1].indices = llvm::to_vector(clone->getOperands());
        tangents[clone->getResult(0)] = seedTangents(it->second);
      }
      return success();
    }
    if (clone->getNumResults() != 1 || !clone->getResult(0).getType().isF32())
      return success();
    bool anyTangent = llvm::any_of(clone->getOperands(), [&](Value v) {
      return llvm::any_of(tangentsOf(v), [](Value t) { return bool(t); });
    });
    if (!anyTangent)
      return success();
    Location loc = op.getLoc();
    if (auto sel = dyn_cast<arith::SelectOp>(clone)) {
      emitSelectTangents(sel);
      return success();
    }
    FailureOr<Partials> partials = partialsOf(clone);
    if (failed(partials))
      return op.emitError("cannot differentiate '")
             << op.getName() << "' in score_mod (the backward pass needs its derivative)";
    Tangents result(numSeeds());
    for (unsigned seed = 0; seed < numSeeds(); ++seed)
      for (auto &[operand, factor] : *partials) {
        Value t = tangentsOf(clone->getOperand(operand))[seed];
        if (!t)
          continue;
        Value term = factor ? mul(loc, factor, t) : t;
        result[seed] = result[seed] ? arith::AddFOp::create(b, loc, result[seed], term) : term;
      }
    tangents[clone->getResult(0)] = result;
    return success();
  }

  /// select(c, x, y)' = select(c, x', y').
  void emitSelectTangents(arith::SelectOp sel) {
    Location loc = sel.getLoc();
    Tangents tx = tangentsOf(sel.getTrueValue()), ty = tangentsOf(sel.getFalseValue());
    Tangents result(numSeeds());
    for (unsigned seed = 0; seed < numSeeds(); ++seed)
      if (tx[seed] || ty[seed])
        result[seed] = select(loc, sel.getCondition(), tx[seed] ? tx[seed] : constant(loc, 0),
                              ty[seed] ? ty[seed] : constant(loc, 0));
    tangents[sel.getResult()] = result;
  }

  /// The weight of each operand in a min/max result: 1 for the one chosen, 0.5
  /// each on a tie (the gradient is split, as PyTorch's minimum/maximum do).
  Partials minMaxPartials(Operation *op) {
    Location loc = op->getLoc();
    Value x = op->getOperand(0), y = op->getOperand(1), r = op->getResult(0);
    Value tie = cmp(loc, arith::CmpFPredicate::OEQ, x, y);
    Value pickX = cmp(loc, arith::CmpFPredicate::OEQ, r, x);
    Value half = constant(loc, 0.5), one = constant(loc, 1.0), zero = constant(loc, 0.0);
    return {{0, select(loc, tie, half, select(loc, pickX, one, zero))},
            {1, select(loc, tie, half, select(loc, pickX, zero, one))}};
  }

  /// sign(x): 1, -1, or 0 at zero (the subgradient of abs used at 0).
  Value sign(Location loc, Value x) {
    Value zero = constant(loc, 0.0);
    Value negative = select(loc, cmp(loc, arith::CmpFPredicate::OLT, x, zero),
                            constant(loc, -1.0), zero);
    return select(loc, cmp(loc, arith::CmpFPredicate::OGT, x, zero), constant(loc, 1.0),
                  negative);
  }

  /// d result / d operand for each f32 operand of a (cloned) op; a null factor is
  /// 1. Failure for an op without a rule.
  FailureOr<Partials> partialsOf(Operation *op) {
    Location loc = op->getLoc();
    Value r = op->getNumResults() ? op->getResult(0) : Value();
    auto x = [&] { return op->getOperand(0); };
    auto y = [&] { return op->getOperand(1); };
    const double ln2 = llvm::numbers::ln2;
    return llvm::TypeSwitch<Operation *, FailureOr<Partials>>(op)
        .Case([&](arith::AddFOp) { return Partials{{0, {}}, {1, {}}}; })
        .Case([&](arith::SubFOp) { return Partials{{0, {}}, {1, constant(loc, -1.0)}}; })
        .Case([&](arith::MulFOp) { return Partials{{0, y()}, {1, x()}}; })
        .Case([&](arith::DivFOp) {
          // (x / y)' = x' / y - (x / y) y' / y
          return Partials{{0, div(loc, constant(loc, 1.0), y())},
                          {1, arith::NegFOp::create(b, loc, div(loc, r, y()))}};
        })
        .Case([&](arith::NegFOp) { return Partials{{0, constant(loc, -1.0)}}; })
        .Case([&](arith::RemFOp) {
          // rem(x, y) = x - trunc(x / y) y, and trunc(x / y) = (x - r) / y.
          Value quotient = div(loc, arith::SubFOp::create(b, loc, x(), r), y());
          return Partials{{0, {}}, {1, arith::NegFOp::create(b, loc, quotient)}};
        })
        .Case<arith::MinNumFOp, arith::MaxNumFOp, arith::MinimumFOp, arith::MaximumFOp>(
            [&](Operation *m) -> FailureOr<Partials> { return minMaxPartials(m); })
        .Case([&](math::ExpOp) { return Partials{{0, r}}; })
        .Case([&](math::Exp2Op) { return Partials{{0, mul(loc, r, constant(loc, ln2))}}; })
        .Case([&](math::LogOp) { return Partials{{0, div(loc, constant(loc, 1.0), x())}}; })
        .Case([&](math::Log2Op) {
          return Partials{{0, div(loc, constant(loc, 1.0 / ln2), x())}};
        })
        .Case([&](math::SqrtOp) { return Partials{{0, div(loc, constant(loc, 0.5), r)}}; })
        .Case([&](math::RsqrtOp) {
          // (x^-1/2)' = -1/2 x^-3/2 = -0.5 r / x
          return Partials{{0, div(loc, mul(loc, constant(loc, -0.5), r), x())}};
        })
        .Case([&](math::TanhOp) {
          Value one = constant(loc, 1.0);
          return Partials{{0, arith::SubFOp::create(b, loc, one, mul(loc, r, r))}};
        })
        .Case([&](math::AbsFOp) { return Partials{{0, sign(loc, x())}}; })
        .Case<math::FloorOp, math::CeilOp>([&](Operation *) { return Partials{}; })
        .Case([&](math::CopySignOp) {
          // copysign(x, y) = ±x: the sign flips x's tangent when x and y differ in sign.
          Value one = constant(loc, 1.0);
          return Partials{{0, mul(loc, math::CopySignOp::create(b, loc, one, x()),
                                   math::CopySignOp::create(b, loc, one, y()))}};
        })
        .Case([&](math::FmaOp) { return Partials{{0, y()}, {1, x()}, {2, {}}}; })
        .Default([](Operation *) { return failure(); });
  }

  /// An scf.if with its results' tangents and, for each requires_grad read inside
  /// it, the indices read (zeros from the branch that did not read).
  LogicalResult emitIf(scf::IfOp ifOp) {
    Location loc = ifOp.getLoc();
    SmallVector<unsigned> inner;
    ifOp->walk([&](attn::BufferLoadOp load) {
      if (auto it = seedOfRead.find(load); it != seedOfRead.end())
        inner.push_back(it->second);
    });
    SmallVector<Type> types(ifOp.getResultTypes());
    for (Type t : ifOp.getResultTypes())
      if (t.isF32())
        types.append(numSeeds(), b.getF32Type());
    for (unsigned seed : inner)
      types.append(readRank(ifOp, seed), b.getI64Type());
    auto newIf = scf::IfOp::create(b, loc, types, map.lookup(ifOp.getCondition()),
                                   /*withElseRegion=*/true);
    for (auto [from, to] : {std::pair{&ifOp.getThenRegion(), &newIf.getThenRegion()},
                            std::pair{&ifOp.getElseRegion(), &newIf.getElseRegion()}}) {
      OpBuilder::InsertionGuard guard(b);
      Block *block = &to->front();
      if (!block->empty() && block->mightHaveTerminator())
        block->getTerminator()->erase();
      b.setInsertionPointToEnd(block);
      for (unsigned seed : inner)
        reads[seed - 1].indices.clear();
      SmallVector<Value> yielded;
      if (!from->empty()) {
        if (failed(emitOps(from->front())))
          return failure();
        for (Value v : from->front().getTerminator()->getOperands())
          yielded.push_back(map.lookup(v));
      }
      for (Value v : SmallVector<Value>(yielded))
        if (v.getType().isF32())
          for (Value t : tangentsOf(v))
            yielded.push_back(t ? t : constant(loc, 0.0));
      for (unsigned seed : inner) {
        SmallVector<Value> &indices = reads[seed - 1].indices;
        for (unsigned d = 0, e = readRank(ifOp, seed); d < e; ++d)
          yielded.push_back(indices.empty() ? Value(arith::ConstantIntOp::create(b, loc, 0, 64))
                                            : indices[d]);
      }
      scf::YieldOp::create(b, loc, yielded);
    }
    unsigned next = ifOp.getNumResults();
    for (auto [i, result] : llvm::enumerate(ifOp.getResults())) {
      map.map(result, newIf.getResult(i));
      if (!result.getType().isF32())
        continue;
      Tangents t;
      for (unsigned seed = 0; seed < numSeeds(); ++seed)
        t.push_back(newIf.getResult(next++));
      tangents[newIf.getResult(i)] = t;
    }
    for (unsigned seed : inner) {
      SmallVector<Value> &indices = reads[seed - 1].indices;
      indices.clear();
      for (unsigned d = 0, e = readRank(ifOp, seed); d < e; ++d)
        indices.push_back(newIf.getResult(next++));
    }
    return success();
  }

  /// The number of indices of the requires_grad read `seed` inside `op`.
  unsigned readRank(Operation *op, unsigned seed) {
    unsigned rank = 0;
    op->walk([&](attn::BufferLoadOp load) {
      if (auto it = seedOfRead.find(load); it != seedOfRead.end() && it->second == seed)
        rank = load.getIndices().size();
    });
    return rank;
  }

  struct GradRead {
    StringRef buffer;
    SmallVector<Value> indices; ///< the cloned indices, where they are visible
  };

  OpBuilder &b;
  IRMapping map;                                 ///< score_mod's values → the clones
  DenseMap<Value, Tangents> tangents;            ///< of the cloned values
  DenseMap<Operation *, unsigned> seedOfRead;    ///< requires_grad reads → seed
  SmallVector<GradRead> reads;                   ///< seed s ≥ 1 is reads[s - 1]
};

struct AttnDifferentiateScoreModPass
    : impl::AttnDifferentiateScoreModBase<AttnDifferentiateScoreModPass> {
  void runOnOperation() override {
    WalkResult result = getOperation().walk([&](attn::VariantOp variant) {
      Region &vjp = variant.getScoreModVjp();
      if (!vjp.empty())
        vjp.getBlocks().clear();
      OpBuilder b(variant.getContext());
      TangentEmitter emitter(b, variant, variant.getScoreMod());
      if (failed(emitter.emit(variant.getScoreMod(), vjp)))
        return WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
} // namespace attnc
