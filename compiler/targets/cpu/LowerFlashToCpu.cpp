//===- LowerFlashToCpu.cpp - the flash form as CPU vector code -------------===//
//
// Rebuilds each `@X_flash` function as `@X_cpu` (see Passes.td for the ABI). The
// body is walked in order; structural ops are recreated, tile ops are expanded into
// vector micro-kernels over the packed f32 layouts, and the parallel loop becomes a
// loop over a [begin, end) range of work items so the runtime's thread pool can
// split it. Scratch tiles become 64-byte aligned stack buffers allocated once per
// call (each thread calls the kernel with its own range).
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cpu/Passes.h"
#include "compiler/targets/cpu/RegionVectorizer.h"
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

constexpr int64_t VW = kVectorWidth;
constexpr int64_t RB = kRowBlock;
constexpr int64_t kMaxVecsPerGroup = 4;

class CpuKernelBuilder {
public:
  CpuKernelBuilder(func::FuncOp flash, attn::VariantOp variant)
      : flash(flash), variant(variant), b(flash), loc(flash.getLoc()) {}

  LogicalResult build();

private:
  // --- helpers ---------------------------------------------------------------
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value mulc(Value x, int64_t c) { return mul(x, idx(c)); }
  Value f32(double v) {
    return arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(float(v)));
  }
  VectorType vecF32() { return VectorType::get({VW}, b.getF32Type()); }
  Value splatF32(double v) { return vector::BroadcastOp::create(b, loc, vecF32(), f32(v)); }
  Value bcast(Value scalar) {
    return vector::BroadcastOp::create(b, loc, VectorType::get({VW}, scalar.getType()),
                                       scalar);
  }
  Value vload(Value memref, Value offset) {
    return vector::LoadOp::create(b, loc, vecF32(), memref, ValueRange{offset});
  }
  void vstore(Value v, Value memref, Value offset) {
    vector::StoreOp::create(b, loc, v, memref, ValueRange{offset});
  }
  Value load(Value memref, Value offset) {
    return memref::LoadOp::create(b, loc, memref, ValueRange{offset});
  }
  void store(Value v, Value memref, Value offset) {
    memref::StoreOp::create(b, loc, v, memref, ValueRange{offset});
  }
  Value fma(Value x, Value y, Value acc) {
    return vector::FMAOp::create(b, loc, vecF32(), x, y, acc);
  }
  Value toI64(Value index) {
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  }
  /// Calls body(firstElement, numVectors) for groups of up to kMaxVecsPerGroup
  /// vectors covering `numVecs` vectors. More than two full groups become an
  /// scf.for (so wide heads do not blow up the code), the rest is unrolled.
  void forEachGroup(int64_t numVecs, const std::function<void(Value, int64_t)> &body) {
    int64_t full = numVecs / kMaxVecsPerGroup, rest = numVecs % kMaxVecsPerGroup;
    if (full > 2) {
      auto loop = scf::ForOp::create(b, loc, idx(0), idx(full * kMaxVecsPerGroup * VW),
                                     idx(kMaxVecsPerGroup * VW));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      body(loop.getInductionVar(), kMaxVecsPerGroup);
    } else {
      for (int64_t g = 0; g < full; ++g)
        body(idx(g * kMaxVecsPerGroup * VW), kMaxVecsPerGroup);
    }
    if (rest)
      body(idx(full * kMaxVecsPerGroup * VW), rest);
  }
  /// Calls body(firstElement) for each of `numVecs` vectors (a loop when many).
  void forEachVector(int64_t numVecs, const std::function<void(Value)> &body) {
    if (numVecs > 8) {
      auto loop = scf::ForOp::create(b, loc, idx(0), idx(numVecs * VW), idx(VW));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      body(loop.getInductionVar());
      return;
    }
    for (int64_t c = 0; c < numVecs; ++c)
      body(idx(c * VW));
  }

  /// The register-blocked micro-kernel shared by Q·Kᵀ and P·V: for k in [0, kEnd),
  /// acc[r][c] += a(k, r) * b(k, c) for RB rows and n vectors, with the RB * n
  /// accumulators (starting at `init`) carried in registers. Returns them.
  SmallVector<Value> emitMicroKernel(ArrayRef<Value> init, int64_t n, int64_t kEnd,
                                     function_ref<Value(Value, int64_t)> aScalar,
                                     function_ref<Value(Value, int64_t)> bVector) {
    auto loop = scf::ForOp::create(b, loc, idx(0), idx(kEnd), idx(1), init);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(loop.getBody());
      Value k = loop.getInductionVar();
      ValueRange accs = loop.getRegionIterArgs();
      SmallVector<Value> bv, next(accs.begin(), accs.end());
      for (int64_t c = 0; c < n; ++c)
        bv.push_back(bVector(k, c));
      for (int64_t r = 0; r < RB; ++r) {
        Value a = bcast(aScalar(k, r));
        for (int64_t c = 0; c < n; ++c)
          next[r * n + c] = fma(a, bv[c], next[r * n + c]);
      }
      scf::YieldOp::create(b, loc, next);
    }
    return SmallVector<Value>(loop.getResults());
  }

  // --- walking the flash body --------------------------------------------------
  LogicalResult emitBlock(Block &block);
  LogicalResult emitOp(Operation &op);
  LogicalResult emitWorkLoop(scf::ParallelOp parallel);

  // --- tile ops ------------------------------------------------------------------
  void emitInit();
  void emitScores(attn::TileScoresOp op);
  LogicalResult emitMods(attn::TileModsOp op);
  void emitSoftmax();
  void emitPV(attn::TilePVOp op);
  void emitStore(attn::TileStoreOp op);

  func::FuncOp flash;
  attn::VariantOp variant;
  OpBuilder b;
  Location loc;
  IRMapping map;

  int64_t BQ = 0, BK = 0, D = 0, DV = 0, DVp = 0, H = 0, HKV = 0;
  Value qp, kp, vp, op, lp, status, qLen, kvLen, begin, end;
  Value qPad, numKVTiles, kvPad;
  Value s, acc, m, l, alpha;
  SmallVector<Value> scalarArgs;
  SmallVector<Value> heapScratch;
  llvm::StringMap<BufferAccess> bufferAccess;
};

LogicalResult CpuKernelBuilder::build() {
  // Tile sizes come from the flash form's score tile.
  auto tiles = flashTileSizes(flash);
  if (!tiles)
    return flash.emitError("attn-lower-flash-to-cpu: no score tile in the flash form");
  std::tie(BQ, BK) = *tiles;
  if (BQ % RB != 0 || BK % VW != 0)
    return flash.emitError("the CPU target needs block-q to be a multiple of ")
           << RB << " and block-kv a multiple of " << VW << ", got " << BQ << " and "
           << BK;
  if (BQ > 1024 || BK > 512)
    return flash.emitError("the CPU target supports block-q up to 1024 and block-kv "
                           "up to 512, got ")
           << BQ << " and " << BK;
  D = variant.getHeadDim();
  DV = variant.getHeadDimV();
  DVp = paddedHeadDimV(DV);
  H = variant.getHeadsQ();
  HKV = variant.getHeadsKv();

  // The kernel's signature.
  auto flat = MemRefType::get({ShapedType::kDynamic}, b.getF32Type());
  FunctionType flashType = flash.getFunctionType();
  unsigned numScalars = 0, numBuffers = 0;
  if (DictionaryAttr d = variant.getScalarsAttr())
    numScalars = d.size();
  if (DictionaryAttr d = variant.getBuffersAttr())
    numBuffers = d.size();
  SmallVector<Type> inputs(5, flat);
  for (unsigned i = 0; i < numScalars + numBuffers + 1; ++i)
    inputs.push_back(flashType.getInput(5 + i));
  inputs.append(4, b.getIndexType());
  StringRef flashName = flash.getSymName();
  flashName.consume_back("_flash");
  std::string name = (flashName + "_cpu").str();
  b.setInsertionPoint(flash);
  auto kernel = func::FuncOp::create(b, loc, name, b.getFunctionType(inputs, {}));
  kernel->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *entry = kernel.addEntryBlock();
  b.setInsertionPointToStart(entry);
  ValueRange args = entry->getArguments();
  qp = args[0], kp = args[1], vp = args[2], op = args[3], lp = args[4];
  Block &flashEntry = flash.getBody().front();
  for (unsigned i = 0; i < numScalars + numBuffers + 1; ++i)
    map.map(flashEntry.getArgument(5 + i), args[5 + i]);
  for (unsigned i = 0; i < numScalars; ++i)
    scalarArgs.push_back(args[5 + i]);
  status = args[5 + numScalars + numBuffers];
  qLen = args[args.size() - 4];
  kvLen = args[args.size() - 3];
  begin = args[args.size() - 2];
  end = args[args.size() - 1];

  Value bq = idx(BQ), bk = idx(BK);
  qPad = mul(arith::CeilDivUIOp::create(b, loc, qLen, bq), bq);
  numKVTiles = arith::CeilDivUIOp::create(b, loc, kvLen, bk);
  kvPad = mul(numKVTiles, bk);

  // Scratch, once per call: on the stack when small, else on the heap (wide heads
  // and big tiles would overflow a thread's stack).
  bool onHeap = (BQ * BK + BQ * DVp + 3 * BQ) * int64_t(sizeof(float)) > 64 * 1024;
  auto scratch = [&](int64_t n) -> Value {
    auto type = MemRefType::get({n}, b.getF32Type());
    if (!onHeap)
      return memref::AllocaOp::create(b, loc, type, ValueRange{}, b.getI64IntegerAttr(64));
    Value buffer =
        memref::AllocOp::create(b, loc, type, ValueRange{}, b.getI64IntegerAttr(64));
    heapScratch.push_back(buffer);
    return buffer;
  };
  s = scratch(BQ * BK);
  acc = scratch(BQ * DVp);
  m = scratch(BQ);
  l = scratch(BQ);
  alpha = scratch(BQ);

  // Buffers: a 1-D view of the memory plus sizes and strides.
  if (DictionaryAttr decls = variant.getBuffersAttr()) {
    for (auto [i, entry] : llvm::enumerate(decls.getValue())) {
      Value buf = args[5 + numScalars + i];
      auto type = cast<MemRefType>(buf.getType());
      auto meta = memref::ExtractStridedMetadataOp::create(b, loc, buf);
      BufferAccess access;
      access.ordinal = int64_t(i);
      Value span = idx(1);
      for (int64_t d = 0; d < type.getRank(); ++d) {
        Value size = meta.getSizes()[d], stride = meta.getStrides()[d];
        access.sizes.push_back(toI64(size));
        access.strides.push_back(toI64(stride));
        span = add(span, mul(arith::SubIOp::create(b, loc, size, idx(1)), stride));
      }
      auto viewType = MemRefType::get(
          {ShapedType::kDynamic}, type.getElementType(),
          StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, {1}));
      access.base = memref::ReinterpretCastOp::create(
          b, loc, viewType, meta.getBaseBuffer(), OpFoldResult(meta.getOffset()),
          ArrayRef<OpFoldResult>{span}, ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
      bufferAccess[entry.getName().getValue()] = access;
    }
  }

  // Values of the flash form that the CPU ABI passes differently.
  flash.walk([&](memref::DimOp dim) {
    std::optional<int64_t> index = dim.getConstantIndex();
    if (dim.getSource() == flashEntry.getArgument(0) && index == 2)
      map.map(dim.getResult(), qLen);
    else if (dim.getSource() == flashEntry.getArgument(1) && index == 2)
      map.map(dim.getResult(), kvLen);
    else
      map.map(dim.getResult(), idx(0)); // only the batch size: unused after tiling
  });

  if (failed(emitBlock(flashEntry)))
    return failure();
  flash.erase();
  return success();
}

LogicalResult CpuKernelBuilder::emitBlock(Block &block) {
  for (Operation &o : block)
    if (failed(emitOp(o)))
      return failure();
  return success();
}

LogicalResult CpuKernelBuilder::emitWorkLoop(scf::ParallelOp parallel) {
  // work = (b * H + h) * numQTiles + qTile
  Value numQTiles = map.lookupOrDefault(parallel.getUpperBound()[2]);
  auto loop = scf::ForOp::create(b, loc, begin, end, idx(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value w = loop.getInductionVar();
  Value qTile = arith::RemUIOp::create(b, loc, w, numQTiles);
  Value bh = arith::DivUIOp::create(b, loc, w, numQTiles);
  map.map(parallel.getInductionVars()[0], arith::DivUIOp::create(b, loc, bh, idx(H)));
  map.map(parallel.getInductionVars()[1], arith::RemUIOp::create(b, loc, bh, idx(H)));
  map.map(parallel.getInductionVars()[2], qTile);
  for (Operation &o : parallel.getBody()->without_terminator())
    if (failed(emitOp(o)))
      return failure();
  return success();
}

LogicalResult CpuKernelBuilder::emitOp(Operation &o) {
  if (auto parallel = dyn_cast<scf::ParallelOp>(o))
    return emitWorkLoop(parallel);
  if (auto alloca = dyn_cast<memref::AllocaOp>(o)) {
    auto roleAttr = alloca->getAttrOfType<StringAttr>("attn.scratch");
    if (!roleAttr)
      return alloca.emitError("attn-lower-flash-to-cpu: a flash form's memref.alloca must "
                              "carry its role (attn.scratch)");
    StringRef role = roleAttr.getValue();
    Value target = role == "scores" ? s : role == "acc" ? acc : role == "max" ? m
                   : role == "sum" ? l : alpha;
    map.map(alloca.getResult(), target);
    return success();
  }
  if (isa<memref::DimOp>(o))
    return success();
  if (auto forOp = dyn_cast<scf::ForOp>(o)) {
    auto loop = scf::ForOp::create(b, loc, map.lookupOrDefault(forOp.getLowerBound()),
                                   map.lookupOrDefault(forOp.getUpperBound()),
                                   map.lookupOrDefault(forOp.getStep()));
    map.map(forOp.getInductionVar(), loop.getInductionVar());
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    for (Operation &inner : forOp.getBody()->without_terminator())
      if (failed(emitOp(inner)))
        return failure();
    return success();
  }
  if (auto ifOp = dyn_cast<scf::IfOp>(o)) {
    bool hasElse = !ifOp.getElseRegion().empty();
    auto newIf = scf::IfOp::create(b, loc, map.lookupOrDefault(ifOp.getCondition()),
                                   hasElse);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(newIf.thenBlock());
    for (Operation &inner : ifOp.thenBlock()->without_terminator())
      if (failed(emitOp(inner)))
        return failure();
    if (hasElse) {
      b.setInsertionPointToStart(newIf.elseBlock());
      for (Operation &inner : ifOp.elseBlock()->without_terminator())
        if (failed(emitOp(inner)))
          return failure();
    }
    return success();
  }
  if (isa<attn::TileInitOp>(o)) {
    emitInit();
    return success();
  }
  if (auto scores = dyn_cast<attn::TileScoresOp>(o)) {
    emitScores(scores);
    return success();
  }
  if (auto cls = dyn_cast<attn::TileMaskClassOp>(o)) {
    SmallVector<Value> scalars;
    for (Value v : cls.getScalars())
      scalars.push_back(map.lookupOrDefault(v));
    map.map(cls.getResult(),
            emitMaskClass(b, loc, variant, map.lookupOrDefault(cls.getB()),
                          map.lookupOrDefault(cls.getH()), map.lookupOrDefault(cls.getQ0()),
                          map.lookupOrDefault(cls.getQ1()), map.lookupOrDefault(cls.getK0()),
                          map.lookupOrDefault(cls.getK1()), qLen, kvLen, scalars));
    return success();
  }
  if (auto mods = dyn_cast<attn::TileModsOp>(o))
    return emitMods(mods);
  if (isa<attn::TileSoftmaxOp>(o)) {
    emitSoftmax();
    return success();
  }
  if (auto pv = dyn_cast<attn::TilePVOp>(o)) {
    emitPV(pv);
    return success();
  }
  if (auto st = dyn_cast<attn::TileStoreOp>(o)) {
    emitStore(st);
    return success();
  }
  if (isa<func::ReturnOp>(o)) {
    for (Value buffer : heapScratch)
      memref::DeallocOp::create(b, loc, buffer);
    func::ReturnOp::create(b, loc);
    return success();
  }
  if (o.getNumRegions() != 0)
    return o.emitError("attn-lower-flash-to-cpu: unexpected op with regions");
  b.clone(o, map);
  return success();
}

void CpuKernelBuilder::emitInit() {
  auto loop = scf::ForOp::create(b, loc, idx(0), idx(BQ), idx(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value i = loop.getInductionVar();
  store(f32(-std::numeric_limits<float>::infinity()), m, i);
  store(f32(0.0), l, i);
  Value zero = splatF32(0.0);
  Value row = mulc(i, DVp);
  forEachVector(DVp / VW, [&](Value col) { vstore(zero, acc, add(row, col)); });
}

// S[r][c..] = scale * sum_d q[r][d] * kT[d][c..]: 4 rows x up to 4 vectors of
// accumulators live in registers across the whole d loop.
void CpuKernelBuilder::emitScores(attn::TileScoresOp scoresOp) {
  Value bIdx = map.lookupOrDefault(scoresOp.getB());
  Value hIdx = map.lookupOrDefault(scoresOp.getH());
  Value gIdx = map.lookupOrDefault(scoresOp.getG());
  Value q0 = map.lookupOrDefault(scoresOp.getQ0());
  Value k0 = map.lookupOrDefault(scoresOp.getK0());
  Value qBase = mulc(add(mul(add(mulc(bIdx, H), hIdx), qPad), q0), D);
  Value kTile = arith::DivUIOp::create(b, loc, k0, idx(BK));
  Value kBase = mulc(add(mul(add(mulc(bIdx, HKV), gIdx), numKVTiles), kTile), D * BK);
  Value scale = splatF32(scoresOp.getScale().convertToDouble());

  auto rows = scf::ForOp::create(b, loc, idx(0), idx(BQ), idx(RB));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(rows.getBody());
  Value r0 = rows.getInductionVar();
  forEachGroup(BK / VW, [&](Value col0, int64_t n) {
    SmallVector<Value> init(RB * n, splatF32(0.0));
    SmallVector<Value> sums = emitMicroKernel(
        init, n, D,
        [&](Value d, int64_t r) {
          return load(qp, add(add(qBase, mulc(add(r0, idx(r)), D)), d));
        },
        [&](Value d, int64_t c) {
          return vload(kp, add(add(add(kBase, mulc(d, BK)), col0), idx(c * VW)));
        });
    for (int64_t r = 0; r < RB; ++r)
      for (int64_t c = 0; c < n; ++c)
        vstore(arith::MulFOp::create(b, loc, sums[r * n + c], scale), s,
               add(add(mulc(add(r0, idx(r)), BK), col0), idx(c * VW)));
  });
}

LogicalResult CpuKernelBuilder::emitMods(attn::TileModsOp modsOp) {
  bool applyMask = modsOp.getApplyMask();
  Value scoreResult = variant.getScoreModResult();
  bool identityScore = scoreResult == variant.getScoreMod().front().getArgument(0);
  Value bIdx = map.lookupOrDefault(modsOp.getB());
  Value hIdx = map.lookupOrDefault(modsOp.getH());
  Value q0 = map.lookupOrDefault(modsOp.getQ0());
  Value k0 = map.lookupOrDefault(modsOp.getK0());

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
  auto i64Vec = VectorType::get({VW}, b.getI64Type());
  Value qIdx = bcast(toI64(add(q0, i)));
  Value bVec = bcast(toI64(bIdx)), hVec = bcast(toI64(hIdx));
  Value qLenVec = bcast(toI64(qLen)), kvLenVec = bcast(toI64(kvLen));
  SmallVector<int64_t> iota;
  for (int64_t lane = 0; lane < VW; ++lane)
    iota.push_back(lane);
  Value iotaVec = arith::ConstantOp::create(
      b, loc, i64Vec, DenseElementsAttr::get(i64Vec, ArrayRef<int64_t>(iota)));

  auto cols = scf::ForOp::create(b, loc, idx(0), idx(BK / VW), idx(1));
  b.setInsertionPointToStart(cols.getBody());
  Value col0 = add(k0, mulc(cols.getInductionVar(), VW));
  Value kvIdx = arith::AddIOp::create(b, loc, bcast(toI64(col0)), iotaVec);
  Value active = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, kvIdx, kvLenVec);
  Value offset = add(mulc(i, BK), mulc(cols.getInductionVar(), VW));
  Value score = vload(s, offset);

  RegionVectorizer vectorizer(b, loc, VW, status);
  if (DictionaryAttr decls = variant.getScalarsAttr())
    for (auto [n, entry] : llvm::enumerate(decls.getValue()))
      vectorizer.scalars[entry.getName().getValue()] = scalarArgs[n];
  for (auto &entry : bufferAccess)
    vectorizer.buffers[entry.getKey()] = entry.getValue();
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

void CpuKernelBuilder::emitSoftmax() {
  auto rows = scf::ForOp::create(b, loc, idx(0), idx(BQ), idx(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(rows.getBody());
  Value i = rows.getInductionVar();
  int64_t numVecs = BK / VW;
  SmallVector<Value> sv;
  Value rowMaxVec;
  for (int64_t c = 0; c < numVecs; ++c) {
    sv.push_back(vload(s, add(mulc(i, BK), idx(c * VW))));
    rowMaxVec = c ? Value(arith::MaxNumFOp::create(b, loc, rowMaxVec, sv[c])) : sv[c];
  }
  Value rowMax = vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXNUMF,
                                             rowMaxVec);
  Value mOld = load(m, i);
  Value mNew = arith::MaxNumFOp::create(b, loc, mOld, rowMax);
  Value minusInf = f32(-std::numeric_limits<float>::infinity());
  Value isEmpty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, mNew, minusInf);
  Value mSafe = arith::SelectOp::create(b, loc, isEmpty, f32(0.0), mNew);
  Value mSafeVec = bcast(mSafe);
  Value sumVec;
  for (int64_t c = 0; c < numVecs; ++c) {
    Value p = math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, sv[c], mSafeVec));
    vstore(p, s, add(mulc(i, BK), idx(c * VW)));
    sumVec = c ? Value(arith::AddFOp::create(b, loc, sumVec, p)) : p;
  }
  Value sum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, sumVec);
  Value a = math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, mOld, mSafe));
  Value lNew = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, load(l, i), a), sum);
  store(lNew, l, i);
  store(mNew, m, i);
  store(a, alpha, i);
}

// acc[r][c..] = alpha[r] * acc[r][c..] + sum_j p[r][j] * v[j][c..], with 4 rows x up
// to 4 vectors of accumulators in registers across the j loop.
void CpuKernelBuilder::emitPV(attn::TilePVOp pvOp) {
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
}

void CpuKernelBuilder::emitStore(attn::TileStoreOp storeOp) {
  Value bIdx = map.lookupOrDefault(storeOp.getB());
  Value hIdx = map.lookupOrDefault(storeOp.getH());
  Value q0 = map.lookupOrDefault(storeOp.getQ0());
  Value rowBase = add(mul(add(mulc(bIdx, H), hIdx), qPad), q0);
  Value numRows = arith::MinUIOp::create(b, loc, arith::SubIOp::create(b, loc, qLen, q0),
                                         idx(BQ));
  auto rows = scf::ForOp::create(b, loc, idx(0), numRows, idx(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(rows.getBody());
  Value i = rows.getInductionVar();
  Value li = load(l, i);
  Value isEmpty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, li, f32(0.0));
  Value inv = arith::SelectOp::create(b, loc, isEmpty, f32(0.0),
                                      arith::DivFOp::create(b, loc, f32(1.0), li));
  Value invVec = bcast(inv);
  Value outRow = mulc(add(rowBase, i), DVp);
  Value accRow = mulc(i, DVp);
  forEachVector(DVp / VW, [&](Value col) {
    Value v = vload(acc, add(accRow, col));
    vstore(arith::MulFOp::create(b, loc, v, invVec), op, add(outRow, col));
  });
  Value lse = arith::AddFOp::create(b, loc, load(m, i), math::LogOp::create(b, loc, li));
  lse = arith::SelectOp::create(b, loc, isEmpty,
                                f32(-std::numeric_limits<float>::infinity()), lse);
  store(lse, lp, add(rowBase, i));
}

struct AttnLowerFlashToCpuPass
    : impl::AttnLowerFlashToCpuBase<AttnLowerFlashToCpuPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(forEachFlashFunction(module, "attn-lower-flash-to-cpu",
                                    [](func::FuncOp f, attn::VariantOp variant) {
                                      return CpuKernelBuilder(f, variant).build();
                                    })))
      return signalPassFailure();
    // The variants are now inlined into the kernels.
    for (auto variant : llvm::make_early_inc_range(module.getOps<attn::VariantOp>()))
      variant.erase();
  }
};

} // namespace
} // namespace attnc::cpu
