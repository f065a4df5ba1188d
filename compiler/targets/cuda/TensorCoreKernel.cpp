//===- TensorCoreKernel.cpp - the tensor-core realisation of the tile ops --===//
//
// Each tile op on the warp's mma fragments (TensorCoreKernel.h): an element (i, e)
// of score fragment n is (query row g + 8i, key 8n + 2t + e) of the warp's 16 rows;
// row maxima and sums are reduced over the quad with shuffles, and P is reused from
// registers as the A operand of P·V.
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
  size_t next = 0;
  if (!state.empty() && state[0].getType().isF32()) {
    max.assign({state[0], state[1]});
    sum.assign({state[2], state[3]});
    acc.assign(state.begin() + 4, state.begin() + 4 + vTiles);
    next = 4 + vTiles;
  }
  scores.assign(state.begin() + next, state.end());
}

LogicalResult TensorCoreKernel::emitInit(attn::TileInitOp) {
  max.assign(2, negInf());
  sum.assign(2, f32(0));
  acc.assign(vTiles, zeros(accFragment()));
  return success();
}

LogicalResult TensorCoreKernel::emitScores(attn::TileScoresOp op) {
  if (!buffer || qFrag.empty())
    return error(op, "attn.tile_scores outside the loop over key tiles");
  if (ready)
    ready();
  Value k0 = lookup(op.getK0());
  if (staged) {
    Value k = lookup(op.getK());
    stageF16(k, kRing, {buffer}, lookup(op.getB()), lookup(op.getG()), k0, BK, Dp, D,
             seqLen(k));
    gpu::BarrierOp::create(b, loc);
  }
  // S = scale · Q·Kᵀ, 16 x BK per warp, as nTiles fragments of 16 x 8.
  auto f32x2 = accFragment();
  Value scale = arith::ConstantOp::create(
      b, loc, f32x2,
      DenseElementsAttr::get(f32x2, float(op.getScale().convertToDouble())));
  scores.clear();
  for (int64_t n = 0; n < nTiles; ++n) {
    Value s = zeros(f32x2);
    for (int64_t k = 0; k < kSteps; ++k)
      s = mma(qFrag[k], ldmatrix(kRing, {buffer, add(kRow, idx(8 * n)), add(kCol, idx(16 * k))}, 2, false), s);
    scores.push_back(arith::MulFOp::create(b, loc, s, scale));
  }
  return success();
}

LogicalResult TensorCoreKernel::emitMods(attn::TileModsOp op) {
  if (scores.empty())
    return error(op, "attn.tile_mods before attn.tile_scores");
  ScalarRegionEmitter regions = regionEmitter(op);
  Value q0 = lookup(op.getQ0()), k0 = lookup(op.getK0());
  Value qLen = lookup(op.getQLen()), kvLen = lookup(op.getKvLen());
  for (int64_t n = 0; n < nTiles; ++n)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t e = 0; e < 2; ++e) {
        Value kv = add(k0, add(idx(8 * n + e), mulc(t, 2)));
        Value row = fragmentRow(q0, i);
        Value inRange = andi(ult(kv, kvLen), ult(row, qLen));
        Value s = modifiedScore(op, regions, extract(scores[n], i, e), row, kv, inRange);
        scores[n] = insert(s, scores[n], i, e);
      }
  return success();
}

LogicalResult TensorCoreKernel::emitSoftmax(attn::TileSoftmaxOp op) {
  if (scores.empty() || max.empty())
    return error(op, "attn.tile_softmax needs attn.tile_init and attn.tile_scores before it");
  // The lane's rows: a maximum over its elements and the quad, OnlineSoftmax.h,
  // then P in 16 bits (the A fragments of P·V) and the lane's part of the sum.
  Value safeMax[2], laneSum[2];
  alpha.assign(2, Value());
  for (int64_t i = 0; i < 2; ++i) {
    Value tileMax = extract(scores[0], i, 0);
    for (int64_t n = 0; n < nTiles; ++n)
      for (int64_t e = n ? 0 : 1; e < 2; ++e)
        tileMax = codegen::combineMax(b, loc, tileMax, extract(scores[n], i, e));
    codegen::RowRescale row = codegen::rescaleRow(b, loc, max[i], quadReduce(tileMax, true));
    max[i] = row.max;
    safeMax[i] = row.safeMax;
    alpha[i] = row.alpha;
    laneSum[i] = f32(0);
  }
  probs.clear();
  for (int64_t n = 0; n < nTiles; ++n) {
    Value p = zeros(halfFragment(2));
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t e = 0; e < 2; ++e) {
        Value pe = codegen::probability(b, loc, extract(scores[n], i, e), safeMax[i]);
        laneSum[i] = arith::AddFOp::create(b, loc, laneSum[i], pe);
        p = insert(arith::TruncFOp::create(b, loc, half(), pe), p, i, e);
      }
    probs.push_back(p);
  }
  for (int64_t i = 0; i < 2; ++i)
    sum[i] = codegen::rescaledSum(b, loc, sum[i], alpha[i], laneSum[i]);
  scores.clear();
  return success();
}

LogicalResult TensorCoreKernel::emitPV(attn::TilePVOp op) {
  if (probs.empty() || acc.empty())
    return error(op, "attn.tile_pv needs attn.tile_init and attn.tile_softmax before it");
  if (staged) {
    Value v = lookup(op.getV());
    stageF16(v, vRing, {buffer}, lookup(op.getB()), lookup(op.getG()), lookup(op.getK0()), BK,
             DVp, DV, seqLen(v));
    gpu::BarrierOp::create(b, loc);
  }
  // O = O * alpha + P·V.
  for (int64_t j = 0; j < vTiles; ++j) {
    Value o = acc[j];
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t e = 0; e < 2; ++e)
        o = insert(arith::MulFOp::create(b, loc, extract(o, i, e), alpha[i]), o, i, e);
    for (int64_t s = 0; s < BK / 16; ++s) {
      // A (16 rows x 16 keys): a0a1, a2a3 from n-tile 2s (rows g, g+8), a4a5, a6a7
      // from n-tile 2s + 1.
      Value a = zeros(halfFragment(4));
      for (int64_t r = 0; r < 4; ++r)
        for (int64_t e = 0; e < 2; ++e)
          a = insert(extract(probs[2 * s + r / 2], r % 2, e), a, r, e);
      Value bv = ldmatrix(vRing, {buffer, add(l16, idx(16 * s)), idx(8 * j)}, 2, /*trans=*/true);
      o = mma(a, bv, o);
    }
    acc[j] = o;
  }
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
  for (int64_t i = 0; i < 2; ++i) {
    codegen::RowResult result = codegen::finishRow(b, loc, max[i], quadReduce(sum[i], false));
    Value row = fragmentRow(q0, i);
    Value rowOk = ult(row, qLen);
    for (int64_t j = 0; j < vTiles; ++j)
      for (int64_t e = 0; e < 2; ++e) {
        Value col = add(idx(8 * j + e), mulc(t, 2));
        Value o = arith::MulFOp::create(b, loc, extract(acc[j], i, e), result.outScale);
        ifThen(andi(rowOk, ult(col, idx(DV))), [&] {
          store(arith::TruncFOp::create(b, loc, outType, o), out, {batchIdx, head, row, col});
        });
      }
    ifThen(andi(rowOk, cmp(arith::CmpIPredicate::eq, t, idx(0))),
           [&] { store(result.lse, lookup(op.getLse()), {batchIdx, head, row}); });
  }
  return success();
}

Value TensorCoreKernel::quadReduce(Value v, bool isMax) {
  for (int64_t offset : {1, 2}) {
    Value o = arith::ConstantIntOp::create(b, loc, offset, 32);
    Value w = arith::ConstantIntOp::create(b, loc, 32, 32);
    Value other = gpu::ShuffleOp::create(b, loc, v, o, w, gpu::ShuffleMode::XOR).getShuffleResult();
    v = isMax ? codegen::combineMax(b, loc, v, other)
              : Value(arith::AddFOp::create(b, loc, v, other));
  }
  return v;
}

} // namespace attnc::cuda::detail
