//===- TileFlashBackward.cpp - tile attn.attention into the backward flash form ===//
//
// FlashAttention-2's backward pass as loops over tile ops. One parallel iteration
// per (batch, key/value head, split of the key tiles) walks its key tiles; for each
// it keeps dK and dV in scratch tiles and streams every query tile of every head of
// the group through them, recomputing P from lse:
//
//   S  = scale · Q Kᵀ                 attn.tile_scores
//   P  = exp(score_mod(S) − lse)      attn.tile_probs   (mask: 0)
//   dV += Pᵀ dO                       attn.tile_key_grad
//   dP = dO Vᵀ                        attn.tile_scores  (scale 1)
//   δ  = rowsum(dO ∘ O)               attn.tile_delta
//   dS = score_mod'(S) · P ∘ (dP − δ) attn.tile_dscores (+ buffer gradients)
//   dK += scale · dSᵀ Q               attn.tile_key_grad
//   dQ_c += scale · dS K              attn.tile_query_grad
//
// Heads of a group share their key tile's dK/dV accumulators, so GQA gradients are
// summed without races; dQ goes to one partial per split (the dq argument's first
// dimension), summed afterwards, so no two iterations write the same element and
// the result does not depend on the order threads run in. The mask's tile classes
// skip empty (query, key) tiles and drop mask_mod on full ones, as in the forward.
//
// With key-tiles-per-pass = n > 1 (the CPU target's choice) the key loop takes n
// tiles a step, each with its own dK/dV, and each query tile meets them in turn:
// the query tiles' rows are read once per n key tiles, not once per tile.
//
//===----------------------------------------------------------------------===//
#include "compiler/transforms/FlashForm.h"
#include "compiler/transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallVector.h"

#include <functional>

using namespace mlir;

namespace attnc {
#define GEN_PASS_DEF_ATTNTILEFLASHBACKWARD
#include "compiler/transforms/Passes.h.inc"

namespace {

MemRefType stridedMemRef(RankedTensorType type) {
  return stridedMemRefType(type.getShape(), type.getElementType());
}

/// The backward flash function's signature: q, k, v, out, dout (memref views of the
/// forward's tensors), lse, the dQ partials [splits, B, H, Q_LEN, D] (f32), dk, dv,
/// the scalars, the buffers, one f32 gradient per requires_grad buffer, the status
/// word.
SmallVector<Type> backwardSignature(attn::AttentionOp op, attn::VariantOp variant,
                                    OpBuilder &b) {
  auto tensorOf = [](Value v) { return cast<RankedTensorType>(v.getType()); };
  RankedTensorType q = tensorOf(op.getQuery()), k = tensorOf(op.getKey()),
                   v = tensorOf(op.getValue()), out = tensorOf(op.getOut());
  SmallVector<Type> inputs{stridedMemRef(q), stridedMemRef(k), stridedMemRef(v),
                           stridedMemRef(out), stridedMemRef(out),
                           stridedMemRef(tensorOf(op.getLse()))};
  SmallVector<int64_t> dqShape{ShapedType::kDynamic};
  dqShape.append(q.getShape().begin(), q.getShape().end());
  inputs.push_back(MemRefType::get(dqShape, b.getF32Type()));
  inputs.push_back(stridedMemRef(k));
  inputs.push_back(stridedMemRef(v));
  for (Value s : op.getScalars())
    inputs.push_back(s.getType());
  for (Value buf : op.getBuffers())
    inputs.push_back(stridedMemRef(tensorOf(buf)));
  unsigned i = 0;
  if (DictionaryAttr decls = variant.getBuffersAttr())
    for (NamedAttribute entry : decls.getValue()) {
      auto decl = cast<attn::BufferDeclAttr>(entry.getValue());
      if (decl.getRequiresGrad())
        inputs.push_back(
            stridedMemRefType(tensorOf(op.getBuffers()[i]).getShape(), b.getF32Type()));
      ++i;
    }
  inputs.push_back(MemRefType::get({4}, b.getI64Type()));
  return inputs;
}

/// Emits the body of a backward flash function (see the file comment).
class FlashBackwardBody {
  /// A key tile of a pass: its dK/dV accumulators, its rows [k0, k1] and whether
  /// it is inside the split (null: always, the pass's first).
  struct KeyTile {
    Value dkAcc, dvAcc, live, k0, k1;
  };

public:
  FlashBackwardBody(func::FuncOp flash, attn::VariantOp variant, attn::AttentionOp op,
                    int64_t blockQ, int64_t blockKV, int64_t keyTilesPerPass)
      : variant(variant), b(flash.getContext()), loc(op.getLoc()), blockQ(blockQ),
        blockKV(blockKV), keyTilesPerPass(keyTilesPerPass),
        maskIsTrivial(isConstantTrue(variant.getMaskModResult())) {
    Block *entry = flash.addEntryBlock();
    b.setInsertionPointToStart(entry);
    ValueRange args = entry->getArguments();
    q = args[0], k = args[1], v = args[2], out = args[3], dout = args[4], lse = args[5];
    dq = args[6], dk = args[7], dv = args[8];
    unsigned numScalars = op.getScalars().size(), numBuffers = op.getBuffers().size();
    scalars = args.slice(9, numScalars);
    buffers = args.slice(9 + numScalars, numBuffers);
    grads = args.slice(9 + numScalars + numBuffers,
                       args.size() - 10 - numScalars - numBuffers);
    status = args.back();
  }

  void emit() {
    c0 = cIndex(0), c1 = cIndex(1);
    Value batch = memref::DimOp::create(b, loc, q, 0);
    qLen = memref::DimOp::create(b, loc, q, 2);
    kvLen = memref::DimOp::create(b, loc, k, 2);
    Value splits = memref::DimOp::create(b, loc, dq, 0);
    bq = cIndex(blockQ), bkv = cIndex(blockKV);
    group = variant.getHeadsQ() / variant.getHeadsKv();
    numQTiles = arith::CeilDivUIOp::create(b, loc, qLen, bq);
    Value numKVTiles = arith::CeilDivUIOp::create(b, loc, kvLen, bkv);
    tilesPerSplit = arith::CeilDivUIOp::create(b, loc, numKVTiles, splits);
    auto parallel = scf::ParallelOp::create(
        b, loc, ValueRange{c0, c0, c0},
        ValueRange{batch, cIndex(variant.getHeadsKv()), splits}, ValueRange{c1, c1, c1});
    b.setInsertionPointToStart(parallel.getBody());
    emitSplit(parallel.getInductionVars(), numKVTiles);
    b.setInsertionPointAfter(parallel);
    func::ReturnOp::create(b, loc);
  }

private:
  Value cIndex(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  /// One (batch, key/value head, split): scratch tiles, then its key tiles,
  /// `keyTilesPerPass` at a time.
  void emitSplit(ValueRange ivs, Value numKVTiles) {
    bIdx = ivs[0], g = ivs[1], split = ivs[2];
    auto f32 = b.getF32Type();
    auto scratch = [&](ArrayRef<int64_t> shape, StringRef role) -> Value {
      auto alloca = memref::AllocaOp::create(b, loc, MemRefType::get(shape, f32));
      alloca->setAttr("attn.scratch", b.getStringAttr(role));
      return alloca;
    };
    s = scratch({blockQ, blockKV}, "scores");
    p = scratch({blockQ, blockKV}, "probs");
    dp = scratch({blockQ, blockKV}, "dprobs");
    ds = scratch({blockQ, blockKV}, "dscores");
    delta = scratch({blockQ}, "delta");
    for (int64_t j = 0; j < keyTilesPerPass; ++j) {
      KeyTile tile;
      tile.dkAcc = scratch({blockKV, int64_t(variant.getHeadDim())}, "dk");
      tile.dvAcc = scratch({blockKV, int64_t(variant.getHeadDimV())}, "dv");
      keyTiles.push_back(tile);
    }
    Value first = arith::MulIOp::create(b, loc, split, tilesPerSplit);
    last = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, first, tilesPerSplit), numKVTiles);
    auto keyLoop = scf::ForOp::create(b, loc, first, last, cIndex(keyTilesPerPass));
    b.setInsertionPointToStart(keyLoop.getBody());
    emitKeyTiles(keyLoop.getInductionVar());
  }

  /// Runs `body` for each key tile of the pass: directly for the first, under
  /// `scf.if` (the tile is before the split's end) for the others.
  void forEachKeyTile(OpBuilder &nb, const std::function<void(OpBuilder &, KeyTile &)> &body) {
    for (KeyTile &tile : keyTiles) {
      if (!tile.live) {
        body(nb, tile);
        continue;
      }
      auto ifLive = scf::IfOp::create(nb, loc, tile.live, /*withElse=*/false);
      OpBuilder lb = ifLive.getThenBodyBuilder();
      body(lb, tile);
    }
  }

  /// The pass's key tiles kt, kt+1, ...: zero their dK/dV, stream the query tiles
  /// of the group's heads through all of them (each query tile's rows are read
  /// once a pass), store them.
  void emitKeyTiles(Value kTile) {
    for (auto [j, tile] : llvm::enumerate(keyTiles)) {
      Value index = j == 0 ? kTile : arith::AddIOp::create(b, loc, kTile, cIndex(int64_t(j)));
      tile.live = j == 0 ? Value() : arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                                          index, last);
      tile.k0 = arith::MulIOp::create(b, loc, index, bkv);
      Value kEnd =
          arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, tile.k0, bkv), kvLen);
      tile.k1 = arith::SubIOp::create(b, loc, kEnd, c1);
    }
    forEachKeyTile(b, [&](OpBuilder &nb, KeyTile &tile) {
      attn::TileZeroOp::create(nb, loc, tile.dkAcc);
      attn::TileZeroOp::create(nb, loc, tile.dvAcc);
    });
    auto heads = scf::ForOp::create(b, loc, c0, cIndex(group), c1);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(heads.getBody());
      hIdx = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, g, cIndex(group)), heads.getInductionVar());
      auto queryLoop = scf::ForOp::create(b, loc, c0, numQTiles, c1);
      b.setInsertionPointToStart(queryLoop.getBody());
      emitQueryTile(queryLoop.getInductionVar());
    }
    forEachKeyTile(b, [&](OpBuilder &nb, KeyTile &tile) {
      attn::TileKeyStoreOp::create(nb, loc, tile.dkAcc, dk, bIdx, g, tile.k0);
      attn::TileKeyStoreOp::create(nb, loc, tile.dvAcc, dv, bIdx, g, tile.k0);
    });
  }

  /// One query tile against each key tile of the pass.
  void emitQueryTile(Value qTile) {
    q0 = arith::MulIOp::create(b, loc, qTile, bq);
    Value q1;
    if (!maskIsTrivial) {
      Value qEnd = arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, q0, bq), qLen);
      q1 = arith::SubIOp::create(b, loc, qEnd, c1);
    }
    forEachKeyTile(b, [&](OpBuilder &nb, KeyTile &tile) { emitTilePair(nb, tile, q1); });
  }

  /// One (query tile, key tile) pair: classified by the mask unless it keeps
  /// everything; empty pairs are skipped, full ones skip mask_mod.
  void emitTilePair(OpBuilder &nb, KeyTile &tile, Value q1) {
    k0 = tile.k0, dkAcc = tile.dkAcc, dvAcc = tile.dvAcc;
    if (maskIsTrivial) {
      emitPairBody(nb, Value());
      return;
    }
    TilePairClass cls = classifyTilePair(nb, loc, variant, bIdx, hIdx, q0, q1, tile.k0,
                                         tile.k1, qLen, kvLen, scalars);
    auto ifLive = scf::IfOp::create(nb, loc, cls.live, /*withElse=*/false);
    OpBuilder lb = ifLive.getThenBodyBuilder();
    emitPairBody(lb, cls.partial);
  }

  /// The eight steps of the file comment for one pair of tiles.
  void emitPairBody(OpBuilder &nb, Value applyMaskCond) {
    double scale = variant.getScaleAttr().getValueAsDouble();
    attn::TileScoresOp::create(nb, loc, q, k, s, bIdx, hIdx, g, q0, k0, variant.getScaleAttr());
    emitUnderMaskCondition(nb, loc, applyMaskCond, maskIsTrivial,
                           [&](OpBuilder &mb, bool applyMask) {
      attn::TileProbsOp::create(mb, loc, variant.getSymName(), s, bIdx, hIdx, q0, k0, qLen,
                                kvLen, lse, p, scalars, buffers, status, applyMask);
    });
    attn::TileKeyGradOp::create(nb, loc, p, dout, dvAcc, bIdx, hIdx, q0, nb.getF64FloatAttr(1.0));
    attn::TileScoresOp::create(nb, loc, dout, v, dp, bIdx, hIdx, g, q0, k0,
                               nb.getF64FloatAttr(1.0));
    attn::TileDeltaOp::create(nb, loc, dout, out, delta, bIdx, hIdx, q0);
    emitUnderMaskCondition(nb, loc, applyMaskCond, maskIsTrivial,
                           [&](OpBuilder &mb, bool applyMask) {
      attn::TileDScoresOp::create(mb, loc, variant.getSymName(), s, p, dp, delta, ds, bIdx,
                                  hIdx, q0, k0, qLen, kvLen, scalars, buffers, grads, status,
                                  applyMask);
    });
    attn::TileKeyGradOp::create(nb, loc, ds, q, dkAcc, bIdx, hIdx, q0, nb.getF64FloatAttr(scale));
    attn::TileQueryGradOp::create(nb, loc, ds, k, dq, bIdx, g, k0, split, hIdx, q0,
                                  nb.getF64FloatAttr(scale));
  }

  attn::VariantOp variant;
  OpBuilder b;
  Location loc;
  int64_t blockQ, blockKV, keyTilesPerPass, group = 1;
  bool maskIsTrivial;
  Value q, k, v, out, dout, lse, dq, dk, dv, status;
  ValueRange scalars, buffers, grads;
  Value c0, c1, qLen, kvLen, bq, bkv, numQTiles, tilesPerSplit; // per function
  Value bIdx, g, split, last, s, p, dp, ds, delta;               // per split
  SmallVector<KeyTile> keyTiles;                                  // per split
  Value k0, hIdx, q0, dkAcc, dvAcc;                               // per tile pair
};

struct AttnTileFlashBackwardPass
    : impl::AttnTileFlashBackwardBase<AttnTileFlashBackwardPass> {
  using AttnTileFlashBackwardBase::AttnTileFlashBackwardBase;

  void runOnOperation() override {
    if (blockQ < 1 || blockKV < 1 || keyTilesPerPass < 1) {
      getOperation().emitError(
          "attn-tile-flash-backward: block sizes and key-tiles-per-pass must be positive");
      return signalPassFailure();
    }
    SmallVector<attn::AttentionOp> ops;
    getOperation().walk([&](attn::AttentionOp op) { ops.push_back(op); });
    SymbolTable symbols(getOperation());
    for (attn::AttentionOp op : ops)
      if (failed(tile(op, symbols)))
        return signalPassFailure();
  }

  /// `@X_forward` → `@X_flash_backward`; any other `@F` → `@F_flash_backward`.
  static std::string backwardName(StringRef funcName) {
    funcName.consume_back("_forward");
    return (funcName + "_flash_backward").str();
  }

  /// Replaces the function holding `op` (its attention and return only) by its
  /// backward flash form.
  LogicalResult tile(attn::AttentionOp op, SymbolTable &symbols) {
    auto func = op->getParentOfType<func::FuncOp>();
    if (!func || op->getBlock() != &func.getBody().front() ||
        func.getBody().front().getOperations().size() != 2)
      return op.emitError("attn-tile-flash-backward: expected a function whose body is a "
                          "single attn.attention and the return of its results");
    auto variant = symbols.lookup<attn::VariantOp>(op.getVariant());
    if (!variant)
      return op.emitError("attn-tile-flash-backward: expected attn.attention referring to "
                          "an attn.variant");
    if (variant.getScoreModVjp().empty())
      return op.emitError("attn-tile-flash-backward: variant '")
             << variant.getSymName()
             << "' has no score_mod_vjp region (run attn-differentiate-score-mod first)";
    std::string name = backwardName(func.getSymName());
    if (symbols.lookup(name))
      return func.emitError("attn-tile-flash-backward: a symbol named '")
             << name << "' already exists";
    OpBuilder b(func);
    auto flash = func::FuncOp::create(b, op.getLoc(), name,
                                      b.getFunctionType(backwardSignature(op, variant, b), {}));
    flash->setAttr("attn.variant", FlatSymbolRefAttr::get(op.getContext(), variant.getSymName()));
    flash->setAttr("attn.backward", b.getUnitAttr());
    FlashBackwardBody(flash, variant, op, blockQ, blockKV, keyTilesPerPass).emit();
    symbols.erase(func);
    symbols.insert(flash);
    return success();
  }
};

} // namespace
} // namespace attnc
