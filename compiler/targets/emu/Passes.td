//===- Passes.td - the cuda-emu target's passes --------------*- tablegen -*-===//

#ifndef ATTNC_TARGETS_EMU_PASSES_TD
#define ATTNC_TARGETS_EMU_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnGpuToEmu : Pass<"attn-gpu-to-emu", "mlir::ModuleOp"> {
  let summary = "Lowers gpu.func kernels to host functions that call the SIMT emulator";
  let description = [{
    Every `gpu.func` of every `gpu.module` becomes a host `func.func` of the same
    name and arguments (a kernel whose name is taken becomes `module_kernel`; the
    module attribute `attn.emu.kernel_functions` maps each `module::kernel` path to
    its host function). Kernels get the C interface; other functions of the
    `gpu.module` are moved to the host module as they are). The body is kept as it
    is, with any control flow, and its GPU operations call the cuda-emu runtime
    (`runtime/emu/EmuAbi.h`):

    - `gpu.thread_id`, `gpu.block_id`, `gpu.block_dim`, `gpu.grid_dim`,
      `gpu.lane_id` → `attnc_emu_*_id(dim)`; `gpu.subgroup_size` → 32;
    - `gpu.barrier` → `attnc_emu_barrier(loc)`;
    - `gpu.shuffle` (32-bit values, xor/idx/up/down, with width and validity) →
      `attnc_emu_shuffle`;
    - workgroup attributions, `memref.alloca`/`alloc` in workgroup memory and
      `gpu.dynamic_shared_memory` → per-block allocations (`attnc_emu_shared`,
      `attnc_emu_dynamic_shared`); private attributions → stack allocations;
      every `memref.load`/`store` and 1-D `vector.load`/`store` on workgroup memory
      (`#gpu.address_space<workgroup>` or space 3) is preceded by
      `attnc_emu_check_shared(address, bytes, isWrite, loc)` (bounds and races);
    - the same accesses to other (global) memory: indices outside the memref's
      shape call `attnc_emu_out_of_bounds(isWrite, loc)` and the access is
      redirected to element 0, so nothing outside the buffer is touched;
    - `nvgpu.ldmatrix` → `attnc_emu_ldmatrix`, `nvgpu.mma.sync` → `attnc_emu_mma_*`
      with the fragments passed through small stack buffers: m16n8k16 and m16n8k8
      with f16/bf16 inputs and f32 accumulators (or f16 accumulators for f16 inputs,
      accumulated in f32 and rounded once), m16n8k8 and m16n8k4 tf32 (the smaller k
      of each is the larger one with zero padding);
    - `nvgpu.device_async_copy` / `device_async_create_group` / `device_async_wait`
      → `attnc_emu_async_*`: copies land only when their group is waited for;
    - `gpu.printf` → the C library's `printf` (arguments promoted as in C);
    - `gpu.return` → `func.return`.

    `loc` is an index into the module attribute `attn.emu.locations`, the source
    locations of the lowered operations. Other `gpu`/`nvgpu` operations are
    reported as unsupported; everything else is left for the CPU pipeline. The
    `gpu.module`s are removed and memory spaces dropped from every memref type.
    Host code must have been lowered first (attn-gpu-host-to-emu).

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
                           "::mlir::scf::SCFDialect", "::mlir::LLVM::LLVMDialect"];
}

def AttnGpuEmuRewrite : Pass<"attn-gpu-emu-rewrite", "mlir::gpu::GPUModuleOp"> {
  let summary = "Expands GPU operations that the emulator runs as simpler ones";
  let description = [{
    Applies upstream MLIR's GPU rewrite patterns, the same ones that precede the
    NVVM lowering: `gpu.all_reduce` becomes warp shuffles, workgroup memory and
    barriers; `gpu.subgroup_reduce` becomes a butterfly of 32-bit shuffles over a
    32-lane warp; 64-bit `gpu.shuffle`s become two 32-bit ones; `gpu.global_id` and
    `gpu.subgroup_id` become arithmetic on thread and block ids. What remains is
    lowered by attn-gpu-to-emu.

    ```mlir
    %sum = gpu.all_reduce add %v uniform {} : (f32) -> (f32)
    // becomes gpu.shuffle xor ... over each warp, the warps' partial sums in a
    // workgroup attribution, gpu.barrier, and a second shuffle reduction.
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::cf::ControlFlowDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::vector::VectorDialect"];
}

def AttnGpuHostToEmu : Pass<"attn-gpu-host-to-emu", "mlir::ModuleOp"> {
  let summary = "Lowers host-side GPU operations to host memory and emulator launches";
  let description = [{
    The host half of running a GPU program under cuda-emu: on the CPU the device
    memory is host memory, and every operation completes before it returns, so

    - `gpu.launch_func` → `attnc_emu_launch(kernel, grid x/y/z, block x/y/z,
      dynamic shared bytes, argv, loc)`: the kernel is named by its index in the
      module attribute `attn.emu.kernels` (paths `module::kernel`; attn-gpu-to-emu
      maps them to host functions), and `argv` points to one pointer per
      kernel operand, to a memref descriptor (aligned pointer twice, offset, sizes,
      strides) or to the scalar's bits, built in an `alloca_scope`;
    - `gpu.alloc` → `memref.alloc`, `gpu.dealloc` → `memref.dealloc`,
      `gpu.memcpy` → `memref.copy`, `gpu.memset` → loops of stores;
    - `gpu.launch_func async` → `attnc_emu_launch_async(..., kinds, #args, deps,
      #deps, loc)`, which copies the arguments, starts the launch on a thread of its
      own after the launches `deps` and returns its i64 handle; an operation that
      depends on it first calls `attnc_emu_wait(handle)`;
    - `gpu.host_register`/`host_unregister` and `gpu.wait` are erased (after
      waiting for their dependencies); tokens of completed work are dropped (an
      error names a token used by anything but a GPU op).

    `gpu.launch` must have been outlined first (`gpu-kernel-outlining`).

    ```mlir
    gpu.launch_func @kernels::@scale blocks in (%c1, %c1, %c1)
        threads in (%c64, %c1, %c1) args(%buf : memref<64xf32>, %s : f32)
    // becomes, inside memref.alloca_scope:
    //   argv[0] → descriptor of %buf, argv[1] → bits of %s
    //   call @attnc_emu_launch(%k0, %gx, %gy, %gz, %bx, %by, %bz, %smem, %argv, %loc)
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"];
}

#endif // ATTNC_TARGETS_EMU_PASSES_TD
