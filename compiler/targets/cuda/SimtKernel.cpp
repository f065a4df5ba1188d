//===- SimtKernel.cpp - the SIMT realisation of the flash form -------------===//
//
// One thread per query row (row q0 + tid): the block stages K and V tiles in f32
// workgroup memory, each thread computes its row's scores with scalar FMAs and
// keeps its row of every scratch tile (scores, accumulator, max, sum, alpha) in
// thread-private memory. For f32 specs, and for tile shapes the tensor-core kernel
// does not take. Rows past Q_LEN take part in staging and barriers only.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/OnlineSoftmax.h"
#include "compiler/targets/cuda/GpuFlashLowering.h"

using namespace mlir;

namespace attnc::cuda::detail {
namespace {

class SimtKernel : public GpuFlashLowering {
public:
  using GpuFlashLowering::GpuFlashLowering;

private:
  int64_t threadsPerBlock() const override { return BQ; }
  SmallVector<MemRefType> workgroupBuffers() override {
    return {workgroupType({BK, D}, b.getF32Type()), workgroupType({BK, DV}, b.getF32Type())};
  }
  void enterKernel(ValueRange buffers) override {
    kTile = buffers[0];
    vTile = buffers[1];
  }
  LogicalResult realizeScratch(memref::AllocaOp op, StringRef role) override;
  LogicalResult emitKeyLoop(scf::ForOp op) override;
  LogicalResult emitInit(attn::TileInitOp op) override;
  LogicalResult emitScores(attn::TileScoresOp op) override;
  LogicalResult emitMods(attn::TileModsOp op) override;
  LogicalResult emitSoftmax(attn::TileSoftmaxOp op) override;
  LogicalResult emitPV(attn::TilePVOp op) override;
  LogicalResult emitStore(attn::TileStoreOp op) override;

  /// Runs `body(row)` in the threads whose row (q0 + tid) is inside Q_LEN.
  void forOwnRow(Value q0, Value qLen, function_ref<void(Value)> body) {
    Value row = add(q0, tid);
    ifThen(ult(row, qLen), [&] { body(row); });
  }
  /// The threads copy the key tile at `k0` of `tensor` (in head `head`) into `tile`
  /// (f32, `cols` columns), element e by thread e % block-q; rows past KV_LEN are 0.
  void stageTile(Value tensor, Value tile, int64_t cols, Value batch, Value head, Value k0) {
    stageRows(tensor, tile, BK, cols, batch, head, k0, BQ);
  }
  Value scalarAt(Value memref) { return load(memref, {idx(0)}); }

  Value kTile, vTile; ///< the staged K and V tiles (workgroup memory)
  Value qRow;         ///< the thread's query row (private, loaded before the key loop)
  Value ownRow;       ///< whether the thread's row is inside Q_LEN
};

LogicalResult SimtKernel::realizeScratch(memref::AllocaOp op, StringRef role) {
  // The thread's row of each tile: scores and acc keep their columns, the
  // per-row vectors (max, sum, alpha) become one element.
  bool perRow = role == "max" || role == "sum" || role == "alpha";
  int64_t cols = role == "scores" ? BK : role == "acc" ? DV : 1;
  MemRefType tile = op.getType();
  bool ok = perRow ? tile.getRank() == 1
                   : (role == "scores" || role == "acc") && tile.getRank() == 2 &&
                         tile.getDimSize(1) == cols;
  if (!ok)
    return error(op, "unexpected scratch tile '") << role << "' of type " << tile;
  auto type = MemRefType::get({cols}, b.getF32Type());
  map.map(op.getResult(), memref::AllocaOp::create(b, loc, type));
  return success();
}

LogicalResult SimtKernel::emitKeyLoop(scf::ForOp op) {
  // The thread's query row is read once, before the loop (tile_scores' query
  // operands are loop invariant).
  attn::TileScoresOp scores = keyLoopScores();
  if (!scores)
    return failure();
  Value q = lookup(scores.getQ());
  qRow = memref::AllocaOp::create(b, loc, MemRefType::get({D}, b.getF32Type()));
  ownRow = ult(add(lookup(scores.getQ0()), tid), seqLen(q));
  forOwnRow(lookup(scores.getQ0()), seqLen(q), [&](Value row) {
    forEach(idx(0), idx(D), idx(1), [&](Value d) {
      store(loadF32(q, {lookup(scores.getB()), lookup(scores.getH()), row, d}), qRow, {d});
    });
  });
  return emitFor(op);
}

LogicalResult SimtKernel::emitInit(attn::TileInitOp op) {
  Value acc = lookup(op.getAcc());
  forEach(idx(0), idx(DV), idx(1), [&](Value d) { store(f32(0), acc, {d}); });
  store(negInf(), lookup(op.getM()), {idx(0)});
  store(f32(0), lookup(op.getL()), {idx(0)});
  return success();
}


LogicalResult SimtKernel::emitScores(attn::TileScoresOp op) {
  if (!qRow)
    return error(op, "attn.tile_scores outside the loop over key tiles");
  Value q = lookup(op.getQ()), s = lookup(op.getS());
  stageTile(lookup(op.getK()), kTile, D, lookup(op.getB()), lookup(op.getG()),
            lookup(op.getK0()));
  gpu::BarrierOp::create(b, loc);
  Value scale = f32(scaleOf(op));
  forOwnRow(lookup(op.getQ0()), seqLen(q), [&](Value) {
    forEach(idx(0), idx(BK), idx(1), [&](Value j) {
      Value dot = loop(idx(0), idx(D), idx(1), {f32(0)}, [&](Value d, ValueRange sum) {
                    Value p = arith::MulFOp::create(b, loc, load(qRow, {d}), load(kTile, {j, d}));
                    return SmallVector<Value>{arith::AddFOp::create(b, loc, sum[0], p)};
                  }).getResult(0);
      store(arith::MulFOp::create(b, loc, dot, scale), s, {j});
    });
  });
  return success();
}

LogicalResult SimtKernel::emitMods(attn::TileModsOp op) {
  Value s = lookup(op.getS()), k0 = lookup(op.getK0()), kvLen = lookup(op.getKvLen());
  ScalarRegionEmitter regions = regionEmitter(op);
  forOwnRow(lookup(op.getQ0()), lookup(op.getQLen()), [&](Value row) {
    forEach(idx(0), idx(BK), idx(1), [&](Value j) {
      Value kv = add(k0, j);
      store(modifiedScore(op, regions, load(s, {j}), row, kv, ult(kv, kvLen)), s, {j});
    });
  });
  return success();
}

LogicalResult SimtKernel::emitSoftmax(attn::TileSoftmaxOp op) {
  Value s = lookup(op.getS()), m = lookup(op.getM()), l = lookup(op.getL());
  Value alpha = lookup(op.getAlpha());
  if (!ownRow)
    return error(op, "attn.tile_softmax outside the loop over key tiles");
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(scf::IfOp::create(b, loc, ownRow, false).thenBlock());
  // The thread's row: a serial maximum and sum around OnlineSoftmax.h.
  Value tileMax = loop(idx(0), idx(BK), idx(1), {negInf()}, [&](Value j, ValueRange mx) {
                    return SmallVector<Value>{codegen::combineMax(b, loc, mx[0], load(s, {j}))};
                  }).getResult(0);
  codegen::RowRescale row = codegen::rescaleRow(b, loc, scalarAt(m), tileMax);
  Value sum = loop(idx(0), idx(BK), idx(1), {f32(0)}, [&](Value j, ValueRange acc) {
                Value p = codegen::probability(b, loc, load(s, {j}), row.safeMax);
                store(p, s, {j});
                return SmallVector<Value>{arith::AddFOp::create(b, loc, acc[0], p)};
              }).getResult(0);
  store(codegen::rescaledSum(b, loc, scalarAt(l), row.alpha, sum), l, {idx(0)});
  store(row.max, m, {idx(0)});
  store(row.alpha, alpha, {idx(0)});
  return success();
}

LogicalResult SimtKernel::emitPV(attn::TilePVOp op) {
  Value p = lookup(op.getP()), acc = lookup(op.getAcc());
  Value v = lookup(op.getV());
  if (!ownRow)
    return error(op, "attn.tile_pv outside the loop over key tiles");
  stageTile(v, vTile, DV, lookup(op.getB()), lookup(op.getG()), lookup(op.getK0()));
  gpu::BarrierOp::create(b, loc);
  ifThen(ownRow, [&] {
    Value a = scalarAt(lookup(op.getAlpha()));
    forEach(idx(0), idx(DV), idx(1), [&](Value d) {
      store(arith::MulFOp::create(b, loc, load(acc, {d}), a), acc, {d});
    });
    forEach(idx(0), idx(BK), idx(1), [&](Value j) {
      Value pj = load(p, {j});
      forEach(idx(0), idx(DV), idx(1), [&](Value d) {
        Value pv = arith::MulFOp::create(b, loc, pj, load(vTile, {j, d}));
        store(arith::AddFOp::create(b, loc, load(acc, {d}), pv), acc, {d});
      });
    });
  });
  // The staged tiles are read by every thread: none is refilled before all are done.
  gpu::BarrierOp::create(b, loc);
  return success();
}

LogicalResult SimtKernel::emitStore(attn::TileStoreOp op) {
  Value out = lookup(op.getOut()), acc = lookup(op.getAcc());
  Value batch = lookup(op.getB()), head = lookup(op.getH());
  Type outType = cast<MemRefType>(out.getType()).getElementType();
  forOwnRow(lookup(op.getQ0()), seqLen(out), [&](Value row) {
    codegen::RowResult result =
        codegen::finishRow(b, loc, scalarAt(lookup(op.getM())), scalarAt(lookup(op.getL())));
    forEach(idx(0), idx(DV), idx(1), [&](Value d) {
      Value o = arith::MulFOp::create(b, loc, load(acc, {d}), result.outScale);
      if (!outType.isF32())
        o = arith::TruncFOp::create(b, loc, outType, o);
      store(o, out, {batch, head, row, d});
    });
    store(result.lse, lookup(op.getLse()), {batch, head, row});
  });
  return success();
}

} // namespace

std::unique_ptr<GpuFlashLowering> makeSimtKernel(func::FuncOp flash, attn::VariantOp variant,
                                                 const FlashFormDetail &form) {
  return std::make_unique<SimtKernel>(flash, variant, form);
}

} // namespace attnc::cuda::detail
