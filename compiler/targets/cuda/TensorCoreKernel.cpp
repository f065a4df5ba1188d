//===- TensorCoreKernel.cpp - the f16/bf16 tensor-core flash kernel --------===//
//
// FlashAttention-2's arrangement: block-q / 16 warps (1 to 8) of 16 query rows; Q
// fragments loaded once with ldmatrix and kept in registers; K and V tiles in a ring
// of `stages` workgroup buffers filled by cp.async ahead of use; per key tile S = Q·Kᵀ and O += P·V with
// mma.sync m16n8k16 (f32 accumulators), score_mod/mask_mod on the accumulator
// fragments with each element's (q_idx, kv_idx) from the PTX fragment layout, row
// max and sum over the quad with shuffles, and P reused from registers as the A
// operand of P·V.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cuda/GpuKernelBuilder.h"
#include "compiler/transforms/MaskIntervals.h"

using namespace mlir;

namespace attnc::cuda::detail {

bool GpuKernelBuilder::useTensorCores() {
  // f16 or bf16, 1 to 8 warps of 16 rows, key tiles in steps of 16, and the Q tile
  // and `stages` K and V tiles (16-bit) within 48 KiB.
  Type element = cast<MemRefType>(flash.getArgument(0).getType()).getElementType();
  return tensorCores && (element.isF16() || element.isBF16()) && BQ % 16 == 0 && BQ <= 128 &&
         BK % 16 == 0 && tensorCoreSharedBytes(BQ, BK, D, DV, stages) <= 48 * 1024;
}

void GpuKernelBuilder::stageF16(Value tensor, Value tile, ValueRange prefix, Value batch,
                                Value head, Value r0, int64_t rows, int64_t cols,
                                int64_t valid, Value limit, Value tid, int64_t threads) {
  loop(tid, idx(rows * cols), idx(threads), {}, [&](Value e, ValueRange) {
    Value r = arith::DivUIOp::create(b, loc, e, idx(cols));
    Value c = arith::RemUIOp::create(b, loc, e, idx(cols));
    Value row = add(r0, r);
    Value in = arith::AndIOp::create(b, loc, cmp(arith::CmpIPredicate::ult, row, limit),
                                     cmp(arith::CmpIPredicate::ult, c, idx(valid)));
    Value x = ifElse(
        in, half, [&] { return load(tensor, {batch, head, row, c}); },
        [&] { return Value(arith::ConstantOp::create(b, loc, half, b.getZeroAttr(half))); });
    SmallVector<Value> at(prefix);
    at.append({r, c});
    store(x, tile, at);
    return SmallVector<Value>{};
  });
}

void GpuKernelBuilder::stageAsync(Value tensor, Value tile, Value buf, Value batch, Value head,
                                  Value r0, int64_t rows, int64_t cols, int64_t valid,
                                  Value limit, Value tid, int64_t threads) {
  // 16-byte cp.async chunks of 8 elements; rows past `limit` and columns past `valid`
  // are zero-filled (the source then is a valid element that is not read).
  int64_t chunks = cols / 8;
  loop(tid, idx(rows * chunks), idx(threads), {}, [&](Value e, ValueRange) {
    Value r = arith::DivUIOp::create(b, loc, e, idx(chunks));
    Value c = mul(arith::RemUIOp::create(b, loc, e, idx(chunks)), idx(8));
    Value row = add(r0, r);
    Value rowIn = cmp(arith::CmpIPredicate::ult, row, limit);
    Value left = arith::SubIOp::create(
        b, loc, idx(valid), arith::MinUIOp::create(b, loc, c, idx(valid)));
    Value n = arith::SelectOp::create(b, loc, rowIn, arith::MinUIOp::create(b, loc, left, idx(8)),
                                      idx(0));
    Value any = cmp(arith::CmpIPredicate::ne, n, idx(0));
    Value srcRow = arith::SelectOp::create(b, loc, rowIn, row, idx(0));
    Value srcCol = arith::SelectOp::create(b, loc, any, c, idx(0));
    nvgpu::DeviceAsyncCopyOp::create(
        b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tile, ValueRange{buf, r, c},
        tensor, ValueRange{batch, head, srcRow, srcCol}, b.getIndexAttr(8), n, b.getUnitAttr());
    return SmallVector<Value>{};
  });
}

Value GpuKernelBuilder::withUnitInnerStride(Value tensor) {
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

Value GpuKernelBuilder::cpAsyncAligned(Value tensor) {
  // cp.async reads 16 aligned bytes: the element (b, h, row, 8j) must be 16-byte
  // aligned for every index, i.e. the start and the outer strides, in 2-byte
  // elements, multiples of 8, and the last stride 1.
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, tensor);
  Value ptr = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, tensor);
  Value start = add(ptr, mul(meta.getOffset(), idx(2)));
  Value ok = cmp(arith::CmpIPredicate::eq, arith::RemUIOp::create(b, loc, start, idx(16)), idx(0));
  for (int64_t d = 0; d < 3; ++d)
    ok = arith::AndIOp::create(
        b, loc, ok,
        cmp(arith::CmpIPredicate::eq,
            arith::RemUIOp::create(b, loc, meta.getStrides()[d], idx(8)), idx(0)));
  return arith::AndIOp::create(b, loc, ok,
                               cmp(arith::CmpIPredicate::eq, meta.getStrides()[3], idx(1)));
}

/// The max (or sum) of `v` over the 4 lanes of a quad (lanes 4g .. 4g + 3 hold the
/// same rows of an mma fragment).
Value GpuKernelBuilder::quadReduce(Value v, bool isMax) {
  for (int64_t offset : {1, 2}) {
    Value o = arith::ConstantIntOp::create(b, loc, offset, 32);
    Value w = arith::ConstantIntOp::create(b, loc, 32, 32);
    Value other = gpu::ShuffleOp::create(b, loc, v, o, w, gpu::ShuffleMode::XOR).getShuffleResult();
    v = isMax ? Value(arith::MaximumFOp::create(b, loc, v, other))
              : Value(arith::AddFOp::create(b, loc, v, other));
  }
  return v;
}

void GpuKernelBuilder::emitTensorCoreKernel(gpu::LaunchOp launch) {
  Value tid = launch.getThreadIds().x;
  Value qTile = launch.getBlockIds().x, head = launch.getBlockIds().y;
  Value batch = launch.getBlockIds().z;
  Value qs = launch.getWorkgroupAttributions()[0];
  Value ks = launch.getWorkgroupAttributions()[1];
  Value vs = launch.getWorkgroupAttributions()[2];
  Value kvHead = arith::DivUIOp::create(b, loc, head, idx(H / HKV));
  Value q0 = mul(qTile, idx(BQ));
  Value q1 = arith::SubIOp::create(
      b, loc, arith::MinUIOp::create(b, loc, add(q0, idx(BQ)), qLen), idx(1));
  Value warp = arith::DivUIOp::create(b, loc, tid, idx(32));
  Value lane = arith::RemUIOp::create(b, loc, tid, idx(32));
  Value g = arith::DivUIOp::create(b, loc, lane, idx(4)); // the fragment's row group
  Value t = arith::RemUIOp::create(b, loc, lane, idx(4)); // and column pair
  Value warpRow = mul(warp, idx(16));
  auto f16x2 = [&](int64_t n) { return VectorType::get({n, 2}, half); };
  auto f32x2 = VectorType::get({2, 2}, b.getF32Type());
  auto zeros = [&](VectorType type) -> Value {
    return arith::ConstantOp::create(b, loc, type, b.getZeroAttr(type));
  };
  auto mma = [&](Value a, Value bm, Value c) -> Value {
    return nvgpu::MmaSyncOp::create(b, loc, a, bm, c, ArrayRef<int64_t>{16, 8, 16});
  };
  auto ldmatrixAt = [&](Value tile, ValueRange at, int64_t n, bool trans) -> Value {
    return nvgpu::LdMatrixOp::create(b, loc, f16x2(n), tile, at, b.getBoolAttr(trans),
                                     b.getI32IntegerAttr(int32_t(n)));
  };
  auto ldmatrix = [&](Value tile, Value r, Value c, int64_t n, bool trans) -> Value {
    return ldmatrixAt(tile, ValueRange{r, c}, n, trans);
  };
  const int64_t kSteps = Dp / 16, nTiles = BK / 8, vTiles = DVp / 8;

  // Q tile in workgroup memory, then each warp's A fragments (rows warpRow .. +16).
  stageF16(q, qs, {}, batch, head, q0, BQ, Dp, D, qLen, tid, tcThreads());
  gpu::BarrierOp::create(b, loc);
  SmallVector<Value> qFrag;
  {
    // ldmatrix.x4: lane l gives row l % 8 of matrix l / 8 (rows 0-7, 8-15 of the two
    // 8-column halves).
    Value r8 = arith::RemUIOp::create(b, loc, lane, idx(8));
    Value m = arith::DivUIOp::create(b, loc, lane, idx(8));
    Value row = add(warpRow, add(r8, mul(arith::RemUIOp::create(b, loc, m, idx(2)), idx(8))));
    Value colHalf = mul(arith::DivUIOp::create(b, loc, m, idx(2)), idx(8));
    for (int64_t k = 0; k < kSteps; ++k)
      qFrag.push_back(ldmatrix(qs, row, add(colHalf, idx(16 * k)), 4, false));
  }
  // The running state of the lane's two rows (g and g + 8): max, partial sum, and
  // the O fragments (vTiles of 16 x 8).
  Value rowQ[2] = {add(q0, add(warpRow, g)), add(q0, add(warpRow, add(g, idx(8))))};
  SmallVector<Value> init{negInf(), negInf(), f32(0), f32(0)};
  for (int64_t j = 0; j < vTiles; ++j)
    init.push_back(zeros(f32x2));
  Value numKVTiles = arith::CeilDivUIOp::create(b, loc, kvLen, idx(BK));
  Value bI = toI64(batch), hI = toI64(head), qLenI = toI64(qLen), kvLenI = toI64(kvLen);
  // Lane address for ldmatrix.x2 of K (8 keys x 16 dims): lanes 0-7 rows of the
  // first 8 columns, 8-15 of the second; of V (.trans, 16 keys x 8 dims): lanes 0-15
  // give keys 0-15.
  Value l16 = arith::RemUIOp::create(b, loc, lane, idx(16));
  Value kRow = arith::RemUIOp::create(b, loc, l16, idx(8));
  Value kCol = mul(arith::DivUIOp::create(b, loc, l16, idx(8)), idx(8));
  // The class of key tile kt for this query tile (0 empty, 1 full, 2 partial).
  auto tileClass = [&](Value kt) {
    Value k0 = mul(kt, idx(BK));
    Value k1 = arith::SubIOp::create(
        b, loc, arith::MinUIOp::create(b, loc, add(k0, idx(BK)), kvLen), idx(1));
    return emitMaskClass(b, loc, variant, batch, head, q0, q1, k0, k1, qLen, kvLen,
                         scalarArgs);
  };
  // Tiles past the last one the mask keeps are not visited: a causal query tile
  // reads keys up to its diagonal only. Empty tiles before it (a sliding window's
  // leading tiles) are visited but neither fetched, waited for nor synchronised.
  // (Starting the loop at the first kept tile costs a register that made two
  // examples spill at 128 registers.)
  Value firstTile = idx(0), endTile;
  endTile = loop(idx(0), numKVTiles, idx(1), ValueRange{idx(0)},
                 [&](Value kt, ValueRange end) -> SmallVector<Value> {
                   Value kept = cmp(arith::CmpIPredicate::ne, tileClass(kt), idx(0));
                   return {arith::SelectOp::create(b, loc, kept, add(kt, idx(1)), end[0])};
                 })
                .getResult(0);
  // One key tile on buffer `buf` of the K and V tiles, staged here (synchronously)
  // when `stage`, else made ready by `ready` (the cp.async wait and barrier), which
  // only kept tiles run: the tile class is the same for the whole block. Returns
  // the new state.
  auto tileBody = [&](Value kt, ValueRange st, Value buf, bool stage,
                      function_ref<void()> ready) -> SmallVector<Value> {
    Value k0 = mul(kt, idx(BK));
    Value cls = tileClass(kt);
    auto ifOp = scf::IfOp::create(b, loc, ValueRange(st).getTypes(),
                                  cmp(arith::CmpIPredicate::ne, cls, idx(0)), true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, st);
    b.setInsertionPointToStart(ifOp.thenBlock());
    if (ready)
      ready();
    if (stage) {
      stageF16(k, ks, {buf}, batch, kvHead, k0, BK, Dp, D, kvLen, tid, tcThreads());
      stageF16(v, vs, {buf}, batch, kvHead, k0, BK, DVp, DV, kvLen, tid, tcThreads());
      gpu::BarrierOp::create(b, loc);
    }
    Value partial = cmp(arith::CmpIPredicate::eq, cls, idx(2));
    // S = Q·Kᵀ, 16 x BK per warp, as nTiles fragments of 16 x 8.
    SmallVector<Value> sFrag;
    for (int64_t n = 0; n < nTiles; ++n) {
      Value acc = zeros(f32x2);
      for (int64_t k = 0; k < kSteps; ++k)
        acc = mma(qFrag[k],
                  ldmatrixAt(ks, ValueRange{buf, add(kRow, idx(8 * n)), add(kCol, idx(16 * k))},
                             2, false),
                  acc);
      sFrag.push_back(acc);
    }
    // score_mod / mask_mod per element: (row g + 8i, key 8n + 2t + e).
    Value rowMax[2] = {st[0], st[1]};
    for (int64_t n = 0; n < nTiles; ++n)
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t e = 0; e < 2; ++e) {
          Value kv = add(k0, add(idx(8 * n + e), mul(t, idx(2))));
          Value inRange = arith::AndIOp::create(b, loc, cmp(arith::CmpIPredicate::ult, kv, kvLen),
                                                cmp(arith::CmpIPredicate::ult, rowQ[i], qLen));
          Value qI = toI64(rowQ[i]), kvI = toI64(kv);
          Value keep = ifElse(
              inRange, b.getI1Type(),
              [&] {
                return ifElse(
                    partial, b.getI1Type(),
                    [&] { return mods->emit(variant.getMaskMod(), {bI, hI, qI, kvI, qLenI, kvLenI}); },
                    [&] { return Value(arith::ConstantIntOp::create(b, loc, 1, 1)); });
              },
              [&] { return Value(arith::ConstantIntOp::create(b, loc, 0, 1)); });
          Value raw = extract(sFrag[n], i, e);
          Value sv = ifElse(
              keep, b.getF32Type(),
              [&] {
                Value scaled = arith::MulFOp::create(b, loc, raw, f32(scale));
                return mods->emit(variant.getScoreMod(), {scaled, bI, hI, qI, kvI, qLenI, kvLenI});
              },
              [&] { return negInf(); });
          sFrag[n] = insert(sv, sFrag[n], i, e);
          rowMax[i] = arith::MaximumFOp::create(b, loc, rowMax[i], sv);
        }
    SmallVector<Value> next(st.size());
    Value alpha[2];
    for (int64_t i = 0; i < 2; ++i) {
      Value mNew = quadReduce(rowMax[i], /*isMax=*/true);
      Value allMasked = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, mNew, negInf());
      alpha[i] = arith::SelectOp::create(
          b, loc, allMasked, f32(1),
          math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, st[i], mNew)));
      next[i] = mNew;
      next[2 + i] = arith::MulFOp::create(b, loc, st[2 + i], alpha[i]);
    }
    // P = exp(S - max) in f16, reused as the A fragments of P·V.
    SmallVector<Value> pFrag;
    for (int64_t n = 0; n < nTiles; ++n) {
      Value p = zeros(VectorType::get({2, 2}, half));
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t e = 0; e < 2; ++e) {
          Value sv = extract(sFrag[n], i, e);
          Value masked = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, sv, negInf());
          Value pv = arith::SelectOp::create(
              b, loc, masked, f32(0),
              math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, sv, next[i])));
          next[2 + i] = arith::AddFOp::create(b, loc, next[2 + i], pv);
          p = insert(arith::TruncFOp::create(b, loc, half, pv), p, i, e);
        }
      pFrag.push_back(p);
    }
    // O = O * alpha + P·V.
    for (int64_t j = 0; j < vTiles; ++j) {
      Value o = st[4 + j];
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t e = 0; e < 2; ++e)
          o = insert(arith::MulFOp::create(b, loc, extract(o, i, e), alpha[i]), o, i, e);
      for (int64_t s = 0; s < BK / 16; ++s) {
        // A (16 rows x 16 keys): a0a1, a2a3 from n-tile 2s (rows g, g+8), a4a5, a6a7
        // from n-tile 2s + 1.
        Value a = zeros(f16x2(4));
        for (int64_t r = 0; r < 4; ++r)
          for (int64_t e = 0; e < 2; ++e)
            a = insert(extract(pFrag[2 * s + r / 2], r % 2, e), a, r, e);
        Value bv = ldmatrixAt(vs, ValueRange{buf, add(l16, idx(16 * s)), idx(8 * j)}, 2,
                              /*trans=*/true);
        o = mma(a, bv, o);
      }
      next[4 + j] = o;
    }
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, next);
    return SmallVector<Value>(ifOp.getResults());
  };
  // With 16-byte aligned K and V rows, K/V tiles are fetched by cp.async `stages - 1`
  // tiles ahead into a ring of `stages` buffers (tile kt in buffer kt % stages): a
  // commit group per tile, and before tile kt a wait for all but the newest
  // `stages - 1` groups. Otherwise the tiles are staged by plain loads into buffer 0.
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  Value kUnit, vUnit; // k and v with their unit innermost stride in the type
  auto prefetch = [&](Value kt, Value buf) {
    Value r0 = mul(kt, idx(BK));
    stageAsync(kUnit, ks, buf, batch, kvHead, r0, BK, Dp, D, kvLen, tid, tcThreads());
    stageAsync(vUnit, vs, buf, batch, kvHead, r0, BK, DVp, DV, kvLen, tid, tcThreads());
  };
  auto runTiles = [&](bool async) -> SmallVector<Value> {
    if (!async)
      return SmallVector<Value>(
          loop(firstTile, endTile, idx(1), init, [&](Value kt, ValueRange st) {
            return tileBody(kt, st, idx(0), /*stage=*/true, nullptr);
          }).getResults());
    kUnit = withUnitInnerStride(k);
    vUnit = withUnitInnerStride(v);
    // The prologue: tiles first .. first + stages - 2, a group each (empty past the
    // range).
    for (int64_t s = 0; s + 1 < stages; ++s) {
      Value kt = add(firstTile, idx(s));
      ifThen(cmp(arith::CmpIPredicate::ult, kt, endTile), [&] {
        ifThen(cmp(arith::CmpIPredicate::ne, tileClass(kt), idx(0)),
               [&] { prefetch(kt, arith::RemUIOp::create(b, loc, kt, idx(stages))); });
      });
      nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, tokenType, ValueRange{});
    }
    return SmallVector<Value>(
        loop(firstTile, endTile, idx(1), init, [&](Value kt, ValueRange st) {
          Value buf = arith::RemUIOp::create(b, loc, kt, idx(stages));
          Value ahead = add(kt, idx(stages - 1));
          ifThen(cmp(arith::CmpIPredicate::ult, ahead, endTile), [&] {
            // A tile the mask empties is not fetched (its body skips it).
            ifThen(cmp(arith::CmpIPredicate::ne, tileClass(ahead), idx(0)), [&] {
              prefetch(ahead, arith::RemUIOp::create(b, loc, ahead, idx(stages)));
            });
          });
          // Empty groups near the end keep "all but the newest stages - 1" = tile kt.
          Value group = nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, tokenType, ValueRange{});
          // A tile the mask empties was not fetched and is not read: no wait, no
          // barrier (every computed tile ends with one, which protects its buffer).
          return tileBody(kt, st, buf, /*stage=*/false, [&] {
            nvgpu::DeviceAsyncWaitOp::create(b, loc, group,
                                             b.getI32IntegerAttr(int32_t(stages - 1)));
            gpu::BarrierOp::create(b, loc);
          });
        }).getResults());
  };
  Value aligned = arith::AndIOp::create(b, loc, cpAsyncAligned(k), cpAsyncAligned(v));
  auto tileLoop =
      scf::IfOp::create(b, loc, ValueRange(init).getTypes(), aligned, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(tileLoop.thenBlock());
    scf::YieldOp::create(b, loc, runTiles(true));
    b.setInsertionPointToStart(tileLoop.elseBlock());
    scf::YieldOp::create(b, loc, runTiles(false));
  }
  // out = O / l and lse = max + log(l) for the lane's rows (l summed over the quad).
  for (int64_t i = 0; i < 2; ++i) {
    Value m = tileLoop.getResult(i);
    Value l = quadReduce(tileLoop.getResult(2 + i), /*isMax=*/false);
    Value empty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, l, f32(0));
    Value inv = arith::DivFOp::create(b, loc, f32(1), l);
    Value rowOk = cmp(arith::CmpIPredicate::ult, rowQ[i], qLen);
    for (int64_t j = 0; j < vTiles; ++j)
      for (int64_t e = 0; e < 2; ++e) {
        Value col = add(idx(8 * j + e), mul(t, idx(2)));
        Value o = arith::MulFOp::create(b, loc, extract(tileLoop.getResult(4 + j), i, e), inv);
        o = arith::SelectOp::create(b, loc, empty, f32(0), o);
        Value ok = arith::AndIOp::create(b, loc, rowOk, cmp(arith::CmpIPredicate::ult, col, idx(DV)));
        ifThen(ok, [&] {
          store(arith::TruncFOp::create(b, loc, half, o), out, {batch, head, rowQ[i], col});
        });
      }
    Value logSum = arith::AddFOp::create(b, loc, m, math::LogOp::create(b, loc, l));
    Value lseValue = arith::SelectOp::create(b, loc, empty, negInf(), logSum);
    ifThen(arith::AndIOp::create(b, loc, rowOk, cmp(arith::CmpIPredicate::eq, t, idx(0))),
           [&] { store(lseValue, lse, {batch, head, rowQ[i]}); });
  }
}

} // namespace attnc::cuda::detail
