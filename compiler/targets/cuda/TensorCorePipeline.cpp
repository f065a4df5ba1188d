//===- TensorCorePipeline.cpp - the tensor-core kernel's key loop ----------===//
//
// How the tensor-core kernel runs the flash form's key loop: the Q tile staged
// once (its A fragments kept in registers), the loop cut at the last key tile the
// mask keeps, and K/V tiles fetched into a ring of `stages` workgroup buffers by
// cp.async ahead of use. The body of each iteration is the flash form's key-loop
// body, walked for that tile (FlashFormLowering::emitKeyTile).
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cuda/TensorCoreKernel.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;

namespace attnc::cuda::detail {

bool tensorCoresFit(const FlashFormDetail &form, int64_t stages, int64_t rowsPerWarp) {
  Type element = form.elementType();
  int64_t bq = form.blockQ(), bk = form.blockKV();
  return (element.isF16() || element.isBF16()) && (rowsPerWarp == 16 || rowsPerWarp == 32) &&
         bq % rowsPerWarp == 0 && bq <= 128 &&
         bk % 16 == 0 &&
         tensorCoreSharedBytes(bq, bk, form.headDim(), form.headDimV(), stages) <=
             kMaxSharedBytes;
}

std::unique_ptr<GpuFlashLowering> makeTensorCoreKernel(func::FuncOp flash,
                                                       attn::VariantOp variant,
                                                       const FlashFormDetail &form,
                                                       int64_t stages, int64_t rowsPerWarp) {
  return std::make_unique<TensorCoreKernel>(flash, variant, form, stages, rowsPerWarp);
}

SmallVector<MemRefType> TensorCoreKernel::workgroupBuffers() {
  int64_t qkColumns = qkLayout.physicalColumns(), vColumns = vLayout.physicalColumns();
  return {workgroupType({BQ, qkColumns}, half()),
          workgroupType({stages, BK, qkColumns}, half()),
          workgroupType({stages, BK, vColumns}, half())};
}

void TensorCoreKernel::enterKernel(ValueRange buffers) {
  qTile = buffers[0];
  kRing = buffers[1];
  vRing = buffers[2];
  enterWarps();
  warpRow = mulc(divc(tid, 32), 16 * mTiles);
}

void TensorCoreKernel::loadQueryFragments(attn::TileScoresOp scores) {
  Value q = lookup(scores.getQ());
  stageF16(q, qTile, qkLayout, {}, lookup(scores.getB()), lookup(scores.getH()),
           lookup(scores.getQ0()), BQ, Dp, D, seqLen(q));
  gpu::BarrierOp::create(b, loc);
  // A fragments of the warp's rows (MmaLowering.h).
  qRow = add(warpRow, aRow);
  qCol = aCol;
  queryStaged = true;
  if (!queryFragmentsInRegisters())
    return;
  for (int64_t m = 0; m < mTiles; ++m)
    for (int64_t k = 0; k < kSteps; ++k)
      qFrag.push_back(loadQueryFragment(m, k));
}

Value TensorCoreKernel::loadQueryFragment(int64_t m, int64_t k) {
  return ldmatrixAt(qTile, qkLayout, {}, qRow, 16 * m, qCol, 16 * k, 4, false);
}

SmallVector<Value> TensorCoreKernel::queryFragments(int64_t k) {
  SmallVector<Value> a;
  for (int64_t m = 0; m < mTiles; ++m)
    a.push_back(queryFragmentsInRegisters() ? qFrag[m * kSteps + k] : loadQueryFragment(m, k));
  return a;
}

Value TensorCoreKernel::lastKeptTileEnd(Value first, Value end) {
  // Tiles past the last one the mask keeps are not visited: a causal query tile
  // reads keys up to its diagonal only. Empty tiles before it (a sliding window's
  // leading tiles) are visited but neither fetched, waited for nor synchronised.
  // (Starting the loop at the first kept tile costs a register that made two
  // examples spill at 128 registers.)
  if (!classifiesKeyTiles())
    return end;
  return loop(first, end, idx(1), ValueRange{first},
              [&](Value kt, ValueRange last) -> SmallVector<Value> {
                Value kept = cmp(arith::CmpIPredicate::ne, maskClassOf(kt), idx(0));
                return {select(kept, add(kt, idx(1)), last[0])};
              })
      .getResult(0);
}

LogicalResult TensorCoreKernel::emitKeyLoop(scf::ForOp op) {
  attn::TileScoresOp scores = keyLoopScores();
  auto pv = keyLoopOp<attn::TilePVOp>();
  if (!scores || !pv)
    return failure();
  if (getConstantIntValue(op.getStep()) != 1)
    return error(op, "the loop over key tiles must have step 1");
  batch = lookup(scores.getB());
  kvHead = lookup(scores.getG());
  loadQueryFragments(scores);
  Value first = lookup(op.getLowerBound());
  Value end = lastKeptTileEnd(first, lookup(op.getUpperBound()));
  // With 16-byte aligned K and V rows, tiles are fetched by cp.async; otherwise
  // they are staged by plain loads.
  Value aligned = andi(cpAsyncAligned(lookup(scores.getK())), cpAsyncAligned(lookup(pv.getV())));
  SmallVector<Value> state = runningState();
  TypeRange types = ValueRange(state).getTypes();
  auto choice = scf::IfOp::create(b, loc, types, aligned, /*withElseRegion=*/true);
  for (bool async : {true, false}) {
    OpBuilder::InsertionGuard guard(b);
    Block *block = async ? choice.thenBlock() : choice.elseBlock();
    if (!block->empty())
      b.setInsertionPoint(&block->back());
    else
      b.setInsertionPointToEnd(block);
    setRunningState(state);
    if (failed(async ? emitPipelinedTiles(first, end, scores, pv)
                     : emitStagedTiles(first, end)) ||
        failed(yieldState(block, types, op)))
      return failure();
  }
  setRunningState(choice.getResults());
  return success();
}

LogicalResult TensorCoreKernel::emitStagedTiles(Value first, Value end) {
  bool ok = true;
  SmallVector<Value> results(
      loop(first, end, idx(1), runningState(), [&](Value kt, ValueRange st) {
        setRunningState(st);
        buffer = idx(0);
        staged = true;
        ok &= succeeded(emitKeyTile(kt));
        return runningState();
      }).getResults());
  setRunningState(results);
  staged = false;
  buffer = {};
  return success(ok);
}

void TensorCoreKernel::prefetchTile(Value kt, Value buf) {
  Value r0 = mulc(kt, BK);
  Value kvLen = seqLen(kUnit);
  stageAsync(kUnit, kRing, qkLayout, buf, batch, kvHead, r0, BK, Dp, D, kvLen);
  stageAsync(vUnit, vRing, vLayout, buf, batch, kvHead, r0, BK, DVp, DV, kvLen);
}

LogicalResult TensorCoreKernel::emitPipelinedTiles(Value first, Value end,
                                                   attn::TileScoresOp scores,
                                                   attn::TilePVOp pv) {
  // Tile kt is fetched into buffer kt % stages, `stages - 1` tiles ahead: a commit
  // group per tile, and before tile kt a wait for all but the newest `stages - 1`
  // groups. A tile the mask empties is neither fetched nor waited for.
  kUnit = withUnitInnerStride(lookup(scores.getK()));
  vUnit = withUnitInnerStride(lookup(pv.getV()));
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  auto fetchIfKept = [&](Value kt) {
    ifThen(ult(kt, end), [&] {
      Value cls = maskClassOf(kt);
      auto fetch = [&] { prefetchTile(kt, remc(kt, stages)); };
      if (cls)
        ifThen(cmp(arith::CmpIPredicate::ne, cls, idx(0)), fetch);
      else
        fetch();
    });
  };
  // The prologue: tiles first .. first + stages - 2, a group each (empty past the
  // range).
  for (int64_t s = 0; s + 1 < stages; ++s) {
    fetchIfKept(add(first, idx(s)));
    nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, tokenType, ValueRange{});
  }
  bool ok = true;
  SmallVector<Value> results(
      loop(first, end, idx(1), runningState(), [&](Value kt, ValueRange st) {
        setRunningState(st);
        fetchIfKept(add(kt, idx(stages - 1)));
        // Empty groups near the end keep "all but the newest stages - 1" = tile kt.
        Value group = nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, tokenType, ValueRange{});
        buffer = remc(kt, stages);
        ready = [&, group] {
          nvgpu::DeviceAsyncWaitOp::create(b, loc, group, b.getI32IntegerAttr(int32_t(stages - 1)));
          gpu::BarrierOp::create(b, loc);
        };
        ok &= succeeded(emitKeyTile(kt));
        ready = nullptr;
        return runningState();
      }).getResults());
  setRunningState(results);
  buffer = {};
  return success(ok);
}

void TensorCoreKernel::stageAsync(Value tensor, Value tile, const SharedTileLayout &layout,
                                  Value buf, Value batch, Value head, Value r0, int64_t rows,
                                  int64_t cols, int64_t valid, Value limit) {
  // 16-byte cp.async chunks of 8 elements; rows past `limit` and columns past `valid`
  // are zero-filled (the source then is a valid element that is not read).
  int64_t chunks = cols / 8;
  forEach(tid, idx(rows * chunks), idx(threadsPerBlock()), [&](Value e) {
    Value r = divc(e, chunks);
    Value c = mulc(remc(e, chunks), 8);
    Value row = add(r0, r);
    Value rowIn = ult(row, limit);
    Value left = sub(idx(valid), minu(c, idx(valid)));
    Value n = select(rowIn, minu(left, idx(8)), idx(0));
    Value any = cmp(arith::CmpIPredicate::ne, n, idx(0));
    Value srcRow = select(rowIn, row, idx(0));
    Value srcCol = select(any, c, idx(0));
    nvgpu::DeviceAsyncCopyOp::create(
        b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tile,
        ValueRange{buf, r, layout.column(*this, r, c)},
        tensor, ValueRange{batch, head, srcRow, srcCol}, b.getIndexAttr(8), n, b.getUnitAttr());
  });
}

Value TensorCoreKernel::withUnitInnerStride(Value tensor) {
  // The same view typed with a static innermost stride of 1 (cp.async's source must
  // say so); only used where cpAsyncAligned holds.
  auto type = cast<MemRefType>(tensor.getType());
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, tensor);
  SmallVector<OpFoldResult> sizes, strides;
  SmallVector<int64_t> staticStrides;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    sizes.push_back(type.isDynamicDim(d) ? OpFoldResult(meta.getSizes()[d])
                                         : OpFoldResult(b.getIndexAttr(type.getDimSize(d))));
    bool last = d + 1 == type.getRank();
    strides.push_back(last ? OpFoldResult(b.getIndexAttr(1)) : OpFoldResult(meta.getStrides()[d]));
    staticStrides.push_back(last ? 1 : ShapedType::kDynamic);
  }
  auto layout = StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, staticStrides);
  auto viewType = MemRefType::get(type.getShape(), type.getElementType(), layout);
  return memref::ReinterpretCastOp::create(b, loc, viewType, meta.getBaseBuffer(),
                                           OpFoldResult(meta.getOffset()), sizes, strides);
}

Value TensorCoreKernel::cpAsyncAligned(Value tensor) {
  // cp.async reads 16 aligned bytes: the element (b, h, row, 8j) must be 16-byte
  // aligned for every index, i.e. the start and the outer strides, in 2-byte
  // elements, multiples of 8, and the last stride 1.
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, tensor);
  Value ptr = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, tensor);
  Value start = add(ptr, mulc(meta.getOffset(), 2));
  auto eq = arith::CmpIPredicate::eq;
  Value ok = cmp(eq, remc(start, 16), idx(0));
  for (int64_t d = 0; d < 3; ++d)
    ok = andi(ok, cmp(eq, remc(meta.getStrides()[d], 8), idx(0)));
  return andi(ok, cmp(eq, meta.getStrides()[3], idx(1)));
}

} // namespace attnc::cuda::detail
