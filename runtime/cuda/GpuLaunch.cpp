//===- GpuLaunch.cpp - the host side of an attention kernel launch ---------===//
#include "runtime/cuda/GpuLaunch.h"
#include "runtime/cuda/CudaAbi.h"
#include "runtime/cuda/CudaDriver.h"


namespace attnc {

/// One argument of the entry signature: a memref (the view) or a scalar.
struct GpuKernelArgs::EntryArgument {
  const TensorView *tensor = nullptr;
  ScalarValue scalar;
};

Result<std::unique_ptr<GpuKernelArgs>> GpuKernelArgs::build(const GpuLaunchDesc &desc,
                                                            const VariantDesc &variant,
                                                            const AttentionCall &call,
                                                            const TensorView &status) {
  std::vector<EntryArgument> args;
  for (const TensorView *t : {&call.q, &call.k, &call.v, &call.out, &call.lse})
    args.push_back({t, {}});
  for (const ScalarValue &s : scalarValues(variant, call))
    args.push_back({nullptr, s});
  for (const BufferDecl &b : variant.buffers)
    args.push_back({&call.buffers.at(b.name), {}});
  args.push_back({&status, {}});
  return fromArguments(desc, variant, args);
}

Result<std::unique_ptr<GpuKernelArgs>>
GpuKernelArgs::build(const GpuLaunchDesc &desc, const VariantDesc &variant,
                     const BackwardCall &call, const TensorView &dqPartials,
                     const TensorView &status) {
  const AttentionCall &fwd = call.forward;
  std::vector<EntryArgument> args;
  for (const TensorView *t : {&fwd.q, &fwd.k, &fwd.v, &fwd.out, &call.dout, &fwd.lse,
                              &dqPartials, &call.dk, &call.dv})
    args.push_back({t, {}});
  for (const ScalarValue &s : scalarValues(variant, fwd))
    args.push_back({nullptr, s});
  for (const BufferDecl &b : variant.buffers)
    args.push_back({&fwd.buffers.at(b.name), {}});
  for (const BufferDecl &b : variant.buffers)
    if (b.requiresGrad)
      args.push_back({&call.dbuffers.at(b.name), {}});
  args.push_back({&status, {}});
  return fromArguments(desc, variant, args);
}

Result<std::unique_ptr<GpuKernelArgs>>
GpuKernelArgs::fromArguments(const GpuLaunchDesc &desc, const VariantDesc &variant,
                             const std::vector<EntryArgument> &args) {
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

namespace {

/// Launches `function` on grid (x, y, z) with `args` on `stream` and waits for it.
Status launchGrid(void *function, const GpuLaunchDesc &desc, int64_t gridX, int64_t gridY,
                  int64_t gridZ, const char *gridMeaning,
                  Result<std::unique_ptr<GpuKernelArgs>> args, void *stream) {
  if (gridX == 0 || gridY == 0 || gridZ == 0)
    return Status::ok(); // nothing to compute
  if (gridX > 0x7fffffff || gridY > 65535 || gridZ > 65535)
    return Status::error("the launch grid " + std::to_string(gridX) + "x" +
                         std::to_string(gridY) + "x" + std::to_string(gridZ) + " (" +
                         gridMeaning + ") exceeds CUDA's limits (2^31-1 x 65535 x 65535)");
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

} // namespace

Status launchAttentionKernel(void *function, const GpuLaunchDesc &desc,
                             const VariantDesc &variant, const AttentionCall &call,
                             const TensorView &status, void *stream) {
  if (desc.backward || desc.blockQ <= 0 || desc.threads <= 0)
    return Status::error("kernel '" + desc.kernel + "' has no forward launch configuration");
  int64_t gridX = (call.qLen() + desc.blockQ - 1) / desc.blockQ;
  return launchGrid(function, desc, gridX, variant.headsQ, call.batch(),
                    "query tiles x heads x batch",
                    GpuKernelArgs::build(desc, variant, call, status), stream);
}

Status launchBackwardKernel(void *function, const GpuLaunchDesc &desc,
                            const VariantDesc &variant, const BackwardCall &call,
                            const TensorView &dqPartials, const TensorView &status,
                            void *stream) {
  if (!desc.backward || desc.threads <= 0 || dqPartials.rank() != 5)
    return Status::error("kernel '" + desc.kernel + "' has no backward launch configuration");
  return launchGrid(function, desc, dqPartials.shape[0], variant.headsKV,
                    call.forward.batch(), "splits x key/value heads x batch",
                    GpuKernelArgs::build(desc, variant, call, dqPartials, status), stream);
}

} // namespace attnc
