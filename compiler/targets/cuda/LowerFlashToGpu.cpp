//===- LowerFlashToGpu.cpp - the flash form as a SIMT GPU kernel -----------===//
//
// Rebuilds each `@X_flash` as `@X_gpu` (see Passes.td): the parallel loop over
// (batch, head, query tile) becomes the grid of a gpu.launch, the loop over key
// tiles runs in every thread of the block with the K and V tiles staged in
// workgroup memory, and the tile ops become per-thread scalar code over the
// thread's query row. The flash form's tile classes are reused as they are (the
// mask analysis of MaskIntervals.h), so empty tiles are skipped and full tiles do
// not evaluate mask_mod.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cuda/Passes.h"
#include "compiler/targets/cuda/ScalarRegionEmitter.h"
#include "compiler/transforms/MaskIntervals.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <limits>

using namespace mlir;

namespace attnc::cuda {
#define GEN_PASS_DEF_ATTNLOWERFLASHTOGPU
#include "compiler/targets/cuda/Passes.h.inc"

namespace {

class GpuKernelBuilder {
public:
  GpuKernelBuilder(func::FuncOp flash, attn::VariantOp variant, bool tensorCores)
      : flash(flash), variant(variant), b(flash), loc(flash.getLoc()),
        tensorCores(tensorCores) {}

  LogicalResult build();

private:
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value f32(double v) {
    return arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(float(v)));
  }
  Value negInf() { return f32(-std::numeric_limits<double>::infinity()); }
  Value toI64(Value index) { return arith::IndexCastOp::create(b, loc, b.getI64Type(), index); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value load(Value memref, ValueRange indices) {
    return memref::LoadOp::create(b, loc, memref, indices);
  }
  void store(Value v, Value memref, ValueRange indices) {
    memref::StoreOp::create(b, loc, v, memref, indices);
  }
  /// A tensor element as f32.
  Value loadF32(Value memref, ValueRange indices) {
    Value v = load(memref, indices);
    return v.getType().isF32() ? v : Value(arith::ExtFOp::create(b, loc, b.getF32Type(), v));
  }
  /// scf.for over [lb, ub) with `body(iv, iterArgs) -> yielded`.
  scf::ForOp loop(Value lb, Value ub, Value step, ValueRange inits,
                  function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto forOp = scf::ForOp::create(b, loc, lb, ub, step, inits);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    SmallVector<Value> yielded = body(forOp.getInductionVar(), forOp.getRegionIterArgs());
    Block *block = forOp.getBody();
    if (!block->empty() && isa<scf::YieldOp>(block->back()))
      block->back().erase(); // the builder's implicit yield, replaced by ours
    b.setInsertionPointToEnd(block);
    scf::YieldOp::create(b, loc, yielded);
    return forOp;
  }
  /// scf.if with a then-branch only.
  void ifThen(Value cond, function_ref<void()> then) {
    auto ifOp = scf::IfOp::create(b, loc, cond, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    then();
  }
  /// scf.if yielding one value.
  Value ifElse(Value cond, Type type, function_ref<Value()> then, function_ref<Value()> orElse) {
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{type}, cond, /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, then());
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, orElse());
    return ifOp.getResult(0);
  }

  void emitKernel(gpu::LaunchOp launch);
  void stageTile(Value k0, Value tid, Value batch, Value kvHead);
  void updateRow(Value k0, Value partial, Value batch, Value head, Value row);

  // The tensor-core kernel (f16, bf16): 4 warps of 16 query rows, mma.sync m16n8k16.
  bool useTensorCores();
  void emitTensorCoreKernel(gpu::LaunchOp launch);
  /// Copies rows [r0, r0 + rows) x [0, cols) of a 4-D tensor (b, head, row, col) into
  /// a workgroup tile, zero outside `limit` rows and `valid` columns.
  void stageF16(Value tensor, Value tile, Value batch, Value head, Value r0, int64_t rows,
                int64_t cols, int64_t valid, Value limit, Value tid, int64_t threads);
  Value extract(Value v, int64_t i, int64_t j) {
    return vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{i, j});
  }
  Value insert(Value x, Value v, int64_t i, int64_t j) {
    return vector::InsertOp::create(b, loc, x, v, ArrayRef<int64_t>{i, j});
  }
  Value quadReduce(Value v, bool isMax);

  func::FuncOp flash;
  attn::VariantOp variant;
  OpBuilder b;
  Location loc;

  int64_t BQ = 0, BK = 0, D = 0, DV = 0, H = 0, HKV = 0;
  int64_t Dp = 0, DVp = 0; ///< head dims padded for the tensor cores (16, 8)
  bool tensorCores = false;
  Type half; ///< the tensor-core kernel's element type: f16 or bf16
  float scale = 1;
  Value q, k, v, out, lse, status, qLen, kvLen;
  SmallVector<Value> scalarArgs;
  ScalarRegionEmitter *mods = nullptr;
  // Per thread: the query row, the accumulator, the tile's scores, (max, sum).
  Value qRow, acc, scores, state;
  // Per block: the staged K and V tiles.
  Value kTile, vTile;
};

LogicalResult GpuKernelBuilder::build() {
  memref::AllocaOp scoresAlloca;
  flash.walk([&](memref::AllocaOp a) {
    if (auto role = a->getAttrOfType<StringAttr>("attn.scratch"))
      if (role.getValue() == "scores")
        scoresAlloca = a;
  });
  if (!scoresAlloca)
    return flash.emitError("attn-lower-flash-to-gpu: no score tile in the flash form");
  BQ = scoresAlloca.getType().getDimSize(0);
  BK = scoresAlloca.getType().getDimSize(1);
  D = variant.getHeadDim();
  DV = variant.getHeadDimV();
  H = variant.getHeadsQ();
  HKV = variant.getHeadsKv();
  scale = variant.getScale().convertToFloat();
  if (BQ > 1024)
    return flash.emitError("the GPU target runs a thread per query row: block-q must be "
                           "at most 1024, got ")
           << BQ;
  Dp = (D + 15) / 16 * 16;
  DVp = (DV + 7) / 8 * 8;
  if (!useTensorCores() && BK * (D + DV) * 4 > 48 * 1024)
    return flash.emitError("the GPU target stages a K and a V tile of block-kv rows in "
                           "48 KiB of shared memory: block-kv ")
           << BK << " is too large for head dims " << D << " and " << DV;

  StringRef base = flash.getSymName();
  base.consume_back("_flash");
  b.setInsertionPoint(flash);
  auto fn = func::FuncOp::create(b, loc, (base + "_gpu").str(), flash.getFunctionType());
  fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  ValueRange args = entry->getArguments();
  q = args[0], k = args[1], v = args[2], out = args[3], lse = args[4];
  unsigned numScalars = variant.getScalarsAttr() ? variant.getScalarsAttr().size() : 0;
  unsigned numBuffers = variant.getBuffersAttr() ? variant.getBuffersAttr().size() : 0;
  for (unsigned i = 0; i < numScalars; ++i)
    scalarArgs.push_back(args[5 + i]);
  status = args[5 + numScalars + numBuffers];

  Value batch = memref::DimOp::create(b, loc, q, int64_t(0));
  qLen = memref::DimOp::create(b, loc, q, int64_t(2));
  kvLen = memref::DimOp::create(b, loc, k, int64_t(2));
  Value numQTiles = arith::CeilDivUIOp::create(b, loc, qLen, idx(BQ));
  auto f32Tile = [&](int64_t rows, int64_t cols) {
    return MemRefType::get({rows, cols}, b.getF32Type(), MemRefLayoutAttrInterface(),
                           gpu::AddressSpaceAttr::get(b.getContext(),
                                                      gpu::AddressSpace::Workgroup));
  };
  bool tc = useTensorCores();
  half = cast<MemRefType>(q.getType()).getElementType();
  auto f16Tile = [&](int64_t rows, int64_t cols) {
    return MemRefType::get({rows, cols}, half, MemRefLayoutAttrInterface(),
                           gpu::AddressSpaceAttr::get(b.getContext(),
                                                      gpu::AddressSpace::Workgroup));
  };
  SmallVector<Type> tiles;
  if (tc)
    tiles = {f16Tile(BQ, Dp), f16Tile(BK, Dp), f16Tile(BK, DVp)};
  else
    tiles = {f32Tile(BK, D), f32Tile(BK, DV)};
  auto launch = gpu::LaunchOp::create(
      b, loc, numQTiles, idx(H), batch, idx(tc ? 128 : BQ), idx(1), idx(1),
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, tiles);

  ScalarRegionEmitter emitter(b, loc, status);
  mods = &emitter;
  if (DictionaryAttr decls = variant.getScalarsAttr())
    for (auto [i, entry] : llvm::enumerate(decls.getValue()))
      emitter.scalars[entry.getName().getValue()] = scalarArgs[i];
  if (DictionaryAttr decls = variant.getBuffersAttr())
    for (auto [i, entry] : llvm::enumerate(decls.getValue()))
      emitter.buffers[entry.getName().getValue()] = {args[5 + numScalars + i], int64_t(i)};
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    if (tc)
      emitTensorCoreKernel(launch);
    else
      emitKernel(launch);
    gpu::TerminatorOp::create(b, loc);
  }
  func::ReturnOp::create(b, loc);
  flash.erase();
  return success();
}

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

bool GpuKernelBuilder::useTensorCores() {
  // f16 or bf16, 4 warps of 16 rows, key tiles in steps of 16, and the Q, K and V
  // tiles (16-bit) within 48 KiB.
  Type element = cast<MemRefType>(flash.getArgument(0).getType()).getElementType();
  return tensorCores && (element.isF16() || element.isBF16()) && BQ == 64 && BK % 16 == 0 &&
         (BQ * Dp + BK * Dp + BK * DVp) * 2 <= 48 * 1024;
}

void GpuKernelBuilder::stageF16(Value tensor, Value tile, Value batch, Value head, Value r0,
                                int64_t rows, int64_t cols, int64_t valid, Value limit,
                                Value tid, int64_t threads) {
  loop(tid, idx(rows * cols), idx(threads), {}, [&](Value e, ValueRange) {
    Value r = arith::DivUIOp::create(b, loc, e, idx(cols));
    Value c = arith::RemUIOp::create(b, loc, e, idx(cols));
    Value row = add(r0, r);
    Value in = arith::AndIOp::create(b, loc, cmp(arith::CmpIPredicate::ult, row, limit),
                                     cmp(arith::CmpIPredicate::ult, c, idx(valid)));
    Value x = ifElse(
        in, half, [&] { return load(tensor, {batch, head, row, c}); },
        [&] { return Value(arith::ConstantOp::create(b, loc, half, b.getZeroAttr(half))); });
    store(x, tile, {r, c});
    return SmallVector<Value>{};
  });
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
  auto ldmatrix = [&](Value tile, Value r, Value c, int64_t n, bool trans) -> Value {
    return nvgpu::LdMatrixOp::create(b, loc, f16x2(n), tile, ValueRange{r, c},
                                     b.getBoolAttr(trans), b.getI32IntegerAttr(int32_t(n)));
  };
  const int64_t kSteps = Dp / 16, nTiles = BK / 8, vTiles = DVp / 8;

  // Q tile in workgroup memory, then each warp's A fragments (rows warpRow .. +16).
  stageF16(q, qs, batch, head, q0, BQ, Dp, D, qLen, tid, 128);
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
  auto tileLoop = loop(idx(0), numKVTiles, idx(1), init, [&](Value kt, ValueRange st) {
    Value k0 = mul(kt, idx(BK));
    Value k1 = arith::SubIOp::create(
        b, loc, arith::MinUIOp::create(b, loc, add(k0, idx(BK)), kvLen), idx(1));
    Value cls = emitMaskClass(b, loc, variant, batch, head, q0, q1, k0, k1, qLen, kvLen,
                              scalarArgs);
    auto ifOp = scf::IfOp::create(b, loc, ValueRange(st).getTypes(),
                                  cmp(arith::CmpIPredicate::ne, cls, idx(0)), true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, st);
    b.setInsertionPointToStart(ifOp.thenBlock());
    stageF16(k, ks, batch, kvHead, k0, BK, Dp, D, kvLen, tid, 128);
    stageF16(v, vs, batch, kvHead, k0, BK, DVp, DV, kvLen, tid, 128);
    gpu::BarrierOp::create(b, loc);
    Value partial = cmp(arith::CmpIPredicate::eq, cls, idx(2));
    // S = Q·Kᵀ, 16 x BK per warp, as nTiles fragments of 16 x 8.
    SmallVector<Value> sFrag;
    for (int64_t n = 0; n < nTiles; ++n) {
      Value acc = zeros(f32x2);
      for (int64_t k = 0; k < kSteps; ++k)
        acc = mma(qFrag[k], ldmatrix(ks, add(kRow, idx(8 * n)), add(kCol, idx(16 * k)), 2, false),
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
        Value bv = ldmatrix(vs, add(l16, idx(16 * s)), idx(8 * j), 2, /*trans=*/true);
        o = mma(a, bv, o);
      }
      next[4 + j] = o;
    }
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, next);
    return SmallVector<Value>(ifOp.getResults());
  });
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

struct AttnLowerFlashToGpuPass : impl::AttnLowerFlashToGpuBase<AttnLowerFlashToGpuPass> {
  using AttnLowerFlashToGpuBase::AttnLowerFlashToGpuBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> flashes;
    module.walk([&](func::FuncOp fn) {
      if (fn->hasAttr("attn.variant") && fn.getSymName().ends_with("_flash"))
        flashes.push_back(fn);
    });
    for (func::FuncOp fn : flashes) {
      auto ref = fn->getAttrOfType<FlatSymbolRefAttr>("attn.variant");
      auto variant = module.lookupSymbol<attn::VariantOp>(ref.getValue());
      if (!variant) {
        fn.emitError("attn-lower-flash-to-gpu: unknown variant ") << ref;
        return signalPassFailure();
      }
      GpuKernelBuilder builder(fn, variant, tensorCores);
      if (failed(builder.build()))
        return signalPassFailure();
    }
  }
};

} // namespace
} // namespace attnc::cuda
