//===- Compiler.h - spec → registered, runnable attention variant -*- C++ -*-===//
//
// The top of the compiler: imports a spec, lowers it for the CPU (or as a GPU kernel
// for a CUDA device or the cuda-emu emulator), JIT-compiles it, and wraps the result
// as a runtime `CpuKernel` (or `CudaKernel`, `EmuKernel`) plus the variant's float64 reference (its score_mod/mask_mod evaluated by the frontend's interpreter).
// `CompiledVariant::function()` is what goes into the AttentionInterface registry.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_COMPILER_H
#define ATTNC_COMPILER_COMPILER_H

#include "compiler/KernelLibraryWriter.h"
#include "compiler/frontend/Spec.h"
#include "compiler/pipeline/Pipeline.h"
#include "compiler/targets/cpu/Passes.h"
#include "runtime/AttentionInterface.h"
#include "runtime/Reference.h"
#include "runtime/cpu/CpuBackwardKernel.h"
#include "runtime/cpu/CpuKernel.h"
#include "runtime/emu/EmuKernel.h"
#include "runtime/cuda/CudaKernel.h"
#include "compiler/targets/cuda/CudaPipeline.h"
#include "compiler/targets/cuda/PtxPipeline.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/SourceMgr.h"

#include <memory>
#include <string>

namespace mlir {
class SourceMgrDiagnosticHandler;
}

namespace attnc {

/// The runtime description of a checked spec (scalars and buffers sorted by name,
/// the kernels' argument order).
VariantDesc describeVariant(const frontend::Spec &spec);

/// Where a compiled variant runs.
enum class Target {
  Cpu,     ///< the CPU kernel (compiler/targets/cpu)
  CudaEmu, ///< the GPU kernel (compiler/targets/cuda) under the cuda-emu emulator
  Cuda,    ///< the GPU kernel on the CUDA device (needs a GPU and its driver)
};

/// What `Compiler::compileForLibrary` puts in a kernel library entry.
struct LibraryTargets {
  bool cpu = true, gpu = true;
  bool backward = false;                    ///< also the CPU backward kernel
  KernelTileOptions cpuOptions;             ///< the CPU kernel's tiles
  KernelTileOptions gpuOptions{0, 0, 0};    ///< the GPU kernel's (0: its heuristic)
  std::vector<std::string> chips{"sm_80", "sm_90a"};
};

class CompiledVariant {
public:
  VariantDesc desc;
  std::shared_ptr<const frontend::Spec> spec;
  std::shared_ptr<CpuKernel> cpuKernel; ///< Target::Cpu
  std::shared_ptr<EmuKernel> emuKernel; ///< Target::CudaEmu
  std::shared_ptr<CudaKernel> cudaKernel; ///< Target::Cuda
  /// The backward kernel (compiled with KernelTileOptions::backward): Target::Cpu's,
  /// Target::CudaEmu's (`@X_backward_gpu` under the emulator) or Target::Cuda's.
  std::shared_ptr<CpuBackwardKernel> cpuBackwardKernel;
  std::shared_ptr<EmuKernel> emuBackwardKernel;
  std::shared_ptr<CudaKernel> cudaBackwardKernel; ///< Target::Cuda (host tensors)
  /// Whether a backward kernel was compiled.
  bool hasBackward() const {
    return cpuBackwardKernel || emuBackwardKernel || cudaBackwardKernel;
  }
  std::string cacheKey;   ///< the kernel cache key (SHA-256, hex)
  bool fromCache = false; ///< machine code came from the memory or disk cache

  /// Runs the compiled kernel.
  Status run(const AttentionCall &call) const {
    return cudaKernel ? cudaKernel->run(call)
           : emuKernel ? emuKernel->run(call)
                       : cpuKernel->run(call);
  }
  /// Runs the backward kernel: writes dq, dk, dv and the buffer gradients.
  Status runBackward(const BackwardCall &call) const;
  /// Runs the float64 reference backward (score_mod differentiated by dual
  /// numbers, independently of the compiler).
  Status referenceBackward(const BackwardCall &call) const;
  /// Runs the float64 reference of this variant.
  Status reference(const AttentionCall &call) const;
  /// The registry entry: the compiled kernel.
  AttentionFunction function() const;
  /// The memory its kernel works on: Device::Cuda for Target::Cuda (which also
  /// stages host tensors), else Device::Cpu (the emulator runs on host memory).
  Device device() const { return cudaKernel ? Device::Cuda : Device::Cpu; }
  /// Registers function() as `desc.name` for device(), and the backward kernel
  /// (if compiled) as its backward pass.
  void registerIn(AttentionInterface &registry = ALL_ATTENTION_FUNCTIONS) const {
    registry.registerFunction(desc.name, function(), device());
    if (std::shared_ptr<CpuBackwardKernel> backward = cpuBackwardKernel)
      (void)registry.registerBackward(
          desc.name, [backward](const BackwardCall &call) { return backward->run(call); },
          Device::Cpu);
    if (std::shared_ptr<CudaKernel> backward = cudaBackwardKernel)
      (void)registry.registerBackward(
          desc.name,
          [backward](const BackwardCall &call) { return backward->runBackward(call); },
          Device::Cuda);
    if (std::shared_ptr<EmuKernel> backward = emuBackwardKernel)
      (void)registry.registerBackward(
          desc.name,
          [backward](const BackwardCall &call) { return backward->runBackward(call); },
          Device::Cpu);
  }
};

class Compiler {
public:
  /// Where diagnostics go: printed on stderr with their source lines (the command
  /// line), or collected for the caller to take (takeDiagnostics) and report as it
  /// sees fit, e.g. in a Status.
  enum class DiagnosticMode { Print, Collect };
  explicit Compiler(DiagnosticMode mode = DiagnosticMode::Print);
  ~Compiler();

  /// The diagnostics collected since the last call (DiagnosticMode::Collect), each as
  /// printed on the command line ("FILE:LINE:COL: error: ..." with its source line).
  std::string takeDiagnostics();

  mlir::MLIRContext &context() { return ctx; }

  /// Imports the spec at `path` (diagnostics go to stderr with source context).
  mlir::OwningOpRef<mlir::ModuleOp> import(const std::string &path,
                                           frontend::Spec *spec = nullptr);
  /// Compiles the spec at `path` for the CPU; null after printing diagnostics.
  std::shared_ptr<CompiledVariant> compileFile(const std::string &path,
                                               const KernelTileOptions &options = {});
  /// Compiles the spec at `path` for `target` (tile sizes in `options`; for the GPU
  /// targets a 0 is chosen by cuda::chooseGpuTiles).
  std::shared_ptr<CompiledVariant> compileFileFor(const std::string &path, Target target,
                                                  const KernelTileOptions &options);
  /// The same with each target's default tiles (the GPU's from its heuristic).
  std::shared_ptr<CompiledVariant> compileFileFor(const std::string &path, Target target) {
    return compileFileFor(path, target,
                          target == Target::Cpu ? KernelTileOptions{} : KernelTileOptions{0, 0, 0});
  }
  /// Compiles the spec at `path` into a kernel library's entry: its description,
  /// with `targets.cpu` its CPU kernel for each x86-64 level, with `targets.gpu` its
  /// GPU kernel, a cubin for each of `targets.chips` (when ptxas is installed) and
  /// the PTX of the first (for newer GPUs). Null after printing diagnostics.
  std::optional<LibraryEntry> compileForLibrary(const std::string &path,
                                                const LibraryTargets &targets);
  /// Compiles spec text; `name` labels it in diagnostics.
  std::shared_ptr<CompiledVariant> compileText(const std::string &name,
                                               const std::string &text,
                                               const KernelTileOptions &options = {});

private:
  std::shared_ptr<CompiledVariant> compileModule(mlir::ModuleOp module,
                                                 std::shared_ptr<frontend::Spec> spec,
                                                 const KernelTileOptions &options);
  /// The CPU backward kernel of `module` (attn IR, not changed); null after a
  /// diagnostic.
  std::shared_ptr<CpuBackwardKernel> compileBackward(mlir::ModuleOp module,
                                                     const frontend::Spec &spec,
                                                     const VariantDesc &desc,
                                                     const KernelTileOptions &options);
  std::shared_ptr<CompiledVariant> compileModuleForCuda(mlir::ModuleOp module,
                                                        std::shared_ptr<frontend::Spec> spec,
                                                        const KernelTileOptions &options);
  /// The emulated kernel of `module` (lowered to the gpu dialect) whose host entry
  /// is `entryName`; null after an error.
  std::shared_ptr<EmuKernel> compileForEmulator(mlir::ModuleOp module, const frontend::Spec &spec,
                                                const std::string &entryName);
  std::shared_ptr<CompiledVariant> compileModuleForEmu(mlir::ModuleOp module,
                                                       std::shared_ptr<frontend::Spec> spec,
                                                       const KernelTileOptions &options);
  void reportError(const llvm::Twine &message);
  DiagnosticMode mode;
  std::string collected;
  llvm::raw_string_ostream collectedStream;
  mlir::MLIRContext ctx;
  llvm::SourceMgr sourceMgr;
  std::unique_ptr<mlir::SourceMgrDiagnosticHandler> diagHandler;
};

/// The kernel cache (memory, then $ATTNC_CACHE_DIR) for GPU artefacts: PTX keyed by
/// the kernel's IR, cubins by the PTX.
cuda::ArtifactCache gpuArtifactCache();

/// The forward CPU kernel's operands for `spec` as this process JIT-compiles it:
/// bf16 pairs for a bf16 variant where the CPU level (chooseCpuIsa: ATTNC_CPU_ISA,
/// else the processor's best) has AVX512-BF16, else f32; an error when
/// ATTNC_CPU_ISA is set to a level this processor lacks (or to no level).
Result<cpu::CpuOperands> jitCpuOperands(const frontend::Spec &spec);

/// spec's backward flash form for the CPU target (buildFlashBackwardPipeline with
/// cpu::backwardKeyTilesPerPass key tiles a pass).
void buildCpuFlashBackwardPipeline(mlir::OpPassManager &pm, const frontend::Spec &spec,
                                   const KernelTileOptions &options);

/// The GPU tiles of compile options (0: chosen by cuda::chooseGpuTiles).
cuda::GpuTileOptions gpuTiles(const KernelTileOptions &options);

/// What the GPU tile heuristic (cuda::chooseGpuTiles) needs to know of a spec.
cuda::GpuKernelTraits gpuTraits(const frontend::Spec &spec);

/// ptxas through the kernel cache: the cubin of a PTX text for a chip is assembled
/// once and kept in $ATTNC_CACHE_DIR; without ptxas, or with ATTNC_CUDA_JIT_PTX=1,
/// an empty result (the driver compiles the PTX).
cuda::Assembler cachedCubinAssembler();

/// The GPU configuration for `module` (attn IR, not changed): the heuristic's,
/// unless its tensor-core kernel spills on sm_80 or sm_90a, then the first of
/// cuda::gpuTileCandidates that spills on neither (SpillFreeTiles.cpp). Fields set
/// in `options` are kept. Without ptxas, the heuristic's.
cuda::GpuTileOptions spillFreeGpuTiles(mlir::ModuleOp module, const frontend::Spec &spec,
                                       const KernelTileOptions &options);

/// spillFreeGpuTiles for the backward kernel: the first of
/// cuda::gpuBackwardTileCandidates whose kernel spills on neither chip.
cuda::GpuTileOptions spillFreeGpuBackwardTiles(mlir::ModuleOp module,
                                               const frontend::Spec &spec,
                                               const KernelTileOptions &options);

/// How far lowerForEmit takes an imported module.
enum class LoweringStage {
  Flash,     ///< the flash form
  GpuKernel, ///< the GPU kernel: host code around a gpu.launch
  Llvm,      ///< the CPU kernel in the LLVM dialect
};

/// Lowers `module` (attn IR, in place) to `stage` for what `attnc compile --emit`
/// prints: on a GPU (`gpu`), with the configuration `target` runs (checked against
/// spills for cuda, the heuristic's for cuda-emu); on the CPU, with `options`' tiles.
/// With `options.backward`, the backward pass instead (the backward flash form, its
/// CPU kernel, or its GPU kernel with chooseGpuBackwardTiles's tiles).
/// Returns the GPU tiles used (unset fields on the CPU), or failure after a
/// diagnostic.
mlir::FailureOr<cuda::GpuTileOptions> lowerForEmit(mlir::ModuleOp module,
                                                   const frontend::Spec &spec,
                                                   LoweringStage stage, bool gpu, Target target,
                                                   const KernelTileOptions &options);

/// Registers "sdpa" in ALL_ATTENTION_FUNCTIONS: plain softmax attention (scale
/// 1/sqrt(head_dim)) compiled on first use for each head layout, head dims and dtype
/// it is called with, and cached.
void registerSdpa(AttentionInterface &registry = ALL_ATTENTION_FUNCTIONS);

} // namespace attnc

#endif // ATTNC_COMPILER_COMPILER_H
