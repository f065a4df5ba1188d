//===- LaunchDescription.cpp - what the runtime needs to launch a kernel ---===//
//
// After gpu-kernel-outlining, `@X_gpu` is host code around one gpu.launch_func:
//
//   %d2 = memref.dim %q, %c2
//   %nq = arith.ceildivui %d2, %c64          // grid.x: query tiles
//   %b  = memref.dim %q, %c0                 // grid.z: batch
//   gpu.launch_func @X_gpu_kernel::@X_gpu_kernel blocks in (%nq, %c8, %b)
//       threads in (%c128, %c1, %c1) args(%d2 : index, %q : memref<...>, ...)
//
// The runtime does not run this host code: it launches the kernel itself
// (runtime/cuda/GpuLaunch.h) from the description read off it here. Every
// operand of the launch must be an argument of @X_gpu or a memref.dim of one at
// a constant dimension, and the grid must be (ceil(Q / blockQ), H, B) (for a
// backward kernel, `@X_backward_gpu` marked kBackwardKernelAttr: (splits, H_KV, B),
// splits = dim 0 of its dQ partials); anything else is a compiler error rather than a launch the runtime
// would get wrong.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cuda/Passes.h"
#include "compiler/targets/cuda/PtxPipeline.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace attnc::cuda {

namespace {

/// The constant an index value folds to, if any.
std::optional<int64_t> constantIndex(Value v) {
  APInt value;
  if (v && matchPattern(v, m_ConstantInt(&value)))
    return value.getSExtValue();
  return std::nullopt;
}

/// The parameter group `operand` of a launch in `host` stands for.
std::optional<GpuParam> paramFor(Value operand, func::FuncOp host) {
  auto fromHost = [&](Value v) -> std::optional<int32_t> {
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || arg.getOwner() != &host.getBody().front())
      return std::nullopt;
    return int32_t(arg.getArgNumber());
  };
  if (std::optional<int32_t> arg = fromHost(operand))
    return GpuParam{GpuParam::Kind::Argument, *arg, 0};
  if (auto dim = operand.getDefiningOp<memref::DimOp>()) {
    std::optional<int32_t> arg = fromHost(dim.getSource());
    std::optional<int64_t> index = constantIndex(dim.getIndex());
    if (arg && index)
      return GpuParam{GpuParam::Kind::Size, *arg, int32_t(*index)};
  }
  return std::nullopt;
}

/// Whether `v` is memref.dim of the host's argument `argument` at dimension `d`.
bool isArgumentDim(Value v, unsigned argument, int64_t d) {
  auto dim = v.getDefiningOp<memref::DimOp>();
  auto arg = dim ? dyn_cast<BlockArgument>(dim.getSource()) : BlockArgument();
  return arg && arg.getArgNumber() == argument && constantIndex(dim.getIndex()) == d;
}
bool isQueryDim(Value v, int64_t d) { return isArgumentDim(v, 0, d); }

/// Whether `launch` has a backward kernel's grid: (splits, H_KV, B), the splits
/// being dim 0 of the dQ partials (argument 6 of `@X_backward_gpu`).
bool hasBackwardGrid(gpu::LaunchFuncOp launch, int64_t headsKV) {
  return isArgumentDim(launch.getGridSizeX(), 6, 0) &&
         constantIndex(launch.getGridSizeY()) == headsKV &&
         isQueryDim(launch.getGridSizeZ(), 0);
}

} // namespace

Result<GpuLaunchDesc> describeLaunch(ModuleOp module, int64_t headsQ, int64_t headsKV) {
  SmallVector<gpu::LaunchFuncOp> launches;
  module.walk([&](gpu::LaunchFuncOp op) { launches.push_back(op); });
  if (launches.size() != 1)
    return Status::error("expected one GPU kernel launch in the host code, found " +
                         std::to_string(launches.size()));
  gpu::LaunchFuncOp launch = launches.front();
  auto host = launch->getParentOfType<func::FuncOp>();
  GpuLaunchDesc desc;
  desc.kernel = launch.getKernelName().getValue().str();
  // Grid (ceil(Q / blockQ), H, B), or a backward kernel's (splits, H_KV, B); a
  // one-dimensional block of constant size.
  desc.backward = host->hasAttr(kBackwardKernelAttr);
  auto tiles = launch.getGridSizeX().getDefiningOp<arith::CeilDivUIOp>();
  std::optional<int64_t> blockQ = tiles ? constantIndex(tiles.getRhs()) : std::nullopt;
  if (desc.backward) {
    if (!hasBackwardGrid(launch, headsKV))
      return Status::error("the launch grid of '" + desc.kernel + "' is not (splits, H_KV, B)");
    blockQ = 0;
  } else if (!blockQ || !isQueryDim(tiles.getLhs(), 2) ||
             constantIndex(launch.getGridSizeY()) != headsQ ||
             !isQueryDim(launch.getGridSizeZ(), 0)) {
    return Status::error("the launch grid of '" + desc.kernel +
                         "' is not (ceil(Q / block-q), H, B)");
  }
  std::optional<int64_t> threads = constantIndex(launch.getBlockSizeX());
  if (!threads || constantIndex(launch.getBlockSizeY()) != 1 ||
      constantIndex(launch.getBlockSizeZ()) != 1)
    return Status::error("the block of '" + desc.kernel + "' is not (threads, 1, 1)");
  desc.blockQ = *blockQ;
  desc.threads = *threads;
  if (Value smem = launch.getDynamicSharedMemorySize()) {
    std::optional<int64_t> bytes = constantIndex(smem);
    if (!bytes)
      return Status::error("the dynamic shared memory of '" + desc.kernel + "' is not constant");
    desc.dynamicSharedBytes = *bytes;
  }
  for (Value operand : launch.getKernelOperands()) {
    std::optional<GpuParam> param = paramFor(operand, host);
    if (!param)
      return Status::error("kernel '" + desc.kernel +
                           "' takes an operand that is neither an argument of the "
                           "entry nor one of its sizes");
    desc.params.push_back(*param);
  }
  return desc;
}

} // namespace attnc::cuda
