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

#include "mlir/IR/Builders.h"

#include <limits>

using namespace mlir;

namespace attnc::cuda {
#define GEN_PASS_DEF_ATTNLOWERFLASHTOGPU
#include "compiler/targets/cuda/Passes.h.inc"

namespace {

class GpuKernelBuilder {
public:
  GpuKernelBuilder(func::FuncOp flash, attn::VariantOp variant)
      : flash(flash), variant(variant), b(flash), loc(flash.getLoc()) {}

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

  func::FuncOp flash;
  attn::VariantOp variant;
  OpBuilder b;
  Location loc;

  int64_t BQ = 0, BK = 0, D = 0, DV = 0, H = 0, HKV = 0;
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
  if (BK * (D + DV) * 4 > 48 * 1024)
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
  auto launch = gpu::LaunchOp::create(
      b, loc, numQTiles, idx(H), batch, idx(BQ), idx(1), idx(1),
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, TypeRange{f32Tile(BK, D), f32Tile(BK, DV)});

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
    for (auto [tensor, tile, dim] : {std::tuple<Value, Value, int64_t>{k, kTile, D},
                                     {v, vTile, DV}}) {
      loop(idx(0), idx(dim), idx(1), {}, [&](Value d, ValueRange) {
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

struct AttnLowerFlashToGpuPass : impl::AttnLowerFlashToGpuBase<AttnLowerFlashToGpuPass> {
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
      GpuKernelBuilder builder(fn, variant);
      if (failed(builder.build()))
        return signalPassFailure();
    }
  }
};

} // namespace
} // namespace attnc::cuda
