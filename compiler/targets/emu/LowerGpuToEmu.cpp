//===- LowerGpuToEmu.cpp - gpu.func kernels as emulator-driven host code ---===//
//
// Every function of every gpu.module becomes a host func.func: its body region is
// moved over as it is (any control flow, any region ops), and the GPU-specific
// operations in it are replaced in place by calls into the cuda-emu runtime.
// Workgroup memory becomes per-block allocations; every access to it is checked
// (bounds and races), every access to global memory is bounds-checked. Memory
// spaces stay on the types while the checks are placed, and are dropped at the end,
// when the whole module becomes ordinary host code.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/emu/EmuBuilder.h"
#include "compiler/targets/emu/Passes.h"
#include "compiler/targets/emu/WmmaToEmu.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/AttrTypeSubElements.h"

using namespace mlir;

namespace attnc::emu {
#define GEN_PASS_DEF_ATTNGPUTOEMU
#include "compiler/targets/emu/Passes.h.inc"

namespace {

/// Workgroup (shared) memory: `#gpu.address_space<workgroup>` or NVVM's space 3.
bool isWorkgroup(Type type) {
  auto memref = dyn_cast<BaseMemRefType>(type);
  return memref && nvgpu::NVGPUDialect::isSharedMemoryAddressSpace(memref.getMemorySpace());
}

/// The emulator's code (runtime/emu/Emulator.h, ShuffleMode) of a shuffle mode.
int64_t emulatorMode(gpu::ShuffleMode mode) {
  switch (mode) {
  case gpu::ShuffleMode::XOR: return 0;
  case gpu::ShuffleMode::IDX: return 1;
  case gpu::ShuffleMode::UP: return 2;
  case gpu::ShuffleMode::DOWN: return 3;
  }
  return 0;
}

/// The same memref type without a memory space.
MemRefType hostType(MemRefType type) {
  return MemRefType::get(type.getShape(), type.getElementType(), type.getLayout());
}

class KernelLowering {
public:
  KernelLowering(ModuleOp module, OpBuilder &b) : module(module), eb(module, b), b(b) {}

  LogicalResult convert(gpu::GPUFuncOp fn);
  /// Replaces the GPU operations of a function body (kernel or device function).
  LogicalResult rewriteBody(Region &body);
  void finish() {
    module->setAttr("attn.emu.kernel_functions", b.getDictionaryAttr(kernelFunctions));
    eb.save();
  }

private:
  /// Rewrites one op of a kernel into host code driving the emulator (ops it
  /// does not name are kept as they are).
  LogicalResult rewrite(Operation *op);
  /// Thread, block and grid ids and sizes, barriers: emulator calls. Null when
  /// `op` is none of them.
  std::optional<LogicalResult> rewriteThreadOp(Operation *op);
  /// gpu.shuffle through the emulator's warp exchange.
  LogicalResult lowerShuffle(gpu::ShuffleOp op);
  /// Loads and stores (bounds-guarded) and workgroup allocations; null when `op`
  /// is none of them.
  std::optional<LogicalResult> rewriteMemoryOp(Operation *op);
  /// ldmatrix, mma.sync and cp.async; null when `op` is none of them.
  std::optional<LogicalResult> rewriteNvgpuOp(Operation *op);
  /// Replaces `op`'s single result by `v` and erases `op`.
  LogicalResult replaceWith(Operation *op, Value v) {
    op->getResult(0).replaceAllUsesWith(v);
    op->erase();
    return success();
  }
  Value checkGlobalAccess(Location loc, Value memref, ValueRange indices, bool isWrite,
                          int64_t lastExtent = 1);
  Value checkShared(Location loc, Value memref, ValueRange indices, int64_t elements,
                    bool isWrite);
  Value checkSharedStore(Location loc, Value memref, ValueRange indices, Value value);
  SmallVector<Value> safeIndices(Location loc, ValueRange indices, Value ok);
  void performOnlyIf(Operation *op, Value ok);
  LogicalResult guardAccess(Operation *op, Value memref, MutableOperandRange indices,
                            bool isWrite, int64_t elements, Value stored);
  Value allocateShared(Location loc, MemRefType type);
  LogicalResult lowerMma(nvgpu::MmaSyncOp op);
  void lowerPrintf(gpu::PrintfOp op);
  void lowerAssert(cf::AssertOp op);
  Value globalString(Location loc, StringRef text);

  ModuleOp module;
  EmuBuilder eb;
  OpBuilder &b;
  int64_t sharedIds = 0, printfFormats = 0;
  SmallVector<NamedAttribute> kernelFunctions;
};

/// For an access to global memory of `lastExtent` consecutive elements along the
/// innermost dimension: reports indices outside the memref's shape; returns whether
/// the access is inside it (i1).
Value KernelLowering::checkGlobalAccess(Location loc, Value memref, ValueRange indices,
                                        bool isWrite, int64_t lastExtent) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value inBounds = arith::ConstantIntOp::create(b, loc, 1, 1);
  for (auto [d, index] : llvm::enumerate(indices)) {
    Value size = memref::DimOp::create(b, loc, memref, int64_t(d));
    Value end = index;
    if (d + 1 == indices.size() && lastExtent > 1)
      end = arith::AddIOp::create(b, loc, index,
                                  arith::ConstantIndexOp::create(b, loc, lastExtent - 1));
    Value ok = arith::AndIOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, index, c0),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, end, size));
    inBounds = arith::AndIOp::create(b, loc, inBounds, ok);
  }
  Value outOfBounds =
      arith::XOrIOp::create(b, loc, inBounds, arith::ConstantIntOp::create(b, loc, 1, 1));
  auto ifOp = scf::IfOp::create(b, loc, outOfBounds, /*withElse=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    eb.call(loc, "attnc_emu_out_of_bounds", {}, {eb.i64(loc, isWrite ? 1 : 0), eb.locIndex(loc)});
  }
  return inBounds;
}

/// `indices`, or zeros where `ok` is false: a faulting load reads element 0 (its
/// value is never used: the fault has been reported and the kernel stops).
SmallVector<Value> KernelLowering::safeIndices(Location loc, ValueRange indices, Value ok) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  SmallVector<Value> safe;
  for (Value index : indices)
    safe.push_back(arith::SelectOp::create(b, loc, ok, index, c0));
  return safe;
}

/// Moves `op` (no results) into an scf.if on `ok`: a faulting store is reported and
/// not performed, so memory beyond a buffer is never written.
void KernelLowering::performOnlyIf(Operation *op, Value ok) {
  auto ifOp = scf::IfOp::create(b, op->getLoc(), ok, /*withElse=*/false);
  op->moveBefore(ifOp.thenBlock()->getTerminator());
}

/// Checks a load or store of `elements` consecutive elements (`stored`: the value
/// of a scalar store) and makes sure a faulting one touches no memory.
LogicalResult KernelLowering::guardAccess(Operation *op, Value memref,
                                          MutableOperandRange indices, bool isWrite,
                                          int64_t elements, Value stored) {
  Location loc = op->getLoc();
  SmallVector<Value> idx(ValueRange(indices.getAsOperandRange()));
  Value ok = !isWorkgroup(memref.getType()) ? checkGlobalAccess(loc, memref, idx, isWrite, elements)
             : stored ? checkSharedStore(loc, memref, idx, stored)
                      : checkShared(loc, memref, idx, elements, isWrite);
  if (isWrite)
    performOnlyIf(op, ok);
  else
    indices.assign(safeIndices(loc, idx, ok));
  return success();
}

/// Checks an access of `elements` consecutive elements at `indices` of workgroup
/// memory against the block's allocations (bounds and races).
Value KernelLowering::checkShared(Location loc, Value memref, ValueRange indices,
                                 int64_t elements, bool isWrite) {
  auto type = cast<MemRefType>(memref.getType());
  int64_t bytes = elements * type.getElementTypeBitWidth() / 8;
  Value address = eb.elementAddress(loc, memref, indices);
  Value ok = eb.call(loc, "attnc_emu_check_shared", {b.getI64Type()},
                     {address, eb.i64(loc, bytes), eb.i64(loc, isWrite ? 1 : 0), eb.siteIndex(loc)});
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, ok, eb.i64(loc, 0));
}

/// Checks a scalar store to workgroup memory, passing the stored bits so that a
/// store of the value the memory already holds is not reported as a race.
Value KernelLowering::checkSharedStore(Location loc, Value memref, ValueRange indices,
                                       Value value) {
  Type t = value.getType();
  if (!t.isIntOrIndexOrFloat() || (!t.isIndex() && t.getIntOrFloatBitWidth() % 8 != 0) ||
      (!t.isIndex() && t.getIntOrFloatBitWidth() > 64))
    return checkShared(loc, memref, indices, 1, /*isWrite=*/true);
  int64_t bytes = t.isIndex() ? 8 : t.getIntOrFloatBitWidth() / 8;
  Value bits = value;
  if (isa<FloatType>(t))
    bits = arith::BitcastOp::create(b, loc, b.getIntegerType(bytes * 8), value);
  bits = t.isIndex() ? eb.toI64(loc, bits)
         : bytes == 8 ? bits
                      : Value(arith::ExtUIOp::create(b, loc, b.getI64Type(), bits));
  Value address = eb.elementAddress(loc, memref, indices);
  Value ok = eb.call(loc, "attnc_emu_check_shared_store", {b.getI64Type()},
                     {address, eb.i64(loc, bytes), bits, eb.siteIndex(loc)});
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, ok, eb.i64(loc, 0));
}

/// One per-block workgroup allocation of `type`, viewed with `type` (memory space
/// included); null if the type is not a static identity-layout memref.
Value KernelLowering::allocateShared(Location loc, MemRefType type) {
  if (!type.hasStaticShape() || !type.getLayout().isIdentity())
    return {};
  int64_t bytes = type.getNumElements() * type.getElementTypeBitWidth() / 8;
  auto raw = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
  Value buffer = eb.call(loc, "attnc_emu_shared", {raw},
                         {eb.i64(loc, sharedIds++), eb.i64(loc, bytes)}, /*cInterface=*/true);
  Value view = memref::ViewOp::create(b, loc, hostType(type), buffer,
                                      arith::ConstantIndexOp::create(b, loc, 0), ValueRange{});
  if (!type.getMemorySpace())
    return view;
  return memref::MemorySpaceCastOp::create(b, loc, type, view);
}

/// Whether `name` is free in the host module (gpu.modules are erased at the end:
/// their names may be reused).
static bool isFree(ModuleOp module, StringRef name) {
  for (Operation &op : module.getBody()->getOperations())
    if (auto sym = dyn_cast<SymbolOpInterface>(op);
        sym && !isa<gpu::GPUModuleOp>(op) && sym.getName() == name)
      return false;
  return true;
}

LogicalResult KernelLowering::convert(gpu::GPUFuncOp kernel) {
  Location loc = kernel.getLoc();
  std::string name = kernel.getName().str();
  StringRef moduleName = kernel->getParentOfType<gpu::GPUModuleOp>().getName();
  if (kernel.isKernel()) {
    // Kernels are only referred to by launches: a taken name gets the module's.
    for (int suffix = 0; !isFree(module, name); ++suffix)
      name = (moduleName + "_" + kernel.getName()).str() +
             (suffix ? "_" + std::to_string(suffix) : "");
    kernelFunctions.push_back(b.getNamedAttr(
        (moduleName + "::" + kernel.getName()).str(), b.getStringAttr(name)));
  } else if (!isFree(module, name)) {
    return kernel.emitError("cuda-emu: the module already has a symbol named '")
           << name << "' (device functions become host functions)";
  }
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  FunctionType type = kernel.getFunctionType();
  auto fn = func::FuncOp::create(b, loc, name, type);
  if (kernel.isKernel())
    fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  else
    fn.setPrivate();
  // (Attribution counts are read off the gpu.func's body: before it moves.)
  unsigned numInputs = type.getNumInputs();
  unsigned numWorkgroup = kernel.getNumWorkgroupAttributions();
  unsigned numPrivate = kernel.getNumPrivateAttributions();
  fn.getBody().takeBody(kernel.getBody());
  Block &entry = fn.front();
  b.setInsertionPointToStart(&entry);
  for (unsigned i = 0; i < numWorkgroup + numPrivate; ++i) {
    BlockArgument attribution = entry.getArgument(numInputs + i);
    auto memType = cast<MemRefType>(attribution.getType());
    Value view;
    if (i < numWorkgroup) {
      view = allocateShared(loc, memType);
      if (!view)
        return kernel.emitError("cuda-emu: workgroup attributions must have a static shape "
                                "and the identity layout");
    } else {
      // Private memory: per thread, on the thread's fiber stack.
      view = memref::AllocaOp::create(b, loc, hostType(memType));
      if (memType.getMemorySpace())
        view = memref::MemorySpaceCastOp::create(b, loc, memType, view);
    }
    attribution.replaceAllUsesWith(view);
  }
  entry.eraseArguments(numInputs, numWorkgroup + numPrivate);

  return rewriteBody(fn.getBody());
}

LogicalResult KernelLowering::rewriteBody(Region &body) {
  replaceMmaMatrixTypes(body.getParentOp());
  SmallVector<Operation *> ops;
  body.walk([&](Operation *op) { ops.push_back(op); });
  for (Operation *op : ops)
    if (failed(rewrite(op)))
      return failure();
  return success();
}

LogicalResult KernelLowering::lowerMma(nvgpu::MmaSyncOp o) {
  Location loc = o.getLoc();
  auto shape = o.getMmaShapeAsArray();
  VectorType aType = o.getMatrixA().getType(), cType = o.getMatrixC().getType();
  Type aElt = aType.getElementType(), cElt = cType.getElementType();
  bool halfIn = aElt.isF16() || aElt.isBF16();
  bool m16n8 = shape[0] == 16 && shape[1] == 8;
  bool halfForm = m16n8 && halfIn && (shape[2] == 16 || shape[2] == 8) &&
                  (cElt.isF32() || (cElt.isF16() && aElt.isF16()));
  bool tf32Form = m16n8 && aElt.isF32() && (shape[2] == 8 || shape[2] == 4) && cElt.isF32();
  if (!halfForm && !tf32Form)
    return o.emitError("cuda-emu: supported mma.sync forms are m16n8k16 and m16n8k8 with "
                       "f16/bf16 inputs (f32 accumulators, or f16 with f16 inputs) and "
                       "m16n8k8/m16n8k4 tf32 with f32 accumulators");
  // The smaller k of each form is the larger one with the missing k columns of A and
  // rows of B set to zero: the fragment layouts of m16n8k8 (f16) and m16n8k4 (tf32)
  // are the first registers of those of m16n8k16 and m16n8k8.
  int64_t aFull = halfForm ? 8 : 4, bFull = halfForm ? 4 : 2;
  auto padded = [&](Value v, int64_t count) -> Value {
    auto vt = cast<VectorType>(v.getType());
    auto flat = VectorType::get({vt.getNumElements()}, vt.getElementType());
    Value f = vector::ShapeCastOp::create(b, loc, flat, v);
    if (vt.getNumElements() == count)
      return f;
    auto full = VectorType::get({count}, vt.getElementType());
    Value zero = arith::ConstantOp::create(b, loc, full, b.getZeroAttr(full));
    return vector::InsertStridedSliceOp::create(b, loc, f, zero, ArrayRef<int64_t>{0},
                                                ArrayRef<int64_t>{1});
  };
  Value a = padded(o.getMatrixA(), aFull), bv = padded(o.getMatrixB(), bFull);
  // f16 accumulators: the product is accumulated in f32 and rounded once.
  auto c4 = VectorType::get({4}, b.getF32Type());
  Value c = vector::ShapeCastOp::create(
      b, loc, VectorType::get({4}, cElt), o.getMatrixC());
  if (!cElt.isF32())
    c = arith::ExtFOp::create(b, loc, c4, c);
  auto [aBuf, aAddr] = eb.spill(loc, aElt, aFull, a);
  auto [bBuf, bAddr] = eb.spill(loc, aElt, bFull, bv);
  auto [cBuf, cAddr] = eb.spill(loc, b.getF32Type(), 4, c);
  auto [dBuf, dAddr] = eb.spill(loc, b.getF32Type(), 4);
  if (halfForm)
    eb.call(loc, "attnc_emu_mma_m16n8k16", {},
            {aAddr, bAddr, cAddr, dAddr, eb.i64(loc, aElt.isBF16() ? 1 : 0), eb.locIndex(loc)});
  else
    eb.call(loc, "attnc_emu_mma_m16n8k8_tf32", {},
            {aAddr, bAddr, cAddr, dAddr, eb.locIndex(loc)});
  Value d = eb.reload(loc, dBuf, c4);
  if (!cElt.isF32())
    d = arith::TruncFOp::create(b, loc, VectorType::get({4}, cElt), d);
  o.getRes().replaceAllUsesWith(vector::ShapeCastOp::create(b, loc, cType, d).getResult());
  o.erase();
  return success();
}

/// gpu.printf → the C library's printf (each thread prints when it gets there, in
/// the order the emulator runs the threads). Arguments get C's default promotions.
/// A pointer to `text` (NUL-terminated) in a new constant global of the module.
Value KernelLowering::globalString(Location loc, StringRef text) {
  std::string bytes = text.str();
  bytes.push_back('\0');
  std::string name = "attnc_emu_string_" + std::to_string(printfFormats++);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    auto arrayType = LLVM::LLVMArrayType::get(b.getI8Type(), bytes.size());
    LLVM::GlobalOp::create(b, loc, arrayType, /*isConstant=*/true, LLVM::Linkage::Internal,
                           name, b.getStringAttr(bytes));
  }
  return LLVM::AddressOfOp::create(b, loc, LLVM::LLVMPointerType::get(module.getContext()),
                                   name);
}

/// cf.assert in a kernel: a failing one is reported with its message, location,
/// block and thread, like any other fault (it would otherwise abort the process).
void KernelLowering::lowerAssert(cf::AssertOp op) {
  Location loc = op.getLoc();
  Value failed = arith::XOrIOp::create(b, loc, op.getArg(),
                                       arith::ConstantIntOp::create(b, loc, 1, 1));
  auto ifOp = scf::IfOp::create(b, loc, failed, /*withElse=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    eb.call(loc, "attnc_emu_assert_failed", {}, {globalString(loc, op.getMsg()), eb.locIndex(loc)});
  }
  op.erase();
}

void KernelLowering::lowerPrintf(gpu::PrintfOp op) {
  Location loc = op.getLoc();
  MLIRContext *ctx = module.getContext();
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  auto printfType = LLVM::LLVMFunctionType::get(b.getI32Type(), {ptrType}, /*isVarArg=*/true);
  auto printf = module.lookupSymbol<LLVM::LLVMFuncOp>("printf");
  if (!printf) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    printf = LLVM::LLVMFuncOp::create(b, loc, "printf", printfType);
  }
  SmallVector<Value> args{globalString(loc, op.getFormat())};
  for (Value v : op.getArgs()) {
    Type t = v.getType();
    if (isa<FloatType>(t))
      v = t.isF64() ? v : Value(arith::ExtFOp::create(b, loc, b.getF64Type(), v));
    else if (t.isIndex())
      v = eb.toI64(loc, v);
    else if (t.getIntOrFloatBitWidth() < 32)
      v = arith::ExtSIOp::create(b, loc, b.getI32Type(), v);
    args.push_back(v);
  }
  LLVM::CallOp::create(b, loc, printf, args);
  op.erase();
}

LogicalResult KernelLowering::rewrite(Operation *op) {
  Location loc = op->getLoc();
  b.setInsertionPoint(op);
  if (std::optional<LogicalResult> done = rewriteThreadOp(op))
    return *done;
  if (auto o = dyn_cast<gpu::ShuffleOp>(op))
    return lowerShuffle(o);
  if (std::optional<LogicalResult> done = rewriteMemoryOp(op))
    return *done;
  if (std::optional<LogicalResult> done = rewriteNvgpuOp(op))
    return *done;
  if (auto o = dyn_cast<cf::AssertOp>(op)) {
    lowerAssert(o);
    return success();
  }
  if (auto o = dyn_cast<gpu::PrintfOp>(op)) {
    lowerPrintf(o);
    return success();
  }
  if (std::optional<LogicalResult> wmma = lowerWmmaOp(op, eb))
    return *wmma;
  if (auto o = dyn_cast<gpu::ReturnOp>(op)) {
    func::ReturnOp::create(b, loc, o.getOperands());
    op->erase();
    return success();
  }
  if (isa_and_nonnull<gpu::GPUDialect, nvgpu::NVGPUDialect>(op->getDialect()))
    return op->emitError("cuda-emu: '") << op->getName() << "' is not supported in kernels";
  return success();
}

std::optional<LogicalResult> KernelLowering::rewriteThreadOp(Operation *op) {
  Location loc = op->getLoc();
  Type i64Type = b.getI64Type();
  auto idCall = [&](StringRef fn, gpu::Dimension d) {
    return replaceWith(op, arith::IndexCastOp::create(
                               b, loc, b.getIndexType(),
                               eb.call(loc, fn, {i64Type}, {eb.i64(loc, int64_t(d))})));
  };
  if (auto o = dyn_cast<gpu::ThreadIdOp>(op))
    return idCall("attnc_emu_thread_id", o.getDimension());
  if (auto o = dyn_cast<gpu::BlockIdOp>(op))
    return idCall("attnc_emu_block_id", o.getDimension());
  if (auto o = dyn_cast<gpu::BlockDimOp>(op))
    return idCall("attnc_emu_block_dim", o.getDimension());
  if (auto o = dyn_cast<gpu::GridDimOp>(op))
    return idCall("attnc_emu_grid_dim", o.getDimension());
  if (isa<gpu::LaneIdOp>(op))
    return replaceWith(op, arith::IndexCastOp::create(
                               b, loc, b.getIndexType(),
                               eb.call(loc, "attnc_emu_lane_id", {i64Type}, {})));
  if (isa<gpu::SubgroupSizeOp>(op))
    return replaceWith(op, arith::ConstantIndexOp::create(b, loc, 32));
  if (isa<gpu::BarrierOp>(op)) {
    eb.call(loc, "attnc_emu_barrier", {}, {eb.locIndex(loc)});
    op->erase();
    return success();
  }
  return std::nullopt;
}

LogicalResult KernelLowering::lowerShuffle(gpu::ShuffleOp o) {
  Location loc = o.getLoc();
  Value v = o.getValue();
  Type t = v.getType();
  if (!t.isIntOrFloat() || t.getIntOrFloatBitWidth() != 32)
    return o.emitError("cuda-emu: gpu.shuffle supports 32-bit values, got ")
           << t << " (run attn-gpu-emu-rewrite first to split wider ones)";
  Value bits = t.isInteger(32) ? v : Value(arith::BitcastOp::create(b, loc, b.getI32Type(), v));
  Value packed = eb.call(loc, "attnc_emu_shuffle", {b.getI64Type()},
                         {bits, o.getOffset(), o.getWidth(),
                          arith::ConstantIntOp::create(b, loc, emulatorMode(o.getMode()), 32),
                          eb.locIndex(loc)});
  Value low = arith::TruncIOp::create(b, loc, b.getI32Type(), packed);
  Value value = t.isInteger(32) ? low : Value(arith::BitcastOp::create(b, loc, t, low));
  Value valid = arith::TruncIOp::create(
      b, loc, b.getI1Type(), arith::ShRUIOp::create(b, loc, packed, eb.i64(loc, 32)));
  o.getResult(0).replaceAllUsesWith(value);
  o.getResult(1).replaceAllUsesWith(valid);
  o.erase();
  return success();
}

std::optional<LogicalResult> KernelLowering::rewriteMemoryOp(Operation *op) {
  Location loc = op->getLoc();
  if (auto o = dyn_cast<memref::LoadOp>(op))
    return guardAccess(op, o.getMemRef(), o.getIndicesMutable(), /*isWrite=*/false, 1, {});
  if (auto o = dyn_cast<memref::StoreOp>(op))
    return guardAccess(op, o.getMemRef(), o.getIndicesMutable(), /*isWrite=*/true, 1,
                       o.getValueToStore());
  if (isa<vector::LoadOp, vector::StoreOp>(op)) {
    bool isLoad = isa<vector::LoadOp>(op);
    Value memref = isLoad ? cast<vector::LoadOp>(op).getBase() : cast<vector::StoreOp>(op).getBase();
    VectorType vt = isLoad ? cast<vector::LoadOp>(op).getVectorType()
                           : cast<vector::StoreOp>(op).getVectorType();
    auto indices = isLoad ? cast<vector::LoadOp>(op).getIndicesMutable()
                          : cast<vector::StoreOp>(op).getIndicesMutable();
    SmallVector<Value> idx(ValueRange(indices.getAsOperandRange()));
    if (vt.getRank() != 1 || idx.empty())
      return success(); // n-D vector accesses are not checked
    // The last element of the access must be inside the memref too.
    return guardAccess(op, memref, indices, !isLoad, vt.getNumElements(), {});
  }
  if (isa<memref::AllocaOp, memref::AllocOp>(op) && isWorkgroup(op->getResult(0).getType())) {
    Value view = allocateShared(loc, cast<MemRefType>(op->getResult(0).getType()));
    if (!view)
      return op->emitError("cuda-emu: workgroup allocations must have a static shape and "
                           "the identity layout");
    return replaceWith(op, view);
  }
  if (isa<memref::DeallocOp>(op) && isWorkgroup(op->getOperand(0).getType())) {
    op->erase(); // per-block memory lives as long as the block
    return success();
  }
  if (auto o = dyn_cast<gpu::DynamicSharedMemoryOp>(op)) {
    auto raw = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    Value buffer = eb.call(loc, "attnc_emu_dynamic_shared", {raw}, {}, /*cInterface=*/true);
    return replaceWith(op, memref::MemorySpaceCastOp::create(b, loc, o.getType(), buffer));
  }
  return std::nullopt;
}

std::optional<LogicalResult> KernelLowering::rewriteNvgpuOp(Operation *op) {
  Location loc = op->getLoc();
  if (auto o = dyn_cast<nvgpu::LdMatrixOp>(op)) {
    Value address = eb.elementAddress(loc, o.getSrcMemref(), o.getIndices());
    int64_t tiles = o.getNumTiles();
    auto [buffer, outAddress] = eb.spill(loc, b.getI32Type(), tiles);
    eb.call(loc, "attnc_emu_ldmatrix", {},
            {address, eb.i64(loc, tiles), eb.i64(loc, o.getTranspose() ? 1 : 0), outAddress,
             eb.locIndex(loc)});
    // The registers, reinterpreted as the op's vector<tiles x 2 x b16>.
    Value regs = eb.reload(loc, buffer, VectorType::get({tiles, 1}, b.getI32Type()));
    return replaceWith(op, vector::BitCastOp::create(b, loc, o.getRes().getType(), regs));
  }
  if (auto o = dyn_cast<nvgpu::MmaSyncOp>(op))
    return lowerMma(o);
  if (auto o = dyn_cast<nvgpu::DeviceAsyncCopyOp>(op)) {
    Value dst = eb.elementAddress(loc, o.getDst(), o.getDstIndices());
    Value src = eb.elementAddress(loc, o.getSrc(), o.getSrcIndices());
    int64_t eltBytes = o.getDst().getType().getElementTypeBitWidth() / 8;
    int64_t elements = int64_t(o.getDstElements().getZExtValue());
    Value srcBytes = eb.i64(loc, elements * eltBytes);
    if (Value srcElements = o.getSrcElements())
      srcBytes = arith::MulIOp::create(b, loc, eb.toI64(loc, srcElements), eb.i64(loc, eltBytes));
    eb.call(loc, "attnc_emu_async_copy", {},
            {dst, src, eb.i64(loc, elements * eltBytes), srcBytes, eb.siteIndex(loc)});
    return replaceWith(op, UnrealizedConversionCastOp::create(b, loc, o.getType(), ValueRange{})
                               .getResult(0)); // tokens carry no data here
  }
  if (auto o = dyn_cast<nvgpu::DeviceAsyncCreateGroupOp>(op)) {
    eb.call(loc, "attnc_emu_async_commit", {}, {});
    return replaceWith(
        op, UnrealizedConversionCastOp::create(b, loc, o.getType(), ValueRange{}).getResult(0));
  }
  if (auto o = dyn_cast<nvgpu::DeviceAsyncWaitOp>(op)) {
    int64_t groups = o.getNumGroups() ? int64_t(*o.getNumGroups()) : 0;
    eb.call(loc, "attnc_emu_async_wait", {}, {eb.i64(loc, groups), eb.locIndex(loc)});
    op->erase();
    return success();
  }
  return std::nullopt;
}

/// Drops the memory spaces of all memref types in `module` (host code has one kind
/// of memory), then removes the memory-space casts that became no-ops and the
/// stand-in token values of async copies.
void dropMemorySpaces(ModuleOp module) {
  AttrTypeReplacer replacer;
  replacer.addReplacement([](BaseMemRefType type) -> std::optional<Type> {
    if (!type.getMemorySpace())
      return std::nullopt;
    if (auto ranked = dyn_cast<MemRefType>(type))
      return hostType(ranked);
    return UnrankedMemRefType::get(type.getElementType(), Attribute());
  });
  replacer.recursivelyReplaceElementsIn(module, /*replaceAttrs=*/true, /*replaceLocs=*/false,
                                        /*replaceTypes=*/true);
  module.walk([](Operation *op) {
    if (auto cast = dyn_cast<memref::MemorySpaceCastOp>(op)) {
      if (cast.getSource().getType() == cast.getType()) {
        cast.getResult().replaceAllUsesWith(cast.getSource());
        cast.erase();
      }
    } else if (auto token = dyn_cast<UnrealizedConversionCastOp>(op)) {
      if (token->getNumOperands() == 0 && token->use_empty())
        token.erase();
    }
  });
}

struct AttnGpuToEmuPass : impl::AttnGpuToEmuBase<AttnGpuToEmuPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    WalkResult launches = module.walk([](gpu::LaunchFuncOp launch) {
      launch.emitError("cuda-emu: lower host code with attn-gpu-host-to-emu before "
                       "attn-gpu-to-emu");
      return WalkResult::interrupt();
    });
    if (launches.wasInterrupted())
      return signalPassFailure();
    OpBuilder b(module.getContext());
    KernelLowering lowering(module, b);
    SmallVector<gpu::GPUModuleOp> gpuModules(module.getOps<gpu::GPUModuleOp>());
    for (gpu::GPUModuleOp gpuModule : gpuModules) {
      for (Operation &op : llvm::make_early_inc_range(gpuModule.getBody()->getOperations())) {
        if (auto fn = dyn_cast<gpu::GPUFuncOp>(op)) {
          if (failed(lowering.convert(fn)))
            return signalPassFailure();
        } else if (!op.hasTrait<OpTrait::IsTerminator>()) {
          // Other functions (func.func device code): host functions too.
          auto sym = dyn_cast<SymbolOpInterface>(op);
          if (sym && !isFree(module, sym.getName())) {
            op.emitError("cuda-emu: the module already has a symbol named '")
                << sym.getName() << "'";
            return signalPassFailure();
          }
          op.moveBefore(module.getBody(), module.getBody()->end());
          if (auto fn = dyn_cast<func::FuncOp>(op); fn && failed(lowering.rewriteBody(fn.getBody())))
            return signalPassFailure();
        }
      }
    }
    for (gpu::GPUModuleOp gpuModule : gpuModules)
      gpuModule.erase();
    module->removeAttr("gpu.container_module");
    dropMemorySpaces(module);
    lowering.finish();
  }
};

} // namespace
} // namespace attnc::emu
