//===- WmmaToEmu.cpp - gpu.subgroup_mma_* for the emulator -----------------===//
#include "compiler/targets/emu/WmmaToEmu.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AttrTypeSubElements.h"

using namespace mlir;

namespace attnc::emu {

void replaceMmaMatrixTypes(Operation *op) {
  AttrTypeReplacer replacer;
  replacer.addReplacement([](gpu::MMAMatrixType type) -> std::optional<Type> {
    return VectorType::get(type.getShape(), type.getElementType());
  });
  replacer.recursivelyReplaceElementsIn(op, /*replaceAttrs=*/true, /*replaceLocs=*/false,
                                        /*replaceTypes=*/true);
}

namespace {

/// The runtime's code of a WMMA element type (WmmaType), or -1.
int64_t wmmaType(Type t) {
  return t.isF16() ? 0 : t.isF32() ? 1 : t.isF64() ? 2 : -1;
}

/// The arguments describing a tile at `indices` of `memref` for the runtime:
/// base address, rows, cols, leading dimension, type, transpose, and the memref's
/// extent [begin, end) and memory kind.
SmallVector<Value> tileArgs(EmuBuilder &eb, Location loc, Value memref, ValueRange indices,
                            VectorType tile, int64_t leadDimension, bool transpose) {
  OpBuilder &b = eb.b;
  auto type = cast<MemRefType>(memref.getType());
  int64_t bytes = type.getElementTypeBitWidth() / 8;
  // The extent: offset .. offset + sum((size_d - 1) * stride_d) + 1 elements.
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value last = meta.getOffset();
  for (int64_t d = 0; d < type.getRank(); ++d)
    last = arith::AddIOp::create(
        b, loc, last,
        arith::MulIOp::create(b, loc, arith::SubIOp::create(b, loc, meta.getSizes()[d], c1),
                              meta.getStrides()[d]));
  Value base = eb.baseAddress(loc, memref);
  Value eltBytes = eb.i64(loc, bytes);
  Value begin = arith::AddIOp::create(
      b, loc, base, arith::MulIOp::create(b, loc, eb.toI64(loc, meta.getOffset()), eltBytes));
  Value end = arith::AddIOp::create(
      b, loc, base,
      arith::MulIOp::create(
          b, loc, arith::AddIOp::create(b, loc, eb.toI64(loc, last), eb.i64(loc, 1)), eltBytes));
  bool shared = nvgpu::NVGPUDialect::isSharedMemoryAddressSpace(type.getMemorySpace());
  return {eb.elementAddress(loc, memref, indices), eb.i64(loc, tile.getDimSize(0)),
          eb.i64(loc, tile.getDimSize(1)), eb.i64(loc, leadDimension),
          eb.i64(loc, wmmaType(type.getElementType())), eb.i64(loc, transpose ? 1 : 0),
          begin, end, eb.i64(loc, shared ? 1 : 0), eb.locIndex(loc)};
}

LogicalResult unsupportedType(Operation *op, Type t) {
  return op->emitError("cuda-emu: WMMA elements must be f16, f32 or f64, got ") << t;
}

Value elementwise(OpBuilder &b, Location loc, gpu::MMAElementwiseOp kind, ValueRange args,
                  Type resultType) {
  using K = gpu::MMAElementwiseOp;
  switch (kind) {
  case K::ADDF: return arith::AddFOp::create(b, loc, args[0], args[1]);
  case K::MULF: return arith::MulFOp::create(b, loc, args[0], args[1]);
  case K::SUBF: return arith::SubFOp::create(b, loc, args[0], args[1]);
  case K::MAXF: return arith::MaximumFOp::create(b, loc, args[0], args[1]);
  case K::MINF: return arith::MinimumFOp::create(b, loc, args[0], args[1]);
  case K::DIVF: return arith::DivFOp::create(b, loc, args[0], args[1]);
  case K::ADDI: return arith::AddIOp::create(b, loc, args[0], args[1]);
  case K::MULI: return arith::MulIOp::create(b, loc, args[0], args[1]);
  case K::SUBI: return arith::SubIOp::create(b, loc, args[0], args[1]);
  case K::DIVS: return arith::DivSIOp::create(b, loc, args[0], args[1]);
  case K::DIVU: return arith::DivUIOp::create(b, loc, args[0], args[1]);
  case K::NEGATEF: return arith::NegFOp::create(b, loc, args[0]);
  case K::NEGATES: {
    Value zero = arith::ConstantOp::create(b, loc, resultType, b.getZeroAttr(resultType));
    return arith::SubIOp::create(b, loc, zero, args[0]);
  }
  case K::EXTF: return arith::ExtFOp::create(b, loc, resultType, args[0]);
  }
  return {};
}

} // namespace

std::optional<LogicalResult> lowerWmmaOp(Operation *op, EmuBuilder &eb) {
  OpBuilder &b = eb.b;
  Location loc = op->getLoc();
  auto replace = [&](Value v) {
    op->getResult(0).replaceAllUsesWith(v);
    op->erase();
    return success();
  };
  if (auto load = dyn_cast<gpu::SubgroupMmaLoadMatrixOp>(op)) {
    auto tile = cast<VectorType>(load->getResult(0).getType());
    if (wmmaType(tile.getElementType()) < 0)
      return unsupportedType(op, tile.getElementType());
    auto [buffer, lane] = eb.spill(loc, tile.getElementType(), tile.getNumElements());
    SmallVector<Value> args{lane};
    llvm::append_range(args, tileArgs(eb, loc, load.getSrcMemref(), load.getIndices(), tile,
                                      load.getLeadDimension().getSExtValue(),
                                      load.getTranspose().value_or(false)));
    eb.call(loc, "attnc_emu_wmma_load", {}, args);
    return replace(eb.reload(loc, buffer, tile));
  }
  if (auto store = dyn_cast<gpu::SubgroupMmaStoreMatrixOp>(op)) {
    Value value = op->getOperand(0);
    auto tile = cast<VectorType>(value.getType());
    if (wmmaType(tile.getElementType()) < 0)
      return unsupportedType(op, tile.getElementType());
    auto [buffer, lane] = eb.spill(loc, tile.getElementType(), tile.getNumElements(), value);
    SmallVector<Value> args{lane};
    llvm::append_range(args, tileArgs(eb, loc, store.getDstMemref(), store.getIndices(), tile,
                                      store.getLeadDimension().getSExtValue(),
                                      store.getTranspose().value_or(false)));
    eb.call(loc, "attnc_emu_wmma_store", {}, args);
    op->erase();
    return success();
  }
  if (isa<gpu::SubgroupMmaComputeOp>(op)) {
    // The fragments hold the logical matrices (a transposed load already transposed
    // them), so a_transpose/b_transpose only name the hardware layout.
    Value a = op->getOperand(0), bm = op->getOperand(1), c = op->getOperand(2);
    auto aType = cast<VectorType>(a.getType()), cType = cast<VectorType>(c.getType());
    if (wmmaType(aType.getElementType()) < 0)
      return unsupportedType(op, aType.getElementType());
    if (wmmaType(cType.getElementType()) < 0)
      return unsupportedType(op, cType.getElementType());
    auto [aBuf, aAddr] = eb.spill(loc, aType.getElementType(), aType.getNumElements(), a);
    auto [bBuf, bAddr] = eb.spill(loc, aType.getElementType(),
                                  cast<VectorType>(bm.getType()).getNumElements(), bm);
    auto [cBuf, cAddr] = eb.spill(loc, cType.getElementType(), cType.getNumElements(), c);
    auto [dBuf, dAddr] = eb.spill(loc, cType.getElementType(), cType.getNumElements());
    eb.call(loc, "attnc_emu_wmma_compute", {},
            {eb.i64(loc, wmmaType(aType.getElementType())),
             eb.i64(loc, wmmaType(cType.getElementType())), eb.i64(loc, cType.getDimSize(0)),
             eb.i64(loc, cType.getDimSize(1)), eb.i64(loc, aType.getDimSize(1)), aAddr, bAddr,
             cAddr, dAddr, eb.locIndex(loc)});
    return replace(eb.reload(loc, dBuf, cType));
  }
  if (isa<gpu::SubgroupMmaConstantMatrixOp>(op))
    return replace(vector::BroadcastOp::create(b, loc, op->getResult(0).getType(),
                                               op->getOperand(0)));
  if (auto ew = dyn_cast<gpu::SubgroupMmaElementwiseOp>(op))
    return replace(elementwise(b, loc, ew.getOpType(), op->getOperands(),
                               op->getResult(0).getType()));
  if (isa<gpu::SubgroupMmaExtractThreadLocalOp, gpu::SubgroupMmaInsertThreadLocalOp>(op))
    return op->emitError("cuda-emu: the per-lane layout of a WMMA fragment is the "
                         "hardware's; thread-local access to it is not emulated");
  return std::nullopt;
}

} // namespace attnc::emu
