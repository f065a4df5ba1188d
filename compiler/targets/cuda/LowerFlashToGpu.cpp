//===- LowerFlashToGpu.cpp - the flash form as a GPU kernel ----------------===//
//
// Rebuilds each `@X_flash` as `@X_gpu` (see Passes.td): the parallel loop over
// (batch, head, query tile) becomes the grid of a gpu.launch whose body is the
// tensor-core kernel (f16/bf16 tiles that fit, TensorCoreKernel.cpp) or the SIMT
// kernel (SimtKernel.cpp). Both classify each key tile at run time with the mask
// analysis of MaskIntervals.h (emitMaskClass), rebuilt from the variant: the flash
// form's own tile ops are not read by this lowering yet, only the shape of its
// score tile. Empty tiles are skipped and full tiles do not evaluate mask_mod.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cuda/GpuKernelBuilder.h"
#include "compiler/transforms/FlashForm.h"
#include "compiler/transforms/MaskIntervals.h"

using namespace mlir;

namespace attnc::cuda {
#define GEN_PASS_DEF_ATTNLOWERFLASHTOGPU
#include "compiler/targets/cuda/Passes.h.inc"

namespace detail {

LogicalResult GpuKernelBuilder::build() {
  auto tileSizes = flashTileSizes(flash);
  if (!tileSizes)
    return flash.emitError("attn-lower-flash-to-gpu: no score tile in the flash form");
  std::tie(BQ, BK) = *tileSizes;
  D = variant.getHeadDim();
  DV = variant.getHeadDimV();
  H = variant.getHeadsQ();
  HKV = variant.getHeadsKv();
  scale = variant.getScale().convertToFloat();
  if (stages < 1 || stages > 4)
    return flash.emitError("attn-lower-flash-to-gpu: stages must be 1 to 4, got ") << stages;
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
  auto f16Tiles = [&](int64_t rows, int64_t cols) { // a ring of `stages`
    return MemRefType::get({stages, rows, cols}, half, MemRefLayoutAttrInterface(),
                           gpu::AddressSpaceAttr::get(b.getContext(),
                                                      gpu::AddressSpace::Workgroup));
  };
  SmallVector<Type> tiles;
  if (tc)
    tiles = {f16Tile(BQ, Dp), f16Tiles(BK, Dp), f16Tiles(BK, DVp)};
  else
    tiles = {f32Tile(BK, D), f32Tile(BK, DV)};
  auto launch = gpu::LaunchOp::create(
      b, loc, numQTiles, idx(H), batch, idx(tc ? tcThreads() : BQ), idx(1), idx(1),
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

} // namespace detail

namespace {

using detail::GpuKernelBuilder;

struct AttnLowerFlashToGpuPass : impl::AttnLowerFlashToGpuBase<AttnLowerFlashToGpuPass> {
  using AttnLowerFlashToGpuBase::AttnLowerFlashToGpuBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(forEachFlashFunction(module, "attn-lower-flash-to-gpu",
                                    [&](func::FuncOp fn, attn::VariantOp variant) {
                                      return GpuKernelBuilder(fn, variant, tensorCores, stages).build();
                                    })))
      return signalPassFailure();
  }
};

} // namespace
} // namespace attnc::cuda
