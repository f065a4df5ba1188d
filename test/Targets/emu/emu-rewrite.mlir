// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(gpu.module(attn-gpu-emu-rewrite))' \
// RUN:   | FileCheck %s --implicit-check-not=gpu.all_reduce --implicit-check-not=gpu.subgroup_reduce

// gpu.all_reduce becomes warp shuffles, a workgroup buffer of the warps' partial
// results and barriers: operations that attn-gpu-to-emu lowers (and checks). No
// gpu.all_reduce or gpu.subgroup_reduce is left (--implicit-check-not).
gpu.module @m {
  // CHECK-LABEL: gpu.func @block_sum(
  // CHECK-SAME: workgroup(%{{.*}} : memref<32xf32, #gpu.address_space<workgroup>>)
  gpu.func @block_sum(%out: memref<1xf32>) kernel {
    %c0 = arith.constant 0 : index
    %one = arith.constant 1.0 : f32
    // CHECK: gpu.shuffle xor
    // CHECK: gpu.barrier
    %sum = gpu.all_reduce add %one uniform {} : (f32) -> (f32)
    memref.store %sum, %out[%c0] : memref<1xf32>
    gpu.return
  }
}

// -----

// gpu.subgroup_reduce: a butterfly of 32-bit shuffles over 32 lanes (16, 8, ... or
// 1, 2, ..., 16), here on an f16 value widened to 32 bits.
gpu.module @m {
  // CHECK-LABEL: gpu.func @warp_max(
  gpu.func @warp_max(%v: f16, %out: memref<1xf16>) kernel {
    %c0 = arith.constant 0 : index
    // CHECK-COUNT-5: gpu.shuffle xor %{{.*}}, %{{.*}}, %{{.*}} : i32
    %m = gpu.subgroup_reduce maxnumf %v : (f16) -> f16
    memref.store %m, %out[%c0] : memref<1xf16>
    gpu.return
  }
}
