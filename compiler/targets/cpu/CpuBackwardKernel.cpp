//===- CpuBackwardKernel.cpp - the backward flash form as CPU vector code ---===//
//
// Rebuilds `@X_flash_backward` as `@X_backward_cpu` (the ABI is in Passes.td):
// packed f32 panels made by the runtime, the parallel loop over (batch, key/value
// head, split) turned into a loop over the work items [begin, end), scratch tiles
// allocated once per call, and each backward tile op expanded into the same
// register-blocked micro-kernels as the forward kernel:
//
//   tile_scores       rows × transposed key tile (Q·Kᵀ, and dO·Vᵀ)
//   tile_key_grad     acc[j][:] += scale · Σ_i p[i][j] · x[i][:]   (Pᵀ·dO, dSᵀ·Q)
//   tile_query_grad   dq[i][:] += scale · Σ_j ds[i][j] · k[j][:]   (dS·K)
//   tile_probs, tile_dscores   score_mod / its derivative on vectors of keys
//   tile_delta        a copy of rowsum(dO ∘ O), which the runtime computes once a call
//
// Padding rows and columns of the panels are zero (the packer's), and p and dS are
// 0 outside the sequences, so the products need no bounds.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/OnlineSoftmax.h"
#include "compiler/targets/cpu/CpuTileBuilder.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;

namespace attnc::cpu {
namespace {

class CpuBackwardKernelBuilder : public CpuTileBuilder {
public:
  CpuBackwardKernelBuilder(func::FuncOp flash, attn::VariantOp variant,
                           const FlashFormDetail &form)
      : CpuTileBuilder(flash, variant, form), Dp(paddedHeadDimV(D)) {}

  LogicalResult build();

private:
  /// A packed panel of rows: element (b, head, row, col) at
  /// ((b * heads + head) * rows + row) * stride + col.
  struct RowPanel {
    Value data;
    int64_t heads = 0, stride = 0;
    Value rows;
  };
  /// Creates `@X_backward_cpu` and maps the flash arguments.
  void createKernel();
  /// The row panel of the flash form's tensor argument `v` (q, k, dout).
  RowPanel rowPanelOf(Value v);
  /// The offset of row `row` of (b, head) in `panel`.
  Value rowOffset(const RowPanel &panel, Value bIdx, Value head, Value row) {
    return mulc(add(mul(add(mulc(bIdx, panel.heads), head), panel.rows), row), panel.stride);
  }
  /// The elementwise loop of tile_probs and tile_dscores: for each row and vector
  /// of keys, `body(i, offset, active, indices)` with the lanes that count (inside
  /// the sequences, and kept by mask_mod when `applyMask`) and the modifier
  /// regions' index arguments (b, h, q_idx, kv_idx, q_len, kv_len).
  LogicalResult forEachScoreVector(
      Value bIdx, Value hIdx, Value q0, Value k0, bool applyMask, RegionVectorizer &vec,
      function_ref<LogicalResult(Value i, Value offset, Value active, ArrayRef<Value> idx)>
          body);

  LogicalResult emitQueryTiles(scf::ParallelOp parallel) override;
  LogicalResult realizeScratch(memref::AllocaOp op, StringRef role) override;
  LogicalResult emitDim(memref::DimOp op) override;
  LogicalResult emitScores(attn::TileScoresOp op) override;
  LogicalResult emitZero(attn::TileZeroOp op) override;
  LogicalResult emitDelta(attn::TileDeltaOp op) override;
  LogicalResult emitProbs(attn::TileProbsOp op) override;
  LogicalResult emitDScores(attn::TileDScoresOp op) override;
  LogicalResult emitKeyGrad(attn::TileKeyGradOp op) override;
  LogicalResult emitQueryGrad(attn::TileQueryGradOp op) override;
  LogicalResult emitKeyStore(attn::TileKeyStoreOp op) override;

  int64_t Dp; ///< D rounded up to the vector width (q, k rows, dQ, dK)
  Value qp, kTiles, kRows, vTiles, doutp, deltap, lsep, dqp, dkp, dvp;
  Value status, qLen, kvLen, splits, begin, end;
  Value qPad, numKVTiles, kvPad;
  SmallVector<Value> scalarArgs;
  llvm::StringMap<BufferAccess> gradAccess;
  /// The row length of each scratch tile (dK's is Dp, dV's DVp, the rest BK).
  llvm::DenseMap<Value, int64_t> scratchWidth;
};

LogicalResult CpuBackwardKernelBuilder::build() {
  if (failed(checkTiles()))
    return failure();
  createKernel();
  Value bq = idx(BQ), bk = idx(BK);
  qPad = mul(arith::CeilDivUIOp::create(b, loc, qLen, bq), bq);
  numKVTiles = arith::CeilDivUIOp::create(b, loc, kvLen, bk);
  kvPad = mul(numKVTiles, bk);
  prepareBuffers();
  DictionaryAttr decls = variant.getBuffersAttr();
  unsigned g = 0;
  if (decls)
    for (auto [i, entry] : llvm::enumerate(decls.getValue()))
      if (cast<attn::BufferDeclAttr>(entry.getValue()).getRequiresGrad())
        gradAccess[entry.getName().getValue()] = accessOf(lookup(form.grad(g++)), int64_t(i));
  if (failed(emitOps(flash.getBody().front())))
    return failure();
  flash.erase();
  return success();
}

void CpuBackwardKernelBuilder::createKernel() {
  // Ten packed panels (the sixth is delta, not out); the scalars, buffers, gradients
  // and status as in the flash form; then q_len, kv_len, splits and the work range.
  auto flat = MemRefType::get({ShapedType::kDynamic}, b.getF32Type());
  unsigned numScalars = form.numScalars(), numBuffers = form.numBuffers(),
           numGrads = form.numGrads();
  SmallVector<Type> inputs(10, flat);
  for (unsigned i = 0; i < numScalars + numBuffers; ++i)
    inputs.push_back(form.scalar(i).getType());
  for (unsigned i = 0; i < numGrads; ++i)
    inputs.push_back(form.grad(i).getType());
  inputs.push_back(form.status().getType());
  inputs.append(5, b.getIndexType());
  StringRef name = flash.getSymName();
  name.consume_back("_flash_backward");
  ValueRange args = createKernelFunction((name + "_backward_cpu").str(), inputs);
  qp = args[0], kTiles = args[1], kRows = args[2], vTiles = args[3], doutp = args[4];
  deltap = args[5], lsep = args[6], dqp = args[7], dkp = args[8], dvp = args[9];
  for (unsigned i = 0; i < numScalars + numBuffers; ++i)
    map.map(form.scalar(i), args[10 + i]);
  for (unsigned i = 0; i < numScalars; ++i)
    scalarArgs.push_back(args[10 + i]);
  for (unsigned i = 0; i < numGrads; ++i)
    map.map(form.grad(i), args[10 + numScalars + numBuffers + i]);
  status = args[10 + numScalars + numBuffers + numGrads];
  map.map(form.status(), status);
  qLen = args[args.size() - 5];
  kvLen = args[args.size() - 4];
  splits = args[args.size() - 3];
  begin = args[args.size() - 2];
  end = args[args.size() - 1];
}

CpuBackwardKernelBuilder::RowPanel CpuBackwardKernelBuilder::rowPanelOf(Value v) {
  if (v == form.query())
    return {qp, H, Dp, qPad};
  if (v == form.dout())
    return {doutp, H, DVp, qPad};
  if (v == form.key())
    return {kRows, HKV, Dp, kvPad};
  return {};
}

LogicalResult CpuBackwardKernelBuilder::emitDim(memref::DimOp dim) {
  std::optional<int64_t> index = dim.getConstantIndex();
  if (dim.getSource() == form.query() && index == 2)
    map.map(dim.getResult(), qLen);
  else if (dim.getSource() == form.key() && index == 2)
    map.map(dim.getResult(), kvLen);
  else if (dim.getSource() == form.dq() && index == 0)
    map.map(dim.getResult(), splits);
  else
    map.map(dim.getResult(), idx(0)); // the batch size: the work range replaces it
  return success();
}

LogicalResult CpuBackwardKernelBuilder::emitQueryTiles(scf::ParallelOp parallel) {
  // work = (b * H_KV + g) * splits + split
  auto loop = scf::ForOp::create(b, loc, begin, end, idx(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  Value w = loop.getInductionVar();
  Value bg = arith::DivUIOp::create(b, loc, w, splits);
  map.map(parallel.getInductionVars()[0], divc(bg, HKV));
  map.map(parallel.getInductionVars()[1], remc(bg, HKV));
  map.map(parallel.getInductionVars()[2], arith::RemUIOp::create(b, loc, w, splits));
  return emitOps(*parallel.getBody());
}

LogicalResult CpuBackwardKernelBuilder::realizeScratch(memref::AllocaOp alloca,
                                                       StringRef role) {
  int64_t rows = BQ, width = BK;
  if (role == "delta")
    width = 1;
  else if (role == "dk")
    rows = BK, width = Dp;
  else if (role == "dv")
    rows = BK, width = DVp;
  else if (role != "scores" && role != "probs" && role != "dprobs" && role != "dscores")
    return error(alloca, "unknown scratch role '") << role << "'";
  // Emitted at the start of the kernel: one allocation per call, not per work item.
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfterValue(end);
  auto type = MemRefType::get({rows * width}, b.getF32Type());
  Value buffer = memref::AllocOp::create(b, loc, type, ValueRange{}, b.getI64IntegerAttr(64));
  heapScratch.push_back(buffer);
  scratchWidth[buffer] = width;
  map.map(alloca.getResult(), buffer);
  return success();
}

// S = scale · Q·Kᵀ (q rows, transposed key tiles) or dP = dO·Vᵀ (dout rows,
// transposed value tiles).
LogicalResult CpuBackwardKernelBuilder::emitScores(attn::TileScoresOp op) {
  RowPanel rows = rowPanelOf(op.getQ());
  bool keys = op.getK() == form.key();
  if (!rows.data || (!keys && op.getK() != form.value()))
    return error(op, "unexpected operands of attn.tile_scores in the backward form");
  int64_t depth = keys ? D : DV;
  Value tiles = keys ? kTiles : vTiles;
  Value bIdx = lookup(op.getB()), gIdx = lookup(op.getG()), k0 = lookup(op.getK0());
  Value rowBase = rowOffset(rows, bIdx, lookup(op.getH()), lookup(op.getQ0()));
  Value kTile = arith::DivUIOp::create(b, loc, k0, idx(BK));
  Value tileBase =
      mulc(add(mul(add(mulc(bIdx, HKV), gIdx), numKVTiles), kTile), depth * BK);
  emitRowsTimesTile(lookup(op.getS()), rows.data, rowBase, rows.stride, tiles, tileBase,
                    depth, scaleOf(op));
  return success();
}

LogicalResult CpuBackwardKernelBuilder::emitZero(attn::TileZeroOp op) {
  Value tile = lookup(op.getTile());
  int64_t size = cast<MemRefType>(tile.getType()).getDimSize(0);
  Value zero = splatF32(0.0);
  forEach(idx(0), idx(size), idx(VW), [&](Value i) { vstore(zero, tile, i); });
  return success();
}

// The tile's rows of the delta panel ([B][H][Q_pad], rowsum(dO ∘ O) computed by the
// runtime once a call) into the delta scratch.
LogicalResult CpuBackwardKernelBuilder::emitDelta(attn::TileDeltaOp op) {
  Value delta = lookup(op.getDelta());
  Value base = add(mul(add(mulc(lookup(op.getB()), H), lookup(op.getH())), qPad),
                   lookup(op.getQ0()));
  forEach(idx(0), idx(BQ), idx(1), [&](Value i) { store(load(deltap, add(base, i)), delta, i); });
  return success();
}

LogicalResult CpuBackwardKernelBuilder::forEachScoreVector(
    Value bIdx, Value hIdx, Value q0, Value k0, bool applyMask, RegionVectorizer &vec,
    function_ref<LogicalResult(Value, Value, Value, ArrayRef<Value>)> body) {
  Value bVec = bcast(toI64(bIdx)), hVec = bcast(toI64(hIdx));
  Value qLenVec = bcast(toI64(qLen)), kvLenVec = bcast(toI64(kvLen));
  Value iotaVec = laneIota();
  auto rows = scf::ForOp::create(b, loc, idx(0), idx(BQ), idx(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(rows.getBody());
  Value i = rows.getInductionVar();
  Value qIdx = add(q0, i);
  Value rowLive = bcast(ult(qIdx, qLen));
  Value qIdxVec = bcast(toI64(qIdx));
  auto cols = scf::ForOp::create(b, loc, idx(0), idx(BK / VW), idx(1));
  b.setInsertionPointToStart(cols.getBody());
  Value col0 = add(k0, mulc(cols.getInductionVar(), VW));
  Value kvIdx = arith::AddIOp::create(b, loc, bcast(toI64(col0)), iotaVec);
  Value active = andi(rowLive, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                                     kvIdx, kvLenVec));
  SmallVector<Value> indices{bVec, hVec, qIdxVec, kvIdx, qLenVec, kvLenVec};
  if (applyMask) {
    Value keep = vec.emit(variant.getMaskMod(), indices, active);
    if (!keep)
      return failure();
    active = andi(active, keep);
  }
  Value offset = add(mulc(i, BK), mulc(cols.getInductionVar(), VW));
  return body(i, offset, active, indices);
}

// p = exp(score_mod(s) - lse) on the pairs that count, 0 elsewhere.
LogicalResult CpuBackwardKernelBuilder::emitProbs(attn::TileProbsOp op) {
  Value s = lookup(op.getS()), p = lookup(op.getP());
  Value bIdx = lookup(op.getB()), hIdx = lookup(op.getH()), q0 = lookup(op.getQ0());
  SmallVector<Value> scalars;
  for (Value v : op.getScalars())
    scalars.push_back(lookup(v));
  RegionVectorizer vec = vectorizer(scalars, lookup(op.getStatus()));
  Value scoreResult = variant.getScoreModResult();
  bool identityScore = scoreResult == variant.getScoreMod().front().getArgument(0);
  Value lseBase = mul(add(mulc(bIdx, H), hIdx), qPad);
  return forEachScoreVector(
      bIdx, hIdx, q0, lookup(op.getK0()), op.getApplyMask(), vec,
      [&](Value i, Value offset, Value active, ArrayRef<Value> indices) -> LogicalResult {
        // A row that kept nothing has lse = -inf and no probabilities: subtract +inf.
        Value lse = load(lsep, add(lseBase, add(q0, i)));
        Value empty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, lse, negInf());
        lse = select(empty, f32(std::numeric_limits<double>::infinity()), lse);
        Value score = vload(s, offset);
        if (!identityScore) {
          SmallVector<Value> args{score};
          args.append(indices.begin(), indices.end());
          score = vec.emit(variant.getScoreMod(), args, active);
          if (!score)
            return failure();
        }
        Value prob = math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, score, bcast(lse)));
        vstore(select(active, prob, splatF32(0.0)), p, offset);
        return success();
      });
}

// ds = score_mod_vjp(s, ..., p * (dp - delta)) on the pairs that count, 0 elsewhere.
LogicalResult CpuBackwardKernelBuilder::emitDScores(attn::TileDScoresOp op) {
  Value s = lookup(op.getS()), p = lookup(op.getP()), dp = lookup(op.getDp());
  Value delta = lookup(op.getDelta()), ds = lookup(op.getDs());
  Value bIdx = lookup(op.getB()), hIdx = lookup(op.getH()), q0 = lookup(op.getQ0());
  SmallVector<Value> scalars;
  for (Value v : op.getScalars())
    scalars.push_back(lookup(v));
  RegionVectorizer vec = vectorizer(scalars, lookup(op.getStatus()));
  for (auto &entry : gradAccess)
    vec.grads[entry.getKey()] = entry.getValue();
  return forEachScoreVector(
      bIdx, hIdx, q0, lookup(op.getK0()), op.getApplyMask(), vec,
      [&](Value i, Value offset, Value active, ArrayRef<Value> indices) -> LogicalResult {
        Value dProb = arith::SubFOp::create(b, loc, vload(dp, offset), bcast(load(delta, i)));
        Value grad = arith::MulFOp::create(b, loc, vload(p, offset), dProb);
        SmallVector<Value> args{vload(s, offset)};
        args.append(indices.begin(), indices.end());
        args.push_back(grad);
        Value dScore = vec.emit(variant.getScoreModVjp(), args, active);
        if (!dScore)
          return failure();
        vstore(select(active, dScore, splatF32(0.0)), ds, offset);
        return success();
      });
}

// acc[j][c..] += scale * sum_i p[i][j] * x[i][c..]: 4 key rows x up to 4 vectors of
// accumulators in registers across the i loop.
LogicalResult CpuBackwardKernelBuilder::emitKeyGrad(attn::TileKeyGradOp op) {
  RowPanel x = rowPanelOf(op.getX());
  if (!x.data)
    return error(op, "unexpected operand of attn.tile_key_grad in the backward form");
  Value p = lookup(op.getP()), acc = lookup(op.getAcc());
  int64_t width = scratchWidth.lookup(acc);
  if (width != x.stride)
    return error(op, "the accumulator and the rows of attn.tile_key_grad differ in width");
  Value xBase = rowOffset(x, lookup(op.getB()), lookup(op.getH()), lookup(op.getQ0()));
  emitBlockedProduct(
      BK, width, BQ, scaleOf(op), /*accumulate=*/true,
      [&](Value i, Value j) { return load(p, add(mulc(i, BK), j)); },
      [&](Value i, Value col) { return vload(x.data, add(add(xBase, mulc(i, width)), col)); },
      acc, [&](Value j, Value col) { return add(mulc(j, width), col); });
  return success();
}

// dq[i][c..] += scale * sum_j ds[i][j] * k[j][c..] into the split's partial dQ,
// packed as [B][H][splits][Q_pad][D_pad].
LogicalResult CpuBackwardKernelBuilder::emitQueryGrad(attn::TileQueryGradOp op) {
  Value ds = lookup(op.getDs());
  Value bIdx = lookup(op.getB()), hIdx = lookup(op.getH());
  RowPanel k = rowPanelOf(form.key());
  Value kBase = rowOffset(k, bIdx, lookup(op.getG()), lookup(op.getK0()));
  Value dqBase =
      mulc(add(mul(add(mul(add(mulc(bIdx, H), hIdx), splits), lookup(op.getC())), qPad),
               lookup(op.getQ0())),
           Dp);
  emitBlockedProduct(
      BQ, Dp, BK, scaleOf(op), /*accumulate=*/true,
      [&](Value j, Value i) { return load(ds, add(mulc(i, BK), j)); },
      [&](Value j, Value col) { return vload(kRows, add(add(kBase, mulc(j, Dp)), col)); },
      dqp, [&](Value i, Value col) { return add(add(dqBase, mulc(i, Dp)), col); });
  return success();
}

// The tile's rows into the packed dK ([B][H_KV][KV_pad][D_pad]) or dV panel.
LogicalResult CpuBackwardKernelBuilder::emitKeyStore(attn::TileKeyStoreOp op) {
  Value acc = lookup(op.getAcc());
  bool isKey = op.getDk() == form.dk();
  Value panel = isKey ? dkp : dvp;
  int64_t width = isKey ? Dp : DVp;
  if (scratchWidth.lookup(acc) != width)
    return error(op, "the tile of attn.tile_key_store does not match its gradient");
  RowPanel rows{panel, HKV, width, kvPad};
  Value base = rowOffset(rows, lookup(op.getB()), lookup(op.getG()), lookup(op.getK0()));
  forEach(idx(0), idx(BK * width), idx(VW),
          [&](Value e) { vstore(vload(acc, e), panel, add(base, e)); });
  return success();
}

} // namespace

LogicalResult buildBackwardKernel(func::FuncOp flash, attn::VariantOp variant,
                                  const FlashFormDetail &form) {
  return CpuBackwardKernelBuilder(flash, variant, form).build();
}

} // namespace attnc::cpu
