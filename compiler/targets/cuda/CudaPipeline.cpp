//===- CudaPipeline.cpp - attn module → GPU kernel -------------------------===//
#include "compiler/targets/cuda/CudaPipeline.h"
#include "compiler/pipeline/Pipeline.h"

#include "compiler/targets/cuda/Passes.h"
#include "compiler/targets/cuda/SharedTileLayout.h"
#include "compiler/transforms/Passes.h"

namespace attnc::cuda {

Status checkGpuLimits(const GpuKernelTraits &traits) {
  if (traits.headDim + traits.headDimV > kMaxGpuHeadDims)
    return Status::error(
        "head_dim + head_dim_v is " + std::to_string(traits.headDim + traits.headDimV) +
        ", more than the GPU kernels' " + std::to_string(kMaxGpuHeadDims) +
        ": they stage at least 8 rows of K and V (as f32 in the SIMT kernel) in 48 KiB of "
        "shared memory");
  return Status::ok();
}

int64_t defaultBlockKV(int64_t headDim, int64_t headDimV) {
  int64_t blockKV = 64;
  while (blockKV > 8 && blockKV * (headDim + headDimV) * 4 > 32 * 1024)
    blockKV /= 2;
  return blockKV;
}

int64_t tensorCoreSharedBytes(int64_t blockQ, int64_t blockKV, int64_t headDim,
                              int64_t headDimV, int64_t stages) {
  // Rows padded for the tensor cores, as SharedTileLayout lays them out (a chunk
  // more where it pads instead of swizzling).
  using detail::SharedTileLayout;
  int64_t dp = SharedTileLayout::physicalColumns((headDim + 15) / 16 * 16),
          dvp = SharedTileLayout::physicalColumns((headDimV + 7) / 8 * 8);
  return 2 * (blockQ * dp + stages * blockKV * (dp + dvp));
}

GpuTileOptions chooseGpuTiles(GpuTileOptions requested, const GpuKernelTraits &traits,
                              bool tensorCores) {
  int64_t headDim = traits.headDim, headDimV = traits.headDimV;
  GpuTileOptions t = requested;
  auto fits = [&](int64_t bq, int64_t bk, int64_t s) {
    return tensorCoreSharedBytes(bq, bk, headDim, headDimV, s) <= kPreferredSharedBytes;
  };
  // 16-bit specs whose smallest tensor-core tiles do not fit (head dims above 256
  // or so) run the SIMT kernel, with its tiles.
  bool tensorCoreTiles = traits.sixteenBit && tensorCores &&
                         fits(t.blockQ ? t.blockQ : 64, t.blockKV ? t.blockKV : 16,
                                         t.stages ? t.stages : 1);
  if (!tensorCoreTiles) {
    t.blockQ = t.blockQ ? t.blockQ : 64;
    t.blockKV = t.blockKV ? t.blockKV : defaultBlockKV(headDim, headDimV);
    t.stages = t.stages ? t.stages : 2;
    return t;
  }
  // Head dims up to 64 take FlashAttention-2's 32 rows per warp: each K and V
  // fragment feeds two mma (0.25 ldmatrix per mma) and the per-tile work is shared
  // by twice the mma (SASS profile, docs/cuda-target.md: 4.2 instructions per mma
  // against 5.8 for 16-row warps at head dim 64), in about 250 registers. Larger
  // head dims do not fit their Q fragments in the registers of 32 rows.
  if (!t.rowsPerWarp)
    t.rowsPerWarp = headDim <= 64 && headDimV <= 64 && (!t.blockQ || t.blockQ % 32 == 0) ? 32
                                                                                          : 16;
  // Key tiles of 64 rows; 32 where a score_mod, or buffer reads in the mods, need
  // registers beside the live scores of 32-row warps (about 250 registers already).
  int64_t firstBlockKV =
      t.rowsPerWarp == 32 && (traits.scoreMod || traits.readsBuffers) ? 32 : 64;
  auto pickBlockKV = [&](int64_t bq, int64_t s) {
    int64_t bk = firstBlockKV;
    while (bk > 16 && !fits(bq, bk, s))
      bk /= 2;
    return bk;
  };
  if (!t.stages)
    t.stages = fits(t.blockQ ? t.blockQ : 64, t.blockKV ? t.blockKV : 16, 2) ? 2 : 1;
  // 32 rows per warp: 4 warps make the 128-row block. 16-row warps: 8 warps (at
  // most 128 registers) without a score_mod when 64-key tiles fit beside it, else 4.
  if (!t.blockQ)
    t.blockQ = (!traits.scoreMod || t.rowsPerWarp == 32) &&
                       fits(128, t.blockKV ? t.blockKV : firstBlockKV, t.stages)
                   ? 128
                   : 64;
  if (!t.blockKV)
    t.blockKV = pickBlockKV(t.blockQ, t.stages);
  return t;
}

std::vector<GpuTileOptions> gpuTileCandidates(GpuTileOptions requested,
                                              const GpuKernelTraits &traits) {
  std::vector<GpuTileOptions> candidates;
  auto add = [&](GpuTileOptions t) {
    t = chooseGpuTiles(t, traits);
    for (const GpuTileOptions &c : candidates)
      if (c.blockQ == t.blockQ && c.blockKV == t.blockKV && c.stages == t.stages &&
          c.rowsPerWarp == t.rowsPerWarp)
        return;
    candidates.push_back(t);
  };
  GpuTileOptions first = chooseGpuTiles(requested, traits);
  add(first);
  // 32-row warps with smaller key tiles, then 16-row warps.
  if (first.rowsPerWarp == 32 && !requested.rowsPerWarp)
    for (int64_t bk = first.blockKV / 2; !requested.blockKV && bk >= 16; bk /= 2) {
      GpuTileOptions t = first;
      t.blockKV = bk;
      add(t);
    }
  GpuTileOptions base = requested;
  if (!base.rowsPerWarp)
    base.rowsPerWarp = 16;
  // Other warp counts change the registers per thread ptxas aims for: 4, 8, 2.
  std::vector<int64_t> blockQs{first.blockQ};
  if (!requested.blockQ && traits.sixteenBit)
    for (int64_t bq : {64, 128, 32})
      if (bq != first.blockQ)
        blockQs.push_back(bq);
  for (int64_t bq : blockQs) {
    GpuTileOptions t = base;
    t.blockQ = bq;
    add(t);
    GpuTileOptions chosen = chooseGpuTiles(t, traits);
    for (int64_t bk = chosen.blockKV / 2; !requested.blockKV && bk >= 16; bk /= 2) {
      t.blockKV = bk;
      add(t);
    }
  }
  if (!requested.stages)
    for (size_t i = 0, n = candidates.size(); i < n; ++i)
      if (candidates[i].stages > 1) {
        GpuTileOptions t = candidates[i];
        t.stages = 1;
        add(t);
      }
  return candidates;
}

void buildGpuKernelPipeline(mlir::OpPassManager &pm, const GpuTileOptions &options,
                            const GpuKernelTraits &traits) {
  GpuTileOptions t = chooseGpuTiles(options, traits);
  pm.addPass(createAttnSimplify());
  AttnTileFlashOptions tile;
  tile.blockQ = t.blockQ;
  tile.blockKV = t.blockKV;
  pm.addPass(createAttnTileFlash(tile));
  AttnLowerFlashToGpuOptions lower;
  lower.stages = t.stages;
  lower.rowsPerWarp = t.rowsPerWarp ? t.rowsPerWarp : 16;
  pm.addPass(createAttnLowerFlashToGpu(lower));
}

GpuTileOptions chooseGpuBackwardTiles(GpuTileOptions requested, const GpuKernelTraits &traits) {
  int64_t width = std::max(traits.headDim, traits.headDimV);
  if (traits.sixteenBit && width <= 128) {
    // The tensor-core kernel: 4 warps of 16 key rows; 32 query rows a pair up to
    // head dim 64, 16 above (where dK or dV alone holds 64 registers a thread).
    if (!requested.blockKV)
      requested.blockKV = 64;
    if (!requested.blockQ)
      requested.blockQ = width <= 64 ? 32 : 16;
    return requested;
  }
  int64_t tile = width <= 128 ? 32 : 16;
  if (!requested.blockQ)
    requested.blockQ = tile;
  if (!requested.blockKV)
    requested.blockKV = tile;
  // Staged rows and keys (f32, `width` columns), the dS tile and delta.
  auto bytes = [&] {
    int64_t bq = requested.blockQ, bk = requested.blockKV;
    return 4 * ((bq + bk) * width + bq * bk + bq);
  };
  while (bytes() > kPreferredSharedBytes && (requested.blockQ > 16 || requested.blockKV > 16)) {
    if (requested.blockQ >= requested.blockKV)
      requested.blockQ /= 2;
    else
      requested.blockKV /= 2;
  }
  return requested;
}

std::vector<GpuTileOptions> gpuBackwardTileCandidates(GpuTileOptions requested,
                                                      const GpuKernelTraits &traits) {
  GpuTileOptions first = chooseGpuBackwardTiles(requested, traits);
  std::vector<GpuTileOptions> candidates{first};
  int64_t width = std::max(traits.headDim, traits.headDimV);
  if (!traits.sixteenBit || width > 128 || requested.blockQ)
    return candidates;
  for (int64_t blockQ : {16, 32, 64}) {
    if (blockQ == first.blockQ || (width > 64 && blockQ > 32))
      continue;
    GpuTileOptions other = first;
    other.blockQ = blockQ;
    candidates.push_back(other);
  }
  return candidates;
}

void buildGpuBackwardPipeline(mlir::OpPassManager &pm, const GpuTileOptions &options,
                              const GpuKernelTraits &traits) {
  GpuTileOptions t = chooseGpuBackwardTiles(options, traits);
  attnc::buildFlashBackwardPipeline(pm, {t.blockQ, t.blockKV});
  pm.addPass(createAttnLowerFlashToGpu());
}

} // namespace attnc::cuda
