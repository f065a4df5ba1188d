// RUN: attn-emu-runner %s --shared-libs=%mlir_runner_utils --entry-point-result=void | FileCheck %s

// One warp: A (16x16 f16) staged in workgroup memory with cp.async (a group, a wait,
// a barrier), read back with ldmatrix.x4 into mma.sync's A fragment; B (16x8) read
// from global memory in the PTX fragment layout; D = A·B (m16n8k16, f32 accumulators)
// written back from the accumulator fragment. A is a permutation, A[m][k] = 1 where
// k = (m + 1) % 16, and B[k][n] = 8k + n, so row m of D is 8((m + 1) % 16) + n.

// CHECK: sizes = [16, 8]
// CHECK-NEXT: {{\[}}[8, 9, 10, 11, 12, 13, 14, 15],
// CHECK-NEXT: [16, 17, 18, 19, 20, 21, 22, 23],
// CHECK-NEXT: [24, 25, 26, 27, 28, 29, 30, 31],
// CHECK-NEXT: [32, 33, 34, 35, 36, 37, 38, 39],
// CHECK-NEXT: [40, 41, 42, 43, 44, 45, 46, 47],
// CHECK-NEXT: [48, 49, 50, 51, 52, 53, 54, 55],
// CHECK-NEXT: [56, 57, 58, 59, 60, 61, 62, 63],
// CHECK-NEXT: [64, 65, 66, 67, 68, 69, 70, 71],
// CHECK-NEXT: [72, 73, 74, 75, 76, 77, 78, 79],
// CHECK-NEXT: [80, 81, 82, 83, 84, 85, 86, 87],
// CHECK-NEXT: [88, 89, 90, 91, 92, 93, 94, 95],
// CHECK-NEXT: [96, 97, 98, 99, 100, 101, 102, 103],
// CHECK-NEXT: [104, 105, 106, 107, 108, 109, 110, 111],
// CHECK-NEXT: [112, 113, 114, 115, 116, 117, 118, 119],
// CHECK-NEXT: [120, 121, 122, 123, 124, 125, 126, 127],
// CHECK-NEXT: [0, 1, 2, 3, 4, 5, 6, 7]]

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @mma(%a: memref<16x16xf16>, %b: memref<16x8xf16>, %d: memref<16x8xf32>)
        workgroup(%as: memref<16x16xf16, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %c8 = arith.constant 8 : index
      %c9 = arith.constant 9 : index
      %c16 = arith.constant 16 : index
      %l = gpu.thread_id x
      // cp.async: thread l copies 8 halves of row l / 2.
      %row = arith.divui %l, %c2 : index
      %half = arith.remui %l, %c2 : index
      %col = arith.muli %half, %c8 : index
      %tok = nvgpu.device_async_copy %a[%row, %col], %as[%row, %col], 8
          : memref<16x16xf16> to memref<16x16xf16, #gpu.address_space<workgroup>>
      %grp = nvgpu.device_async_create_group %tok
      nvgpu.device_async_wait %grp {numGroups = 0 : i32}
      gpu.barrier
      // ldmatrix.x4: lane l gives row l % 8 of matrix l / 8 (matrices: rows 0-7 and
      // 8-15 of columns 0-7, then of columns 8-15).
      %r8 = arith.remui %l, %c8 : index
      %m = arith.divui %l, %c8 : index
      %mrow = arith.remui %m, %c2 : index
      %mrow8 = arith.muli %mrow, %c8 : index
      %arow = arith.addi %r8, %mrow8 : index
      %mcol = arith.divui %m, %c2 : index
      %acol = arith.muli %mcol, %c8 : index
      %afrag = nvgpu.ldmatrix %as[%arow, %acol] {numTiles = 4 : i32, transpose = false}
          : memref<16x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
      // B fragment: b0, b1 = B[2t, g], B[2t + 1, g]; b2, b3 = B[2t + 8, g], B[2t + 9, g].
      %g = arith.divui %l, %c4 : index
      %t = arith.remui %l, %c4 : index
      %k0 = arith.muli %t, %c2 : index
      %k1 = arith.addi %k0, %c1 : index
      %k2 = arith.addi %k0, %c8 : index
      %k3 = arith.addi %k0, %c9 : index
      %b0 = memref.load %b[%k0, %g] : memref<16x8xf16>
      %b1 = memref.load %b[%k1, %g] : memref<16x8xf16>
      %b2 = memref.load %b[%k2, %g] : memref<16x8xf16>
      %b3 = memref.load %b[%k3, %g] : memref<16x8xf16>
      %z = arith.constant dense<0.0> : vector<2x2xf16>
      %v0 = vector.insert %b0, %z [0, 0] : f16 into vector<2x2xf16>
      %v1 = vector.insert %b1, %v0 [0, 1] : f16 into vector<2x2xf16>
      %v2 = vector.insert %b2, %v1 [1, 0] : f16 into vector<2x2xf16>
      %bfrag = vector.insert %b3, %v2 [1, 1] : f16 into vector<2x2xf16>
      %acc = arith.constant dense<0.0> : vector<2x2xf32>
      %dfrag = nvgpu.mma.sync (%afrag, %bfrag, %acc) {mmaShape = [16, 8, 16]}
          : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      // D fragment: d0, d1 = D[g, 2t], D[g, 2t + 1]; d2, d3 = D[g + 8, ...].
      %g8 = arith.addi %g, %c8 : index
      %d0 = vector.extract %dfrag[0, 0] : f32 from vector<2x2xf32>
      %d1 = vector.extract %dfrag[0, 1] : f32 from vector<2x2xf32>
      %d2 = vector.extract %dfrag[1, 0] : f32 from vector<2x2xf32>
      %d3 = vector.extract %dfrag[1, 1] : f32 from vector<2x2xf32>
      memref.store %d0, %d[%g, %k0] : memref<16x8xf32>
      memref.store %d1, %d[%g, %k1] : memref<16x8xf32>
      memref.store %d2, %d[%g8, %k0] : memref<16x8xf32>
      memref.store %d3, %d[%g8, %k1] : memref<16x8xf32>
      gpu.return
    }
  }

  func.func @main() {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %c16 = arith.constant 16 : index
    %c32 = arith.constant 32 : index
    %one = arith.constant 1.0 : f16
    %zero = arith.constant 0.0 : f16
    %a = memref.alloc() : memref<16x16xf16>
    %b = memref.alloc() : memref<16x8xf16>
    %d = memref.alloc() : memref<16x8xf32>
    scf.for %i = %c0 to %c16 step %c1 {
      %next = arith.addi %i, %c1 : index
      %k = arith.remui %next, %c16 : index
      scf.for %j = %c0 to %c16 step %c1 {
        %hit = arith.cmpi eq, %j, %k : index
        %v = arith.select %hit, %one, %zero : f16
        memref.store %v, %a[%i, %j] : memref<16x16xf16>
      }
      scf.for %j = %c0 to %c8 step %c1 {
        %i8 = arith.muli %i, %c8 : index
        %x = arith.addi %i8, %j : index
        %xi = arith.index_cast %x : index to i32
        %xf = arith.sitofp %xi : i32 to f16
        memref.store %xf, %b[%i, %j] : memref<16x8xf16>
      }
    }
    gpu.launch_func @kernels::@mma blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1)
        args(%a : memref<16x16xf16>, %b : memref<16x8xf16>, %d : memref<16x8xf32>)
    %p = memref.cast %d : memref<16x8xf32> to memref<*xf32>
    call @printMemrefF32(%p) : (memref<*xf32>) -> ()
    memref.dealloc %a : memref<16x16xf16>
    memref.dealloc %b : memref<16x8xf16>
    memref.dealloc %d : memref<16x8xf32>
    return
  }
  func.func private @printMemrefF32(memref<*xf32>)
}
