//===- Passes.td - the CUDA target's passes ------------------*- tablegen -*-===//

#ifndef ATTNC_TARGETS_CUDA_PASSES_TD
#define ATTNC_TARGETS_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnLowerFlashToGpu : Pass<"attn-lower-flash-to-gpu", "mlir::ModuleOp"> {
  let summary = "Lowers the flash form to a GPU kernel (tensor cores for f16/bf16, else SIMT)";
  let description = [{
    Turns each `@X_flash` function into `@X_gpu`, a host function with the same
    arguments (q, k, v, out, lse in the spec's dtype with any strides, the scalars,
    the buffers, the status word) and the C interface, whose body is one
    `gpu.launch` with a block per (query tile of block-q rows, query head, batch).

    For f16 and bf16 specs whose tiles fit (block-q a multiple of rows-per-warp up
    to 128, block-kv a multiple of 16, the 16-bit Q tile and `stages` K and V tiles
    within 48 KiB) it is the tensor-core kernel: block-q / rows-per-warp warps of 16
    or 32 query rows; the Q tile is staged in workgroup memory and each warp keeps its A fragments
    (`nvgpu.ldmatrix` x4) in registers; K and V tiles go through a ring of
    `stages` buffers (with 16-byte aligned rows, tile kt + stages - 1 is fetched
    with `nvgpu.device_async_copy` while tile kt is computed; else plain loads), and
    each warp computes S = Q·Kᵀ with `nvgpu.mma.sync`
    m16n8k16 (f32 accumulators), applies `mask_mod` and `score_mod` to each
    accumulator element with its (q_idx, kv_idx) from the PTX fragment layout,
    reduces the row max over the quad with `gpu.shuffle xor`, and accumulates
    O += P·V with P rounded to 16 bits and reused from registers as the A operand
    (V's B fragments by ldmatrix .trans). Otherwise (f32, other tile shapes) it is
    the SIMT kernel: a thread per query row, K and V tiles staged in f32, scalar
    FMAs and the thread's row of each scratch tile in thread-private memory.

    Both walk the flash form (codegen/FlashFormLowering.h) and realise its tile
    ops: the key loop's `attn.tile_mask_class` skips tiles the mask rules out, and
    the partial and full tiles' `attn.tile_mods` evaluate `mask_mod` only on
    partial tiles and before `score_mod`; they bounds-check
    buffer reads and guard integer divisions (errors in the status word), write
    out (in the spec's dtype) and lse, with 0 and -inf for rows with nothing kept,
    and map query head h to key/value head h / (H / H_KV).

    ```mlir
    func.func @causal_gpu(%q: memref<?x8x?x64xf16, strided<...>>, ...) {
      gpu.launch blocks(%qt, %h, %b) in (%nq, %c8, %B) threads(%t, ...) in (%c128, ...)
          workgroup(%qs : memref<64x64xf16, #gpu.address_space<workgroup>>, ...) {
        %a = nvgpu.ldmatrix %qs[...] {numTiles = 4 : i32, transpose = false} ...
        %s = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]} ...
      }
    }
    ```
  }];
  let options = [
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"true",
           "Use the tensor-core kernel (mma.sync) for f16 and bf16 specs whose tiles fit">,
    Option<"stages", "stages", "int64_t", /*default=*/"2",
           "K/V tiles in flight in the tensor-core kernel's cp.async pipeline (1 to 4)">,
    Option<"rowsPerWarp", "rows-per-warp", "int64_t", /*default=*/"16",
           "Query rows per warp of the tensor-core kernel (16 or 32: with 32, each K "
           "and V fragment feeds two mma)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect", "::mlir::math::MathDialect",
                           "::mlir::func::FuncDialect", "::mlir::gpu::GPUDialect",
                           "::mlir::nvgpu::NVGPUDialect", "::mlir::vector::VectorDialect"];
}

#endif // ATTNC_TARGETS_CUDA_PASSES_TD
