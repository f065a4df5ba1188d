//===- Passes.td - the cuda-emu target's passes --------------*- tablegen -*-===//

#ifndef ATTNC_TARGETS_EMU_PASSES_TD
#define ATTNC_TARGETS_EMU_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnGpuToEmu : Pass<"attn-gpu-to-emu", "mlir::ModuleOp"> {
  let summary = "Lowers gpu.func kernels to host functions that call the SIMT emulator";
  let description = [{
    Every `gpu.func` kernel of every `gpu.module` becomes a host `func.func` of the
    same name and arguments (with the C interface), whose GPU operations call the
    cuda-emu runtime (`runtime/emu/EmuAbi.h`):

    - `gpu.thread_id`, `gpu.block_id`, `gpu.block_dim`, `gpu.grid_dim`,
      `gpu.lane_id` → `attnc_emu_*_id(dim)`;
    - `gpu.barrier` → `attnc_emu_barrier(loc)`;
    - `gpu.shuffle` (32-bit values, xor/idx/up/down, with width and validity) →
      `attnc_emu_shuffle`;
    - workgroup attributions and `memref.alloca`/`alloc` in workgroup memory → one
      allocation per block from `attnc_emu_shared`, and
      every `memref.load`/`memref.store` on workgroup memory is preceded by
      `attnc_emu_check_shared(address, bytes, isWrite, loc)` (bounds and races);
    - `memref.load`/`memref.store` on other (global) memory: indices outside the
      memref's shape call `attnc_emu_out_of_bounds(isWrite, loc)` and the access is
      redirected to element 0, so nothing outside the buffer is touched;
    - `nvgpu.ldmatrix` → `attnc_emu_ldmatrix`, `nvgpu.mma.sync` (m16n8k16 f16/bf16,
      m16n8k8 tf32; f32 accumulators) → `attnc_emu_mma_*`, with the fragments passed
      through small stack buffers;
    - `nvgpu.device_async_copy` / `device_async_create_group` / `device_async_wait`
      → `attnc_emu_async_*`: copies land only when their group is waited for;
    - `gpu.return` → `func.return`.

    `loc` is an index into the module attribute `attn.emu.locations`, the source
    locations of the lowered operations. Everything else is left for the CPU
    pipeline. The `gpu.module`s are removed.

    ```mlir
    gpu.module @m {
      gpu.func @k(%out: memref<32xi32>) kernel {
        %t = gpu.thread_id x
        gpu.barrier
        gpu.return
      }
    }
    // becomes
    func.func @k(%out: memref<32xi32>) attributes {llvm.emit_c_interface} {
      %c0 = arith.constant 0 : i64
      %0 = call @attnc_emu_thread_id(%c0) : (i64) -> i64
      %t = arith.index_cast %0 : i64 to index
      %l = arith.constant 0 : i64
      call @attnc_emu_barrier(%l) : (i64) -> ()
      return
    }
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::vector::VectorDialect",
                           "::mlir::scf::SCFDialect"];
}

#endif // ATTNC_TARGETS_EMU_PASSES_TD
