//===- GpuLaunch.cpp - the host side of an attention kernel launch ---------===//
#include "runtime/cuda/GpuLaunch.h"
#include "runtime/cuda/CudaAbi.h"
#include "runtime/cuda/CudaDriver.h"


namespace attnc {

namespace {

/// One argument of the entry signature: a memref (the view) or a scalar.
struct EntryArgument {
  const TensorView *tensor = nullptr;
  ScalarValue scalar;
};

/// The entry signature's arguments for `call`, in order.
std::vector<EntryArgument> entryArguments(const VariantDesc &variant, const AttentionCall &call,
                                          const TensorView &status) {
  std::vector<EntryArgument> args;
  for (const TensorView *t : {&call.q, &call.k, &call.v, &call.out, &call.lse})
    args.push_back({t, {}});
  for (const ScalarValue &s : scalarValues(variant, call))
    args.push_back({nullptr, s});
  for (const BufferDecl &b : variant.buffers)
    args.push_back({&call.buffers.at(b.name), {}});
  args.push_back({&status, {}});
  return args;
}

} // namespace

Result<std::unique_ptr<GpuKernelArgs>> GpuKernelArgs::build(const GpuLaunchDesc &desc,
                                                            const VariantDesc &variant,
                                                            const AttentionCall &call,
                                                            const TensorView &status) {
  std::vector<EntryArgument> args = entryArguments(variant, call, status);
  std::unique_ptr<GpuKernelArgs> result(new GpuKernelArgs());
  for (const GpuParam &p : desc.params) {
    if (p.argument < 0 || size_t(p.argument) >= args.size())
      return Status::error("kernel '" + desc.kernel + "' takes argument " +
                           std::to_string(p.argument) + ", but variant '" + variant.name +
                           "' has " + std::to_string(args.size()));
    const EntryArgument &arg = args[size_t(p.argument)];
    if (p.kind == GpuParam::Kind::Size) {
      if (!arg.tensor || p.dim < 0 || p.dim >= arg.tensor->rank())
        return Status::error("kernel '" + desc.kernel + "' takes dimension " +
                             std::to_string(p.dim) + " of argument " +
                             std::to_string(p.argument) + ", which has none");
      result->values_.push_back(uint64_t(arg.tensor->shape[size_t(p.dim)]));
    } else if (arg.tensor) {
      for (int64_t field : memrefDescriptor(*arg.tensor))
        result->values_.push_back(uint64_t(field));
    } else {
      result->values_.push_back(scalarSlot(arg.scalar));
    }
  }
  for (uint64_t &v : result->values_)
    result->pointers_.push_back(&v);
  return result;
}

Result<std::shared_ptr<GpuModule>> GpuModule::load(std::string_view image,
                                                   const std::string &format,
                                                   const std::string &kernel) {
  cuda::takeCudaErrors();
  std::shared_ptr<GpuModule> module(new GpuModule());
  // PTX is handed to the driver as a NUL-terminated string (the copy is).
  std::string data(image);
  module->module_ = format == "ptx" ? mgpuModuleLoadJIT(data.data(), /*optLevel=*/4)
                                    : mgpuModuleLoad(data.data(), data.size());
  if (module->module_)
    module->function_ = mgpuModuleGetFunction(module->module_, kernel.c_str());
  if (std::vector<std::string> errors = cuda::takeCudaErrors(); !errors.empty())
    return Status::error("cuda: " + errors.front());
  if (!module->function_)
    return Status::error("cuda: the " + format + " image holds no kernel '" + kernel + "'");
  return module;
}

GpuModule::~GpuModule() {
  mgpuModuleUnload(module_);
  cuda::takeCudaErrors();
}

Status launchAttentionKernel(void *function, const GpuLaunchDesc &desc,
                             const VariantDesc &variant, const AttentionCall &call,
                             const TensorView &status, void *stream) {
  if (desc.blockQ <= 0 || desc.threads <= 0)
    return Status::error("kernel '" + desc.kernel + "' has no launch configuration");
  int64_t gridX = (call.qLen() + desc.blockQ - 1) / desc.blockQ;
  int64_t gridY = variant.headsQ, gridZ = call.batch();
  if (gridX == 0 || gridY == 0 || gridZ == 0)
    return Status::ok(); // nothing to compute (out and lse are empty)
  if (gridX > 0x7fffffff || gridY > 65535 || gridZ > 65535)
    return Status::error("the launch grid " + std::to_string(gridX) + "x" +
                         std::to_string(gridY) + "x" + std::to_string(gridZ) +
                         " (query tiles x heads x batch) exceeds CUDA's limits "
                         "(2^31-1 x 65535 x 65535)");
  Result<std::unique_ptr<GpuKernelArgs>> args = GpuKernelArgs::build(desc, variant, call, status);
  if (!args)
    return args.status();
  cuda::takeCudaErrors();
  cuda::setLaunchStream(stream);
  void *launchStream = mgpuStreamCreate();
  mgpuLaunchKernel(function, gridX, gridY, gridZ, desc.threads, 1, 1,
                   int32_t(desc.dynamicSharedBytes), launchStream, (*args)->pointers(),
                   nullptr, (*args)->count());
  mgpuStreamSynchronize(launchStream);
  cuda::setLaunchStream(nullptr);
  if (std::vector<std::string> errors = cuda::takeCudaErrors(); !errors.empty())
    return Status::error("cuda: " + errors.front());
  return Status::ok();
}

} // namespace attnc
