//===- Passes.td - the CUDA target's passes ------------------*- tablegen -*-===//

#ifndef ATTNC_TARGETS_CUDA_PASSES_TD
#define ATTNC_TARGETS_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnLowerFlashToGpu : Pass<"attn-lower-flash-to-gpu", "mlir::ModuleOp"> {
  let summary = "Lowers the flash form to a GPU kernel (SIMT, K/V tiles in shared memory)";
  let description = [{
    Turns each `@X_flash` function into `@X_gpu`, a host function with the same
    arguments (q, k, v, out, lse in the spec's dtype with any strides, the scalars,
    the buffers, the status word) and the C interface, whose body is one
    `gpu.launch`: a block per (query tile, query head, batch), one thread per query
    row of the tile (block-q threads).

    For each key tile that the mask does not rule out (the flash form's tile
    classes: empty tiles are skipped, full tiles skip mask_mod), the block stages the
    K and V tile in workgroup memory (converted to f32; rows past KV_LEN are zero),
    waits at a barrier, and each thread computes its row's scores
    `scale * q·k`, applies `score_mod` and (partial tiles) `mask_mod` with its
    (q_idx, kv_idx), and updates its online softmax (running max, sum and f32
    accumulator in thread-private memory); a second barrier frees the tile. At the
    end each thread writes its row of `out` (rounded to the spec's dtype) and `lse`;
    a row with no kept key gets 0 and -inf. Buffer reads are bounds-checked and
    integer divisions guarded, recording errors in the status word. GQA maps query
    head h to key/value head h / (H / H_KV).

    This is the first CUDA kernel of attnc: it runs under cuda-emu and compiles for
    sm_80+; tensor cores (ldmatrix + mma.sync) and cp.async pipelining come next.

    ```mlir
    func.func @causal_gpu(%q: memref<?x8x?x64xf32, strided<...>>, ...) {
      gpu.launch blocks(%qt, %h, %b) in (%nq, %c8, %B) threads(%t, ...) in (%c64, ...)
          workgroup(%ks : memref<64x64xf32, #gpu.address_space<workgroup>>,
                    %vs : memref<64x64xf32, #gpu.address_space<workgroup>>) {
        ...
      }
    }
    ```
  }];
  let options = [
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"true",
           "Use the tensor-core kernel (mma.sync) for f16 specs whose tiles fit">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect", "::mlir::math::MathDialect",
                           "::mlir::func::FuncDialect", "::mlir::gpu::GPUDialect",
                           "::mlir::nvgpu::NVGPUDialect", "::mlir::vector::VectorDialect"];
}

#endif // ATTNC_TARGETS_CUDA_PASSES_TD
