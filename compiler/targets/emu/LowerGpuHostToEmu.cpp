//===- LowerGpuHostToEmu.cpp - host-side GPU ops for the emulator ----------===//
//
// Under cuda-emu the "device" is this process: device memory is host memory and
// every GPU operation completes before it returns. So allocations and copies become
// memref operations, registration and waits disappear, async tokens are dropped,
// and a kernel launch becomes one call into the emulator with the kernel's operands
// packed the way the JIT's packed interface of the lowered kernel expects them.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/emu/EmuBuilder.h"
#include "compiler/targets/emu/Passes.h"

using namespace mlir;

namespace attnc::emu {
#define GEN_PASS_DEF_ATTNGPUHOSTTOEMU
#include "compiler/targets/emu/Passes.h.inc"

namespace {

constexpr llvm::StringLiteral kKernelsAttr = "attn.emu.kernels";

class HostLowering {
public:
  HostLowering(ModuleOp module, OpBuilder &b) : module(module), eb(module, b), b(b) {
    if (auto names = module->getAttrOfType<ArrayAttr>(kKernelsAttr))
      for (Attribute a : names)
        kernelIndex(cast<StringAttr>(a).getValue());
  }

  LogicalResult lower(Operation *op);
  LogicalResult finish();

private:
  int64_t kernelIndex(StringRef name) {
    auto [it, inserted] = kernels.try_emplace(name, kernelNames.size());
    if (inserted)
      kernelNames.push_back(name.str());
    return int64_t(it->second);
  }
  /// A stand-in for an async token: the i64 handle of an asynchronous launch, or
  /// nothing for work that is complete when its operation returns.
  Value token(Location loc, Type type, Value handle = {}) {
    Value t = UnrealizedConversionCastOp::create(b, loc, type,
                                                 handle ? ValueRange{handle} : ValueRange{})
                  .getResult(0);
    tokens.push_back(t);
    return t;
  }
  void replaceToken(Operation *op, Value asyncToken, Value handle = {}) {
    if (asyncToken)
      asyncToken.replaceAllUsesWith(token(op->getLoc(), asyncToken.getType(), handle));
  }
  /// The launch handle behind a token (an i64; 0 for completed work).
  FailureOr<Value> handleOf(Operation *user, Value token) {
    auto cast = token.getDefiningOp<UnrealizedConversionCastOp>();
    if (!cast || !llvm::is_contained(tokens, token))
      return user->emitError("cuda-emu: async tokens must come from GPU operations of "
                             "the same block");
    if (cast->getNumOperands() == 0)
      return eb.i64(user->getLoc(), 0);
    return cast->getOperand(0);
  }
  /// Host-side GPU operations run at once: first wait for the launches they depend on.
  LogicalResult waitFor(Operation *op, ValueRange deps) {
    for (Value dep : deps) {
      FailureOr<Value> handle = handleOf(op, dep);
      if (failed(handle))
        return failure();
      if (dep.getDefiningOp()->getNumOperands() != 0)
        eb.call(op->getLoc(), "attnc_emu_wait", {}, {*handle});
    }
    return success();
  }
  LogicalResult lowerLaunch(gpu::LaunchFuncOp op);
  /// One launch operand as the 64 bits of its argument slot: a scalar's bits, or
  /// the address of a memref's C-interface descriptor (built here).
  FailureOr<Value> operandBits(gpu::LaunchFuncOp op, Value v);
  Value launchHandle; ///< the handle of the last asynchronous launch lowered
  void fill(Location loc, Value memref, Value value);

  ModuleOp module;
  EmuBuilder eb;
  OpBuilder &b;
  llvm::StringMap<size_t> kernels;
  std::vector<std::string> kernelNames;
  SmallVector<Value> tokens;
};

/// Stores `value` into every element of `memref` (nested loops over its shape).
void HostLowering::fill(Location loc, Value memref, Value value) {
  auto type = cast<MemRefType>(memref.getType());
  SmallVector<Value> indices;
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  OpBuilder::InsertionGuard guard(b);
  for (int64_t d = 0; d < type.getRank(); ++d) {
    Value size = memref::DimOp::create(b, loc, memref, d);
    auto loop = scf::ForOp::create(b, loc, c0, size, c1);
    indices.push_back(loop.getInductionVar());
    b.setInsertionPoint(loop.getBody()->getTerminator());
  }
  memref::StoreOp::create(b, loc, value, memref, indices);
}

FailureOr<Value> HostLowering::operandBits(gpu::LaunchFuncOp op, Value v) {
  Location loc = op.getLoc();
  Type t = v.getType();
  Type i64 = b.getI64Type();
  auto index = [&](int64_t i) { return arith::ConstantIndexOp::create(b, loc, i); };
  if (auto memType = dyn_cast<MemRefType>(t)) {
    // The C-interface descriptor: allocated and aligned pointers, offset, sizes,
    // strides, each 64 bits. The kernel only uses the aligned pointer.
    int64_t rank = memType.getRank();
    Value desc = memref::AllocaOp::create(b, loc, MemRefType::get({3 + 2 * rank}, i64));
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, v);
    Value ptr = eb.baseAddress(loc, v);
    memref::StoreOp::create(b, loc, ptr, desc, ValueRange{index(0)});
    memref::StoreOp::create(b, loc, ptr, desc, ValueRange{index(1)});
    memref::StoreOp::create(b, loc, eb.toI64(loc, meta.getOffset()), desc, ValueRange{index(2)});
    for (int64_t d = 0; d < rank; ++d) {
      memref::StoreOp::create(b, loc, eb.toI64(loc, meta.getSizes()[d]), desc,
                              ValueRange{index(3 + d)});
      memref::StoreOp::create(b, loc, eb.toI64(loc, meta.getStrides()[d]), desc,
                              ValueRange{index(3 + rank + d)});
    }
    return eb.baseAddress(loc, desc);
  }
  if (t.isIndex() || t.isInteger(64))
    return eb.toI64(loc, v);
  unsigned width = t.getIntOrFloatBitWidth();
  if (width > 64)
    return op.emitError("cuda-emu: scalar kernel operands are at most 64 bits, got ") << t;
  Value raw =
      isa<FloatType>(t) ? Value(arith::BitcastOp::create(b, loc, b.getIntegerType(width), v)) : v;
  return width == 64 ? raw : Value(arith::ExtUIOp::create(b, loc, i64, raw));
}

LogicalResult HostLowering::lowerLaunch(gpu::LaunchFuncOp op) {
  Location loc = op.getLoc();
  if (op.hasClusterSize())
    return op.emitError("cuda-emu: thread block clusters are not supported");
  if (op.getAsyncObject())
    return op.emitError("cuda-emu: launches on an explicit stream object are not supported");
  // Kernels are named by their path; attn-gpu-to-emu maps paths to host functions.
  int64_t kernel = kernelIndex(
      (op.getKernelModuleName().getValue() + "::" + op.getKernelName().getValue()).str());
  ValueRange operands = op.getKernelOperands();
  for (Value v : operands) {
    Type t = v.getType();
    if (!isa<MemRefType, IndexType, IntegerType, FloatType>(t))
      return op.emitError("cuda-emu: kernel operands must be ranked memrefs or scalars, got ")
             << t;
  }
  Type i64 = b.getI64Type();
  auto scope = memref::AllocaScopeOp::create(
      b, loc, op.getAsyncToken() ? TypeRange{i64} : TypeRange{});
  launchHandle = op.getAsyncToken() ? scope.getResult(0) : Value();
  Block *body = new Block();
  scope.getBodyRegion().push_back(body);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(body);
  auto slotsType = MemRefType::get({std::max<int64_t>(1, operands.size())}, i64);
  // slots[i] holds operand i (its bits, or its descriptor's address); argv[i] = &slots[i].
  Value slots = memref::AllocaOp::create(b, loc, slotsType);
  Value argv = memref::AllocaOp::create(b, loc, slotsType);
  Value slotsBase = eb.baseAddress(loc, slots);
  auto index = [&](int64_t i) { return arith::ConstantIndexOp::create(b, loc, i); };
  for (auto [i, v] : llvm::enumerate(operands)) {
    FailureOr<Value> bits = operandBits(op, v);
    if (failed(bits))
      return failure();
    memref::StoreOp::create(b, loc, *bits, slots, ValueRange{index(int64_t(i))});
    Value address = arith::AddIOp::create(b, loc, slotsBase, eb.i64(loc, 8 * int64_t(i)));
    memref::StoreOp::create(b, loc, address, argv, ValueRange{index(int64_t(i))});
  }
  gpu::KernelDim3 grid = op.getGridSizeOperandValues();
  gpu::KernelDim3 block = op.getBlockSizeOperandValues();
  Value sharedBytes = op.getDynamicSharedMemorySize()
                          ? eb.toI64(loc, op.getDynamicSharedMemorySize())
                          : eb.i64(loc, 0);
  SmallVector<Value> args{eb.i64(loc, kernel),    eb.toI64(loc, grid.x),  eb.toI64(loc, grid.y),
                          eb.toI64(loc, grid.z),  eb.toI64(loc, block.x), eb.toI64(loc, block.y),
                          eb.toI64(loc, block.z), sharedBytes,            eb.baseAddress(loc, argv)};
  if (!op.getAsyncToken()) {
    args.push_back(eb.locIndex(loc));
    eb.call(loc, "attnc_emu_launch", {}, args);
    memref::AllocaScopeReturnOp::create(b, loc, ValueRange{});
    return success();
  }
  // Asynchronous: the runtime copies the arguments (kinds: memref ranks, -1 for
  // scalars) and starts the launch after its dependencies, on a thread of its own.
  Value kinds = memref::AllocaOp::create(b, loc, slotsType);
  for (auto [i, v] : llvm::enumerate(operands)) {
    auto memType = dyn_cast<MemRefType>(v.getType());
    memref::StoreOp::create(b, loc, eb.i64(loc, memType ? memType.getRank() : -1), kinds,
                            ValueRange{index(int64_t(i))});
  }
  ValueRange depTokens = op.getAsyncDependencies();
  auto depsType = MemRefType::get({std::max<int64_t>(1, depTokens.size())}, i64);
  Value deps = memref::AllocaOp::create(b, loc, depsType);
  for (auto [i, dep] : llvm::enumerate(depTokens)) {
    FailureOr<Value> handle = handleOf(op, dep);
    if (failed(handle))
      return failure();
    memref::StoreOp::create(b, loc, *handle, deps, ValueRange{index(int64_t(i))});
  }
  llvm::append_range(args, ValueRange{eb.baseAddress(loc, kinds),
                                      eb.i64(loc, int64_t(operands.size())),
                                      eb.baseAddress(loc, deps),
                                      eb.i64(loc, int64_t(depTokens.size())), eb.locIndex(loc)});
  Value handle = eb.call(loc, "attnc_emu_launch_async", {i64}, args);
  memref::AllocaScopeReturnOp::create(b, loc, ValueRange{handle});
  return success();
}

LogicalResult HostLowering::lower(Operation *op) {
  Location loc = op->getLoc();
  b.setInsertionPoint(op);
  if (auto o = dyn_cast<gpu::LaunchFuncOp>(op)) {
    if (failed(lowerLaunch(o)))
      return failure();
    replaceToken(op, o.getAsyncToken(), launchHandle);
    op->erase();
    return success();
  }
  auto asyncOp = dyn_cast<gpu::AsyncOpInterface>(op);
  if (asyncOp && failed(waitFor(op, asyncOp.getAsyncDependencies())))
    return failure();
  if (auto o = dyn_cast<gpu::AllocOp>(op)) {
    Value memref = memref::AllocOp::create(b, loc, o.getMemref().getType(),
                                           o.getDynamicSizes(), o.getSymbolOperands(),
                                           b.getI64IntegerAttr(64));
    o.getMemref().replaceAllUsesWith(memref);
    replaceToken(op, o.getAsyncToken());
  } else if (auto o = dyn_cast<gpu::DeallocOp>(op)) {
    memref::DeallocOp::create(b, loc, o.getMemref());
    replaceToken(op, o.getAsyncToken());
  } else if (auto o = dyn_cast<gpu::MemcpyOp>(op)) {
    memref::CopyOp::create(b, loc, o.getSrc(), o.getDst());
    replaceToken(op, o.getAsyncToken());
  } else if (auto o = dyn_cast<gpu::MemsetOp>(op)) {
    fill(loc, o.getDst(), o.getValue());
    replaceToken(op, o.getAsyncToken());
  } else if (auto o = dyn_cast<gpu::WaitOp>(op)) {
    replaceToken(op, o.getAsyncToken());
  } else if (isa<gpu::HostRegisterOp, gpu::HostUnregisterOp>(op)) {
    // Host memory is device memory here.
  } else if (isa<gpu::LaunchOp>(op)) {
    return op->emitError("cuda-emu: outline gpu.launch bodies first (gpu-kernel-outlining)");
  } else {
    return op->emitError("cuda-emu: '") << op->getName() << "' is not supported in host code";
  }
  op->erase();
  return success();
}

LogicalResult HostLowering::finish() {
  for (Value t : tokens) {
    if (!t.use_empty()) {
      Operation *user = *t.getUsers().begin();
      return user->emitError("cuda-emu: a gpu async token is used by '")
             << user->getName() << "'; tokens may only connect GPU operations";
    }
  }
  for (Value t : tokens)
    t.getDefiningOp()->erase();
  SmallVector<Attribute> names;
  for (const std::string &name : kernelNames)
    names.push_back(b.getStringAttr(name));
  module->setAttr(kKernelsAttr, b.getArrayAttr(names));
  eb.save();
  return success();
}

struct AttnGpuHostToEmuPass : impl::AttnGpuHostToEmuBase<AttnGpuHostToEmuPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> ops;
    module.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::GPUModuleOp>(op))
        return WalkResult::skip();
      if (!isa_and_nonnull<gpu::GPUDialect>(op->getDialect()))
        return WalkResult::advance();
      ops.push_back(op);
      return isa<gpu::LaunchOp>(op) ? WalkResult::skip() : WalkResult::advance();
    });
    OpBuilder b(module.getContext());
    HostLowering lowering(module, b);
    for (Operation *op : ops)
      if (failed(lowering.lower(op)))
        return signalPassFailure();
    if (failed(lowering.finish()))
      return signalPassFailure();
  }
};

} // namespace
} // namespace attnc::emu
