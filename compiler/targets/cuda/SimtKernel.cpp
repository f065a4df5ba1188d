//===- SimtKernel.cpp - the SIMT flash kernel ------------------------------===//
//
// One thread per query row: the block stages K and V tiles in f32 workgroup memory,
// each thread computes its row's scores with scalar FMAs and keeps its online
// softmax state (q row, accumulator, a tile of scores) in private memory. For f32
// specs, and for tile shapes the tensor-core kernel does not take.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cuda/GpuKernelBuilder.h"
#include "compiler/transforms/MaskIntervals.h"

using namespace mlir;

namespace attnc::cuda::detail {

void GpuKernelBuilder::emitKernel(gpu::LaunchOp launch) {
  Value tid = launch.getThreadIds().x;
  Value qTile = launch.getBlockIds().x, head = launch.getBlockIds().y;
  Value batch = launch.getBlockIds().z;
  kTile = launch.getWorkgroupAttributions()[0];
  vTile = launch.getWorkgroupAttributions()[1];
  Value kvHead = arith::DivUIOp::create(b, loc, head, idx(H / HKV));
  Value q0 = mul(qTile, idx(BQ));
  Value row = add(q0, tid);
  Value active = cmp(arith::CmpIPredicate::ult, row, qLen);
  Value q1 = arith::SubIOp::create(
      b, loc, arith::MinUIOp::create(b, loc, add(q0, idx(BQ)), qLen), idx(1));

  auto priv = [&](int64_t n) {
    return memref::AllocaOp::create(b, loc, MemRefType::get({n}, b.getF32Type()));
  };
  qRow = priv(D);
  acc = priv(DV);
  scores = priv(BK);
  state = priv(2);
  ifThen(active, [&] {
    loop(idx(0), idx(D), idx(1), {}, [&](Value d, ValueRange) {
      store(loadF32(q, {batch, head, row, d}), qRow, {d});
      return SmallVector<Value>{};
    });
  });
  loop(idx(0), idx(DV), idx(1), {}, [&](Value d, ValueRange) {
    store(f32(0), acc, {d});
    return SmallVector<Value>{};
  });
  store(negInf(), state, {idx(0)});
  store(f32(0), state, {idx(1)});

  Value numKVTiles = arith::CeilDivUIOp::create(b, loc, kvLen, idx(BK));
  loop(idx(0), numKVTiles, idx(1), {}, [&](Value kt, ValueRange) {
    Value k0 = mul(kt, idx(BK));
    Value k1 = arith::SubIOp::create(
        b, loc, arith::MinUIOp::create(b, loc, add(k0, idx(BK)), kvLen), idx(1));
    // The class is the same for every thread of the block: barriers stay uniform.
    Value cls = emitMaskClass(b, loc, variant, batch, head, q0, q1, k0, k1, qLen, kvLen,
                              scalarArgs);
    ifThen(cmp(arith::CmpIPredicate::ne, cls, idx(0)), [&] {
      stageTile(k0, tid, batch, kvHead);
      gpu::BarrierOp::create(b, loc);
      Value partial = cmp(arith::CmpIPredicate::eq, cls, idx(2));
      ifThen(active, [&] { updateRow(k0, partial, batch, head, row); });
      gpu::BarrierOp::create(b, loc);
    });
    return SmallVector<Value>{};
  });

  // out = acc / sum, lse = max + log(sum); a row with nothing kept: 0 and -inf.
  ifThen(active, [&] {
    Value m = load(state, {idx(0)}), l = load(state, {idx(1)});
    Value empty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, l, f32(0));
    Value inv = arith::DivFOp::create(b, loc, f32(1), l);
    Type outType = cast<MemRefType>(out.getType()).getElementType();
    loop(idx(0), idx(DV), idx(1), {}, [&](Value d, ValueRange) {
      Value o = arith::MulFOp::create(b, loc, load(acc, {d}), inv);
      o = arith::SelectOp::create(b, loc, empty, f32(0), o);
      if (!outType.isF32())
        o = arith::TruncFOp::create(b, loc, outType, o);
      store(o, out, {batch, head, row, d});
      return SmallVector<Value>{};
    });
    Value logSum = arith::AddFOp::create(b, loc, m, math::LogOp::create(b, loc, l));
    store(arith::SelectOp::create(b, loc, empty, negInf(), logSum), lse, {batch, head, row});
  });
}

void GpuKernelBuilder::stageTile(Value k0, Value tid, Value batch, Value kvHead) {
  // Thread t stages rows t, t + block-q, ... of the tile; rows past KV_LEN are zero.
  loop(tid, idx(BK), idx(BQ), {}, [&](Value j, ValueRange) {
    Value kv = add(k0, j);
    Value inRange = cmp(arith::CmpIPredicate::ult, kv, kvLen);
    for (const std::tuple<Value, Value, int64_t> &staged :
         {std::tuple<Value, Value, int64_t>{k, kTile, D}, {v, vTile, DV}}) {
      Value tensor = std::get<0>(staged), tile = std::get<1>(staged);
      loop(idx(0), idx(std::get<2>(staged)), idx(1), {}, [&](Value d, ValueRange) {
        Value x = ifElse(
            inRange, b.getF32Type(), [&] { return loadF32(tensor, {batch, kvHead, kv, d}); },
            [&] { return f32(0); });
        store(x, tile, {j, d});
        return SmallVector<Value>{};
      });
    }
    return SmallVector<Value>{};
  });
}

void GpuKernelBuilder::updateRow(Value k0, Value partial, Value batch, Value head, Value row) {
  Value bI = toI64(batch), hI = toI64(head), qI = toI64(row);
  Value qLenI = toI64(qLen), kvLenI = toI64(kvLen);
  Value mOld = load(state, {idx(0)});
  // Scores of this row for the tile, and their maximum.
  Value mNew = loop(idx(0), idx(BK), idx(1), {mOld}, [&](Value j, ValueRange it) {
    Value kv = add(k0, j);
    Value s = ifElse(
        cmp(arith::CmpIPredicate::ult, kv, kvLen), b.getF32Type(),
        [&] {
          Value kvI = toI64(kv);
          // mask_mod first (partial tiles only): score_mod runs only for kept pairs,
          // so a read that the mask rules out never happens.
          Value keep = ifElse(
              partial, b.getI1Type(),
              [&] { return mods->emit(variant.getMaskMod(), {bI, hI, qI, kvI, qLenI, kvLenI}); },
              [&] { return Value(arith::ConstantIntOp::create(b, loc, 1, 1)); });
          return ifElse(
              keep, b.getF32Type(),
              [&] {
                Value dot =
                    loop(idx(0), idx(D), idx(1), {f32(0)}, [&](Value d, ValueRange a) {
                      Value p = arith::MulFOp::create(b, loc, load(qRow, {d}),
                                                      load(kTile, {j, d}));
                      return SmallVector<Value>{arith::AddFOp::create(b, loc, a[0], p)};
                    }).getResult(0);
                Value scaled = arith::MulFOp::create(b, loc, dot, f32(scale));
                return mods->emit(variant.getScoreMod(),
                                  {scaled, bI, hI, qI, kvI, qLenI, kvLenI});
              },
              [&] { return negInf(); });
        },
        [&] { return negInf(); });
    store(s, scores, {j});
    return SmallVector<Value>{arith::MaximumFOp::create(b, loc, it[0], s)};
  }).getResult(0);
  // Rescale what the row has so far (nothing to rescale while everything is -inf).
  Value allMasked = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, mNew, negInf());
  Value alpha = arith::SelectOp::create(
      b, loc, allMasked, f32(1),
      math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, mOld, mNew)));
  loop(idx(0), idx(DV), idx(1), {}, [&](Value d, ValueRange) {
    store(arith::MulFOp::create(b, loc, load(acc, {d}), alpha), acc, {d});
    return SmallVector<Value>{};
  });
  Value lScaled = arith::MulFOp::create(b, loc, load(state, {idx(1)}), alpha);
  Value lNew = loop(idx(0), idx(BK), idx(1), {lScaled}, [&](Value j, ValueRange it) {
    Value s = load(scores, {j});
    Value masked = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, s, negInf());
    Value p = arith::SelectOp::create(
        b, loc, masked, f32(0),
        math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, s, mNew)));
    loop(idx(0), idx(DV), idx(1), {}, [&](Value d, ValueRange) {
      Value pv = arith::MulFOp::create(b, loc, p, load(vTile, {j, d}));
      store(arith::AddFOp::create(b, loc, load(acc, {d}), pv), acc, {d});
      return SmallVector<Value>{};
    });
    return SmallVector<Value>{arith::AddFOp::create(b, loc, it[0], p)};
  }).getResult(0);
  store(mNew, state, {idx(0)});
  store(lNew, state, {idx(1)});
}

} // namespace attnc::cuda::detail
