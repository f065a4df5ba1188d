//===- CpuTileBuilder.h - what the CPU's forward and backward kernels share -*- C++ -*-===//
//
// The CPU kernels (LowerFlashToCpu.cpp for the forward flash form,
// CpuBackwardKernel.cpp for the backward one) are built from the same parts: f32
// vectors of kVectorWidth lanes, a register-blocked micro-kernel (kRowBlock rows ×
// up to four vectors of accumulators), the Q·Kᵀ-shaped product of a row panel and
// transposed key tiles, run-time buffers as 1-D views with their sizes and
// strides, and the modifier regions evaluated on whole vectors of keys. This
// class holds them; the two builders add their frame (ABI, scratch) and tile ops.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CPU_CPUTILEBUILDER_H
#define ATTNC_COMPILER_TARGETS_CPU_CPUTILEBUILDER_H

#include "compiler/codegen/FlashFormLowering.h"
#include "compiler/targets/cpu/Passes.h"
#include "compiler/targets/cpu/RegionVectorizer.h"

#include <functional>

namespace attnc::cpu {

class CpuTileBuilder : public codegen::FlashFormLowering {
public:
  CpuTileBuilder(mlir::func::FuncOp flash, attn::VariantOp variant,
                 const FlashFormDetail &form)
      : FlashFormLowering(flash, variant, form, "attn-lower-flash-to-cpu"),
        BQ(form.blockQ()), BK(form.blockKV()), D(form.headDim()), DV(form.headDimV()),
        DVp(paddedHeadDimV(DV)), H(form.headsQ()), HKV(form.headsKV()) {}

protected:
  static constexpr int64_t VW = kVectorWidth;

  /// The tile sizes the CPU kernels support (block-q a multiple of RB up to 1024,
  /// block-kv a multiple of VW up to 512), or an error on the flash function.
  mlir::LogicalResult checkTiles();
  /// Creates the kernel `name` (C interface) before the flash function, with
  /// `inputs`, and starts building its body; returns its arguments.
  mlir::ValueRange createKernelFunction(llvm::StringRef name, llvm::ArrayRef<mlir::Type> inputs);
  /// Frees the heap scratch tiles and returns.
  mlir::LogicalResult emitReturn(mlir::func::ReturnOp op) override;
  /// The interval analysis's class, and where the mask reads buffers (which the
  /// analysis cannot see into: every tile it does not skip is "partial") the mask
  /// evaluated over a partial tile's elements, so that a tile whose elements are
  /// all masked is skipped and one whose elements are all kept is full.
  mlir::LogicalResult emitMaskClassOp(attn::TileMaskClassOp op,
                                      const mlir::IRMapping &at) override;
  /// The exact class (0, 1, 2) of the elements [q0, q1] x [k0, k1] of batch `bIdx`,
  /// head `hIdx`: mask_mod on VW keys at a time, any kept and any dropped element
  /// ORed across the tile.
  mlir::Value scanMaskClass(mlir::Value bIdx, mlir::Value hIdx, mlir::Value q0,
                            mlir::Value q1, mlir::Value k0, mlir::Value k1, mlir::Value qLen,
                            mlir::Value kvLen, mlir::ValueRange scalars);
  static constexpr int64_t RB = kRowBlock;
  static constexpr int64_t kMaxVecsPerGroup = 4;

  // --- vectors ---------------------------------------------------------------
  mlir::VectorType vecF32() { return mlir::VectorType::get({VW}, b.getF32Type()); }
  mlir::Value splatF32(double v) {
    return mlir::vector::BroadcastOp::create(b, loc, vecF32(), f32(v));
  }
  mlir::Value bcast(mlir::Value scalar) {
    return mlir::vector::BroadcastOp::create(
        b, loc, mlir::VectorType::get({VW}, scalar.getType()), scalar);
  }
  mlir::Value vload(mlir::Value memref, mlir::Value offset) {
    return mlir::vector::LoadOp::create(b, loc, vecF32(), memref, mlir::ValueRange{offset});
  }
  void vstore(mlir::Value v, mlir::Value memref, mlir::Value offset) {
    mlir::vector::StoreOp::create(b, loc, v, memref, mlir::ValueRange{offset});
  }
  mlir::Value fma(mlir::Value x, mlir::Value y, mlir::Value acc) {
    return mlir::vector::FMAOp::create(b, loc, vecF32(), x, y, acc);
  }
  /// The lane numbers 0 .. VW-1 as a vector of i64.
  mlir::Value laneIota();
  /// VW vectors of VW lanes to one vector whose lane r is `combine` over the lanes
  /// of rows[r]: pairs of vectors halve their partials log2(VW) times, each step
  /// two two-source shuffles and one `combine` (VW - 1 steps in all, where VW
  /// horizontal reductions would take VW log2(VW); LLVM makes a vector.reduction
  /// <maxnumf> a serial chain of VW scalar maxima, ~100 cycles a row).
  mlir::Value reduceRowsToLanes(llvm::ArrayRef<mlir::Value> rows,
                                llvm::function_ref<mlir::Value(mlir::Value, mlir::Value)> combine);

  // --- bf16 pairs (operands=bf16) ----------------------------------------------------
  /// The two bf16 at `offset` of the bf16 panel `memref`, as one i32.
  mlir::Value loadPair(mlir::Value memref, mlir::Value offset);
  /// `pair` (an i32 holding two bf16) in every lane: vector<2*VW x bf16>.
  mlir::Value bcastPair(mlir::Value pair);
  /// The VW pairs (2*VW bf16) at `offset` of the bf16 panel `memref`.
  mlir::Value vloadPairs(mlir::Value memref, mlir::Value offset);
  /// acc + a[2i]*b[2i] + a[2i+1]*b[2i+1] in each f32 lane i (vdpbf16ps).
  mlir::Value dotPairs(mlir::Value a, mlir::Value b, mlir::Value acc);

  /// Calls body(firstElement, numVectors) for groups of up to kMaxVecsPerGroup
  /// vectors covering `numVecs` vectors. More than two full groups become an
  /// scf.for (so wide heads do not blow up the code), the rest is unrolled.
  void forEachGroup(int64_t numVecs, const std::function<void(mlir::Value, int64_t)> &body);
  /// Calls body(firstElement) for each of `numVecs` vectors (a loop when many).
  void forEachVector(int64_t numVecs, const std::function<void(mlir::Value)> &body);

  /// The register-blocked micro-kernel shared by every tile product: for k in
  /// [0, kEnd), acc[r][c] += a(k, r) * b(k, c) for RB rows and n vectors, with the
  /// RB * n accumulators (starting at `init`) carried in registers. Returns them.
  /// With `pairs`, k counts bf16 pairs: a(k, r) is an i32 holding a row's pair,
  /// b(k, c) VW column pairs (vloadPairs), multiplied by dotPairs.
  llvm::SmallVector<mlir::Value>
  emitMicroKernel(llvm::ArrayRef<mlir::Value> init, int64_t n, int64_t kEnd,
                  llvm::function_ref<mlir::Value(mlir::Value, int64_t)> aScalar,
                  llvm::function_ref<mlir::Value(mlir::Value, int64_t)> bVector,
                  bool pairs = false);

  /// The tile products of both kernels: out[row][col..] = (or +=, with `accumulate`)
  /// scale * sum_{k < depth} a(k, row) * b(k, col..) for `rows` rows (a multiple of
  /// RB) and `width` columns (a multiple of VW), RB rows x up to 4 vectors of sums in
  /// registers across the k loop. `a` gives a scalar, `b` the vector at column
  /// `col`, `outAt` the offset of (row, col) in `out`. With `pairs`, `depth` counts
  /// bf16 pairs (emitMicroKernel).
  void emitBlockedProduct(int64_t rows, int64_t width, int64_t depth, double scale,
                          bool accumulate,
                          llvm::function_ref<mlir::Value(mlir::Value, mlir::Value)> a,
                          llvm::function_ref<mlir::Value(mlir::Value, mlir::Value)> b,
                          mlir::Value out,
                          llvm::function_ref<mlir::Value(mlir::Value, mlir::Value)> outAt,
                          bool pairs = false);

  /// out[r][c] = scale * sum_d rows[rowBase + r * rowStride + d] *
  /// tiles[tileBase + d * BK + c] for the BQ × BK tile `out`: a row panel times a
  /// transposed key tile of `depth` rows (Q·Kᵀ, and dO·Vᵀ in the backward pass).
  void emitRowsTimesTile(mlir::Value out, mlir::Value rows, mlir::Value rowBase,
                         int64_t rowStride, mlir::Value tiles, mlir::Value tileBase,
                         int64_t depth, double scale);

  // --- run-time buffers and the modifier regions ----------------------------------
  /// A 1-D view and the sizes and strides of the memref `buf` (the ordinal is the
  /// buffer's position, for error codes).
  BufferAccess accessOf(mlir::Value buf, int64_t ordinal);
  /// bufferAccess for each of the variant's buffers, from the kernel's arguments.
  void prepareBuffers();
  /// A vectoriser for the modifier regions with the kernel's scalars (`scalars`,
  /// in declaration order), buffers and status word.
  RegionVectorizer vectorizer(mlir::ValueRange scalars, mlir::Value status);

  int64_t BQ, BK, D, DV, DVp, H, HKV;
  llvm::StringMap<BufferAccess> bufferAccess;
  llvm::SmallVector<mlir::Value> heapScratch; ///< scratch tiles freed by emitReturn
};

/// Rebuilds the backward flash function `flash` as `@X_backward_cpu`
/// (CpuBackwardKernel.cpp).
mlir::LogicalResult buildBackwardKernel(mlir::func::FuncOp flash, attn::VariantOp variant,
                                        const FlashFormDetail &form);

} // namespace attnc::cpu

#endif // ATTNC_COMPILER_TARGETS_CPU_CPUTILEBUILDER_H
