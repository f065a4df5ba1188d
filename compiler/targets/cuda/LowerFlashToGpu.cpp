//===- LowerFlashToGpu.cpp - the flash form as a GPU kernel ----------------===//
//
// Rebuilds each `@X_flash` as `@X_gpu` (see Passes.td) by walking the flash form
// (codegen/FlashFormLowering.h): its scalar code is cloned, the parallel loop over
// (batch, head, query tile) becomes the grid of a gpu.launch, and each tile op is
// realised by the tensor-core kernel (f16/bf16 tiles that fit, TensorCoreKernel.cpp)
// or the SIMT kernel (SimtKernel.cpp); the backward form's, by the tensor-core
// backward kernel (TensorCoreBackwardKernel.cpp) or its SIMT one
// (SimtBackwardKernel.cpp). The key loop's attn.tile_mask_class is
// evaluated with the mask analysis of MaskIntervals.h, so empty tiles are skipped
// and full tiles run the attn.tile_mods that does not apply mask_mod.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cuda/GpuFlashLowering.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

namespace attnc::cuda {
#define GEN_PASS_DEF_ATTNLOWERFLASHTOGPU
#include "compiler/targets/cuda/Passes.h.inc"

namespace detail {

/// The GPU evaluates a variant's regions with scalar control flow: every op in
/// them must be one ScalarRegionEmitter knows (scf.if is the only one with regions).
static LogicalResult verifyModifierRegions(attn::VariantOp variant) {
  for (Region *region :
       {&variant.getScoreMod(), &variant.getMaskMod(), &variant.getScoreModVjp()}) {
    WalkResult result = region->walk([&](Operation *op) {
      if (op->getNumRegions() != 0 && !isa<scf::IfOp>(op)) {
        op->emitError("attn-lower-flash-to-gpu: unexpected op with regions in a modifier");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return failure();
  }
  return success();
}

LogicalResult GpuFlashLowering::build() {
  if (BQ > 1024)
    return flash.emitError("the GPU target runs a thread per query row: block-q must be "
                           "at most 1024, got ")
           << BQ;
  if (threadsPerBlock() > 1024)
    return flash.emitError("the GPU kernel would run ")
           << threadsPerBlock() << " threads per block, more than 1024: use smaller tiles"
           << (form.isBackward() ? " (the backward kernel runs a thread per key row: block-kv)"
                                 : "");
  if (failed(verifyModifierRegions(variant)))
    return failure();
  StringRef base = flash.getSymName();
  std::string name = base.consume_back("_flash_backward") ? (base + "_backward_gpu").str()
                     : base.consume_back("_flash")        ? (base + "_gpu").str()
                                                          : (base + "_gpu").str();
  b.setInsertionPoint(flash);
  auto fn = func::FuncOp::create(b, loc, name, flash.getFunctionType());
  fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  if (form.isBackward())
    fn->setAttr(kBackwardKernelAttr, b.getUnitAttr()); // LaunchDescription.cpp reads it
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  for (auto [from, to] : llvm::zip(flash.getArguments(), entry->getArguments()))
    map.map(from, to);
  if (failed(emitOps(flash.getBody().front()))) {
    fn.erase();
    return failure();
  }
  expandTanh(fn);
  flash.erase();
  return success();
}

LogicalResult GpuFlashLowering::emitQueryTiles(scf::ParallelOp op) {
  for (auto [lb, step] : llvm::zip(op.getLowerBound(), op.getStep()))
    if (getConstantIntValue(lb) != 0 || getConstantIntValue(step) != 1)
      return error(op, "the query-tile loop must start at 0 with step 1");
  // Buffers within 48 KiB are workgroup attributions (static shared memory);
  // larger ones are views of dynamic shared memory, whose size the launch passes
  // (and the runtime opts the kernel into, runtime/cuda/CudaAbi.cpp).
  SmallVector<MemRefType> buffers = workgroupBuffers();
  int64_t dynamicBytes = sharedBufferBytes(buffers);
  bool dynamic = dynamicBytes > kStaticSharedBytes;
  SmallVector<Type> attributions;
  if (!dynamic)
    attributions.assign(buffers.begin(), buffers.end());
  auto launch = gpu::LaunchOp::create(
      b, loc, lookup(op.getUpperBound()[2]), lookup(op.getUpperBound()[1]),
      lookup(op.getUpperBound()[0]), idx(threadsPerBlock()), idx(1), idx(1),
      /*dynamicSharedMemorySize=*/dynamic ? arith::ConstantIntOp::create(b, loc, dynamicBytes, 32)
                                          : Value(),
      /*asyncTokenType=*/nullptr, /*asyncDependencies=*/{}, attributions);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  map.map(op.getInductionVars()[0], launch.getBlockIds().z);
  map.map(op.getInductionVars()[1], launch.getBlockIds().y);
  map.map(op.getInductionVars()[2], launch.getBlockIds().x);
  // The kernel computes what it needs of the flash form's host code itself (the
  // runtime passes it only arguments and their sizes): the pure ops before the
  // parallel loop are emitted again inside the launch.
  for (Operation &hostOp : op->getBlock()->getOperations()) {
    if (&hostOp == op.getOperation())
      break;
    if (hostOp.getNumRegions() == 0 && isMemoryEffectFree(&hostOp))
      b.clone(hostOp, map);
    else if (auto dim = dyn_cast<memref::DimOp>(hostOp))
      b.clone(hostOp, map);
  }
  tid = launch.getThreadIds().x;
  enterKernel(dynamic ? ValueRange(viewDynamicShared(buffers))
                      : ValueRange(launch.getWorkgroupAttributions()));
  if (failed(emitOps(*op.getBody())))
    return failure();
  gpu::TerminatorOp::create(b, loc);
  return success();
}

MemRefType GpuFlashLowering::workgroupType(ArrayRef<int64_t> shape, Type element) {
  return MemRefType::get(
      shape, element, MemRefLayoutAttrInterface(),
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup));
}

SmallVector<Value> GpuFlashLowering::viewDynamicShared(ArrayRef<MemRefType> types) {
  auto raw = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), MemRefLayoutAttrInterface(),
                             types.front().getMemorySpace());
  Value base = gpu::DynamicSharedMemoryOp::create(b, loc, raw);
  SmallVector<Value> views;
  int64_t offset = 0;
  for (MemRefType type : types) {
    views.push_back(memref::ViewOp::create(b, loc, type, base, idx(offset), ValueRange{}));
    offset += sharedBufferBytes(type);
  }
  return views;
}

void GpuFlashLowering::stageRows(Value tensor, Value tile, int64_t rows, int64_t cols,
                                 Value batch, Value head, Value row0, int64_t threads) {
  // Consecutive threads take consecutive elements of a row: coalesced global loads
  // and shared stores in distinct banks (a thread per row put each of a warp's
  // stores in one bank: 32-way conflicts, and a global transaction per lane).
  Value length = seqLen(tensor);
  forEach(tid, idx(rows * cols), idx(threads), [&](Value e) {
    Value r = divc(e, cols), c = remc(e, cols);
    Value row = add(row0, r);
    Value x = ifElse(
        ult(row, length), b.getF32Type(), [&] { return loadF32(tensor, {batch, head, row, c}); },
        [&] { return f32(0); });
    store(x, tile, {r, c});
  });
}

ScalarRegionEmitter GpuFlashLowering::regionEmitter(Value status, ValueRange scalars,
                                                    ValueRange buffers) {
  ScalarRegionEmitter regions(b, loc, lookup(status));
  if (DictionaryAttr decls = variant.getScalarsAttr())
    for (auto [i, entry] : llvm::enumerate(decls.getValue()))
      regions.scalars[entry.getName().getValue()] = lookup(scalars[i]);
  if (DictionaryAttr decls = variant.getBuffersAttr())
    for (auto [i, entry] : llvm::enumerate(decls.getValue()))
      regions.buffers[entry.getName().getValue()] = {lookup(buffers[i]), int64_t(i)};
  return regions;
}

Value GpuFlashLowering::keptPair(ScalarRegionEmitter &regions, const PairIndices &at,
                                 bool applyMask, Value q, Value kv, Value inRange) {
  if (!applyMask)
    return inRange;
  return andi(inRange, regions.emit(variant.getMaskMod(),
                                    {toI64(at.b), toI64(at.h), toI64(q), toI64(kv),
                                     toI64(at.qLen), toI64(at.kvLen)},
                                    inRange));
}

Value GpuFlashLowering::scoreModAt(ScalarRegionEmitter &regions, const PairIndices &at,
                                   Value score, Value q, Value kv, Value keep) {
  if (scoreModIsIdentity())
    return score;
  return regions.emit(variant.getScoreMod(),
                      {score, toI64(at.b), toI64(at.h), toI64(q), toI64(kv), toI64(at.qLen),
                       toI64(at.kvLen)},
                      keep);
}

Value GpuFlashLowering::modifiedScore(attn::TileModsOp op, ScalarRegionEmitter &regions,
                                      Value score, Value q, Value kv, Value inRange) {
  PairIndices at{lookup(op.getB()), lookup(op.getH()), lookup(op.getQLen()),
                 lookup(op.getKvLen())};
  // Both regions run for every element, under the lane mask of the elements that
  // count (`active`: a buffer read out of range or a division by zero is recorded
  // only there, and a read out of range is not issued at all), and selects keep
  // what counts: no branch per element, whose two sides a warp's lanes would run
  // anyway once they disagree (soft-capping: 33 branches per tile and warp).
  Value keep = keptPair(regions, at, op.getApplyMask(), q, kv, inRange);
  return select(keep, scoreModAt(regions, at, score, q, kv, keep), negInf());
}

} // namespace detail

namespace {

struct AttnLowerFlashToGpuPass : impl::AttnLowerFlashToGpuBase<AttnLowerFlashToGpuPass> {
  using AttnLowerFlashToGpuBase::AttnLowerFlashToGpuBase;

  LogicalResult lower(func::FuncOp flash, attn::VariantOp variant) {
    auto form = FlashFormDetail::get(flash, variant, "attn-lower-flash-to-gpu");
    if (failed(form))
      return failure();
    if (form->isBackward()) {
      if (tensorCores && detail::tensorCoreBackwardFits(*form))
        return detail::makeTensorCoreBackwardKernel(flash, variant, *form)->build();
      int64_t bytes = detail::simtBackwardSharedBytes(*form);
      if (bytes > kMaxSharedBytes)
        return flash.emitError("the GPU backward kernel stages query rows, key rows and a "
                               "dS tile in shared memory: ")
               << (bytes + 1023) / 1024 << " KiB with block-q " << form->blockQ()
               << " and block-kv " << form->blockKV() << ", more than "
               << kMaxSharedBytes / 1024 << " KiB: use smaller tiles";
      return detail::makeSimtBackwardKernel(flash, variant, *form)->build();
    }
    if (stages < 1 || stages > 4)
      return flash.emitError("attn-lower-flash-to-gpu: stages must be 1 to 4, got ")
             << int64_t(stages);
    if (rowsPerWarp != 16 && rowsPerWarp != 32)
      return flash.emitError("attn-lower-flash-to-gpu: rows-per-warp must be 16 or 32, got ")
             << int64_t(rowsPerWarp);
    if (tensorCores && detail::tensorCoresFit(*form, stages, rowsPerWarp))
      return detail::makeTensorCoreKernel(flash, variant, *form, stages, rowsPerWarp)->build();
    int64_t bk = form->blockKV(), d = form->headDim(), dv = form->headDimV();
    if (bk * (d + dv) * 4 > kStaticSharedBytes) {
      InFlightDiagnostic diag =
          flash.emitError("the GPU target stages a K and a V tile of block-kv rows in "
                          "48 KiB of shared memory: block-kv ")
          << bk << " is too large for head dims " << d << " and " << dv;
      // A 16-bit spec got here because the tensor-core kernel's tiles did not fit.
      Type element = form->elementType();
      int64_t bytes = tensorCoreSharedBytes(form->blockQ(), bk, d, dv, stages);
      if (tensorCores && (element.isF16() || element.isBF16()) && bytes > kMaxSharedBytes)
        diag << " (the tensor-core kernel's Q tile and " << int64_t(stages)
             << " stages of K and V tiles would need " << (bytes + 1023) / 1024
             << " KiB, more than its " << kMaxSharedBytes / 1024
             << " KiB: use fewer stages or smaller tiles)";
      return diag;
    }
    return detail::makeSimtKernel(flash, variant, *form)->build();
  }

  void runOnOperation() override {
    if (failed(forEachFlashFunction(getOperation(), "attn-lower-flash-to-gpu",
                                    [&](func::FuncOp flash, attn::VariantOp variant) {
                                      return lower(flash, variant);
                                    })))
      return signalPassFailure();
  }
};

} // namespace
} // namespace attnc::cuda
