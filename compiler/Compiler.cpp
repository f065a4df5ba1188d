//===- Compiler.cpp - spec → registered, runnable attention variant --------===//
#include "compiler/Compiler.h"
#include "runtime/ReferenceBackward.h"
#include "compiler/frontend/ExprReference.h"
#include "compiler/frontend/ExprEval.h"
#include "compiler/KernelCache.h"
#include "compiler/frontend/Frontend.h"
#include "compiler/transforms/Passes.h"
#include "compiler/targets/cpu/CpuPipeline.h"
#include "compiler/targets/cpu/Passes.h"
#include "compiler/targets/cuda/CudaPipeline.h"
#include "compiler/targets/cuda/CudaProgram.h"
#include "runtime/cpu/CpuIsa.h"
#include "runtime/cuda/CudaDriver.h"
#include "compiler/targets/emu/EmuProgram.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

using namespace mlir;

namespace attnc {


static DType parseDTypeOr(const std::string &name, DType fallback) {
  DType d = fallback;
  parseDType(name, d);
  return d;
}

VariantDesc describeVariant(const frontend::Spec &spec) {
  VariantDesc desc;
  desc.name = spec.name;
  desc.headsQ = spec.headsQ;
  desc.headsKV = spec.headsKV;
  desc.headDim = spec.headDim;
  desc.headDimV = spec.headDimV;
  desc.dtype = parseDTypeOr(spec.dtype, DType::F32);
  desc.scale = spec.scale;
  for (const frontend::SpecScalar &s : spec.scalars)
    desc.scalars.push_back({s.name, parseDTypeOr(s.type, DType::I64)});
  for (const frontend::SpecBuffer &b : spec.buffers)
    desc.buffers.push_back(
        {b.name, parseDTypeOr(b.dtype, DType::F32), b.shape, b.requiresGrad});
  std::sort(desc.scalars.begin(), desc.scalars.end(),
            [](const ScalarDecl &a, const ScalarDecl &b) { return a.name < b.name; });
  std::sort(desc.buffers.begin(), desc.buffers.end(),
            [](const BufferDecl &a, const BufferDecl &b) { return a.name < b.name; });
  return desc;
}

Status CompiledVariant::reference(const AttentionCall &call) const {
  return referenceAttention(
      desc, call, frontend::referenceMods(spec->scoreMod.expr.get(), spec->maskMod.expr.get(), call));
}

Status CompiledVariant::runBackward(const BackwardCall &call) const {
  if (emuBackwardKernel)
    return emuBackwardKernel->runBackward(call);
  if (cudaBackwardKernel)
    return cudaBackwardKernel->runBackward(call);
  if (!cpuBackwardKernel)
    return Status::error(
        "'" + desc.name + "' has no backward kernel: compile it with the backward pass "
        "(attnc run --backward, attnc.compile(..., backward=True))");
  return cpuBackwardKernel->run(call);
}

Status CompiledVariant::referenceBackward(const BackwardCall &call) const {
  std::vector<std::string> learnable;
  for (const BufferDecl &decl : desc.buffers)
    if (decl.requiresGrad)
      learnable.push_back(decl.name);
  return attnc::referenceBackward(
      desc, call,
      frontend::referenceBackwardMods(spec->scoreMod.expr.get(), spec->maskMod.expr.get(),
                                      call.forward, learnable));
}

AttentionFunction CompiledVariant::function() const {
  if (std::shared_ptr<CudaKernel> kernel = cudaKernel)
    return [kernel](const AttentionCall &call) { return kernel->run(call); };
  if (std::shared_ptr<EmuKernel> kernel = emuKernel)
    return [kernel](const AttentionCall &call) { return kernel->run(call); };
  std::shared_ptr<CpuKernel> kernel = cpuKernel;
  return [kernel](const AttentionCall &call) { return kernel->run(call); };
}

Compiler::Compiler(DiagnosticMode mode) : mode(mode), collectedStream(collected) {
  // Errors point into the spec; the IR a failing pass was working on is not for users.
  ctx.printOpOnDiagnostic(false);
  diagHandler = std::make_unique<SourceMgrDiagnosticHandler>(
      sourceMgr, &ctx,
      mode == DiagnosticMode::Print ? static_cast<llvm::raw_ostream &>(llvm::errs())
                                    : static_cast<llvm::raw_ostream &>(collectedStream));
}

void Compiler::reportError(const llvm::Twine &message) {
  if (mode == DiagnosticMode::Print)
    llvm::WithColor::error(llvm::errs(), "") << message << "\n";
  else
    collectedStream << "error: " << message << "\n";
}

std::string Compiler::takeDiagnostics() {
  std::string text = std::move(collected);
  collected.clear();
  return text;
}

Compiler::~Compiler() = default;

OwningOpRef<ModuleOp> Compiler::import(const std::string &path, frontend::Spec *spec) {
  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> file = openInputFile(path, &errorMessage);
  if (!file) {
    reportError(errorMessage);
    return nullptr;
  }
  llvm::StringRef text = file->getBuffer();
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  return frontend::importSpec(path, text, &ctx, spec);
}

std::shared_ptr<CompiledVariant> Compiler::compileFile(const std::string &path,
                                                       const KernelTileOptions &options) {
  return compileFileFor(path, Target::Cpu, options);
}

std::shared_ptr<CompiledVariant> Compiler::compileFileFor(const std::string &path,
                                                          Target target,
                                                          const KernelTileOptions &options) {
  auto spec = std::make_shared<frontend::Spec>();
  OwningOpRef<ModuleOp> module = import(path, spec.get());
  if (!module)
    return nullptr;
  switch (target) {
  case Target::Cpu:
    return compileModule(*module, spec, options);
  case Target::CudaEmu:
    return compileModuleForEmu(*module, spec, options);
  case Target::Cuda:
    return compileModuleForCuda(*module, spec, options);
  }
  return nullptr;
}

/// The GPU tiles asked for (0: chosen by the heuristic).
Result<cpu::CpuOperands> jitCpuOperands(const frontend::Spec &spec) {
  if (spec.dtype != "bf16")
    return cpu::CpuOperands::F32;
  Result<CpuIsa> isa = chooseCpuIsa();
  if (!isa)
    return std::getenv("ATTNC_CPU_ISA") ? Result<cpu::CpuOperands>(isa.status())
                                        : Result<cpu::CpuOperands>(cpu::CpuOperands::F32);
  return *isa == CpuIsa::Avx512Bf16 ? cpu::CpuOperands::Bf16Pairs : cpu::CpuOperands::F32;
}

void buildCpuFlashBackwardPipeline(OpPassManager &pm, const frontend::Spec &spec,
                                   const KernelTileOptions &options) {
  buildFlashBackwardPipeline(
      pm, options, cpu::backwardKeyTilesPerPass(spec.headDim, spec.headDimV, options.blockKV));
}

cuda::GpuTileOptions gpuTiles(const KernelTileOptions &options) {
  cuda::GpuTileOptions tiles;
  tiles.blockQ = options.blockQ;
  tiles.blockKV = options.blockKV;
  tiles.stages = options.stages;
  tiles.rowsPerWarp = options.rowsPerWarp;
  return tiles;
}

/// lowerForEmit for the backward pass: the backward flash form, or its kernel.
static FailureOr<cuda::GpuTileOptions> lowerBackwardForEmit(ModuleOp module,
                                                            const frontend::Spec &spec,
                                                            LoweringStage stage, bool gpu,
                                                            Target target,
                                                            const KernelTileOptions &options) {
  cuda::GpuTileOptions tiles;
  if (gpu)
    tiles = target == Target::CudaEmu
                ? cuda::chooseGpuBackwardTiles(gpuTiles(options), gpuTraits(spec))
                : spillFreeGpuBackwardTiles(module, spec, options);
  if (failed(runPipeline(module, [&](OpPassManager &pm) {
        if (gpu && stage == LoweringStage::GpuKernel) {
          cuda::buildGpuBackwardPipeline(pm, tiles, gpuTraits(spec));
          return;
        }
        if (gpu)
          buildFlashBackwardPipeline(pm, KernelTileOptions{tiles.blockQ, tiles.blockKV});
        else
          buildCpuFlashBackwardPipeline(pm, spec, options);
        if (stage == LoweringStage::Llvm)
          cpu::buildCpuToLLVMPipeline(pm);
      })))
    return failure();
  return tiles;
}

FailureOr<cuda::GpuTileOptions> lowerForEmit(ModuleOp module, const frontend::Spec &spec,
                                             LoweringStage stage, bool gpu, Target target,
                                             const KernelTileOptions &options) {
  if (options.backward)
    return lowerBackwardForEmit(module, spec, stage, gpu, target, options);
  cuda::GpuTileOptions tiles;
  if (gpu) {
    // The kernel a GPU runs: its configuration checked against spills (cuda-emu
    // runs the heuristic's, as Compiler::compileFileFor does).
    tiles = target == Target::CudaEmu
                ? cuda::chooseGpuTiles(gpuTiles(options), gpuTraits(spec))
                : spillFreeGpuTiles(module, spec, options);
    if (failed(runPipeline(module, [&](OpPassManager &pm) {
          if (stage == LoweringStage::Flash)
            buildFlashPipeline(pm, {tiles.blockQ, tiles.blockKV});
          else
            cuda::buildGpuKernelPipeline(pm, tiles, gpuTraits(spec));
        })))
      return failure();
    return tiles;
  }
  Result<cpu::CpuOperands> operands = jitCpuOperands(spec);
  if (!operands)
    return emitError(module.getLoc(), operands.status().message());
  if (failed(runPipeline(module, [&](OpPassManager &pm) {
        buildFlashPipeline(pm, options);
        if (stage == LoweringStage::Llvm)
          cpu::buildCpuToLLVMPipeline(pm, *operands);
      })))
    return failure();
  return tiles;
}

cuda::GpuKernelTraits gpuTraits(const frontend::Spec &spec) {
  cuda::GpuKernelTraits traits;
  traits.headDim = spec.headDim;
  traits.headDimV = spec.headDimV;
  traits.sixteenBit = spec.dtype == "f16" || spec.dtype == "bf16";
  traits.scoreMod = spec.scoreMod.expr != nullptr;
  traits.readsBuffers = !spec.buffers.empty();
  return traits;
}

cuda::ArtifactCache gpuArtifactCache() {
  return [](const std::string &ir, const std::string &options, const std::string &ext,
            const std::function<Result<std::string>()> &build) {
    return KernelCache::getOrBuildFile(KernelCache::key(ir, options), ext, build);
  };
}

/// attn → @X_gpu with the options' tiles (the heuristic's where they are 0).
static LogicalResult lowerToGpuKernel(ModuleOp module, const frontend::Spec &spec,
                                      const KernelTileOptions &options) {
  return attnc::runPipeline(module, [&](OpPassManager &pm) {
    cuda::buildGpuKernelPipeline(pm, gpuTiles(options), gpuTraits(spec));
  });
}

cuda::Assembler cachedCubinAssembler() {
  return [](const std::string &ptx, const std::string &chip,
            int64_t) -> Result<std::string> {
    std::string ptxas = cuda::findPtxas();
    const char *jit = std::getenv("ATTNC_CUDA_JIT_PTX");
    if (ptxas.empty() || (jit && *jit && std::string(jit) != "0"))
      return std::string(); // the driver compiles the PTX
    // The ptxas is part of the key: another toolkit at the same path (its size and
    // time) assembles anew.
    llvm::sys::fs::file_status st;
    std::string tool = ptxas;
    if (!llvm::sys::fs::status(ptxas, st))
      tool += " " + std::to_string(st.getSize()) + " " +
              std::to_string(llvm::sys::toTimeT(st.getLastModificationTime()));
    return gpuArtifactCache()(ptx, "cubin chip=" + chip + " ptxas=" + tool, "cubin",
                              [&] { return cuda::assembleCubin(ptx, chip); });
  };
}

/// The GPU kernel of `module` (lowered to the gpu dialect, consumed) loaded on
/// `device`: a cubin for its chip where one runs there, else PTX for the driver.
Result<std::shared_ptr<CudaKernel>> loadCudaKernel(ModuleOp module, const VariantDesc &desc,
                                                   const cuda::CudaDevice &device) {
  std::string chip = device.chip();
  // Cubins for sm_80 run on 8.x GPUs, those for sm_90a on 9.0; other GPUs (newer
  // ones) get the PTX, which their driver compiles.
  bool cubinRuns = device.computeMajor == 8 || (device.computeMajor == 9 &&
                                                device.computeMinor == 0);
  Result<cuda::CudaProgram> program = cuda::compileCudaProgram(
      module, chip, cubinRuns ? cachedCubinAssembler() : cuda::Assembler(), gpuArtifactCache());
  Result<std::shared_ptr<GpuModule>> loaded =
      program ? GpuModule::load(program->image, program->format, program->launch.kernel)
              : Result<std::shared_ptr<GpuModule>>(program.status());
  // A driver older than the toolkit refuses its cubins; it may still compile the PTX.
  if (!loaded && program && program->format == "cubin" &&
      loaded.status().message().find("cuModuleLoadData)") != std::string::npos) {
    program->format = "ptx";
    program->image = program->ptx;
    loaded = GpuModule::load(program->image, program->format, program->launch.kernel);
  }
  if (!loaded)
    return Status::error("compiling '" + desc.name + "' for " + device.name + " (" + chip +
                         ") failed: " + loaded.status().message());
  return std::make_shared<CudaKernel>(desc, program->launch, loaded.take(),
                                      chip + " " + program->format);
}

std::shared_ptr<CompiledVariant>
Compiler::compileModuleForCuda(ModuleOp module, std::shared_ptr<frontend::Spec> spec,
                               const KernelTileOptions &options) {
  Result<cuda::CudaDevice> device = cuda::firstDevice();
  if (!device) {
    reportError(device.status().message());
    return nullptr;
  }
  VariantDesc desc = describeVariant(*spec);
  std::shared_ptr<CudaKernel> backward;
  if (options.backward) {
    OwningOpRef<ModuleOp> copy = module.clone();
    cuda::GpuTileOptions tiles = spillFreeGpuBackwardTiles(module, *spec, options);
    if (failed(attnc::runPipeline(*copy, [&](OpPassManager &pm) {
          cuda::buildGpuBackwardPipeline(pm, tiles, gpuTraits(*spec));
        })))
      return nullptr;
    Result<std::shared_ptr<CudaKernel>> kernel = loadCudaKernel(*copy, desc, *device);
    if (!kernel) {
      reportError(kernel.status().message());
      return nullptr;
    }
    backward = kernel.take();
  }
  cuda::GpuTileOptions tiles = spillFreeGpuTiles(module, *spec, options);
  if (failed(lowerToGpuKernel(module, *spec,
                              {tiles.blockQ, tiles.blockKV, tiles.stages, tiles.rowsPerWarp})))
    return nullptr;
  Result<std::shared_ptr<CudaKernel>> kernel = loadCudaKernel(module, desc, *device);
  if (!kernel) {
    reportError(kernel.status().message());
    return nullptr;
  }
  auto compiled = std::make_shared<CompiledVariant>();
  compiled->desc = desc;
  compiled->spec = spec;
  compiled->cudaKernel = kernel.take();
  compiled->cudaBackwardKernel = backward;
  return compiled;
}

std::shared_ptr<EmuKernel> Compiler::compileForEmulator(ModuleOp module,
                                                       const frontend::Spec &spec,
                                                       const std::string &entryName) {
  auto program = emu::EmuProgram::compileLibrary(module, {});
  if (!program) {
    reportError("compiling '" + spec.name + "' for cuda-emu failed: " +
                program.status().message());
    return nullptr;
  }
  std::shared_ptr<emu::EmuProgram> owner(program->release());
  Result<emu::PackedKernel> entry = owner->lookupPacked(entryName);
  Result<std::vector<emu::KernelEntry>> kernels = owner->kernelTable();
  if (!entry || !kernels) {
    reportError((!entry ? entry.status() : kernels.status()).message());
    return nullptr;
  }
  return std::make_shared<EmuKernel>(describeVariant(spec), *entry, kernels.take(),
                                     owner->locationTable(), owner);
}

std::shared_ptr<CompiledVariant>
Compiler::compileModuleForEmu(ModuleOp module, std::shared_ptr<frontend::Spec> spec,
                              const KernelTileOptions &options) {
  std::shared_ptr<EmuKernel> backward;
  if (options.backward) {
    // The backward kernel's own tiles (a thread per key row), from a copy of the
    // attn module.
    OwningOpRef<ModuleOp> copy = module.clone();
    cuda::GpuTileOptions tiles;
    tiles.blockQ = options.blockQ;
    tiles.blockKV = options.blockKV;
    if (failed(attnc::runPipeline(*copy, [&](OpPassManager &pm) {
          cuda::buildGpuBackwardPipeline(pm, tiles, gpuTraits(*spec));
        })))
      return nullptr;
    backward = compileForEmulator(*copy, *spec, spec->name + "_backward_gpu");
    if (!backward)
      return nullptr;
  }
  if (failed(lowerToGpuKernel(module, *spec, options)))
    return nullptr;
  std::shared_ptr<EmuKernel> kernel = compileForEmulator(module, *spec, spec->name + "_gpu");
  if (!kernel)
    return nullptr;
  auto compiled = std::make_shared<CompiledVariant>();
  compiled->desc = describeVariant(*spec);
  compiled->spec = spec;
  compiled->emuKernel = kernel;
  compiled->emuBackwardKernel = backward;
  return compiled;
}

std::shared_ptr<CompiledVariant> Compiler::compileText(const std::string &name,
                                                       const std::string &text,
                                                       const KernelTileOptions &options) {
  auto spec = std::make_shared<frontend::Spec>();
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, name),
                               llvm::SMLoc());
  OwningOpRef<ModuleOp> module = frontend::importSpec(name, text, &ctx, spec.get());
  if (!module)
    return nullptr;
  return compileModule(*module, spec, options);
}

std::shared_ptr<CpuBackwardKernel>
Compiler::compileBackward(ModuleOp module, const frontend::Spec &spec, const VariantDesc &desc,
                          const KernelTileOptions &options) {
  OwningOpRef<ModuleOp> copy = module.clone();
  if (failed(attnc::runPipeline(*copy, [&](OpPassManager &pm) {
        buildCpuFlashBackwardPipeline(pm, spec, options);
        cpu::buildCpuToLLVMPipeline(pm);
      })))
    return nullptr;
  std::string lowered;
  llvm::raw_string_ostream os(lowered);
  copy->print(os);
  std::string key = KernelCache::key(lowered, "cpu-backward block-q=" +
                                                  std::to_string(options.blockQ) +
                                                  " block-kv=" + std::to_string(options.blockKV));
  std::string symbol = "_mlir__mlir_ciface_" + spec.name + "_backward_cpu";
  std::string error;
  LoadedKernel kernel =
      KernelCache::getOrCompile(key, symbol, [&]() -> ModuleOp { return *copy; }, error);
  if (!kernel.entry) {
    if (!error.empty())
      reportError("compiling the backward kernel of '" + spec.name + "' failed: " + error);
    return nullptr;
  }
  CpuKernelLayout layout;
  layout.blockQ = options.blockQ;
  layout.blockKV = options.blockKV;
  layout.headDimVPadded = cpu::paddedHeadDimV(spec.headDimV);
  return std::make_shared<CpuBackwardKernel>(desc, layout, kernel.entry, kernel.owner);
}

std::shared_ptr<CompiledVariant>
Compiler::compileModule(ModuleOp module, std::shared_ptr<frontend::Spec> spec,
                        const KernelTileOptions &options) {
  std::shared_ptr<CpuBackwardKernel> backward;
  if (options.backward) {
    backward = compileBackward(module, *spec, describeVariant(*spec), options);
    if (!backward)
      return nullptr;
  }
  // bf16 variants multiply bf16 pairs where the CPU has AVX512-BF16.
  Result<cpu::CpuOperands> operands = jitCpuOperands(*spec);
  if (!operands) {
    reportError("compiling '" + spec->name + "': " + operands.status().message());
    return nullptr;
  }
  // The cache key is the lowered LLVM-dialect module (printed without locations):
  // any change to the variant, the options or attnc's lowering changes it, and the
  // expensive part (LLVM optimisation and code generation) is what the cache skips.
  if (failed(attnc::runPipeline(module, [&](OpPassManager &pm) {
        attnc::buildFlashPipeline(pm, options);
        cpu::buildCpuToLLVMPipeline(pm, *operands);
      })))
    return nullptr;
  std::string lowered;
  llvm::raw_string_ostream os(lowered);
  module.print(os);
  std::string optionText = "cpu block-q=" + std::to_string(options.blockQ) +
                           " block-kv=" + std::to_string(options.blockKV);
  std::string key = KernelCache::key(lowered, optionText);
  std::string symbol = "_mlir__mlir_ciface_" + spec->name + "_cpu";
  std::string error;
  LoadedKernel kernel = KernelCache::getOrCompile(
      key, symbol, [&]() -> ModuleOp { return module; }, error);
  if (!kernel.entry) {
    if (!error.empty())
      reportError("compiling '" + spec->name + "' failed: " + error);
    return nullptr;
  }
  auto compiled = std::make_shared<CompiledVariant>();
  compiled->desc = describeVariant(*spec);
  compiled->spec = spec;
  compiled->cacheKey = key;
  compiled->fromCache = kernel.fromCache;
  CpuKernelLayout layout;
  layout.blockQ = options.blockQ;
  layout.blockKV = options.blockKV;
  layout.headDimVPadded = cpu::paddedHeadDimV(spec->headDimV);
  layout.bf16Pairs = *operands == cpu::CpuOperands::Bf16Pairs;
  compiled->cpuKernel =
      std::make_shared<CpuKernel>(compiled->desc, layout, kernel.entry, kernel.owner);
  compiled->cpuBackwardKernel = backward;
  return compiled;
}

} // namespace attnc

namespace attnc {

void registerSdpa(AttentionInterface &registry) {
  struct Cache {
    std::mutex mutex;
    Compiler compiler{Compiler::DiagnosticMode::Collect};
    std::map<std::string, std::shared_ptr<CompiledVariant>> kernels;
  };
  auto cache = std::make_shared<Cache>();
  registry.registerFunction("sdpa", [cache](const AttentionCall &call) -> Status {
    if (call.q.shape.size() != 4 || call.k.shape.size() != 4 || call.v.shape.size() != 4)
      return Status::error("sdpa: q, k and v must have 4 dimensions");
    int64_t h = call.q.shape[1], hkv = call.k.shape[1], d = call.q.shape[3],
            dv = call.v.shape[3];
    if (hkv < 1 || h % hkv != 0)
      return Status::error("sdpa: the head count of q must be a multiple of that of k");
    if (call.q.dtype != DType::F32 && call.q.dtype != DType::F16 &&
        call.q.dtype != DType::BF16)
      return Status::error("sdpa: q must be f32, f16 or bf16");
    std::string key = "sdpa_h" + std::to_string(h) + "_kv" + std::to_string(hkv) +
                      "_d" + std::to_string(d) + "_dv" + std::to_string(dv) + "_" +
                      dtypeName(call.q.dtype);
    std::shared_ptr<CompiledVariant> kernel;
    {
      std::lock_guard<std::mutex> lock(cache->mutex);
      auto it = cache->kernels.find(key);
      if (it == cache->kernels.end()) {
        std::string spec = "{\"name\": \"" + key + "\", \"heads\": {\"q\": " +
                           std::to_string(h) + ", \"kv\": " + std::to_string(hkv) +
                           "}, \"head_dim\": " + std::to_string(d) +
                           ", \"head_dim_v\": " + std::to_string(dv) +
                           ", \"dtype\": \"" + dtypeName(call.q.dtype) + "\"}";
        kernel = cache->compiler.compileText(key + ".json", spec);
        if (!kernel) {
          std::string why = cache->compiler.takeDiagnostics();
          while (!why.empty() && why.back() == '\n')
            why.pop_back();
          return Status::error("sdpa: compiling " + key + " failed: " + why);
        }
        cache->kernels[key] = kernel;
      } else {
        kernel = it->second;
      }
    }
    return kernel->run(call);
  });
}

} // namespace attnc
