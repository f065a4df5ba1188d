// The block reduction of test/unit/EmuKernelTest.cpp (shuffles, workgroup memory,
// a barrier), as GPU code for ptxas.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @reduce(%in: memref<?xf32>, %out: memref<?xf32>)
        workgroup(%sums: memref<2xf32, #gpu.address_space<workgroup>>) kernel {
      %t = gpu.thread_id x
      %v0 = memref.load %in[%t] : memref<?xf32>
      %c32 = arith.constant 32 : i32
      %o16 = arith.constant 16 : i32
      %o8 = arith.constant 8 : i32
      %o4 = arith.constant 4 : i32
      %o2 = arith.constant 2 : i32
      %o1 = arith.constant 1 : i32
      %r16, %ok16 = gpu.shuffle xor %v0, %o16, %c32 : f32
      %v1 = arith.addf %v0, %r16 : f32
      %r8, %ok8 = gpu.shuffle xor %v1, %o8, %c32 : f32
      %v2 = arith.addf %v1, %r8 : f32
      %r4, %ok4 = gpu.shuffle xor %v2, %o4, %c32 : f32
      %v3 = arith.addf %v2, %r4 : f32
      %r2, %ok2 = gpu.shuffle xor %v3, %o2, %c32 : f32
      %v4 = arith.addf %v3, %r2 : f32
      %r1, %ok1 = gpu.shuffle xor %v4, %o1, %c32 : f32
      %v5 = arith.addf %v4, %r1 : f32
      %lane = gpu.lane_id
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c32i = arith.constant 32 : index
      %w = arith.divui %t, %c32i : index
      %first = arith.cmpi eq, %lane, %c0 : index
      scf.if %first {
        memref.store %v5, %sums[%w] : memref<2xf32, #gpu.address_space<workgroup>>
      }
      gpu.barrier
      %is0 = arith.cmpi eq, %t, %c0 : index
      scf.if %is0 {
        %a = memref.load %sums[%c0] : memref<2xf32, #gpu.address_space<workgroup>>
        %b = memref.load %sums[%c1] : memref<2xf32, #gpu.address_space<workgroup>>
        %s = arith.addf %a, %b : f32
        memref.store %s, %out[%c0] : memref<?xf32>
      }
      gpu.return
    }
  }
}
