//===- SimtBackwardKernel.cpp - the backward flash form as a SIMT kernel ----===//
//
// A block per (split, key/value head, batch) walks its key tiles; one thread per
// key row (row k0 + tid of the tile, block-kv threads) keeps that row's dK and dV
// in private memory, and its column of the score tiles (S, P, dP) too:
//
//   tile_scores     S[i] = scale · Σ_d rows[i][d] · keys[tid][d]    (Q·Kᵀ, dO·Vᵀ)
//   tile_probs      P[i] = exp(score_mod(S[i]) - lse[i]) where the pair counts
//   tile_key_grad   acc[c] += scale · Σ_i P[i] · rows[i][c]           (dV, dK)
//   tile_delta      delta[i] = rowsum(dO ∘ O), rows split over the threads
//   tile_dscores    dS[i][tid] = score_mod_vjp(S[i], P[i] · (dP[i] - delta[i]))
//   tile_query_grad dQ[i][d] += scale · Σ_j dS[i][j] · keys[j][d], rows over threads
//   tile_key_store  the thread's dK or dV row, in the tensor's dtype
//
// Each op that reads rows of q or dout, or a tile of k or v, stages them first in
// f32 shared memory (`rows`: block-q × max(D, DV), `keys`: block-kv × max(D, DV)),
// between two barriers; dS and delta live in shared memory, since dQ's rows
// reduce over the key rows. Rows and keys past the sequences stage as 0, and P and
// dS are 0 for pairs that do not count, so nothing else needs a bound. The block's
// control flow is uniform (the tile classes depend on block indices only), so
// every barrier is reached by every thread. dQ goes to the split's f32 partial:
// its rows are written by this block alone, so no atomics are needed. A
// requires_grad buffer's gradient is the exception: any thread of any block may
// add to any of its elements, by atomic adds (so its summation order, unlike the
// CPU kernel's, is not fixed).
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cuda/GpuFlashLowering.h"

#include <limits>

using namespace mlir;

namespace attnc::cuda::detail {

int64_t simtBackwardSharedBytes(const FlashFormDetail &form) {
  // The four workgroup buffers, each at a 128-byte aligned offset (sharedBufferBytes).
  int64_t width = std::max(form.headDim(), form.headDimV());
  int64_t bq = form.blockQ(), bk = form.blockKV(), bytes = 0;
  for (int64_t floats : {bq * width, bk * width, bq * bk, bq})
    bytes += (floats * 4 + 127) / 128 * 128;
  return bytes;
}

namespace {

class SimtBackwardKernel : public GpuFlashLowering {
public:
  using GpuFlashLowering::GpuFlashLowering;

private:
  int64_t threadsPerBlock() const override { return BK; }
  int64_t width() const { return std::max(D, DV); }
  SmallVector<MemRefType> workgroupBuffers() override {
    Type f = b.getF32Type();
    return {workgroupType({BQ, width()}, f), workgroupType({BK, width()}, f),
            workgroupType({BQ, BK}, f), workgroupType({BQ}, f)};
  }
  void enterKernel(ValueRange buffers) override {
    rows = buffers[0], keys = buffers[1], dsTile = buffers[2], deltaTile = buffers[3];
  }
  LogicalResult realizeScratch(memref::AllocaOp op, StringRef role) override;
  LogicalResult emitScores(attn::TileScoresOp op) override;
  LogicalResult emitZero(attn::TileZeroOp op) override;
  LogicalResult emitDelta(attn::TileDeltaOp op) override;
  LogicalResult emitProbs(attn::TileProbsOp op) override;
  LogicalResult emitDScores(attn::TileDScoresOp op) override;
  LogicalResult emitKeyGrad(attn::TileKeyGradOp op) override;
  LogicalResult emitQueryGrad(attn::TileQueryGradOp op) override;
  LogicalResult emitKeyStore(attn::TileKeyStoreOp op) override;

  /// The columns (head dim) of a [B, heads, L, cols] tensor of the flash form.
  int64_t colsOf(Value tensor) {
    return cast<MemRefType>(lookup(tensor).getType()).getDimSize(3);
  }
  /// Copies `count` rows from `row0` of `tensor` (flash-form value, head `head`)
  /// into `tile` (f32, `cols` columns), element e by thread e % block-kv; rows past
  /// the tensor's length are 0. No barrier.
  void stage(Value tensor, Value batch, Value head, Value row0, int64_t count, Value tile) {
    stageRows(lookup(tensor), tile, count, colsOf(tensor), batch, head, row0, BK);
  }
  /// A barrier, `copy`, a barrier: the previous readers of the shared tiles are done
  /// before they are refilled, and the copies are complete before they are read.
  void restage(function_ref<void()> copy) {
    gpu::BarrierOp::create(b, loc);
    copy();
    gpu::BarrierOp::create(b, loc);
  }
  /// Element i of the thread's column of a score tile (private column, or dS).
  Value columnAt(Value tile, Value i) {
    return tile == dsTile ? load(tile, {i, tid}) : load(tile, {i});
  }
  /// Runs `body(i)` for the tile's query rows i that thread tid handles (tid,
  /// tid + block-kv, ...): the per-row ops.
  void forThreadRows(function_ref<void(Value)> body) {
    forEach(tid, idx(BQ), idx(BK), body);
  }
  /// For a tile_probs/tile_dscores op: `body(i, q, kv, keep)` for each row i of the
  /// thread's column (kv = k0 + tid), `keep` whether the pair counts (inside the
  /// sequences and, with apply_mask, kept by mask_mod).
  /// `body` returns false when a region failed to emit (reported); so does this.
  template <typename OpT>
  LogicalResult forEachPairOfColumn(OpT op, ScalarRegionEmitter &regions,
                                    function_ref<bool(Value, Value, Value, Value)> body) {
    PairIndices at = pairIndices(op);
    Value kv = add(lookup(op.getK0()), tid);
    Value q0 = lookup(op.getQ0());
    Value kvIn = ult(kv, at.kvLen);
    bool ok = true;
    forEach(idx(0), idx(BQ), idx(1), [&](Value i) {
      Value q = add(q0, i);
      Value inRange = andi(ult(q, at.qLen), kvIn);
      Value keep = keptPair(regions, at, op.getApplyMask(), q, kv, inRange);
      ok = keep && body(i, q, kv, keep);
    });
    return success(ok);
  }

  Value rows, keys, dsTile, deltaTile; ///< shared memory
};

LogicalResult SimtBackwardKernel::realizeScratch(memref::AllocaOp op, StringRef role) {
  if (role == "dscores") {
    map.map(op.getResult(), dsTile);
    return success();
  }
  if (role == "delta") {
    map.map(op.getResult(), deltaTile);
    return success();
  }
  // The thread's column of S, P and dP; its row of dK and dV.
  int64_t size = role == "dk" ? D : role == "dv" ? DV : BQ;
  if (role != "scores" && role != "probs" && role != "dprobs" && role != "dk" && role != "dv")
    return error(op, "unknown scratch role '") << role << "'";
  map.map(op.getResult(),
          memref::AllocaOp::create(b, loc, MemRefType::get({size}, b.getF32Type())));
  return success();
}

LogicalResult SimtBackwardKernel::emitScores(attn::TileScoresOp op) {
  int64_t depth = colsOf(op.getQ());
  if (colsOf(op.getK()) != depth)
    return error(op, "the rows and keys of attn.tile_scores differ in width");
  Value s = lookup(op.getS());
  restage([&] {
    stage(op.getQ(), lookup(op.getB()), lookup(op.getH()), lookup(op.getQ0()), BQ, rows);
    stage(op.getK(), lookup(op.getB()), lookup(op.getG()), lookup(op.getK0()), BK, keys);
  });
  Value scale = f32(scaleOf(op));
  forEach(idx(0), idx(BQ), idx(1), [&](Value i) {
    Value dot = loop(idx(0), idx(depth), idx(1), {f32(0)}, [&](Value d, ValueRange sum) {
                  Value p = arith::MulFOp::create(b, loc, load(rows, {i, d}), load(keys, {tid, d}));
                  return SmallVector<Value>{arith::AddFOp::create(b, loc, sum[0], p)};
                }).getResult(0);
    store(arith::MulFOp::create(b, loc, dot, scale), s, {i});
  });
  return success();
}

LogicalResult SimtBackwardKernel::emitZero(attn::TileZeroOp op) {
  Value tile = lookup(op.getTile());
  if (tile == dsTile || tile == deltaTile)
    return error(op, "attn.tile_zero of a shared tile");
  int64_t size = cast<MemRefType>(tile.getType()).getDimSize(0);
  forEach(idx(0), idx(size), idx(1), [&](Value c) { store(f32(0), tile, {c}); });
  return success();
}

LogicalResult SimtBackwardKernel::emitDelta(attn::TileDeltaOp op) {
  Value dout = lookup(op.getDout()), out = lookup(op.getOut());
  Value batch = lookup(op.getB()), head = lookup(op.getH()), q0 = lookup(op.getQ0());
  Value qLen = seqLen(dout);
  int64_t cols = colsOf(op.getDout());
  restage([&] {
    forThreadRows([&](Value i) {
      Value row = add(q0, i);
      Value sum = ifElse(ult(row, qLen), b.getF32Type(), [&] {
        return loop(idx(0), idx(cols), idx(1), {f32(0)}, [&](Value c, ValueRange acc) {
                 Value p = arith::MulFOp::create(b, loc, loadF32(dout, {batch, head, row, c}),
                                                 loadF32(out, {batch, head, row, c}));
                 return SmallVector<Value>{arith::AddFOp::create(b, loc, acc[0], p)};
               }).getResult(0);
      }, [&] { return f32(0); });
      store(sum, deltaTile, {i});
    });
  });
  return success();
}

// P[i] = exp(score_mod(S[i]) - lse[i]) where the pair counts, else 0. A row that
// kept nothing has lse = -inf: subtracting +inf instead gives 0.
LogicalResult SimtBackwardKernel::emitProbs(attn::TileProbsOp op) {
  Value s = lookup(op.getS()), p = lookup(op.getP()), lse = lookup(op.getLse());
  PairIndices at = pairIndices(op);
  ScalarRegionEmitter regions = regionEmitter(op);
  return forEachPairOfColumn(op, regions, [&](Value i, Value q, Value kv, Value keep) {
    Value score = scoreModAt(regions, at, load(s, {i}), q, kv, keep);
    if (!score)
      return false;
    Value rowLse = ifElse(
        ult(q, at.qLen), b.getF32Type(), [&] { return load(lse, {at.b, at.h, q}); },
        [&] { return negInf(); });
    Value empty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, rowLse, negInf());
    rowLse = select(empty, f32(std::numeric_limits<double>::infinity()), rowLse);
    Value prob = math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, score, rowLse));
    store(select(keep, prob, f32(0)), p, {i});
    return true;
  });
}

// dS[i][tid] = score_mod_vjp(S[i], ..., P[i] · (dP[i] - delta[i])) where the pair
// counts, else 0.
LogicalResult SimtBackwardKernel::emitDScores(attn::TileDScoresOp op) {
  Value s = lookup(op.getS()), p = lookup(op.getP()), dp = lookup(op.getDp());
  Value delta = lookup(op.getDelta());
  if (lookup(op.getDs()) != dsTile || delta != deltaTile)
    return error(op, "unexpected tiles of attn.tile_dscores");
  PairIndices at = pairIndices(op);
  ScalarRegionEmitter regions = regionEmitter(op);
  return forEachPairOfColumn(op, regions, [&](Value i, Value q, Value kv, Value keep) {
    Value dProb = arith::SubFOp::create(b, loc, load(dp, {i}), load(delta, {i}));
    Value grad = arith::MulFOp::create(b, loc, load(p, {i}), dProb);
    Value dScore = regions.emit(variant.getScoreModVjp(),
                                {load(s, {i}), toI64(at.b), toI64(at.h), toI64(q), toI64(kv),
                                 toI64(at.qLen), toI64(at.kvLen), grad},
                                keep);
    if (!dScore)
      return false;
    store(select(keep, dScore, f32(0)), dsTile, {i, tid});
    return true;
  });
}

// acc[c] += scale · Σ_i P[i] · x[q0 + i][c]: the thread's key row of dV (P, dout)
// or dK (dS, q).
LogicalResult SimtBackwardKernel::emitKeyGrad(attn::TileKeyGradOp op) {
  Value p = lookup(op.getP()), acc = lookup(op.getAcc());
  int64_t cols = colsOf(op.getX());
  if (cast<MemRefType>(acc.getType()).getDimSize(0) != cols)
    return error(op, "the accumulator and the rows of attn.tile_key_grad differ in width");
  restage([&] {
    stage(op.getX(), lookup(op.getB()), lookup(op.getH()), lookup(op.getQ0()), BQ, rows);
  });
  Value scale = f32(scaleOf(op));
  forEach(idx(0), idx(BQ), idx(1), [&](Value i) {
    Value weight = arith::MulFOp::create(b, loc, columnAt(p, i), scale);
    forEach(idx(0), idx(cols), idx(1), [&](Value c) {
      Value x = arith::MulFOp::create(b, loc, weight, load(rows, {i, c}));
      store(arith::AddFOp::create(b, loc, load(acc, {c}), x), acc, {c});
    });
  });
  return success();
}

// dq[c][b][h][q0 + i][d] += scale · Σ_j dS[i][j] · k[k0 + j][d], for the rows inside
// Q_LEN; each row by one thread.
LogicalResult SimtBackwardKernel::emitQueryGrad(attn::TileQueryGradOp op) {
  if (lookup(op.getDs()) != dsTile)
    return error(op, "unexpected dS tile of attn.tile_query_grad");
  Value dq = lookup(op.getDq());
  Value batch = lookup(op.getB()), head = lookup(op.getH()), q0 = lookup(op.getQ0());
  Value split = lookup(op.getC());
  Value qLen = memref::DimOp::create(b, loc, dq, int64_t(3));
  restage([&] { stage(op.getK(), batch, lookup(op.getG()), lookup(op.getK0()), BK, keys); });
  Value scale = f32(scaleOf(op));
  forThreadRows([&](Value i) {
    Value row = add(q0, i);
    ifThen(ult(row, qLen), [&] {
      forEach(idx(0), idx(D), idx(1), [&](Value d) {
        Value sum = loop(idx(0), idx(BK), idx(1), {f32(0)}, [&](Value j, ValueRange acc) {
                      Value x = arith::MulFOp::create(b, loc, load(dsTile, {i, j}),
                                                      load(keys, {j, d}));
                      return SmallVector<Value>{arith::AddFOp::create(b, loc, acc[0], x)};
                    }).getResult(0);
        SmallVector<Value> at{split, batch, head, row, d};
        Value updated = arith::AddFOp::create(b, loc, load(dq, at),
                                              arith::MulFOp::create(b, loc, sum, scale));
        store(updated, dq, at);
      });
    });
  });
  return success();
}

LogicalResult SimtBackwardKernel::emitKeyStore(attn::TileKeyStoreOp op) {
  Value acc = lookup(op.getAcc()), dest = lookup(op.getDk());
  int64_t cols = cast<MemRefType>(acc.getType()).getDimSize(0);
  Type element = cast<MemRefType>(dest.getType()).getElementType();
  Value row = add(lookup(op.getK0()), tid);
  ifThen(ult(row, seqLen(dest)), [&] {
    forEach(idx(0), idx(cols), idx(1), [&](Value c) {
      Value x = load(acc, {c});
      if (!element.isF32())
        x = arith::TruncFOp::create(b, loc, element, x);
      store(x, dest, {lookup(op.getB()), lookup(op.getG()), row, c});
    });
  });
  return success();
}

} // namespace

std::unique_ptr<GpuFlashLowering> makeSimtBackwardKernel(func::FuncOp flash,
                                                         attn::VariantOp variant,
                                                         const FlashFormDetail &form) {
  return std::make_unique<SimtBackwardKernel>(flash, variant, form);
}

} // namespace attnc::cuda::detail
