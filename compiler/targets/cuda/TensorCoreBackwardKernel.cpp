//===- TensorCoreBackwardKernel.cpp - the backward flash form on tensor cores ===//
//
// FlashAttention-2's backward pass for f16/bf16 with mma.sync m16n8k16. A block
// per (split, key/value head, batch) walks its key tiles; warp w owns key rows
// [16w, 16w + 16) of the tile (block-kv / 16 warps) and keeps their dK and dV in
// accumulator fragments for the whole key tile, across every query tile of every
// head of the group. The score tiles are computed transposed, keys by queries, so
// that each warp's fragments hold its own key rows:
//
//   tile_scores     Sᵀ  = scale · K Qᵀ     A: K (ldmatrix), B: Q rows (ldmatrix)
//   tile_probs      Pᵀ  = exp(score_mod(Sᵀ) - lse) where the pair counts, else 0
//   tile_key_grad   dV += Pᵀ dO            A: Pᵀ from registers (16 bits), B: dO (.trans)
//   tile_scores     dPᵀ = V dOᵀ            A: V (ldmatrix), B: dO rows (ldmatrix)
//   tile_delta      δ = rowsum(dO ∘ O)     a warp per query row, into shared memory
//   tile_dscores    dSᵀ = score_mod'(Sᵀ, Pᵀ ∘ (dPᵀ - δ)); in registers and, in
//                                          16 bits, in shared memory
//   tile_key_grad   dK += scale · dSᵀ Q    A: dSᵀ from registers, B: Q (.trans)
//   tile_query_grad dQ += scale · dS K     A: dS (.trans of the shared dSᵀ), B: K (.trans)
//   tile_key_store  the warp's dK or dV rows, in the tensor's dtype
//
// K and V are staged once per key tile, Q, dO and lse once per (query tile, head)
// pair, all as 16-bit tiles with padded rows (SharedTileLayout::padded: every
// address is a lane's base plus constants, so the loads share a few registers;
// rows and columns past the sequences and head dims are 0). Above head dim 64 a
// key tile is walked twice, dV first, then dK and dQ, so that one accumulator is
// live at a time (tensorCoreBackwardSweeps); dK and dV leave through the K and V
// tiles, copied out row by row. dQ's rows reduce over every key row of the tile:
// once dSᵀ is in shared memory, the warps share out (16 query rows x a chunk of
// columns) items and add their products to the split's f32 partial of dq, each
// element by one lane of one warp, so no atomics are needed. As in the SIMT kernel,
// a requires_grad buffer's gradient is the exception (atomic adds).
//
// The running state (FlashFormLowering.h) is dK and dV, and within a pair the
// transposed score fragments (Sᵀ, Pᵀ, dPᵀ, dSᵀ): the flash form computes P and dS
// in the two branches of an scf.if (mask applied or not), so they enter that if as
// zeros and leave it computed.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cuda/MmaLowering.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <limits>

using namespace mlir;

namespace attnc::cuda::detail {

static int64_t roundUp16(int64_t n) { return (n + 15) / 16 * 16; }

/// The workgroup buffers: Q and dO rows, K and V tiles, dSᵀ (16-bit), lse and δ.
SmallVector<std::pair<SmallVector<int64_t>, bool>> tensorCoreBackwardBuffers(int64_t bq, int64_t bk,
                                                                        int64_t d, int64_t dv) {
  int64_t dp = SharedTileLayout::padded(roundUp16(d)).physicalColumns();
  int64_t dvp = SharedTileLayout::padded(roundUp16(dv)).physicalColumns();
  int64_t dsp = SharedTileLayout::padded(bq).physicalColumns();
  return {{{bq, dp}, true},  {{bq, dvp}, true}, {{bk, dp}, true}, {{bk, dvp}, true},
          {{bk, dsp}, true}, {{bq}, false},     {{bq}, false}};
}

namespace {

class TensorCoreBackwardKernel : public MmaLowering {
public:
  TensorCoreBackwardKernel(func::FuncOp flash, attn::VariantOp variant,
                           const FlashFormDetail &form)
      : MmaLowering(flash, variant, form), Dp(roundUp16(D)), DVp(roundUp16(DV)),
        twoSweeps(tensorCoreBackwardSweeps(D, DV) == 2),
        qTiles(BQ / 8), qkLayout(SharedTileLayout::padded(Dp)),
        vLayout(SharedTileLayout::padded(DVp)), dsLayout(SharedTileLayout::padded(BQ)) {}

private:
  // --- the launch and the running state ---------------------------------------
  int64_t threadsPerBlock() const override { return warps() * 32; }
  int64_t warps() const { return BK / 16; }
  SmallVector<MemRefType> workgroupBuffers() override;
  void enterKernel(ValueRange buffers) override;
  LogicalResult realizeScratch(memref::AllocaOp op, StringRef role) override;
  SmallVector<Value> runningState() override;
  void setRunningState(ValueRange state) override;
  LogicalResult emitKeyLoop(scf::ForOp op) override;

  // --- the tile ops --------------------------------------------------------------
  LogicalResult emitScores(attn::TileScoresOp op) override;
  LogicalResult emitZero(attn::TileZeroOp op) override;
  LogicalResult emitProbs(attn::TileProbsOp op) override;
  LogicalResult emitKeyGrad(attn::TileKeyGradOp op) override;
  LogicalResult emitDelta(attn::TileDeltaOp op) override;
  LogicalResult emitDScores(attn::TileDScoresOp op) override;
  LogicalResult emitQueryGrad(attn::TileQueryGradOp op) override;
  LogicalResult emitKeyStore(attn::TileKeyStoreOp op) override;

  /// The role of a flash-form scratch tile ("scores", "dk", ...).
  static StringRef roleOf(Value tile) {
    auto role = tile.getDefiningOp() ? tile.getDefiningOp()->getAttrOfType<StringAttr>(
                                           "attn.scratch")
                                     : StringAttr();
    return role ? role.getValue() : StringRef();
  }
  /// A pair starts: stages its Q and dO rows and its lse (an empty row's -inf as
  /// +inf, so that its P is 0) between two barriers.
  void stagePair(attn::TileScoresOp op);
  /// The transposed product of the warp's 16 rows of `keyTile` and the BQ rows of
  /// `rowTile` (both `depth` columns, laid out by `layout`), times `scale`: qTiles
  /// accumulator fragments.
  SmallVector<Value> transposedScores(Value keyTile, Value rowTile,
                                      const SharedTileLayout &layout, int64_t depth,
                                      double scale);
  /// acc += scale · wᵀ x: `w` the warp's transposed score fragments, x the staged
  /// rows `rowTile` (`cols` columns).
  void accumulateKeyGrad(ArrayRef<Value> w, Value rowTile, const SharedTileLayout &layout,
                         int64_t cols, double scale, SmallVector<Value> &acc);
  /// dq[split, b, h, q0 + 16m + .., col0 + ..] += scale · acc for the elements
  /// inside Q_LEN and the head dim.
  void addToQueryGrad(attn::TileQueryGradOp op, ArrayRef<Value> acc, Value m, Value col0);
  /// f(score, q, kv) on every element of the fragments `frags` (query tile q0, key
  /// tile k0): element (i, e) of fragment n is key k0 + 16w + g + 8i, query q0 + 8n +
  /// 2t + e. `f` returns null when a region failed to emit; so does this.
  LogicalResult mapPairs(SmallVector<Value> &frags, Value q0, Value k0,
                         function_ref<Value(int64_t n, int64_t i, int64_t e, Value q,
                                            Value kv)> f);
  /// Whether the pair (q, kv) counts for a tile_probs/tile_dscores op.
  template <typename OpT>
  Value keep(OpT op, ScalarRegionEmitter &regions, Value q, Value kv) {
    PairIndices at = pairIndices(op);
    Value inRange = andi(ult(q, at.qLen), ult(kv, at.kvLen));
    return keptPair(regions, at, op.getApplyMask(), q, kv, inRange);
  }
  SmallVector<Value> zeroFragments(int64_t n) {
    return SmallVector<Value>(n, zeros(accFragment()));
  }

  int64_t Dp, DVp; ///< head dims padded to the mma's k-steps (16)
  /// Whether each key tile is walked twice (tensorCoreBackwardSweeps): for dV, then
  /// for dK and dQ.
  bool twoSweeps;
  /// What the walk of a key tile computes: dV, dK (and dQ), or both.
  enum class Sweep { Both, Values, Keys } sweep = Sweep::Both;
  bool valuesSweep() const { return sweep != Sweep::Keys; }
  bool keysSweep() const { return sweep != Sweep::Values; }
  int64_t qTiles;  ///< 8-query n-tiles of a pair's score fragments
  SharedTileLayout qkLayout, vLayout, dsLayout; ///< Q and K; dO and V; dSᵀ

  Value qTile, doTile, kTile, vTile, dsTile, lseTile, deltaTile; ///< shared memory
  Value warp, keyRow; ///< the warp's index and first key row in the tile
  bool pairStaged = false;

  // The running state (see the file comment): dK (Dp / 8 fragments) and dV (DVp /
  // 8) once zeroed; Sᵀ and Pᵀ, then dPᵀ and dSᵀ (qTiles each) within a pair.
  SmallVector<Value> dk, dv, sT, pT, dpT, dsT;
};

SmallVector<MemRefType> TensorCoreBackwardKernel::workgroupBuffers() {
  SmallVector<MemRefType> types;
  for (auto &[shape, sixteenBit] : tensorCoreBackwardBuffers(BQ, BK, D, DV))
    types.push_back(workgroupType(shape, sixteenBit ? half() : b.getF32Type()));
  return types;
}

void TensorCoreBackwardKernel::enterKernel(ValueRange buffers) {
  qTile = buffers[0], doTile = buffers[1], kTile = buffers[2], vTile = buffers[3];
  dsTile = buffers[4], lseTile = buffers[5], deltaTile = buffers[6];
  enterWarps();
  warp = divc(tid, 32);
  keyRow = mulc(warp, 16);
}

LogicalResult TensorCoreBackwardKernel::realizeScratch(memref::AllocaOp op, StringRef role) {
  // Registers and the shared tiles, not memory; only the shapes are checked.
  ArrayRef<int64_t> shape = op.getType().getShape();
  bool ok = role == "scores" || role == "probs" || role == "dprobs" || role == "dscores"
                ? shape == ArrayRef<int64_t>{BQ, BK}
            : role == "delta" ? shape == ArrayRef<int64_t>{BQ}
            : role == "dk"    ? shape == ArrayRef<int64_t>{BK, D}
            : role == "dv"    ? shape == ArrayRef<int64_t>{BK, DV}
                              : false;
  if (!ok)
    return error(op, "unexpected scratch tile '") << role << "' of type " << op.getType();
  return success();
}

SmallVector<Value> TensorCoreBackwardKernel::runningState() {
  SmallVector<Value> state;
  for (ArrayRef<Value> part : {ArrayRef<Value>(dk), ArrayRef<Value>(dv), ArrayRef<Value>(sT),
                               ArrayRef<Value>(pT), ArrayRef<Value>(dpT), ArrayRef<Value>(dsT)})
    state.append(part.begin(), part.end());
  return state;
}

void TensorCoreBackwardKernel::setRunningState(ValueRange state) {
  // dK and dV come first once zeroed; the pair's fragments follow, two or four
  // groups of qTiles.
  dk.clear(), dv.clear(), sT.clear(), pT.clear(), dpT.clear(), dsT.clear();
  size_t next = 0, nDk = keysSweep() ? Dp / 8 : 0, nDv = valuesSweep() ? DVp / 8 : 0;
  if (state.size() >= nDk + nDv) {
    dk.assign(state.begin(), state.begin() + nDk);
    dv.assign(state.begin() + nDk, state.begin() + nDk + nDv);
    next = nDk + nDv;
  }
  for (SmallVector<Value> *part : {&sT, &pT, &dpT, &dsT})
    if (state.size() >= next + qTiles) {
      part->assign(state.begin() + next, state.begin() + next + qTiles);
      next += qTiles;
    }
}

LogicalResult TensorCoreBackwardKernel::emitKeyLoop(scf::ForOp op) {
  auto store = keyLoopOp<attn::TileKeyStoreOp>();
  if (!store)
    return failure();
  if (getConstantIntValue(op.getStep()) != 1)
    return error(op, "the loop over key tiles must have step 1");
  if (!runningState().empty())
    return error(op, "tile state live across the loop over key tiles");
  Value batch = lookup(store.getB()), kvHead = lookup(store.getG());
  Value k = lookup(form.key()), v = lookup(form.value());
  bool ok = true;
  forEach(lookup(op.getLowerBound()), lookup(op.getUpperBound()), idx(1), [&](Value kt) {
    // The previous key tile's last readers of K and V are done before they are
    // refilled; the tiles are complete before they are read.
    Value k0 = mulc(kt, BK), kvLen = seqLen(k);
    auto stageValues = [&] {
      stageF16(v, vTile, vLayout, {}, batch, kvHead, k0, BK, DVp, DV, kvLen);
    };
    gpu::BarrierOp::create(b, loc);
    stageF16(k, kTile, qkLayout, {}, batch, kvHead, k0, BK, Dp, D, kvLen);
    stageValues();
    gpu::BarrierOp::create(b, loc);
    if (!twoSweeps) {
      ok = ok && succeeded(emitKeyTile(kt));
      return;
    }
    // dV's store goes out through the V tile, which the second sweep reads again.
    sweep = Sweep::Values;
    ok = ok && succeeded(emitKeyTile(kt));
    gpu::BarrierOp::create(b, loc);
    stageValues();
    gpu::BarrierOp::create(b, loc);
    sweep = Sweep::Keys;
    ok = ok && succeeded(emitKeyTile(kt));
    sweep = Sweep::Both;
  });
  if (ok && !runningState().empty())
    return error(op, "dK or dV not stored at the end of a key tile");
  return success(ok);
}

void TensorCoreBackwardKernel::stagePair(attn::TileScoresOp op) {
  Value batch = lookup(op.getB()), head = lookup(op.getH()), q0 = lookup(op.getQ0());
  Value q = lookup(form.query()), dout = lookup(form.dout()), lse = lookup(form.lse());
  Value qLen = seqLen(q);
  gpu::BarrierOp::create(b, loc);
  stageF16(q, qTile, qkLayout, {}, batch, head, q0, BQ, Dp, D, qLen);
  stageF16(dout, doTile, vLayout, {}, batch, head, q0, BQ, DVp, DV, qLen);
  forEach(tid, idx(BQ), idx(threadsPerBlock()), [&](Value i) {
    Value row = add(q0, i);
    Value x = ifElse(
        ult(row, qLen), b.getF32Type(), [&] { return load(lse, {batch, head, row}); },
        [&] { return negInf(); });
    Value empty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, x, negInf());
    store(select(empty, f32(std::numeric_limits<double>::infinity()), x), lseTile, {i});
  });
  gpu::BarrierOp::create(b, loc);
  pairStaged = true;
}

SmallVector<Value> TensorCoreBackwardKernel::transposedScores(Value keyTile, Value rowTile,
                                                              const SharedTileLayout &layout,
                                                              int64_t depth, double scale) {
  SmallVector<Value> frags = zeroFragments(qTiles);
  for (int64_t k = 0; k < depth / 16; ++k) {
    Value a = ldmatrixAt(keyTile, layout, {}, add(keyRow, aRow), 0, aCol, 16 * k, 4, false);
    for (int64_t n = 0; n < qTiles; n += 2) {
      SmallVector<Value> bFrag = bFragments(rowTile, layout, {}, bRow, 8 * n, bCol,
                                            16 * k, n + 1 == qTiles, /*trans=*/false);
      for (size_t i = 0; i < bFrag.size(); ++i)
        frags[n + i] = mma(a, bFrag[i], frags[n + i]);
    }
  }
  if (scale != 1.0) {
    auto type = accFragment();
    Value splat =
        arith::ConstantOp::create(b, loc, type, DenseElementsAttr::get(type, float(scale)));
    for (Value &f : frags)
      f = arith::MulFOp::create(b, loc, f, splat);
  }
  return frags;
}

LogicalResult TensorCoreBackwardKernel::emitScores(attn::TileScoresOp op) {
  if (op.getQ() == form.query() && op.getK() == form.key()) {
    stagePair(op);
    sT = transposedScores(kTile, qTile, qkLayout, Dp, scaleOf(op));
    pT = zeroFragments(qTiles); // computed under the mask's scf.if
    return success();
  }
  if (op.getQ() == form.dout() && op.getK() == form.value()) {
    if (!keysSweep())
      return success(); // dP only serves dS
    if (!pairStaged || sT.empty())
      return error(op, "attn.tile_scores of dout and v before that of q and k");
    dpT = transposedScores(vTile, doTile, vLayout, DVp, scaleOf(op));
    dsT = zeroFragments(qTiles);
    return success();
  }
  return error(op, "attn.tile_scores of tensors other than (q, k) or (dout, v)");
}

LogicalResult TensorCoreBackwardKernel::emitZero(attn::TileZeroOp op) {
  StringRef role = roleOf(op.getTile());
  if (role == "dk") {
    if (keysSweep())
      dk = zeroFragments(Dp / 8);
  } else if (role == "dv") {
    if (valuesSweep())
      dv = zeroFragments(DVp / 8);
  } else
    return error(op, "attn.tile_zero of a tile other than dK or dV");
  return success();
}

LogicalResult
TensorCoreBackwardKernel::mapPairs(SmallVector<Value> &frags, Value q0, Value k0,
                                   function_ref<Value(int64_t, int64_t, int64_t, Value, Value)> f) {
  for (int64_t n = 0; n < qTiles; ++n)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t e = 0; e < 2; ++e) {
        Value q = add(q0, add(idx(8 * n + e), mulc(t, 2)));
        Value kv = add(k0, add(keyRow, add(g, idx(8 * i))));
        Value x = f(n, i, e, q, kv);
        if (!x)
          return failure();
        frags[n] = insert(x, frags[n], i, e);
      }
  return success();
}

// Pᵀ = exp(score_mod(Sᵀ) - lse) where the pair counts, else 0.
LogicalResult TensorCoreBackwardKernel::emitProbs(attn::TileProbsOp op) {
  if (sT.empty() || pT.empty())
    return error(op, "attn.tile_probs before attn.tile_scores");
  PairIndices at = pairIndices(op);
  ScalarRegionEmitter regions = regionEmitter(op);
  Value q0 = lookup(op.getQ0());
  return mapPairs(pT, q0, lookup(op.getK0()), [&](int64_t n, int64_t i, int64_t e, Value q,
                                                  Value kv) -> Value {
    Value kept = keep(op, regions, q, kv);
    Value score = scoreModAt(regions, at, extract(sT[n], i, e), q, kv, kept);
    if (!score)
      return {};
    Value rowLse = load(lseTile, {sub(q, q0)});
    Value prob = math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, score, rowLse));
    return select(kept, prob, f32(0));
  });
}

void TensorCoreBackwardKernel::accumulateKeyGrad(ArrayRef<Value> w, Value rowTile,
                                                 const SharedTileLayout &layout, int64_t cols,
                                                 double scale, SmallVector<Value> &acc) {
  for (int64_t s = 0; s < BQ / 16; ++s) {
    Value a = aFragmentOf(w[2 * s], w[2 * s + 1], scale);
    for (int64_t j = 0; j < cols / 8; j += 2) {
      SmallVector<Value> bFrag = bFragments(rowTile, layout, {}, tRow, 16 * s, tCol,
                                            8 * j, j + 1 == cols / 8, /*trans=*/true);
      for (size_t i = 0; i < bFrag.size(); ++i)
        acc[j + i] = mma(a, bFrag[i], acc[j + i]);
    }
  }
}

LogicalResult TensorCoreBackwardKernel::emitKeyGrad(attn::TileKeyGradOp op) {
  StringRef role = roleOf(op.getP()), accRole = roleOf(op.getAcc());
  if ((accRole == "dv" && !valuesSweep()) || (accRole == "dk" && !keysSweep()))
    return success(); // the other sweep's
  if (role == "probs" && op.getX() == form.dout() && accRole == "dv" && !pT.empty() &&
      !dv.empty()) {
    accumulateKeyGrad(pT, doTile, vLayout, DVp, scaleOf(op), dv);
    return success();
  }
  if (role == "dscores" && op.getX() == form.query() && accRole == "dk" && !dsT.empty() &&
      !dk.empty()) {
    accumulateKeyGrad(dsT, qTile, qkLayout, Dp, scaleOf(op), dk);
    return success();
  }
  return error(op, "attn.tile_key_grad other than Pᵀ·dO into dV or dSᵀ·Q into dK, after "
                   "what computes them");
}

// δ[i] for the pair's query rows: a warp per row, its lanes over the columns.
LogicalResult TensorCoreBackwardKernel::emitDelta(attn::TileDeltaOp op) {
  if (!keysSweep())
    return success();
  Value dout = lookup(op.getDout()), out = lookup(op.getOut());
  Value batch = lookup(op.getB()), head = lookup(op.getH()), q0 = lookup(op.getQ0());
  Value qLen = seqLen(dout);
  forEach(warp, idx(BQ), idx(warps()), [&](Value i) {
    Value row = add(q0, i);
    Value sum = ifElse(ult(row, qLen), b.getF32Type(), [&] {
      return loop(lane, idx(DV), idx(32), {f32(0)}, [&](Value c, ValueRange acc) {
               Value p = arith::MulFOp::create(b, loc, loadF32(dout, {batch, head, row, c}),
                                               loadF32(out, {batch, head, row, c}));
               return SmallVector<Value>{arith::AddFOp::create(b, loc, acc[0], p)};
             }).getResult(0);
    }, [&] { return f32(0); });
    for (int64_t offset : {16, 8, 4, 2, 1}) {
      Value o = arith::ConstantIntOp::create(b, loc, offset, 32);
      Value width = arith::ConstantIntOp::create(b, loc, 32, 32);
      Value other = gpu::ShuffleOp::create(b, loc, sum, o, width, gpu::ShuffleMode::XOR)
                        .getShuffleResult();
      sum = arith::AddFOp::create(b, loc, sum, other);
    }
    ifThen(cmp(arith::CmpIPredicate::eq, lane, idx(0)), [&] { store(sum, deltaTile, {i}); });
  });
  gpu::BarrierOp::create(b, loc);
  return success();
}

// dSᵀ = score_mod_vjp(Sᵀ, Pᵀ ∘ (dPᵀ - δ)) where the pair counts, else 0; kept in
// registers (for dK) and stored in 16 bits into the shared dSᵀ tile (for dQ).
LogicalResult TensorCoreBackwardKernel::emitDScores(attn::TileDScoresOp op) {
  if (!keysSweep())
    return success();
  if (sT.empty() || pT.empty() || dpT.empty() || dsT.empty())
    return error(op, "attn.tile_dscores before the tiles it reads");
  PairIndices at = pairIndices(op);
  ScalarRegionEmitter regions = regionEmitter(op);
  Value q0 = lookup(op.getQ0()), k0 = lookup(op.getK0());
  return mapPairs(dsT, q0, k0, [&](int64_t n, int64_t i, int64_t e, Value q, Value kv) -> Value {
    Value kept = keep(op, regions, q, kv);
    Value local = sub(q, q0);
    Value dProb = arith::SubFOp::create(b, loc, extract(dpT[n], i, e), load(deltaTile, {local}));
    Value grad = arith::MulFOp::create(b, loc, extract(pT[n], i, e), dProb);
    Value dScore = regions.emit(variant.getScoreModVjp(),
                                {extract(sT[n], i, e), toI64(at.b), toI64(at.h), toI64(q),
                                 toI64(kv), toI64(at.qLen), toI64(at.kvLen), grad},
                                kept);
    if (!dScore)
      return {};
    dScore = select(kept, dScore, f32(0));
    Value key = add(keyRow, add(g, idx(8 * i)));
    store(arith::TruncFOp::create(b, loc, half(), dScore), dsTile,
          {key, dsLayout.column(*this, key, local)});
    return dScore;
  });
}

void TensorCoreBackwardKernel::addToQueryGrad(attn::TileQueryGradOp op, ArrayRef<Value> acc,
                                              Value m, Value col0) {
  Value dq = lookup(op.getDq()), q0 = lookup(op.getQ0());
  Value qLen = memref::DimOp::create(b, loc, dq, int64_t(3));
  SmallVector<Value> prefix{lookup(op.getC()), lookup(op.getB()), lookup(op.getH())};
  Value scale = f32(scaleOf(op));
  for (size_t j = 0; j < acc.size(); ++j)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t e = 0; e < 2; ++e) {
        Value row = add(q0, add(mulc(m, 16), add(g, idx(8 * i))));
        Value col = add(col0, add(idx(8 * int64_t(j) + e), mulc(t, 2)));
        Value x = arith::MulFOp::create(b, loc, extract(acc[j], i, e), scale);
        ifThen(andi(ult(row, qLen), ult(col, idx(D))), [&] {
          SmallVector<Value> at(prefix);
          at.append({row, col});
          store(arith::AddFOp::create(b, loc, load(dq, at), x), dq, at);
        });
      }
}

// dQ[16m .., chunk c] = scale · dS K over the tile's keys, item (m, c) by warp
// (m · chunks + c) % warps.
LogicalResult TensorCoreBackwardKernel::emitQueryGrad(attn::TileQueryGradOp op) {
  if (!keysSweep()) { // the end of the pair
    sT.clear(), pT.clear();
    pairStaged = false;
    return success();
  }
  if (roleOf(op.getDs()) != "dscores" || op.getK() != form.key() || dsT.empty())
    return error(op, "attn.tile_query_grad other than dS·K after attn.tile_dscores");
  gpu::BarrierOp::create(b, loc); // dSᵀ is complete
  // Columns per item: 64 with 16-row query tiles, else 32 (fewer registers beside
  // the larger tiles' fragments; chosen by ptxas's spills on the examples).
  int64_t chunkCols = BQ <= 16 ? 64 : 32;
  while (Dp % chunkCols)
    chunkCols /= 2;
  int64_t chunks = Dp / chunkCols, items = BQ / 16 * chunks;
  forEach(warp, idx(items), idx(warps()), [&](Value item) {
    Value m = divc(item, chunks), col0 = mulc(remc(item, chunks), chunkCols);
    SmallVector<Value> acc = zeroFragments(chunkCols / 8);
    for (int64_t s = 0; s < BK / 16; ++s) {
      Value a = ldmatrixAt(dsTile, dsLayout, {}, bRow, 16 * s, add(bCol, mulc(m, 16)), 0, 4, true);
      for (int64_t j = 0; j < chunkCols / 8; j += 2) {
        Value col = add(tCol, add(col0, idx(8 * j)));
        Value x4 = ldmatrixAt(kTile, qkLayout, {}, tRow, 16 * s, col, 0, 4, true);
        for (int64_t i = 0; i < 2; ++i)
          acc[j + i] = mma(a, fragmentPair(x4, i), acc[j + i]);
      }
    }
    addToQueryGrad(op, acc, m, col0);
  });
  // The pair ends: its fragments are dead (the next pair's staging barrier orders
  // the reads of the shared tiles before their refill).
  sT.clear(), pT.clear(), dpT.clear(), dsT.clear();
  pairStaged = false;
  return success();
}

LogicalResult TensorCoreBackwardKernel::emitKeyStore(attn::TileKeyStoreOp op) {
  StringRef role = roleOf(op.getAcc());
  if ((role == "dk" && !keysSweep()) || (role == "dv" && !valuesSweep()))
    return success(); // the other sweep's
  SmallVector<Value> &acc = role == "dk" ? dk : dv;
  if ((role != "dk" && role != "dv") || acc.empty())
    return error(op, "attn.tile_key_store of a tile other than a zeroed dK or dV");
  Value dest = lookup(op.getDk());
  if (cast<MemRefType>(dest.getType()).getElementType() != half())
    return error(op, "attn.tile_key_store into a tensor of another dtype than the inputs'");
  // Through the key tile's shared buffer (its last readers done at the barrier):
  // each warp writes its rows in the tensor's dtype, then the block copies the
  // tile out row by row (coalesced, and no per-element address kept in registers).
  Value tile = role == "dk" ? kTile : vTile;
  const SharedTileLayout &layout = role == "dk" ? qkLayout : vLayout;
  int64_t cols = role == "dk" ? D : DV, padded = role == "dk" ? Dp : DVp;
  gpu::BarrierOp::create(b, loc);
  for (size_t j = 0; j < acc.size(); ++j)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t e = 0; e < 2; ++e) {
        Value row = add(keyRow, add(g, idx(8 * i)));
        Value col = add(idx(8 * int64_t(j) + e), mulc(t, 2));
        Value x = arith::TruncFOp::create(b, loc, half(), extract(acc[j], i, e));
        store(x, tile, {row, layout.column(*this, row, col)});
      }
  gpu::BarrierOp::create(b, loc);
  Value k0 = lookup(op.getK0()), kvLen = seqLen(dest);
  Value batch = lookup(op.getB()), head = lookup(op.getG());
  forEach(tid, idx(BK * padded), idx(threadsPerBlock()), [&](Value e) {
    Value r = divc(e, padded), c = remc(e, padded);
    Value row = add(k0, r);
    ifThen(andi(ult(row, kvLen), ult(c, idx(cols))), [&] {
      store(load(tile, {r, layout.column(*this, r, c)}), dest, {batch, head, row, c});
    });
  });
  acc.clear();
  return success();
}

} // namespace

int64_t tensorCoreBackwardSweeps(int64_t headDim, int64_t headDimV) {
  return std::max(headDim, headDimV) > 64 ? 2 : 1;
}

bool tensorCoreBackwardFits(const FlashFormDetail &form) {
  Type element = form.elementType();
  int64_t bq = form.blockQ(), bk = form.blockKV();
  return (element.isF16() || element.isBF16()) && bq % 16 == 0 && bq <= 128 && bk % 16 == 0 &&
         bk <= 256 && form.headDim() <= 128 && form.headDimV() <= 128 &&
         tensorCoreBackwardSharedBytes(bq, bk, form.headDim(), form.headDimV()) <=
             kMaxSharedBytes;
}

std::unique_ptr<GpuFlashLowering> makeTensorCoreBackwardKernel(func::FuncOp flash,
                                                               attn::VariantOp variant,
                                                               const FlashFormDetail &form) {
  return std::make_unique<TensorCoreBackwardKernel>(flash, variant, form);
}

} // namespace attnc::cuda::detail

namespace attnc::cuda {

int64_t tensorCoreBackwardSharedBytes(int64_t blockQ, int64_t blockKV, int64_t headDim,
                                      int64_t headDimV) {
  int64_t bytes = 0;
  for (auto &[shape, sixteenBit] : detail::tensorCoreBackwardBuffers(blockQ, blockKV, headDim, headDimV)) {
    int64_t elements = 1;
    for (int64_t n : shape)
      elements *= n;
    bytes += (elements * (sixteenBit ? 2 : 4) + 127) / 128 * 128;
  }
  return bytes;
}

} // namespace attnc::cuda
