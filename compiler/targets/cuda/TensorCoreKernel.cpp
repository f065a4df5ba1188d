//===- TensorCoreKernel.cpp - the tensor-core realisation of the tile ops --===//
//
// Each tile op on the warp's mma fragments (TensorCoreKernel.h): an element (i, e)
// of score fragment (m, n) is (query row 16m + g + 8i, key 8n + 2t + e) of the
// warp's rows; row maxima and sums are reduced over the quad with shuffles, and P
// is reused from registers as the A operand of P·V.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/OnlineSoftmax.h"
#include "compiler/targets/cuda/TensorCoreKernel.h"

using namespace mlir;

namespace attnc::cuda::detail {

LogicalResult TensorCoreKernel::realizeScratch(memref::AllocaOp op, StringRef role) {
  // Registers, not memory (TensorCoreKernel.h); only the shape is checked.
  MemRefType type = op.getType();
  bool ok = role == "scores"  ? type.getShape() == ArrayRef<int64_t>{BQ, BK}
            : role == "acc"   ? type.getShape() == ArrayRef<int64_t>{BQ, DV}
            : role == "max" || role == "sum" || role == "alpha"
                ? type.getShape() == ArrayRef<int64_t>{BQ}
                : false;
  if (!ok)
    return error(op, "unexpected scratch tile '") << role << "' of type " << type;
  return success();
}

SmallVector<Value> TensorCoreKernel::runningState() {
  SmallVector<Value> state;
  for (ArrayRef<Value> part : {ArrayRef<Value>(max), ArrayRef<Value>(sum),
                               ArrayRef<Value>(acc), ArrayRef<Value>(scores)})
    state.append(part.begin(), part.end());
  return state;
}

void TensorCoreKernel::setRunningState(ValueRange state) {
  // The layout follows from the types: (max, sum) are f32 scalars and come first
  // with the accumulator fragments once tile_init has run; score fragments follow
  // between tile_scores and tile_softmax.
  max.clear(), sum.clear(), acc.clear(), scores.clear();
  size_t next = 0, rows = 2 * mTiles;
  if (!state.empty() && state[0].getType().isF32()) {
    max.assign(state.begin(), state.begin() + rows);
    sum.assign(state.begin() + rows, state.begin() + 2 * rows);
    acc.assign(state.begin() + 2 * rows, state.begin() + 2 * rows + mTiles * vTiles);
    next = 2 * rows + mTiles * vTiles;
  }
  scores.assign(state.begin() + next, state.end());
}

LogicalResult TensorCoreKernel::emitInit(attn::TileInitOp) {
  max.assign(2 * mTiles, negInf());
  sum.assign(2 * mTiles, f32(0));
  acc.assign(mTiles * vTiles, zeros(accFragment()));
  return success();
}

LogicalResult TensorCoreKernel::emitScores(attn::TileScoresOp op) {
  if (!buffer || !queryStaged)
    return error(op, "attn.tile_scores outside the loop over key tiles");
  if (ready)
    ready();
  Value k0 = lookup(op.getK0());
  if (staged) {
    Value k = lookup(op.getK());
    stageF16(k, kRing, qkLayout, {buffer}, lookup(op.getB()), lookup(op.getG()), k0, BK, Dp,
             D, seqLen(k));
    gpu::BarrierOp::create(b, loc);
  }
  // S = Q·Kᵀ, 16 mTiles x BK per warp, as mTiles x nTiles fragments of 16 x 8 (a
  // K fragment feeds the mma of every row tile); times the scale unless the
  // softmax folds it (scoreUnit).
  auto f32x2 = accFragment();
  double scale = scaleOf(op);
  bool fold = scoreModIsIdentity() && scale > 0;
  scoreUnit = fold ? scale : 1;
  scores.assign(mTiles * nTiles, zeros(f32x2));
  if (queryFragmentsInRegisters()) {
    for (int64_t n = 0; n < nTiles; n += 2)
      for (int64_t k = 0; k < kSteps; ++k)
        mmaRowTiles(qFrag, kSteps, k, keyFragments(n, k), scores, nTiles, n);
  } else {
    // Q's fragments of k-step k from shared memory, each feeding every key tile.
    for (int64_t k = 0; k < kSteps; ++k) {
      SmallVector<Value> a = queryFragments(k);
      for (int64_t n = 0; n < nTiles; n += 2)
        mmaRowTiles(a, 1, 0, keyFragments(n, k), scores, nTiles, n);
    }
  }
  if (!fold) {
    Value splat = arith::ConstantOp::create(b, loc, f32x2,
                                            DenseElementsAttr::get(f32x2, float(scale)));
    for (Value &s : scores)
      s = arith::MulFOp::create(b, loc, s, splat);
  }
  return success();
}

SmallVector<Value> TensorCoreKernel::keyFragments(int64_t n, int64_t k) {
  return bFragments(kRing, qkLayout, buffer, bRow, 8 * n, bCol, 16 * k,
                    n + 1 == nTiles, /*trans=*/false);
}

SmallVector<Value> TensorCoreKernel::valueFragments(int64_t j, int64_t s) {
  return bFragments(vRing, vLayout, buffer, tRow, 16 * s, tCol, 8 * j,
                    j + 1 == vTiles, /*trans=*/true);
}

void TensorCoreKernel::mmaRowTiles(ArrayRef<Value> a, int64_t aSteps, int64_t step,
                                   ArrayRef<Value> bFrag, SmallVector<Value> &d,
                                   int64_t dTiles, int64_t col) {
  for (int64_t m = 0; m < mTiles; ++m)
    for (size_t i = 0; i < bFrag.size(); ++i) {
      Value &c = d[m * dTiles + col + i];
      c = mma(a[m * aSteps + step], bFrag[i], c);
    }
}

Value TensorCoreKernel::probabilityFragment(int64_t m, int64_t s) {
  // A (16 rows x 16 keys): a0a1, a2a3 from score tile 2s (rows g, g + 8), a4a5, a6a7
  // from score tile 2s + 1.
  Value a = zeros(halfFragment(4));
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t e = 0; e < 2; ++e)
      a = insert(extract(probs[m * nTiles + 2 * s + r / 2], r % 2, e), a, r, e);
  return a;
}

LogicalResult TensorCoreKernel::emitMods(attn::TileModsOp op) {
  if (scores.empty())
    return error(op, "attn.tile_mods before attn.tile_scores");
  Value q0 = lookup(op.getQ0()), k0 = lookup(op.getK0());
  Value qLen = lookup(op.getQLen()), kvLen = lookup(op.getKvLen());
  ScalarRegionEmitter regions = regionEmitter(op);
  if (!op.getApplyMask() && !codegen::canRecordErrors(variant.getScoreMod())) {
    // Without a mask, a score_mod that cannot fail runs on every element as is:
    // rows past the query sequence are never stored, and keys past the key
    // sequence become -inf afterwards (on the last key tile alone). No bounds
    // compare and select per element.
    if (!scoreModIsIdentity())
      modifyEveryScore(op, regions);
    maskKeysPastEnd(k0, kvLen);
    return success();
  }
  mapScores(q0, k0, [&](Value score, Value row, Value kv) {
    Value inRange = andi(ult(kv, kvLen), ult(row, qLen));
    return modifiedScore(op, regions, score, row, kv, inRange);
  });
  return success();
}

void TensorCoreKernel::mapScores(Value q0, Value k0,
                                 function_ref<Value(Value, Value, Value)> f) {
  for (int64_t m = 0; m < mTiles; ++m)
    for (int64_t n = 0; n < nTiles; ++n)
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t e = 0; e < 2; ++e) {
          Value kv = add(k0, add(idx(8 * n + e), mulc(t, 2)));
          Value row = fragmentRow(q0, 2 * m + i);
          Value &frag = scores[m * nTiles + n];
          frag = insert(f(extract(frag, i, e), row, kv), frag, i, e);
        }
}

void TensorCoreKernel::modifyEveryScore(attn::TileModsOp op, ScalarRegionEmitter &regions) {
  Value bI = toI64(lookup(op.getB())), hI = toI64(lookup(op.getH()));
  Value qLenI = toI64(lookup(op.getQLen())), kvLenI = toI64(lookup(op.getKvLen()));
  mapScores(lookup(op.getQ0()), lookup(op.getK0()), [&](Value score, Value row, Value kv) {
    return regions.emit(variant.getScoreMod(),
                        {score, bI, hI, toI64(row), toI64(kv), qLenI, kvLenI});
  });
}

void TensorCoreKernel::maskKeysPastEnd(Value k0, Value kvLen) {
  // Rows past the query sequence need no mask: their scores (from zero-filled Q
  // rows) are finite and never stored.
  auto f32x2 = accFragment();
  Value partial = ult(kvLen, add(k0, idx(BK)));
  scores = SmallVector<Value>(
      ifElse(partial, SmallVector<Type>(scores.size(), f32x2),
             [&] {
               SmallVector<Value> masked(scores.begin(), scores.end());
               for (int64_t n = 0; n < nTiles; ++n)
                 for (int64_t e = 0; e < 2; ++e) {
                   Value kv = add(k0, add(idx(8 * n + e), mulc(t, 2)));
                   Value keep = ult(kv, kvLen);
                   for (int64_t m = 0; m < mTiles; ++m) {
                     Value &frag = masked[m * nTiles + n];
                     for (int64_t i = 0; i < 2; ++i)
                       frag = insert(select(keep, extract(frag, i, e), negInf()), frag, i, e);
                   }
                 }
               return masked;
             },
             [&] { return scores; }));
}

LogicalResult TensorCoreKernel::emitSoftmax(attn::TileSoftmaxOp op) {
  if (scores.empty() || max.empty())
    return error(op, "attn.tile_softmax needs attn.tile_init and attn.tile_scores before it");
  // The lane's rows: a maximum over its elements and the quad, OnlineSoftmax.h,
  // then P in 16 bits (the A fragments of P·V) and the lane's part of the sum.
  int64_t rows = 2 * mTiles; // the lane's rows, r = 2m + i
  SmallVector<Value> bias(rows), laneSum(rows);
  alpha.assign(rows, Value());
  for (int64_t r = 0; r < rows; ++r) {
    int64_t m = r / 2, i = r % 2;
    Value tileMax = extract(scores[m * nTiles], i, 0);
    for (int64_t n = 0; n < nTiles; ++n)
      for (int64_t e = n ? 0 : 1; e < 2; ++e)
        tileMax = codegen::combineMax(b, loc, tileMax, extract(scores[m * nTiles + n], i, e));
    codegen::RowRescale row =
        codegen::rescaleRowBase2(b, loc, max[r], quadReduce(tileMax, true), log2PerUnit());
    max[r] = row.max;
    bias[r] = row.bias;
    alpha[r] = row.alpha;
    laneSum[r] = f32(0);
  }
  probs.clear();
  for (int64_t m = 0; m < mTiles; ++m)
    for (int64_t n = 0; n < nTiles; ++n) {
      Value p = zeros(halfFragment(2));
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t e = 0; e < 2; ++e) {
          int64_t r = 2 * m + i;
          Value pe = codegen::probabilityBase2(b, loc, extract(scores[m * nTiles + n], i, e),
                                               bias[r], log2PerUnit());
          laneSum[r] = arith::AddFOp::create(b, loc, laneSum[r], pe);
          p = insert(arith::TruncFOp::create(b, loc, half(), pe), p, i, e);
        }
      probs.push_back(p);
    }
  for (int64_t r = 0; r < rows; ++r)
    sum[r] = codegen::rescaledSum(b, loc, sum[r], alpha[r], laneSum[r]);
  scores.clear();
  return success();
}

/// O = O * alpha before O += P·V, skipped by the lanes whose rows kept their
/// maximum (alpha = 1 exactly, so skipping changes no bit): once the maxima settle,
/// most key tiles skip the rescale (one FMUL per accumulator element, as many as
/// the mma of a 32-key tile). A per-lane branch, no collective inside:
///   %keep = arith.andi (alpha0 == 1), (alpha1 == 1)
///   %o:N = scf.if %keep -> (vector<2x2xf32>, ...) { yield O } else { yield O * alpha }
void TensorCoreKernel::rescaleAccumulator() {
  Value one = f32(1), keep;
  for (Value a : alpha) {
    Value unchanged = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, a, one);
    keep = keep ? andi(keep, unchanged) : unchanged;
  }
  SmallVector<Type> types(acc.size(), acc.front().getType());
  ValueRange rescaled = ifElse(
      keep, types, [&] { return SmallVector<Value>(acc.begin(), acc.end()); },
      [&] {
        SmallVector<Value> out;
        for (size_t f = 0; f < acc.size(); ++f) {
          Value o = acc[f];
          int64_t m = int64_t(f) / vTiles;
          for (int64_t i = 0; i < 2; ++i)
            for (int64_t e = 0; e < 2; ++e)
              o = insert(arith::MulFOp::create(b, loc, extract(o, i, e), alpha[2 * m + i]), o,
                         i, e);
          out.push_back(o);
        }
        return out;
      });
  acc.assign(rescaled.begin(), rescaled.end());
}

LogicalResult TensorCoreKernel::emitPV(attn::TilePVOp op) {
  if (probs.empty() || acc.empty())
    return error(op, "attn.tile_pv needs attn.tile_init and attn.tile_softmax before it");
  if (staged) {
    Value v = lookup(op.getV());
    stageF16(v, vRing, vLayout, {buffer}, lookup(op.getB()), lookup(op.getG()),
             lookup(op.getK0()), BK, DVp, DV, seqLen(v));
    gpu::BarrierOp::create(b, loc);
  }
  rescaleAccumulator();
  int64_t keySteps = BK / 16;
  SmallVector<Value> pFrag; // [m * keySteps + s]
  for (int64_t m = 0; m < mTiles; ++m)
    for (int64_t s = 0; s < keySteps; ++s)
      pFrag.push_back(probabilityFragment(m, s));
  for (int64_t j = 0; j < vTiles; j += 2)
    for (int64_t s = 0; s < keySteps; ++s)
      mmaRowTiles(pFrag, keySteps, s, valueFragments(j, s), acc, vTiles, j);
  // Every warp reads the whole staged tiles: none is refilled before all are done.
  gpu::BarrierOp::create(b, loc);
  probs.clear();
  return success();
}

LogicalResult TensorCoreKernel::emitStore(attn::TileStoreOp op) {
  if (acc.empty())
    return error(op, "attn.tile_store needs attn.tile_init before it");
  Value out = lookup(op.getOut()), q0 = lookup(op.getQ0());
  Value batchIdx = lookup(op.getB()), head = lookup(op.getH());
  Value qLen = seqLen(out);
  Type outType = cast<MemRefType>(out.getType()).getElementType();
  // out = O / l and lse = max + log(l) for the lane's rows (l summed over the quad).
  for (int64_t r = 0; r < 2 * mTiles; ++r) {
    int64_t m = r / 2, i = r % 2;
    codegen::RowResult result =
        codegen::finishRow(b, loc, max[r], quadReduce(sum[r], false), scoreUnit);
    Value row = fragmentRow(q0, r);
    Value rowOk = ult(row, qLen);
    for (int64_t j = 0; j < vTiles; ++j)
      for (int64_t e = 0; e < 2; ++e) {
        Value col = add(idx(8 * j + e), mulc(t, 2));
        Value o =
            arith::MulFOp::create(b, loc, extract(acc[m * vTiles + j], i, e), result.outScale);
        ifThen(andi(rowOk, ult(col, idx(DV))), [&] {
          store(arith::TruncFOp::create(b, loc, outType, o), out, {batchIdx, head, row, col});
        });
      }
    ifThen(andi(rowOk, cmp(arith::CmpIPredicate::eq, t, idx(0))),
           [&] { store(result.lse, lookup(op.getLse()), {batchIdx, head, row}); });
  }
  return success();
}

} // namespace attnc::cuda::detail
