//===- CpuTileBuilder.cpp - what the CPU's forward and backward kernels share ===//
#include "compiler/targets/cpu/CpuTileBuilder.h"

#include "mlir/Dialect/X86Vector/X86VectorDialect.h"

using namespace mlir;

namespace attnc::cpu {

LogicalResult CpuTileBuilder::checkTiles() {
  if (BQ % RB != 0 || BK % VW != 0)
    return flash.emitError("the CPU target needs block-q to be a multiple of ")
           << RB << " and block-kv a multiple of " << VW << ", got " << BQ << " and " << BK;
  if (BQ > 1024 || BK > 512)
    return flash.emitError("the CPU target supports block-q up to 1024 and block-kv "
                           "up to 512, got ")
           << BQ << " and " << BK;
  return success();
}

ValueRange CpuTileBuilder::createKernelFunction(StringRef name, ArrayRef<Type> inputs) {
  b.setInsertionPoint(flash);
  auto kernel = func::FuncOp::create(b, loc, name, b.getFunctionType(inputs, {}));
  kernel->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *entry = kernel.addEntryBlock();
  b.setInsertionPointToStart(entry);
  return entry->getArguments();
}

LogicalResult CpuTileBuilder::emitReturn(func::ReturnOp) {
  for (Value buffer : heapScratch)
    memref::DeallocOp::create(b, loc, buffer);
  func::ReturnOp::create(b, loc);
  return success();
}

LogicalResult CpuTileBuilder::emitMaskClassOp(attn::TileMaskClassOp op, const IRMapping &at) {
  if (failed(FlashFormLowering::emitMaskClassOp(op, at)))
    return failure();
  bool readsBuffers = false;
  variant.getMaskMod().walk([&](attn::BufferLoadOp) { readsBuffers = true; });
  if (!readsBuffers)
    return success();
  auto get = [&](Value v) { return at.lookupOrDefault(v); };
  SmallVector<Value> scalars;
  for (Value s : op.getScalars())
    scalars.push_back(get(s));
  // %refined = scf.if (%cls == 2) { scan the tile } else { %cls }
  Value cls = map.lookup(op.getResult());
  Value partial = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, cls, idx(2));
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{b.getIndexType()}, partial,
                                /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value scanned = scanMaskClass(get(op.getB()), get(op.getH()), get(op.getQ0()),
                                  get(op.getQ1()), get(op.getK0()), get(op.getK1()),
                                  get(op.getQLen()), get(op.getKvLen()), scalars);
    if (!scanned)
      return failure();
    scf::YieldOp::create(b, loc, scanned);
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, cls);
  }
  map.map(op.getResult(), ifOp.getResult(0));
  return success();
}

Value CpuTileBuilder::scanMaskClass(Value bIdx, Value hIdx, Value q0, Value q1, Value k0,
                                    Value k1, Value qLen, Value kvLen, ValueRange scalars) {
  auto flagsType = VectorType::get({VW}, b.getI1Type());
  Value none = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(flagsType, false));
  Value bVec = bcast(toI64(bIdx)), hVec = bcast(toI64(hIdx));
  Value qLenVec = bcast(toI64(qLen)), kvLenVec = bcast(toI64(kvLen));
  Value lastKey = bcast(toI64(k1));
  RegionVectorizer vectorizer = this->vectorizer(scalars, lookup(form.status()));
  bool failedEmit = false;
  // kept / dropped: whether some element of this lane was kept / masked.
  auto rowLoop = [&](Value q, ValueRange rowFlags) -> SmallVector<Value> {
    Value qIdx = bcast(toI64(q));
    return SmallVector<Value>(loop(k0, add(k1, idx(1)), idx(VW), rowFlags,
                                   [&](Value col, ValueRange colFlags) -> SmallVector<Value> {
      Value kvIdx = arith::AddIOp::create(b, loc, bcast(toI64(col)), laneIota());
      Value active = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, kvIdx, lastKey);
      Value keep = vectorizer.emit(variant.getMaskMod(),
                                   {bVec, hVec, qIdx, kvIdx, qLenVec, kvLenVec}, active);
      if (!keep) {
        failedEmit = true;
        return {colFlags[0], colFlags[1]};
      }
      Value kept = arith::AndIOp::create(b, loc, active, keep);
      Value dropped = arith::XOrIOp::create(b, loc, active, kept);
      return {arith::OrIOp::create(b, loc, colFlags[0], kept),
              arith::OrIOp::create(b, loc, colFlags[1], dropped)};
    }).getResults());
  };
  ValueRange flags = loop(q0, add(q1, idx(1)), idx(1), {none, none}, rowLoop).getResults();
  if (failedEmit)
    return {};
  auto any = [&](Value lanes) {
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::OR, lanes);
  };
  Value keptOrPartial = arith::SelectOp::create(b, loc, any(flags[1]), idx(2), idx(1));
  return arith::SelectOp::create(b, loc, any(flags[0]), keptOrPartial, idx(0));
}

Value CpuTileBuilder::laneIota() {
  auto i64Vec = VectorType::get({VW}, b.getI64Type());
  SmallVector<int64_t> iota;
  for (int64_t lane = 0; lane < VW; ++lane)
    iota.push_back(lane);
  return arith::ConstantOp::create(b, loc, i64Vec,
                                   DenseElementsAttr::get(i64Vec, ArrayRef<int64_t>(iota)));
}

Value CpuTileBuilder::reduceRowsToLanes(ArrayRef<Value> rows,
                                        function_ref<Value(Value, Value)> combine) {
  // Before a step each vector holds VW / (2 * half) rows of 2 * half partials; lanes
  // [t] of %lo and %hi are the first and second halves of each row's partials in
  // the pair %x, %y (rows of %x first), so combine(%lo, %hi) holds twice the rows
  // with half the partials each:
  //   %lo = vector.shuffle %x, %y [0 .. half-1, 2*half .. 3*half-1, ...]
  //   %hi = vector.shuffle %x, %y [half .. 2*half-1, 3*half .. 4*half-1, ...]
  assert(int64_t(rows.size()) == VW && "one vector per lane");
  SmallVector<Value> level(rows.begin(), rows.end());
  for (int64_t half = VW / 2; half >= 1; half /= 2) {
    SmallVector<int64_t> lo, hi;
    for (int64_t segment = 0; segment < 2 * VW; segment += 2 * half)
      for (int64_t t = 0; t < half; ++t) {
        lo.push_back(segment + t);
        hi.push_back(segment + half + t);
      }
    SmallVector<Value> next;
    for (size_t i = 0; i + 1 < level.size(); i += 2)
      next.push_back(combine(vector::ShuffleOp::create(b, loc, level[i], level[i + 1], lo),
                             vector::ShuffleOp::create(b, loc, level[i], level[i + 1], hi)));
    level = std::move(next);
  }
  return level.front();
}

Value CpuTileBuilder::loadPair(Value memref, Value offset) {
  auto two = VectorType::get({2}, b.getBF16Type());
  Value pair = vector::LoadOp::create(b, loc, two, memref, ValueRange{offset});
  Value word =
      vector::BitCastOp::create(b, loc, VectorType::get({1}, b.getI32Type()), pair);
  return vector::ExtractOp::create(b, loc, word, ArrayRef<int64_t>{0});
}

Value CpuTileBuilder::bcastPair(Value pair) {
  Value words = bcast(pair);
  return vector::BitCastOp::create(b, loc, VectorType::get({2 * VW}, b.getBF16Type()),
                                   words);
}

Value CpuTileBuilder::vloadPairs(Value memref, Value offset) {
  return vector::LoadOp::create(b, loc, VectorType::get({2 * VW}, b.getBF16Type()), memref,
                                ValueRange{offset});
}

Value CpuTileBuilder::dotPairs(Value x, Value y, Value acc) {
  return x86vector::DotBF16Op::create(b, loc, vecF32(), acc, x, y);
}

void CpuTileBuilder::forEachGroup(int64_t numVecs,
                                  const std::function<void(Value, int64_t)> &body) {
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

void CpuTileBuilder::forEachVector(int64_t numVecs, const std::function<void(Value)> &body) {
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

SmallVector<Value>
CpuTileBuilder::emitMicroKernel(ArrayRef<Value> init, int64_t n, int64_t kEnd,
                                function_ref<Value(Value, int64_t)> aScalar,
                                function_ref<Value(Value, int64_t)> bVector, bool pairs) {
  return SmallVector<Value>(
      loop(idx(0), idx(kEnd), idx(1), init, [&](Value k, ValueRange accs) {
        SmallVector<Value> bv, next(accs.begin(), accs.end());
        for (int64_t c = 0; c < n; ++c)
          bv.push_back(bVector(k, c));
        for (int64_t r = 0; r < RB; ++r) {
          Value a = pairs ? bcastPair(aScalar(k, r)) : bcast(aScalar(k, r));
          for (int64_t c = 0; c < n; ++c)
            next[r * n + c] = pairs ? dotPairs(a, bv[c], next[r * n + c])
                                    : fma(a, bv[c], next[r * n + c]);
        }
        return next;
      }).getResults());
}

void CpuTileBuilder::emitBlockedProduct(int64_t rows, int64_t width, int64_t depth,
                                        double scale, bool accumulate,
                                        function_ref<Value(Value, Value)> a,
                                        function_ref<Value(Value, Value)> bVec, Value out,
                                        function_ref<Value(Value, Value)> outAt,
                                        bool pairs) {
  Value scaleVec = splatF32(scale);
  auto rowLoop = scf::ForOp::create(b, loc, idx(0), idx(rows), idx(RB));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(rowLoop.getBody());
  Value r0 = rowLoop.getInductionVar();
  forEachGroup(width / VW, [&](Value col0, int64_t n) {
    SmallVector<Value> init(RB * n, splatF32(0.0));
    SmallVector<Value> sums = emitMicroKernel(
        init, n, depth, [&](Value k, int64_t r) { return a(k, add(r0, idx(r))); },
        [&](Value k, int64_t c) { return bVec(k, add(col0, idx(c * VW))); }, pairs);
    for (int64_t r = 0; r < RB; ++r)
      for (int64_t c = 0; c < n; ++c) {
        Value at = outAt(add(r0, idx(r)), add(col0, idx(c * VW)));
        Value v = sums[r * n + c];
        if (accumulate)
          v = fma(v, scaleVec, vload(out, at));
        else if (scale != 1.0)
          v = arith::MulFOp::create(b, loc, v, scaleVec);
        vstore(v, out, at);
      }
  });
}

void CpuTileBuilder::emitRowsTimesTile(Value out, Value rows, Value rowBase, int64_t rowStride,
                                       Value tiles, Value tileBase, int64_t depth,
                                       double scale) {
  emitBlockedProduct(
      BQ, BK, depth, scale, /*accumulate=*/false,
      [&](Value d, Value row) { return load(rows, add(add(rowBase, mulc(row, rowStride)), d)); },
      [&](Value d, Value col) { return vload(tiles, add(add(tileBase, mulc(d, BK)), col)); },
      out, [&](Value row, Value col) { return add(mulc(row, BK), col); });
}

BufferAccess CpuTileBuilder::accessOf(Value buf, int64_t ordinal) {
  auto type = cast<MemRefType>(buf.getType());
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, buf);
  BufferAccess access;
  access.ordinal = ordinal;
  Value span = idx(1);
  for (int64_t d = 0; d < type.getRank(); ++d) {
    Value size = meta.getSizes()[d], stride = meta.getStrides()[d];
    access.sizes.push_back(toI64(size));
    access.strides.push_back(toI64(stride));
    span = add(span, mul(sub(size, idx(1)), stride));
  }
  auto viewType = MemRefType::get(
      {ShapedType::kDynamic}, type.getElementType(),
      StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, {1}));
  access.base = memref::ReinterpretCastOp::create(
      b, loc, viewType, meta.getBaseBuffer(), OpFoldResult(meta.getOffset()),
      ArrayRef<OpFoldResult>{span}, ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  return access;
}

void CpuTileBuilder::prepareBuffers() {
  DictionaryAttr decls = variant.getBuffersAttr();
  if (!decls)
    return;
  for (auto [i, entry] : llvm::enumerate(decls.getValue()))
    bufferAccess[entry.getName().getValue()] = accessOf(lookup(form.buffer(i)), int64_t(i));
}

RegionVectorizer CpuTileBuilder::vectorizer(ValueRange scalars, Value status) {
  RegionVectorizer vectorizer(b, loc, VW, status);
  if (DictionaryAttr decls = variant.getScalarsAttr())
    for (auto [n, entry] : llvm::enumerate(decls.getValue()))
      vectorizer.scalars[entry.getName().getValue()] = scalars[n];
  for (auto &entry : bufferAccess)
    vectorizer.buffers[entry.getKey()] = entry.getValue();
  return vectorizer;
}

} // namespace attnc::cpu
