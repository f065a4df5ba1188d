// The cp.async double-buffered tiled GEMM of test/unit/EmuKernelTest.cpp in bf16, as
// GPU code for ptxas.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @gemm(%a: memref<1024xbf16>, %bt: memref<512xbf16>, %d: memref<128xf32>)
        workgroup(%sa: memref<2x16x16xbf16, #gpu.address_space<workgroup>>,
                  %sb: memref<2x8x16xbf16, #gpu.address_space<workgroup>>) kernel {
      %l = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %c8 = arith.constant 8 : index
      %c16 = arith.constant 16 : index
      %c64 = arith.constant 64 : index
      %l8 = arith.muli %l, %c8 : index
      %ar = arith.divui %l8, %c16 : index
      %ac = arith.remui %l8, %c16 : index
      %l4 = arith.muli %l, %c4 : index
      %br = arith.divui %l4, %c16 : index
      %bc = arith.remui %l4, %c16 : index
      %arow64 = arith.muli %ar, %c64 : index
      %brow64 = arith.muli %br, %c64 : index
      // Prologue: tile 0 into buffer 0.
      %ga0 = arith.addi %arow64, %ac : index
      %gb0 = arith.addi %brow64, %bc : index
      %p0 = nvgpu.device_async_copy %a[%ga0], %sa[%c0, %ar, %ac], 8
          : memref<1024xbf16> to memref<2x16x16xbf16, #gpu.address_space<workgroup>>
      %q0 = nvgpu.device_async_copy %bt[%gb0], %sb[%c0, %br, %bc], 4
          : memref<512xbf16> to memref<2x8x16xbf16, #gpu.address_space<workgroup>>
      %g0 = nvgpu.device_async_create_group %p0, %q0
      %zero = arith.constant dense<0.0> : vector<2x2xf32>
      %acc = scf.for %kt = %c0 to %c4 step %c1 iter_args(%accIn = %zero) -> (vector<2x2xf32>) {
        %buf = arith.remui %kt, %c2 : index
        %next = arith.addi %kt, %c1 : index
        %more = arith.cmpi ult, %next, %c4 : index
        scf.if %more {
          %nbuf = arith.remui %next, %c2 : index
          %koff = arith.muli %next, %c16 : index
          %ga = arith.addi %ga0, %koff : index
          %gb = arith.addi %gb0, %koff : index
          %p = nvgpu.device_async_copy %a[%ga], %sa[%nbuf, %ar, %ac], 8
              : memref<1024xbf16> to memref<2x16x16xbf16, #gpu.address_space<workgroup>>
          %q = nvgpu.device_async_copy %bt[%gb], %sb[%nbuf, %br, %bc], 4
              : memref<512xbf16> to memref<2x8x16xbf16, #gpu.address_space<workgroup>>
          %g = nvgpu.device_async_create_group %p, %q
          nvgpu.device_async_wait %g {numGroups = 1 : i32}
        } else {
          nvgpu.device_async_wait %g0 {numGroups = 0 : i32}
        }
        gpu.barrier
        %arow = arith.remui %l, %c16 : index
        %ahalf = arith.divui %l, %c16 : index
        %acol = arith.muli %ahalf, %c8 : index
        %fa = nvgpu.ldmatrix %sa[%buf, %arow, %acol] {numTiles = 4 : i32, transpose = false}
            : memref<2x16x16xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
        %brow = arith.remui %l, %c8 : index
        %bq = arith.divui %l, %c8 : index
        %bh = arith.remui %bq, %c2 : index
        %bcol = arith.muli %bh, %c8 : index
        %fb = nvgpu.ldmatrix %sb[%buf, %brow, %bcol] {numTiles = 2 : i32, transpose = false}
            : memref<2x8x16xbf16, #gpu.address_space<workgroup>> -> vector<2x2xbf16>
        %accOut = nvgpu.mma.sync (%fa, %fb, %accIn) {mmaShape = [16, 8, 16]}
            : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
        gpu.barrier
        scf.yield %accOut : vector<2x2xf32>
      }
      %g = arith.divui %l, %c4 : index
      %t = arith.remui %l, %c4 : index
      %t2 = arith.muli %t, %c2 : index
      %row0 = arith.muli %g, %c8 : index
      %o0 = arith.addi %row0, %t2 : index
      %o1 = arith.addi %o0, %c1 : index
      %o2 = arith.addi %o0, %c64 : index
      %o3 = arith.addi %o2, %c1 : index
      %d0 = vector.extract %acc[0, 0] : f32 from vector<2x2xf32>
      %d1 = vector.extract %acc[0, 1] : f32 from vector<2x2xf32>
      %d2 = vector.extract %acc[1, 0] : f32 from vector<2x2xf32>
      %d3 = vector.extract %acc[1, 1] : f32 from vector<2x2xf32>
      memref.store %d0, %d[%o0] : memref<128xf32>
      memref.store %d1, %d[%o1] : memref<128xf32>
      memref.store %d2, %d[%o2] : memref<128xf32>
      memref.store %d3, %d[%o3] : memref<128xf32>
      gpu.return
    }
  }
}
