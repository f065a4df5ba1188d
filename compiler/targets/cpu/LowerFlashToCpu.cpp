//===- LowerFlashToCpu.cpp - the flash form as CPU vector code -------------===//
//
// Rebuilds each `@X_flash` function as `@X_cpu` (see Passes.td for the ABI). The
// body is walked in order; structural ops are recreated, tile ops are expanded into
// vector micro-kernels over the packed f32 layouts, and the parallel loop becomes a
// loop over a [begin, end) range of work items so the runtime's thread pool can
// split it. Scratch tiles become 64-byte aligned stack buffers allocated once per
// call (each thread calls the kernel with its own range). With operands=bf16 the
// products take bf16 pairs (Passes.td): q, k, v panels of pairs and P rounded to
// bf16 into a scratch tile of its own.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/OnlineSoftmax.h"
#include "compiler/targets/cpu/CpuTileBuilder.h"
#include "compiler/transforms/FlashForm.h"
#include "compiler/transforms/MaskIntervals.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include <functional>
#include <limits>

using namespace mlir;

namespace attnc::cpu {
#define GEN_PASS_DEF_ATTNLOWERFLASHTOCPU
#include "compiler/targets/cpu/Passes.h.inc"

namespace {

class CpuKernelBuilder : public CpuTileBuilder {
public:
  CpuKernelBuilder(func::FuncOp flash, attn::VariantOp variant, const FlashFormDetail &form,
                   CpuOperands operands)
      : CpuTileBuilder(flash, variant, form),
        pairs(operands == CpuOperands::Bf16Pairs), D2(pairedHeadDim(D)) {}

  LogicalResult build();

private:
  // --- the kernel's frame ------------------------------------------------------------
  /// Creates `@X_cpu` with the packed-layout ABI and maps the flash arguments.
  void createKernel();
  /// The scratch tiles, once per call (stack or heap).
  void allocateScratch();
  // --- the walk's hooks ----------------------------------------------------------------
  LogicalResult emitQueryTiles(scf::ParallelOp parallel) override;
  LogicalResult realizeScratch(memref::AllocaOp op, StringRef role) override;
  LogicalResult emitDim(memref::DimOp op) override;
  LogicalResult emitInit(attn::TileInitOp op) override;
  LogicalResult emitScores(attn::TileScoresOp op) override;
  LogicalResult emitMods(attn::TileModsOp op) override;
  LogicalResult emitSoftmax(attn::TileSoftmaxOp op) override;
  LogicalResult emitPV(attn::TilePVOp op) override;
  LogicalResult emitStore(attn::TileStoreOp op) override;
  /// The largest score of rows g + r, r < rows <= VW, of the tile `s`, in lane r
  /// (-inf in the lanes from `rows` on).
  Value emitRowMaxima(Value s, Value g, int64_t rows);
  /// p = exp(s - safeMax[r]) over rows g + r (into `s`, or rounded to bf16 into
  /// p16), and each row's sum of p in lane r.
  Value emitProbabilities(Value s, Value g, int64_t rows, Value safeMax);
  /// S = scale * Q·Kᵀ over bf16 pairs: q's row pairs times k's tile of pairs.
  void emitPairScores(Value s, Value qBase, Value kBase, double scale);
  /// acc[r][..] (already rescaled by `alphas`) += P·V over bf16 pairs of keys.
  void emitPairPV(Value acc, Value r0, ArrayRef<Value> alphas, Value vBase);

  bool pairs;  ///< operands=bf16
  int64_t D2;  ///< the head dim of a bf16-pairs panel
  Value qp, kp, vp, op, lp, status, qLen, kvLen, begin, end;
  Value qPad, numKVTiles, kvPad;
  Value s, acc, m, l, alpha;
  Value p16;   ///< P rounded to bf16 ([BQ][BK], operands=bf16)
  Value lanes; ///< VW row vectors and one more, for the softmax's row reductions
};

LogicalResult CpuKernelBuilder::build() {
  if (failed(checkTiles()))
    return failure();
  createKernel();
  Value bq = idx(BQ), bk = idx(BK);
  qPad = mul(arith::CeilDivUIOp::create(b, loc, qLen, bq), bq);
  numKVTiles = arith::CeilDivUIOp::create(b, loc, kvLen, bk);
  kvPad = mul(numKVTiles, bk);
  allocateScratch();
  prepareBuffers();
  if (failed(emitOps(flash.getBody().front())))
    return failure();
  flash.erase();
  return success();
}

void CpuKernelBuilder::createKernel() {
  // q, k, v, out, lse as flat packed f32 buffers; scalars, buffers and status as in
  // the flash form; then qLen, kvLen and the [begin, end) range of work items.
  auto flat = MemRefType::get({ShapedType::kDynamic}, b.getF32Type());
  auto flatPairs = MemRefType::get({ShapedType::kDynamic}, b.getBF16Type());
  unsigned numScalars = form.numScalars(), numBuffers = form.numBuffers();
  SmallVector<Type> inputs(5, flat);
  if (pairs)
    inputs[0] = inputs[1] = inputs[2] = flatPairs;
  for (unsigned i = 0; i < numScalars + numBuffers + 1; ++i)
    inputs.push_back(form.scalar(i).getType());
  inputs.append(4, b.getIndexType());
  StringRef flashName = flash.getSymName();
  flashName.consume_back("_flash");
  ValueRange args = createKernelFunction((flashName + "_cpu").str(), inputs);
  qp = args[0], kp = args[1], vp = args[2], op = args[3], lp = args[4];
  for (unsigned i = 0; i < numScalars + numBuffers + 1; ++i)
    map.map(form.scalar(i), args[5 + i]);
  status = args[5 + numScalars + numBuffers];
  qLen = args[args.size() - 4];
  kvLen = args[args.size() - 3];
  begin = args[args.size() - 2];
  end = args[args.size() - 1];
}

void CpuKernelBuilder::allocateScratch() {
  // On the stack when small, else on the heap (wide heads and big tiles would
  // overflow a thread's stack).
  // m, l and alpha are vectors of VW rows (the softmax's row groups).
  int64_t rowsPadded = llvm::alignTo(BQ, VW);
  bool onHeap = (BQ * BK + BQ * DVp + 3 * rowsPadded + VW * VW + VW) * int64_t(sizeof(float)) +
                   (pairs ? BQ * BK * 2 : 0) >
               64 * 1024;
  auto scratch = [&](int64_t n, Type element = Type()) -> Value {
    auto type = MemRefType::get({n}, element ? element : b.getF32Type());
    if (!onHeap)
      return memref::AllocaOp::create(b, loc, type, ValueRange{}, b.getI64IntegerAttr(64));
    Value buffer =
        memref::AllocOp::create(b, loc, type, ValueRange{}, b.getI64IntegerAttr(64));
    heapScratch.push_back(buffer);
    return buffer;
  };
  s = scratch(BQ * BK);
  acc = scratch(BQ * DVp);
  m = scratch(rowsPadded);
  l = scratch(rowsPadded);
  alpha = scratch(rowsPadded);
  lanes = scratch(VW * VW + VW);
  if (pairs)
    p16 = scratch(BQ * BK, b.getBF16Type());
}

LogicalResult CpuKernelBuilder::emitDim(memref::DimOp dim) {
  // The CPU ABI passes the sequence lengths; the batch size is not used after
  // tiling (the work range replaces the parallel loop).
  std::optional<int64_t> index = dim.getConstantIndex();
  if (dim.getSource() == form.query() && index == 2)
    map.map(dim.getResult(), qLen);
  else if (dim.getSource() == form.key() && index == 2)
    map.map(dim.getResult(), kvLen);
  else
    map.map(dim.getResult(), idx(0));
  return success();
}

LogicalResult CpuKernelBuilder::emitQueryTiles(scf::ParallelOp parallel) {
  // work = (b * H + h) * numQTiles + qTile
  Value numQTiles = lookup(parallel.getUpperBound()[2]);
  auto loop = scf::ForOp::create(b, loc, begin, end, idx(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  Value w = loop.getInductionVar();
  Value qTile = arith::RemUIOp::create(b, loc, w, numQTiles);
  Value bh = arith::DivUIOp::create(b, loc, w, numQTiles);
  map.map(parallel.getInductionVars()[0], divc(bh, H));
  map.map(parallel.getInductionVars()[1], remc(bh, H));
  map.map(parallel.getInductionVars()[2], qTile);
  return emitOps(*parallel.getBody());
}

LogicalResult CpuKernelBuilder::realizeScratch(memref::AllocaOp alloca, StringRef role) {
  Value target = role == "scores" ? s
                 : role == "acc"  ? acc
                 : role == "max"  ? m
                 : role == "sum"  ? l
                 : role == "alpha" ? alpha
                                   : Value();
  if (!target)
    return error(alloca, "unknown scratch role '") << role << "'";
  map.map(alloca.getResult(), target);
  return success();
}

LogicalResult CpuKernelBuilder::emitInit(attn::TileInitOp initOp) {
  Value acc = lookup(initOp.getAcc()), m = lookup(initOp.getM()), l = lookup(initOp.getL());
  Value zero = splatF32(0.0);
  forEachVector(llvm::alignTo(BQ, VW) / VW, [&](Value i) {
    vstore(splatF32(-std::numeric_limits<float>::infinity()), m, i);
    vstore(zero, l, i);
  });
  forEach(idx(0), idx(BQ), idx(1), [&](Value i) {
    Value row = mulc(i, DVp);
    forEachVector(DVp / VW, [&](Value col) { vstore(zero, acc, add(row, col)); });
  });
  return success();
}

// S = scale * Q·Kᵀ from the packed q rows and transposed key tiles.
LogicalResult CpuKernelBuilder::emitScores(attn::TileScoresOp scoresOp) {
  Value s = lookup(scoresOp.getS());
  Value bIdx = lookup(scoresOp.getB()), hIdx = lookup(scoresOp.getH());
  Value gIdx = lookup(scoresOp.getG());
  Value q0 = lookup(scoresOp.getQ0()), k0 = lookup(scoresOp.getK0());
  int64_t depth = pairs ? D2 : D;
  Value qBase = mulc(add(mul(add(mulc(bIdx, H), hIdx), qPad), q0), depth);
  Value kTile = arith::DivUIOp::create(b, loc, k0, idx(BK));
  Value kBase = mulc(add(mul(add(mulc(bIdx, HKV), gIdx), numKVTiles), kTile), depth * BK);
  if (pairs)
    emitPairScores(s, qBase, kBase, scaleOf(scoresOp));
  else
    emitRowsTimesTile(s, qp, qBase, D, kp, kBase, D, scaleOf(scoresOp));
  return success();
}

// Pair p of q row r is at qBase + r * D2 + 2p; the VW keys c.. of pair p of the
// key tile at kBase + p * 2 * BK + 2c (pairs interleaved, [D2/2][BK][2]).
void CpuKernelBuilder::emitPairScores(Value s, Value qBase, Value kBase, double scale) {
  emitBlockedProduct(
      BQ, BK, D2 / 2, scale, /*accumulate=*/false,
      [&](Value p, Value row) { return loadPair(qp, add(add(qBase, mulc(row, D2)), mulc(p, 2))); },
      [&](Value p, Value col) {
        return vloadPairs(kp, add(add(kBase, mulc(p, 2 * BK)), mulc(col, 2)));
      },
      s, [&](Value row, Value col) { return add(mulc(row, BK), col); }, /*pairs=*/true);
}

LogicalResult CpuKernelBuilder::emitMods(attn::TileModsOp modsOp) {
  bool applyMask = modsOp.getApplyMask();
  Value scoreResult = variant.getScoreModResult();
  bool identityScore = scoreResult == variant.getScoreMod().front().getArgument(0);
  Value bIdx = map.lookupOrDefault(modsOp.getB());
  Value hIdx = map.lookupOrDefault(modsOp.getH());
  Value q0 = map.lookupOrDefault(modsOp.getQ0());
  Value k0 = map.lookupOrDefault(modsOp.getK0());
  Value s = lookup(modsOp.getS());

  OpBuilder::InsertionGuard guard(b);
  // With nothing to apply, only the padding columns of the last tile need masking.
  if (identityScore && !applyMask) {
    Value padded = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                         add(k0, idx(BK)), kvLen);
    auto ifOp = scf::IfOp::create(b, loc, padded, /*withElse=*/false);
    b.setInsertionPointToStart(ifOp.thenBlock());
  }
  Value rowsLeft = arith::SubIOp::create(b, loc, qLen, q0);
  Value numRows = arith::MinUIOp::create(b, loc, rowsLeft, idx(BQ));
  auto rows = scf::ForOp::create(b, loc, idx(0), numRows, idx(1));
  b.setInsertionPointToStart(rows.getBody());
  Value i = rows.getInductionVar();
  Value qIdx = bcast(toI64(add(q0, i)));
  Value bVec = bcast(toI64(bIdx)), hVec = bcast(toI64(hIdx));
  Value qLenVec = bcast(toI64(qLen)), kvLenVec = bcast(toI64(kvLen));
  Value iotaVec = laneIota();

  auto cols = scf::ForOp::create(b, loc, idx(0), idx(BK / VW), idx(1));
  b.setInsertionPointToStart(cols.getBody());
  Value col0 = add(k0, mulc(cols.getInductionVar(), VW));
  Value kvIdx = arith::AddIOp::create(b, loc, bcast(toI64(col0)), iotaVec);
  Value active = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, kvIdx, kvLenVec);
  Value offset = add(mulc(i, BK), mulc(cols.getInductionVar(), VW));
  Value score = vload(s, offset);

  SmallVector<Value> scalars;
  for (Value v : modsOp.getScalars())
    scalars.push_back(lookup(v));
  RegionVectorizer vectorizer = this->vectorizer(scalars, lookup(modsOp.getStatus()));
  if (applyMask) {
    Value keep = vectorizer.emit(variant.getMaskMod(),
                                 {bVec, hVec, qIdx, kvIdx, qLenVec, kvLenVec}, active);
    if (!keep)
      return failure();
    active = arith::AndIOp::create(b, loc, active, keep);
  }
  if (!identityScore) {
    score = vectorizer.emit(variant.getScoreMod(),
                            {score, bVec, hVec, qIdx, kvIdx, qLenVec, kvLenVec}, active);
    if (!score)
      return failure();
  }
  Value minusInf = splatF32(-std::numeric_limits<float>::infinity());
  vstore(arith::SelectOp::create(b, loc, active, score, minusInf), s, offset);
  return success();
}

// The softmax of VW rows at a time: each row's maximum and sum reduced to a vector
// (a lane a row) by reduceRowsToLanes, so that the rescale of OnlineSoftmax.h, the
// row statistics and their horizontal reductions are vector work shared by VW rows.
LogicalResult CpuKernelBuilder::emitSoftmax(attn::TileSoftmaxOp softmaxOp) {
  Value s = lookup(softmaxOp.getS()), m = lookup(softmaxOp.getM());
  Value l = lookup(softmaxOp.getL()), alpha = lookup(softmaxOp.getAlpha());
  auto group = [&](Value g, int64_t rows) {
    Value tileMax = emitRowMaxima(s, g, rows);
    codegen::RowRescale row = codegen::rescaleRow(b, loc, vload(m, g), tileMax);
    Value tileSum = emitProbabilities(s, g, rows, row.safeMax);
    vstore(codegen::rescaledSum(b, loc, vload(l, g), row.alpha, tileSum), l, g);
    vstore(row.max, m, g);
    vstore(row.alpha, alpha, g);
  };
  int64_t fullGroups = BQ / VW;
  if (fullGroups)
    forEach(idx(0), idx(fullGroups * VW), idx(VW), [&](Value g) { group(g, VW); });
  if (BQ % VW)
    group(idx(fullGroups * VW), BQ % VW);
  return success();
}

Value CpuKernelBuilder::emitRowMaxima(Value s, Value g, int64_t rows) {
  forEach(idx(0), idx(rows), idx(1), [&](Value r) {
    Value row = mulc(add(g, r), BK), rowMax;
    for (int64_t c = 0; c < BK / VW; ++c) {
      Value v = vload(s, add(row, idx(c * VW)));
      rowMax = c ? codegen::combineMax(b, loc, rowMax, v) : v;
    }
    vstore(rowMax, lanes, mulc(r, VW));
  });
  SmallVector<Value> vecs;
  for (int64_t r = 0; r < VW; ++r)
    vecs.push_back(r < rows ? vload(lanes, idx(r * VW))
                            : splatF32(-std::numeric_limits<float>::infinity()));
  return reduceRowsToLanes(vecs, [&](Value x, Value y) {
    return codegen::combineMax(b, loc, x, y);
  });
}

Value CpuKernelBuilder::emitProbabilities(Value s, Value g, int64_t rows, Value safeMax) {
  Value safeAt = idx(VW * VW);
  vstore(safeMax, lanes, safeAt);
  forEach(idx(0), idx(rows), idx(1), [&](Value r) {
    Value safe = bcast(load(lanes, add(safeAt, r)));
    Value row = mulc(add(g, r), BK), sumVec;
    for (int64_t c = 0; c < BK / VW; ++c) {
      Value at = add(row, idx(c * VW));
      Value p = codegen::probability(b, loc, vload(s, at), safe);
      if (pairs) // P·V multiplies P rounded to bf16
        vstore(arith::TruncFOp::create(b, loc, VectorType::get({VW}, b.getBF16Type()), p),
               p16, at);
      else
        vstore(p, s, at);
      sumVec = c ? Value(arith::AddFOp::create(b, loc, sumVec, p)) : p;
    }
    vstore(sumVec, lanes, mulc(r, VW));
  });
  SmallVector<Value> vecs;
  for (int64_t r = 0; r < VW; ++r)
    vecs.push_back(r < rows ? vload(lanes, idx(r * VW)) : splatF32(0.0));
  return reduceRowsToLanes(
      vecs, [&](Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); });
}

// acc[r][c..] = alpha[r] * acc[r][c..] + sum_j p[r][j] * v[j][c..], with 4 rows x up
// to 4 vectors of accumulators in registers across the j loop.
LogicalResult CpuKernelBuilder::emitPV(attn::TilePVOp pvOp) {
  Value s = lookup(pvOp.getP()), alpha = lookup(pvOp.getAlpha());
  Value acc = lookup(pvOp.getAcc());
  Value bIdx = map.lookupOrDefault(pvOp.getB());
  Value gIdx = map.lookupOrDefault(pvOp.getG());
  Value k0 = map.lookupOrDefault(pvOp.getK0());
  Value vBase = mulc(add(mul(add(mulc(bIdx, HKV), gIdx), kvPad), k0), DVp);

  auto rows = scf::ForOp::create(b, loc, idx(0), idx(BQ), idx(RB));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(rows.getBody());
  Value r0 = rows.getInductionVar();
  SmallVector<Value> alphas;
  for (int64_t r = 0; r < RB; ++r)
    alphas.push_back(bcast(load(alpha, add(r0, idx(r)))));
  if (pairs) {
    emitPairPV(acc, r0, alphas, vBase);
    return success();
  }
  forEachGroup(DVp / VW, [&](Value col0, int64_t n) {
    SmallVector<Value> init;
    for (int64_t r = 0; r < RB; ++r)
      for (int64_t c = 0; c < n; ++c)
        init.push_back(arith::MulFOp::create(
            b, loc, vload(acc, add(add(mulc(add(r0, idx(r)), DVp), col0), idx(c * VW))),
            alphas[r]));
    SmallVector<Value> sums = emitMicroKernel(
        init, n, BK,
        [&](Value j, int64_t r) { return load(s, add(mulc(add(r0, idx(r)), BK), j)); },
        [&](Value j, int64_t c) {
          return vload(vp, add(add(add(vBase, mulc(j, DVp)), col0), idx(c * VW)));
        });
    for (int64_t r = 0; r < RB; ++r)
      for (int64_t c = 0; c < n; ++c)
        vstore(sums[r * n + c], acc,
               add(add(mulc(add(r0, idx(r)), DVp), col0), idx(c * VW)));
  });
  return success();
}

// Key pair j of P row r is at p16[r * BK + 2j]; the VW columns c.. of key pair j
// at vBase + j * 2 * DVp + 2c (v's rows interleaved in pairs, [KV_pad/2][DV_pad][2],
// so that vBase, in bf16 elements, is the f32 layout's offset).
void CpuKernelBuilder::emitPairPV(Value acc, Value r0, ArrayRef<Value> alphas, Value vBase) {
  forEachGroup(DVp / VW, [&](Value col0, int64_t n) {
    auto at = [&](int64_t r, int64_t c) {
      return add(add(mulc(add(r0, idx(r)), DVp), col0), idx(c * VW));
    };
    SmallVector<Value> init;
    for (int64_t r = 0; r < RB; ++r)
      for (int64_t c = 0; c < n; ++c)
        init.push_back(arith::MulFOp::create(b, loc, vload(acc, at(r, c)), alphas[r]));
    SmallVector<Value> sums = emitMicroKernel(
        init, n, BK / 2,
        [&](Value j, int64_t r) {
          return loadPair(p16, add(mulc(add(r0, idx(r)), BK), mulc(j, 2)));
        },
        [&](Value j, int64_t c) {
          return vloadPairs(vp, add(add(vBase, mulc(j, 2 * DVp)), mulc(add(col0, idx(c * VW)), 2)));
        },
        /*pairs=*/true);
    for (int64_t r = 0; r < RB; ++r)
      for (int64_t c = 0; c < n; ++c)
        vstore(sums[r * n + c], acc, at(r, c));
  });
}

LogicalResult CpuKernelBuilder::emitStore(attn::TileStoreOp storeOp) {
  Value acc = lookup(storeOp.getAcc()), m = lookup(storeOp.getM());
  Value l = lookup(storeOp.getL());
  Value bIdx = lookup(storeOp.getB()), hIdx = lookup(storeOp.getH());
  Value q0 = lookup(storeOp.getQ0());
  Value rowBase = add(mul(add(mulc(bIdx, H), hIdx), qPad), q0);
  Value numRows = minu(sub(qLen, q0), idx(BQ));
  forEach(idx(0), numRows, idx(1), [&](Value i) {
    codegen::RowResult row = codegen::finishRow(b, loc, load(m, i), load(l, i));
    Value scaleVec = bcast(row.outScale);
    Value outRow = mulc(add(rowBase, i), DVp);
    Value accRow = mulc(i, DVp);
    forEachVector(DVp / VW, [&](Value col) {
      Value v = vload(acc, add(accRow, col));
      vstore(arith::MulFOp::create(b, loc, v, scaleVec), op, add(outRow, col));
    });
    store(row.lse, lp, add(rowBase, i));
  });
  return success();
}

struct AttnLowerFlashToCpuPass
    : impl::AttnLowerFlashToCpuBase<AttnLowerFlashToCpuPass> {
  using AttnLowerFlashToCpuBase::AttnLowerFlashToCpuBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (operands != "f32" && operands != "bf16") {
      module.emitError("attn-lower-flash-to-cpu: operands must be f32 or bf16, got '")
          << operands << "'";
      return signalPassFailure();
    }
    CpuOperands form =
        operands == "bf16" ? CpuOperands::Bf16Pairs : CpuOperands::F32;
    if (failed(forEachFlashFunction(module, "attn-lower-flash-to-cpu",
                                    [&](func::FuncOp f, attn::VariantOp variant) {
                                      auto detail = FlashFormDetail::get(
                                          f, variant, "attn-lower-flash-to-cpu");
                                      if (failed(detail))
                                        return failure();
                                      if (detail->isBackward())
                                        return buildBackwardKernel(f, variant, *detail);
                                      return CpuKernelBuilder(f, variant, *detail, form)
                                          .build();
                                    })))
      return signalPassFailure();
    // The variants are now inlined into the kernels.
    for (auto variant : llvm::make_early_inc_range(module.getOps<attn::VariantOp>()))
      variant.erase();
  }
};

} // namespace
} // namespace attnc::cpu
