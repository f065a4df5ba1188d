//===- CompileForLibrary.cpp - a spec compiled into a kernel library entry -===//
//
// `attnc compile --emit library` (KernelLibraryWriter.h) needs, per spec, what a
// loader needs without the compiler: the variant's description, its constants and
// modifier sources (for the float64 reference), the CPU kernel as object files for
// each x86-64 level (one LLVM-dialect module, compiled for each; likewise the
// backward kernel when asked for), and the GPU kernel (and its backward kernel)
// as images for several chips with one launch description. The kernel IR is the
// same for every chip (the tiles do not depend on it), so each chip's image comes
// from a copy of one lowered module, and their launch descriptions must agree.
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"
#include "compiler/targets/cpu/CpuObject.h"
#include "compiler/targets/cpu/CpuPipeline.h"
#include "compiler/targets/cpu/Passes.h"
#include "compiler/targets/cuda/CudaProgram.h"

#include "mlir/IR/Diagnostics.h"

using namespace mlir;

namespace attnc {

namespace {

/// The description, constants and modifier sources of `spec`.
LibraryVariant describeForLibrary(const frontend::Spec &spec) {
  LibraryVariant v;
  v.desc = describeVariant(spec);
  for (const frontend::SpecConstant &c : spec.constants)
    v.constants.push_back({c.name, c.isInt, c.intValue, c.floatValue});
  v.scoreMod = spec.scoreMod.expr ? spec.scoreMod.source : "";
  v.maskMod = spec.maskMod.expr ? spec.maskMod.source : "";
  return v;
}

/// The CPU kernel of `spec` (or its backward kernel), lowered from a copy of
/// `module` with `options`' tiles and `operands`, as an object file for each of
/// `levels` (in `objects`, by level).
LogicalResult emitCpuObjects(ModuleOp module, const frontend::Spec &spec,
                             const KernelTileOptions &options, bool backward,
                             cpu::CpuOperands operands,
                             ArrayRef<std::pair<CpuIsa, std::string *>> objects) {
  OwningOpRef<ModuleOp> copy = module.clone();
  if (failed(attnc::runPipeline(*copy, [&](OpPassManager &pm) {
        if (backward)
          buildCpuFlashBackwardPipeline(pm, spec, options);
        else
          attnc::buildFlashPipeline(pm, options);
        cpu::buildCpuToLLVMPipeline(pm, operands);
      })))
    return failure();
  std::string entry = "_mlir_ciface_" + spec.name + (backward ? "_backward_cpu" : "_cpu");
  for (auto [isa, object] : objects) {
    std::string error;
    std::optional<std::string> bytes =
        cpu::emitCpuObject(*copy, cpuIsaLlvmCpu(isa), cpuIsaLlvmFeatures(isa), entry,
                           cpuEntrySymbol(spec.name, isa, backward), error);
    if (!bytes)
      return emitError(module.getLoc())
             << "compiling the CPU " << (backward ? "backward kernel" : "kernel") << " of '"
             << spec.name << "' for " << cpuIsaName(isa) << " failed: " << error;
    *object = std::move(*bytes);
  }
  return success();
}

/// Adds the CPU kernel of `spec` (and with `backward` its backward kernel) to
/// `entry`, each compiled for each x86-64 level with `options`' tiles.
LogicalResult addCpuKernel(ModuleOp module, const frontend::Spec &spec,
                           const KernelTileOptions &options, bool backward,
                           LibraryEntry &entry) {
  if (failed(emitCpuObjects(module, spec, options, /*backward=*/false, cpu::CpuOperands::F32,
                            {{CpuIsa::Avx512, &entry.cpuObjectAvx512},
                             {CpuIsa::Avx2, &entry.cpuObjectAvx2}})))
    return failure();
  // A bf16 variant's forward kernel also on bf16 pairs, for AVX512-BF16.
  if (spec.dtype == "bf16" &&
      failed(emitCpuObjects(module, spec, options, /*backward=*/false,
                            cpu::CpuOperands::Bf16Pairs,
                            {{CpuIsa::Avx512Bf16, &entry.cpuObjectAvx512Bf16}})))
    return failure();
  if (backward && failed(emitCpuObjects(module, spec, options, /*backward=*/true,
                                        cpu::CpuOperands::F32,
                                        {{CpuIsa::Avx512, &entry.cpuBackwardObjectAvx512},
                                         {CpuIsa::Avx2, &entry.cpuBackwardObjectAvx2}})))
    return failure();
  entry.variant.hasCpuKernel = true;
  entry.variant.hasCpuBackward = backward;
  entry.variant.cpuLayout.blockQ = options.blockQ;
  entry.variant.cpuLayout.blockKV = options.blockKV;
  entry.variant.cpuLayout.headDimVPadded = cpu::paddedHeadDimV(spec.headDimV);
  return success();
}

/// The images of the GPU kernel in `module` (lowered to the gpu dialect; each chip
/// compiles a copy): a cubin per chip of `chips` where ptxas is installed, and the
/// PTX of the first, which the driver of any newer GPU compiles; `launch` is their
/// launch, which must be the same for every chip.
LogicalResult addGpuImages(ModuleOp module, const frontend::Spec &spec,
                           const std::vector<std::string> &chips, GpuLaunchDesc &launch,
                           std::vector<LibraryImage> &images, std::vector<std::string> &bytes) {
  auto addImage = [&](const std::string &chip, const std::string &format, std::string data) {
    images.push_back({chip, format, nullptr, data.size()});
    bytes.push_back(std::move(data));
  };
  std::string firstPtx;
  for (size_t i = 0; i < chips.size(); ++i) {
    OwningOpRef<ModuleOp> copy = module.clone();
    Result<cuda::CudaProgram> program =
        cuda::compileCudaProgram(*copy, chips[i], cachedCubinAssembler(), gpuArtifactCache());
    if (!program)
      return emitError(module.getLoc()) << "compiling '" << spec.name << "' for " << chips[i]
                                        << " failed: " << program.status().message();
    if (i == 0) {
      launch = program->launch;
      firstPtx = program->ptx;
    } else if (program->launch.params != launch.params ||
               program->launch.kernel != launch.kernel ||
               program->launch.blockQ != launch.blockQ ||
               program->launch.threads != launch.threads ||
               program->launch.backward != launch.backward) {
      return emitError(module.getLoc()) << "the kernels of '" << spec.name << "' for "
                                        << chips[0] << " and " << chips[i]
                                        << " are launched differently";
    }
    if (program->format == "cubin")
      addImage(chips[i], "cubin", program->image);
  }
  addImage(chips.front(), "ptx", firstPtx);
  return success();
}

} // namespace

std::optional<LibraryEntry> Compiler::compileForLibrary(const std::string &path,
                                                        const LibraryTargets &targets) {
  frontend::Spec spec;
  OwningOpRef<ModuleOp> module = import(path, &spec);
  if (!module)
    return std::nullopt;
  LibraryEntry entry;
  entry.variant = describeForLibrary(spec);
  if (targets.cpu &&
      failed(addCpuKernel(*module, spec, targets.cpuOptions, targets.backward, entry)))
    return std::nullopt;
  if (!targets.gpu)
    return entry;
  if (targets.backward) {
    OwningOpRef<ModuleOp> copy = module->clone();
    cuda::GpuTileOptions tiles = spillFreeGpuBackwardTiles(*module, spec, targets.gpuOptions);
    if (failed(attnc::runPipeline(*copy, [&](OpPassManager &pm) {
          cuda::buildGpuBackwardPipeline(pm, tiles, gpuTraits(spec));
        })))
      return std::nullopt;
    if (failed(addGpuImages(*copy, spec, targets.chips, entry.variant.backwardLaunch,
                            entry.variant.backwardImages, entry.backwardImageBytes)))
      return std::nullopt;
    entry.variant.hasGpuBackward = true;
  }
  cuda::GpuTileOptions tiles = spillFreeGpuTiles(*module, spec, targets.gpuOptions);
  if (failed(attnc::runPipeline(*module, [&](OpPassManager &pm) {
        cuda::buildGpuKernelPipeline(pm, tiles, gpuTraits(spec));
      })))
    return std::nullopt;
  if (failed(addGpuImages(*module, spec, targets.chips, entry.variant.launch,
                          entry.variant.images, entry.imageBytes)))
    return std::nullopt;
  entry.variant.hasGpuKernel = true;
  return entry;
}

} // namespace attnc
