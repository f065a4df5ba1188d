//===- LowerGpuToEmu.cpp - gpu.func kernels as emulator-driven host code ---===//
//
// Rebuilds each kernel as a host function by cloning its body and replacing the
// GPU-specific operations with calls into the cuda-emu runtime. Workgroup memory
// becomes plain memrefs over per-block allocations, with every access checked.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/emu/Passes.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace attnc::emu {
#define GEN_PASS_DEF_ATTNGPUTOEMU
#include "compiler/targets/emu/Passes.h.inc"

namespace {

bool isWorkgroup(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref)
    return false;
  auto space = dyn_cast_or_null<gpu::AddressSpaceAttr>(memref.getMemorySpace());
  return space && space.getValue() == gpu::AddressSpace::Workgroup;
}

/// The same memref type without a memory space.
MemRefType hostType(MemRefType type) {
  return MemRefType::get(type.getShape(), type.getElementType(), type.getLayout());
}

class KernelLowering {
public:
  KernelLowering(ModuleOp module, OpBuilder &b) : module(module), b(b) {}

  LogicalResult lower(gpu::GPUFuncOp kernel);
  void finish();

private:
  /// The index of `loc` in the location table.
  Value locIndex(Location loc) {
    std::string text;
    llvm::raw_string_ostream os(text);
    if (auto fileLoc = dyn_cast<FileLineColLoc>(loc))
      os << fileLoc.getFilename().getValue() << ":" << fileLoc.getLine() << ":"
         << fileLoc.getColumn();
    else
      loc.print(os);
    auto [it, inserted] = locations.try_emplace(text, locationList.size());
    if (inserted)
      locationList.push_back(text);
    return arith::ConstantIntOp::create(b, loc, int64_t(it->second), 64);
  }

  func::FuncOp declare(StringRef name, FunctionType type, bool cInterface = false) {
    if (auto existing = module.lookupSymbol<func::FuncOp>(name))
      return existing;
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    auto fn = func::FuncOp::create(b, module.getLoc(), name, type);
    fn.setPrivate();
    if (cInterface)
      fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    return fn;
  }

  Value call(Location loc, StringRef name, TypeRange results, ValueRange args,
             bool cInterface = false) {
    func::FuncOp fn = declare(name, b.getFunctionType(args.getTypes(), results), cInterface);
    auto op = func::CallOp::create(b, loc, fn, args);
    return op.getNumResults() ? op.getResult(0) : Value();
  }

  Value i64(Location loc, int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 64); }

  /// The address (i64) of element `indices` of `memref`.
  Value elementAddress(Location loc, Value memref, ValueRange indices) {
    auto type = cast<MemRefType>(memref.getType());
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
    Value linear = meta.getOffset();
    for (auto [i, index] : llvm::enumerate(indices))
      linear = arith::AddIOp::create(
          b, loc, linear, arith::MulIOp::create(b, loc, index, meta.getStrides()[i]));
    int64_t bytes = type.getElementTypeBitWidth() / 8;
    Value address = arith::AddIOp::create(
        b, loc, base,
        arith::MulIOp::create(b, loc, linear, arith::ConstantIndexOp::create(b, loc, bytes)));
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
  }

  /// A stack buffer holding `vector` (flattened), and its address.
  std::pair<Value, Value> spill(Location loc, Type elementType, int64_t count,
                                Value vector = Value()) {
    auto type = MemRefType::get({count}, elementType);
    Value buffer = memref::AllocaOp::create(b, loc, type);
    if (vector) {
      auto flat = VectorType::get({count}, elementType);
      Value v = vector::ShapeCastOp::create(b, loc, flat, vector);
      vector::StoreOp::create(b, loc, v, buffer,
                              ValueRange{arith::ConstantIndexOp::create(b, loc, 0)});
    }
    Value address = arith::IndexCastOp::create(
        b, loc, b.getI64Type(), memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer));
    return {buffer, address};
  }

  Value reload(Location loc, Value buffer, VectorType flat, VectorType result) {
    Value v = vector::LoadOp::create(b, loc, flat, buffer,
                                     ValueRange{arith::ConstantIndexOp::create(b, loc, 0)});
    return vector::ShapeCastOp::create(b, loc, result, v);
  }

  /// For an access to global memory: reports indices outside the memref's shape and
  /// returns indices that are safe to use (0 where out of range).
  SmallVector<Value> checkGlobalAccess(Location loc, Value memref, ValueRange indices,
                                       bool isWrite) {
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value inBounds = arith::ConstantIntOp::create(b, loc, 1, 1);
    SmallVector<Value> dimOk;
    for (auto [d, index] : llvm::enumerate(indices)) {
      Value size = memref::DimOp::create(b, loc, memref, int64_t(d));
      Value ok = arith::AndIOp::create(
          b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, index, c0),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, index, size));
      dimOk.push_back(ok);
      inBounds = arith::AndIOp::create(b, loc, inBounds, ok);
    }
    Value outOfBounds = arith::XOrIOp::create(
        b, loc, inBounds, arith::ConstantIntOp::create(b, loc, 1, 1));
    auto ifOp = scf::IfOp::create(b, loc, outOfBounds, /*withElse=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      call(loc, "attnc_emu_out_of_bounds", {}, {i64(loc, isWrite ? 1 : 0), locIndex(loc)});
    }
    SmallVector<Value> safe;
    for (auto [d, index] : llvm::enumerate(indices))
      safe.push_back(arith::SelectOp::create(b, loc, inBounds, index, c0));
    return safe;
  }

  /// Emits the bounds/race check for an access to workgroup memory.
  void checkAccess(Location loc, Value memref, ValueRange indices, bool isWrite) {
    auto type = cast<MemRefType>(memref.getType());
    Value address = elementAddress(loc, memref, indices);
    call(loc, "attnc_emu_check_shared", {},
         {address, i64(loc, type.getElementTypeBitWidth() / 8), i64(loc, isWrite ? 1 : 0),
          locIndex(loc)});
  }

  /// One per-block workgroup allocation of `type`, as a plain memref; null if the
  /// type is not a static identity-layout memref.
  Value allocateShared(Location loc, MemRefType type) {
    if (!type.hasStaticShape() || !type.getLayout().isIdentity())
      return {};
    int64_t bytes = type.getNumElements() * type.getElementTypeBitWidth() / 8;
    auto raw = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    Value buffer = call(loc, "attnc_emu_shared", {raw},
                        {i64(loc, sharedIds++), i64(loc, bytes)}, /*cInterface=*/true);
    return memref::ViewOp::create(b, loc, hostType(type), buffer,
                                  arith::ConstantIndexOp::create(b, loc, 0), ValueRange{});
  }

  LogicalResult emitBlock(Block &block, IRMapping &map);

  ModuleOp module;
  OpBuilder &b;
  llvm::StringMap<size_t> locations;
  std::vector<std::string> locationList;
  int64_t sharedIds = 0;
};

LogicalResult KernelLowering::lower(gpu::GPUFuncOp kernel) {
  Location loc = kernel.getLoc();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  FunctionType type = kernel.getFunctionType();
  auto fn = func::FuncOp::create(b, loc, kernel.getName(), type);
  fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  IRMapping map;
  Block &body = kernel.getBody().front();
  for (unsigned i = 0; i < type.getNumInputs(); ++i)
    map.map(body.getArgument(i), entry->getArgument(i));
  for (BlockArgument attribution : kernel.getWorkgroupAttributions()) {
    Value view = allocateShared(loc, cast<MemRefType>(attribution.getType()));
    if (!view)
      return kernel.emitError("cuda-emu: workgroup attributions must have a static shape "
                              "and the identity layout");
    map.map(attribution, view);
  }
  if (!kernel.getPrivateAttributions().empty())
    return kernel.emitError("cuda-emu: private attributions are not supported");
  return emitBlock(body, map);
}

LogicalResult KernelLowering::emitBlock(Block &block, IRMapping &map) {
  for (Operation &op : block) {
    Location loc = op.getLoc();
    auto dimOf = [&](gpu::Dimension d) { return i64(loc, int64_t(d)); };
    auto asIndex = [&](Value v) -> Value {
      return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
    };
    auto i64Type = b.getI64Type();
    if (auto o = dyn_cast<gpu::ThreadIdOp>(op)) {
      map.map(o.getResult(), asIndex(call(loc, "attnc_emu_thread_id", {i64Type},
                                          {dimOf(o.getDimension())})));
    } else if (auto o = dyn_cast<gpu::BlockIdOp>(op)) {
      map.map(o.getResult(), asIndex(call(loc, "attnc_emu_block_id", {i64Type},
                                          {dimOf(o.getDimension())})));
    } else if (auto o = dyn_cast<gpu::BlockDimOp>(op)) {
      map.map(o.getResult(), asIndex(call(loc, "attnc_emu_block_dim", {i64Type},
                                          {dimOf(o.getDimension())})));
    } else if (auto o = dyn_cast<gpu::GridDimOp>(op)) {
      map.map(o.getResult(), asIndex(call(loc, "attnc_emu_grid_dim", {i64Type},
                                          {dimOf(o.getDimension())})));
    } else if (auto o = dyn_cast<gpu::LaneIdOp>(op)) {
      map.map(o.getResult(), asIndex(call(loc, "attnc_emu_lane_id", {i64Type}, {})));
    } else if (isa<gpu::BarrierOp>(op)) {
      call(loc, "attnc_emu_barrier", {}, {locIndex(loc)});
    } else if (auto o = dyn_cast<gpu::ShuffleOp>(op)) {
      Value v = map.lookup(o.getValue());
      Type t = v.getType();
      if (t.getIntOrFloatBitWidth() != 32)
        return o.emitError("cuda-emu: gpu.shuffle supports 32-bit values, got ") << t;
      Value bits = t.isInteger(32) ? v : Value(arith::BitcastOp::create(b, loc, b.getI32Type(), v));
      Value packed = call(loc, "attnc_emu_shuffle", {i64Type},
                          {bits, map.lookup(o.getOffset()), map.lookup(o.getWidth()),
                           arith::ConstantIntOp::create(b, loc, int64_t(o.getMode()), 32),
                           locIndex(loc)});
      Value low = arith::TruncIOp::create(b, loc, b.getI32Type(), packed);
      Value value = t.isInteger(32) ? low : Value(arith::BitcastOp::create(b, loc, t, low));
      Value valid = arith::TruncIOp::create(
          b, loc, b.getI1Type(), arith::ShRUIOp::create(b, loc, packed, i64(loc, 32)));
      map.map(o.getResult(0), value);
      map.map(o.getResult(1), valid);
    } else if (auto o = dyn_cast<memref::LoadOp>(op); o && isWorkgroup(o.getMemRef().getType())) {
      SmallVector<Value> indices;
      for (Value i : o.getIndices())
        indices.push_back(map.lookup(i));
      checkAccess(loc, map.lookup(o.getMemRef()), indices, /*isWrite=*/false);
      map.map(o.getResult(), memref::LoadOp::create(b, loc, map.lookup(o.getMemRef()), indices));
    } else if (auto o = dyn_cast<memref::StoreOp>(op); o && isWorkgroup(o.getMemRef().getType())) {
      SmallVector<Value> indices;
      for (Value i : o.getIndices())
        indices.push_back(map.lookup(i));
      checkAccess(loc, map.lookup(o.getMemRef()), indices, /*isWrite=*/true);
      memref::StoreOp::create(b, loc, map.lookup(o.getValueToStore()),
                              map.lookup(o.getMemRef()), indices);
    } else if (isa<memref::AllocaOp, memref::AllocOp>(op) &&
               isWorkgroup(op.getResult(0).getType())) {
      // Workgroup memory allocated in the kernel body: one copy per block.
      Value view = allocateShared(loc, cast<MemRefType>(op.getResult(0).getType()));
      if (!view)
        return op.emitError("cuda-emu: workgroup allocations must have a static shape and "
                            "the identity layout");
      map.map(op.getResult(0), view);
    } else if (isa<memref::DeallocOp>(op) &&
               isWorkgroup(op.getOperand(0).getType())) {
      // Per-block memory lives as long as the block.
    } else if (auto o = dyn_cast<nvgpu::LdMatrixOp>(op)) {
      SmallVector<Value> indices;
      for (Value i : o.getIndices())
        indices.push_back(map.lookup(i));
      Value address = elementAddress(loc, map.lookup(o.getSrcMemref()), indices);
      int64_t tiles = o.getNumTiles();
      auto [buffer, outAddress] = spill(loc, b.getI32Type(), tiles);
      call(loc, "attnc_emu_ldmatrix", {},
           {address, i64(loc, tiles), i64(loc, o.getTranspose() ? 1 : 0), outAddress,
            locIndex(loc)});
      // The registers, reinterpreted as the op's vector<tiles x 2 x b16>.
      auto resultType = o.getRes().getType();
      Value regs = reload(loc, buffer, VectorType::get({tiles}, b.getI32Type()),
                          VectorType::get({tiles, 1}, b.getI32Type()));
      map.map(o.getRes(), vector::BitCastOp::create(b, loc, resultType, regs));
    } else if (auto o = dyn_cast<nvgpu::MmaSyncOp>(op)) {
      auto shape = o.getMmaShapeAsArray();
      VectorType aType = o.getMatrixA().getType(), cType = o.getMatrixC().getType();
      Type aElt = aType.getElementType();
      bool k16 = shape[0] == 16 && shape[1] == 8 && shape[2] == 16 &&
                 (aElt.isF16() || aElt.isBF16()) && cType.getElementType().isF32();
      bool tf32 = shape[0] == 16 && shape[1] == 8 && shape[2] == 8 && aElt.isF32() &&
                  cType.getElementType().isF32();
      if (!k16 && !tf32)
        return o.emitError("cuda-emu: supported mma.sync forms are m16n8k16 with f16/bf16 "
                           "inputs and m16n8k8 tf32, both with f32 accumulators");
      int64_t aCount = aType.getNumElements();
      int64_t bCount = o.getMatrixB().getType().getNumElements();
      auto [aBuf, aAddr] = spill(loc, aElt, aCount, map.lookup(o.getMatrixA()));
      auto [bBuf, bAddr] = spill(loc, aElt, bCount, map.lookup(o.getMatrixB()));
      auto [cBuf, cAddr] = spill(loc, b.getF32Type(), 4, map.lookup(o.getMatrixC()));
      auto [dBuf, dAddr] = spill(loc, b.getF32Type(), 4);
      if (k16)
        call(loc, "attnc_emu_mma_m16n8k16", {},
             {aAddr, bAddr, cAddr, dAddr, i64(loc, aElt.isBF16() ? 1 : 0), locIndex(loc)});
      else
        call(loc, "attnc_emu_mma_m16n8k8_tf32", {}, {aAddr, bAddr, cAddr, dAddr, locIndex(loc)});
      map.map(o.getRes(), reload(loc, dBuf, VectorType::get({4}, b.getF32Type()), cType));
      (void)aBuf;
      (void)bBuf;
      (void)cBuf;
    } else if (auto o = dyn_cast<nvgpu::DeviceAsyncCopyOp>(op)) {
      SmallVector<Value> dstIdx, srcIdx;
      for (Value i : o.getDstIndices())
        dstIdx.push_back(map.lookup(i));
      for (Value i : o.getSrcIndices())
        srcIdx.push_back(map.lookup(i));
      Value dst = elementAddress(loc, map.lookup(o.getDst()), dstIdx);
      Value src = elementAddress(loc, map.lookup(o.getSrc()), srcIdx);
      int64_t eltBytes = o.getDst().getType().getElementTypeBitWidth() / 8;
      int64_t elements = int64_t(o.getDstElements().getZExtValue());
      Value srcBytes = i64(loc, elements * eltBytes);
      if (Value srcElements = o.getSrcElements())
        srcBytes = arith::MulIOp::create(
            b, loc, arith::IndexCastOp::create(b, loc, b.getI64Type(), map.lookup(srcElements)),
            i64(loc, eltBytes));
      call(loc, "attnc_emu_async_copy", {},
           {dst, src, i64(loc, elements * eltBytes), srcBytes, locIndex(loc)});
      map.map(o.getResult(), i64(loc, 0)); // tokens carry no data here
    } else if (auto o = dyn_cast<nvgpu::DeviceAsyncCreateGroupOp>(op)) {
      call(loc, "attnc_emu_async_commit", {}, {});
      map.map(o.getResult(), i64(loc, 0));
    } else if (auto o = dyn_cast<nvgpu::DeviceAsyncWaitOp>(op)) {
      int64_t groups = o.getNumGroups() ? int64_t(*o.getNumGroups()) : 0;
      call(loc, "attnc_emu_async_wait", {}, {i64(loc, groups), locIndex(loc)});
    } else if (auto o = dyn_cast<memref::LoadOp>(op)) {
      SmallVector<Value> indices;
      for (Value i : o.getIndices())
        indices.push_back(map.lookup(i));
      Value memref = map.lookup(o.getMemRef());
      SmallVector<Value> safe = checkGlobalAccess(loc, memref, indices, /*isWrite=*/false);
      map.map(o.getResult(), memref::LoadOp::create(b, loc, memref, safe));
    } else if (auto o = dyn_cast<memref::StoreOp>(op)) {
      SmallVector<Value> indices;
      for (Value i : o.getIndices())
        indices.push_back(map.lookup(i));
      Value memref = map.lookup(o.getMemRef());
      SmallVector<Value> safe = checkGlobalAccess(loc, memref, indices, /*isWrite=*/true);
      memref::StoreOp::create(b, loc, map.lookup(o.getValueToStore()), memref, safe);
    } else if (isa<gpu::ReturnOp>(op)) {
      func::ReturnOp::create(b, loc);
    } else if (auto forOp = dyn_cast<scf::ForOp>(op)) {
      SmallVector<Value> inits;
      for (Value v : forOp.getInitArgs())
        inits.push_back(map.lookup(v));
      auto loop = scf::ForOp::create(b, loc, map.lookup(forOp.getLowerBound()),
                                     map.lookup(forOp.getUpperBound()),
                                     map.lookup(forOp.getStep()), inits);
      map.map(forOp.getInductionVar(), loop.getInductionVar());
      for (auto [from, to] : llvm::zip(forOp.getRegionIterArgs(), loop.getRegionIterArgs()))
        map.map(from, to);
      {
        OpBuilder::InsertionGuard guard(b);
        Block *newBody = loop.getBody();
        if (!newBody->empty())
          newBody->getTerminator()->erase();
        b.setInsertionPointToEnd(newBody);
        if (failed(emitBlock(*forOp.getBody(), map))) // emits the scf.yield too
          return failure();
      }
      for (auto [from, to] : llvm::zip(forOp.getResults(), loop.getResults()))
        map.map(from, to);
    } else if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      auto newIf = scf::IfOp::create(b, loc, ifOp.getResultTypes(),
                                     map.lookup(ifOp.getCondition()),
                                     /*withElse=*/!ifOp.getElseRegion().empty());
      for (auto [region, newRegion] :
           {std::pair<Region *, Region *>{&ifOp.getThenRegion(), &newIf.getThenRegion()},
            {&ifOp.getElseRegion(), &newIf.getElseRegion()}}) {
        if (region->empty())
          continue;
        OpBuilder::InsertionGuard guard(b);
        Block &newBlock = newRegion->front();
        if (!newBlock.empty())
          newBlock.getTerminator()->erase();
        b.setInsertionPointToEnd(&newBlock);
        if (failed(emitBlock(region->front(), map)))
          return failure();
      }
      for (auto [from, to] : llvm::zip(ifOp.getResults(), newIf.getResults()))
        map.map(from, to);
    } else if (auto yield = dyn_cast<scf::YieldOp>(op)) {
      SmallVector<Value> values;
      for (Value v : yield.getOperands())
        values.push_back(map.lookup(v));
      scf::YieldOp::create(b, loc, values);
    } else {
      if (op.getNumRegions() != 0)
        return op.emitError("cuda-emu: unsupported operation with regions in a kernel");
      b.clone(op, map);
    }
  }
  return success();
}

void KernelLowering::finish() {
  SmallVector<Attribute> names;
  for (const std::string &s : locationList)
    names.push_back(b.getStringAttr(s));
  module->setAttr("attn.emu.locations", b.getArrayAttr(names));
}

struct AttnGpuToEmuPass : impl::AttnGpuToEmuBase<AttnGpuToEmuPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder b(module.getContext());
    KernelLowering lowering(module, b);
    SmallVector<gpu::GPUModuleOp> gpuModules(module.getOps<gpu::GPUModuleOp>());
    for (gpu::GPUModuleOp gpuModule : gpuModules)
      for (auto kernel : gpuModule.getOps<gpu::GPUFuncOp>())
        if (kernel.isKernel() && failed(lowering.lower(kernel)))
          return signalPassFailure();
    for (gpu::GPUModuleOp gpuModule : gpuModules)
      gpuModule.erase();
    module->removeAttr("gpu.container_module");
    lowering.finish();
  }
};

} // namespace
} // namespace attnc::emu
