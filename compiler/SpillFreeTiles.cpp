//===- SpillFreeTiles.cpp - a GPU configuration that does not spill --------===//
//
// The tile heuristic (cuda::chooseGpuTiles) works from head dims and the kinds of
// modifier, not from what ptxas does with a particular mask: a compound mask can
// push an 8-warp kernel past its 128 registers and spill. attnc promises kernels
// without spills, so when ptxas is installed the configuration is checked: each
// candidate (cuda::gpuTileCandidates, best first) is lowered and assembled for
// sm_80 and sm_90a, and the first that spills on neither is taken. PTX and the
// spill counts go through the kernel cache, so a spec pays for this once.
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"
#include "compiler/pipeline/Pipeline.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <regex>

using namespace mlir;

namespace attnc {

namespace {

/// Spill bytes (stores + loads) of `ptx` on `chip`, from ptxas -v through the cache.
Result<int64_t> spillBytes(const std::string &ptx, const std::string &chip) {
  Result<std::string> counted = gpuArtifactCache()(
      ptx, "spills chip=" + chip + " ptxas=" + cuda::findPtxas(), "spills",
      [&]() -> Result<std::string> {
        Result<std::string> report = cuda::ptxasReport(ptx, chip, /*threadsPerBlock=*/32);
        if (!report)
          return report.status();
        int64_t bytes = 0;
        std::regex spills("(\\d+) B spill stores, (\\d+) B spill loads");
        for (auto it = std::sregex_iterator(report->begin(), report->end(), spills);
             it != std::sregex_iterator(); ++it)
          bytes += std::stoll((*it)[1]) + std::stoll((*it)[2]);
        return std::to_string(bytes);
      });
  if (!counted)
    return counted.status();
  return int64_t(std::stoll(*counted));
}

/// The spill bytes of the kernel `module` (attn IR; not changed) lowers to with
/// `build`, summed over both chips.
Result<int64_t> kernelSpills(ModuleOp module, function_ref<void(OpPassManager &)> build) {
  int64_t total = 0;
  for (const char *chip : {"sm_80", "sm_90a"}) {
    OwningOpRef<ModuleOp> copy = module.clone();
    if (failed(attnc::runPipeline(*copy, build)))
      return Status::error("lowering the GPU kernel failed");
    Result<cuda::PtxKernel> ptx = cuda::lowerToPtx(*copy, chip, gpuArtifactCache());
    if (!ptx)
      return ptx.status();
    Result<int64_t> bytes = spillBytes(ptx->ptx, chip);
    if (!bytes)
      return bytes.status();
    total += *bytes;
  }
  return total;
}

/// The first of `candidates` whose kernel (`build` with it) spills on neither chip,
/// else the one that spills least (with a warning).
cuda::GpuTileOptions
firstSpillFree(ModuleOp module, const frontend::Spec &spec,
               const std::vector<cuda::GpuTileOptions> &candidates,
               function_ref<void(OpPassManager &, const cuda::GpuTileOptions &)> build) {
  int64_t fewest = -1;
  cuda::GpuTileOptions best = candidates.front();
  for (const cuda::GpuTileOptions &tiles : candidates) {
    Result<int64_t> spills =
        kernelSpills(module, [&](OpPassManager &pm) { build(pm, tiles); });
    if (!spills)
      return candidates.front(); // the compile proper reports the error
    if (*spills == 0)
      return tiles;
    if (fewest < 0 || *spills < fewest) {
      fewest = *spills;
      best = tiles;
    }
  }
  llvm::WithColor::warning(llvm::errs(), "")
      << "every GPU configuration of '" << spec.name << "' spills registers; using block-q "
      << best.blockQ << ", block-kv " << best.blockKV << ", " << best.stages << " stage(s) ("
      << fewest << " bytes of spills on sm_80 and sm_90a together)\n";
  return best;
}

} // namespace

cuda::GpuTileOptions spillFreeGpuTiles(ModuleOp module, const frontend::Spec &spec,
                                       const KernelTileOptions &options) {
  std::vector<cuda::GpuTileOptions> candidates =
      cuda::gpuTileCandidates(gpuTiles(options), gpuTraits(spec));
  if (candidates.size() == 1 || cuda::findPtxas().empty() || !gpuTraits(spec).sixteenBit)
    return candidates.front();
  return firstSpillFree(module, spec, candidates,
                        [&](OpPassManager &pm, const cuda::GpuTileOptions &tiles) {
                          cuda::buildGpuKernelPipeline(pm, tiles, gpuTraits(spec));
                        });
}

cuda::GpuTileOptions spillFreeGpuBackwardTiles(ModuleOp module, const frontend::Spec &spec,
                                               const KernelTileOptions &options) {
  std::vector<cuda::GpuTileOptions> candidates =
      cuda::gpuBackwardTileCandidates(gpuTiles(options), gpuTraits(spec));
  if (candidates.size() == 1 || cuda::findPtxas().empty())
    return candidates.front();
  return firstSpillFree(module, spec, candidates,
                        [&](OpPassManager &pm, const cuda::GpuTileOptions &tiles) {
                          cuda::buildGpuBackwardPipeline(pm, tiles, gpuTraits(spec));
                        });
}

} // namespace attnc
