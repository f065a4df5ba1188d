//===- Passes.td - the CPU target's passes -------------------*- tablegen -*-===//

#ifndef ATTNC_TARGETS_CPU_PASSES_TD
#define ATTNC_TARGETS_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnLowerFlashToCpu : Pass<"attn-lower-flash-to-cpu", "mlir::ModuleOp"> {
  let summary = "Lowers the flash form to vectorised CPU loops";
  let description = [{
    Turns each `@X_flash` function into `@X_cpu`, the CPU kernel:

    ```
    func.func @X_cpu(%q, %k, %v, %out, %lse: memref<?xf32>, scalars...,
                     buffers..., %status: memref<4xi64>,
                     %q_len, %kv_len, %begin, %end: index)
    ```

    The CPU target stores q, k, v, out and lse in packed f32 layouts (made by the
    runtime's packer, see docs/cpu-target.md): q as [B][H][Q_pad][D], k as key
    tiles transposed to [B][H_KV][kv_tiles][D][BK], v as [B][H_KV][KV_pad][DV_pad],
    out as [B][H][Q_pad][DV_pad] and lse as [B][H][Q_pad], where DV_pad rounds DV up
    to the vector width. The parallel loop over (batch, head, query tile) becomes a
    loop over the work items [begin, end), which the runtime spreads over threads.
    Tile ops become register-blocked vector micro-kernels (4 rows × up to 4 vectors
    of accumulators) for Q·Kᵀ and P·V, vectorised online softmax, and `score_mod` /
    `mask_mod` evaluated on whole vectors of keys (buffer reads become masked
    gathers with a bounds check that records an error in `status`).

    With `operands=bf16` the forward kernel takes q, k and v as bf16 panels of
    pairs (memref<?xbf16>: q as [B][H][Q_pad][D2], k as [B][H_KV][kv_tiles][D2/2]
    [BK][2], v as [B][H_KV][KV_pad/2][DV_pad][2], D2 = D rounded up to 2) and
    multiplies them with AVX512-BF16's pair dot product (`x86vector.avx512.dot`,
    vdpbf16ps: two products per f32 lane, accumulated in f32); P is rounded to
    bf16 for P·V (the row sums use the f32 probabilities), as the GPU kernels do.
    The backward kernel always takes f32 panels.
  }];
  let options = [
    Option<"operands", "operands", "std::string", /*default=*/"\"f32\"",
           "The forward kernel's packed operands of Q·Kᵀ and P·V: f32, or bf16 "
           "(pairs, multiplied with AVX512-BF16's vdpbf16ps)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
                           "::mlir::math::MathDialect", "::mlir::func::FuncDialect",
                           "::mlir::x86vector::X86VectorDialect"];
}

def AttnCpuMathApprox : Pass<"attn-cpu-math-approx", "mlir::ModuleOp"> {
  let summary = "Replaces math ops by vectorisable polynomial approximations";
  let description = [{
    exp, log, tanh, ... on vectors would otherwise become one libm call per lane.
    This applies MLIR's polynomial approximations (f32, accurate to a few ulp).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // ATTNC_TARGETS_CPU_PASSES_TD
