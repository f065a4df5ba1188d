// The cp.async + ldmatrix + mma.sync kernel of test/unit/EmuKernelTest.cpp (f16), as
// GPU code for ptxas.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @mma(%a: memref<256xf16>, %bt: memref<128xf16>, %d: memref<128xf32>)
        workgroup(%sa: memref<16x16xf16, #gpu.address_space<workgroup>>,
                  %sb: memref<8x16xf16, #gpu.address_space<workgroup>>) kernel {
      %l = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %c8 = arith.constant 8 : index
      %c16 = arith.constant 16 : index
      %l8 = arith.muli %l, %c8 : index
      %ar = arith.divui %l8, %c16 : index
      %ac = arith.remui %l8, %c16 : index
      %tokA = nvgpu.device_async_copy %a[%l8], %sa[%ar, %ac], 8
          : memref<256xf16> to memref<16x16xf16, #gpu.address_space<workgroup>>
      %l4 = arith.muli %l, %c4 : index
      %br = arith.divui %l4, %c16 : index
      %bc = arith.remui %l4, %c16 : index
      %tokB = nvgpu.device_async_copy %bt[%l4], %sb[%br, %bc], 4
          : memref<128xf16> to memref<8x16xf16, #gpu.address_space<workgroup>>
      %grp = nvgpu.device_async_create_group %tokA, %tokB
      nvgpu.device_async_wait %grp {numGroups = 0 : i32}
      gpu.barrier
      %arow = arith.remui %l, %c16 : index
      %ahalf = arith.divui %l, %c16 : index
      %acol = arith.muli %ahalf, %c8 : index
      %fa = nvgpu.ldmatrix %sa[%arow, %acol] {numTiles = 4 : i32, transpose = false}
          : memref<16x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
      %brow = arith.remui %l, %c8 : index
      %bq = arith.divui %l, %c8 : index
      %bh = arith.remui %bq, %c2 : index
      %bcol = arith.muli %bh, %c8 : index
      %fb = nvgpu.ldmatrix %sb[%brow, %bcol] {numTiles = 2 : i32, transpose = false}
          : memref<8x16xf16, #gpu.address_space<workgroup>> -> vector<2x2xf16>
      %zero = arith.constant dense<0.0> : vector<2x2xf32>
      %fd = nvgpu.mma.sync (%fa, %fb, %zero) {mmaShape = [16, 8, 16]}
          : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      %g = arith.divui %l, %c4 : index
      %t = arith.remui %l, %c4 : index
      %t2 = arith.muli %t, %c2 : index
      %row0 = arith.muli %g, %c8 : index
      %o0 = arith.addi %row0, %t2 : index
      %o1 = arith.addi %o0, %c1 : index
      %c64 = arith.constant 64 : index
      %o2g = arith.addi %o0, %c64 : index
      %o3 = arith.addi %o2g, %c1 : index
      %d0 = vector.extract %fd[0, 0] : f32 from vector<2x2xf32>
      %d1 = vector.extract %fd[0, 1] : f32 from vector<2x2xf32>
      %d2 = vector.extract %fd[1, 0] : f32 from vector<2x2xf32>
      %d3 = vector.extract %fd[1, 1] : f32 from vector<2x2xf32>
      memref.store %d0, %d[%o0] : memref<128xf32>
      memref.store %d1, %d[%o1] : memref<128xf32>
      memref.store %d2, %d[%o2g] : memref<128xf32>
      memref.store %d3, %d[%o3] : memref<128xf32>
      gpu.return
    }
  }
}
