//===- WarpOps.h - emulated warp-level matrix operations ----------*- C++ -*-===//
//
// nvgpu.mma.sync and nvgpu.ldmatrix as warp collectives of the cuda-emu engine:
// every lane passes its fragment registers, the 32 fragments are assembled into the
// whole matrices following the PTX ISA's fragment layouts, the operation runs once,
// and each lane gets its part of the result back. With groupID = lane / 4 and
// tig = lane % 4 (PTX ISA, "Matrix fragments for mma.m16n8k16"):
//   A (16x16, f16/bf16, 8 halves): a0,a1 (groupID, 2tig+{0,1}); a2,a3 (groupID+8, ..);
//                                  a4,a5 (groupID, 2tig+8+{0,1}); a6,a7 (groupID+8, ..)
//   B (16x8, 4 halves):            b0,b1 (k = 2tig+{0,1}, n = groupID); b2,b3 (k+8, ..)
//   C/D (16x8, f32):               c0,c1 (groupID, 2tig+{0,1}); c2,c3 (groupID+8, ..)
// and for m16n8k8 .tf32: A a0 (groupID, tig), a1 (groupID+8, tig), a2 (groupID, tig+4),
// a3 (groupID+8, tig+4); B b0 (k = tig, n = groupID), b1 (k = tig+4, ..). tf32 inputs
// keep the top 19 bits of the f32 (the hardware ignores the low 13 bits).
// Products are exact in f32 for f16/bf16 inputs; sums are accumulated in f32 in k
// order (hardware leaves the order unspecified; tests allow for rounding).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_EMU_WARPOPS_H
#define ATTNC_RUNTIME_EMU_WARPOPS_H

#include <cstdint>

namespace attnc::emu {

enum class MmaType { F16, BF16 };

/// mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32
void mmaM16N8K16(MmaType type, const uint16_t a[8], const uint16_t b[4], const float c[4],
                 float d[4], const char *loc);

/// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
void mmaM16N8K8Tf32(const float a[4], const float b[2], const float c[4], float d[4],
                    const char *loc);

/// ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16: lanes 8i..8i+7 give the
/// addresses of the 8 rows (8 b16 each) of matrix i; every lane receives one b32 per
/// matrix: elements (lane/4, 2(lane%4)+{0,1}), or their transpose with `transpose`.
/// The row reads are checked as shared-memory accesses.
void ldmatrix(const void *rowAddress, int numMatrices, bool transpose, uint32_t out[4],
              const char *loc);

/// WMMA (gpu.subgroup_mma_*). A fragment's layout across the lanes is opaque to the
/// program, so under the emulator every lane holds the whole matrix, row-major. All
/// three are warp collectives (every lane of the warp must execute them).
enum class WmmaType { F16, F32, F64 };
struct WmmaTile {
  const char *base;      ///< element (0, 0)
  int64_t rows, cols, leadDimension;
  bool transpose;        ///< column-major: element (r, c) at c * ld + r
  WmmaType type;
  const char *begin, *end; ///< the memref's extent, for bounds checks
  bool shared;           ///< workgroup memory: accesses checked for races too
};
/// gpu.subgroup_mma_load_matrix: every lane reads the whole tile into `out`.
void wmmaLoad(const WmmaTile &src, void *out, const char *loc);
/// gpu.subgroup_mma_store_matrix: the tile `in` is written once, by lane 0.
void wmmaStore(const WmmaTile &dst, const void *in, const char *loc);
/// gpu.subgroup_mma_compute: D = A·B + C (m x k, k x n, m x n), accumulated in f64
/// and rounded once to the type of C.
void wmmaCompute(WmmaType abType, WmmaType cType, int64_t m, int64_t n, int64_t k,
                 const void *a, const void *b, const void *c, void *d, const char *loc);

} // namespace attnc::emu

#endif // ATTNC_RUNTIME_EMU_WARPOPS_H
