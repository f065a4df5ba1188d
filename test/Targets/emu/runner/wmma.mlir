// RUN: attn-emu-runner %s --shared-libs=%mlir_runner_utils --entry-point-result=void | FileCheck %s

// WMMA: a constant accumulator, A (f16, a permutation: A[m][k] = 1 where
// k = (m + 1) % 16) and B (f16, B[k][n] = 16k + n) loaded from global memory, D = A·B + 0
// in f32, doubled elementwise, stored through workgroup memory (a barrier between the
// warp's store and the block's reads) to the output. Row m of the result is
// 2 * (16 ((m + 1) % 16) + n). Two warps each compute it; warp 1 stores it.

// CHECK: sizes = [16, 16]
// CHECK-NEXT: {{\[}}[32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62],
// CHECK-NEXT: [64, 66, 68, 70, 72, 74, 76, 78, 80, 82, 84, 86, 88, 90, 92, 94],
// CHECK-NEXT: [96, 98, 100, 102, 104, 106, 108, 110, 112, 114, 116, 118, 120, 122, 124, 126],
// CHECK-NEXT: [128, 130, 132, 134, 136, 138, 140, 142, 144, 146, 148, 150, 152, 154, 156, 158],
// CHECK-NEXT: [160, 162, 164, 166, 168, 170, 172, 174, 176, 178, 180, 182, 184, 186, 188, 190],
// CHECK-NEXT: [192, 194, 196, 198, 200, 202, 204, 206, 208, 210, 212, 214, 216, 218, 220, 222],
// CHECK-NEXT: [224, 226, 228, 230, 232, 234, 236, 238, 240, 242, 244, 246, 248, 250, 252, 254],
// CHECK-NEXT: [256, 258, 260, 262, 264, 266, 268, 270, 272, 274, 276, 278, 280, 282, 284, 286],
// CHECK-NEXT: [288, 290, 292, 294, 296, 298, 300, 302, 304, 306, 308, 310, 312, 314, 316, 318],
// CHECK-NEXT: [320, 322, 324, 326, 328, 330, 332, 334, 336, 338, 340, 342, 344, 346, 348, 350],
// CHECK-NEXT: [352, 354, 356, 358, 360, 362, 364, 366, 368, 370, 372, 374, 376, 378, 380, 382],
// CHECK-NEXT: [384, 386, 388, 390, 392, 394, 396, 398, 400, 402, 404, 406, 408, 410, 412, 414],
// CHECK-NEXT: [416, 418, 420, 422, 424, 426, 428, 430, 432, 434, 436, 438, 440, 442, 444, 446],
// CHECK-NEXT: [448, 450, 452, 454, 456, 458, 460, 462, 464, 466, 468, 470, 472, 474, 476, 478],
// CHECK-NEXT: [480, 482, 484, 486, 488, 490, 492, 494, 496, 498, 500, 502, 504, 506, 508, 510],
// CHECK-NEXT: [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30]]

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @wmma(%a: memref<16x16xf16>, %b: memref<16x16xf16>, %out: memref<16x16xf32>)
        workgroup(%tile: memref<16x16xf32, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c16 = arith.constant 16 : index
      %c32 = arith.constant 32 : index
      %t = gpu.thread_id x
      %zero = arith.constant 0.0 : f32
      %acc = gpu.subgroup_mma_constant_matrix %zero : !gpu.mma_matrix<16x16xf32, "COp">
      %fa = gpu.subgroup_mma_load_matrix %a[%c0, %c0] {leadDimension = 16 : index}
          : memref<16x16xf16> -> !gpu.mma_matrix<16x16xf16, "AOp">
      %fb = gpu.subgroup_mma_load_matrix %b[%c0, %c0] {leadDimension = 16 : index}
          : memref<16x16xf16> -> !gpu.mma_matrix<16x16xf16, "BOp">
      %d = gpu.subgroup_mma_compute %fa, %fb, %acc
          : !gpu.mma_matrix<16x16xf16, "AOp">, !gpu.mma_matrix<16x16xf16, "BOp">
          -> !gpu.mma_matrix<16x16xf32, "COp">
      %e = gpu.subgroup_mma_elementwise addf %d, %d
          : (!gpu.mma_matrix<16x16xf32, "COp">, !gpu.mma_matrix<16x16xf32, "COp">)
          -> !gpu.mma_matrix<16x16xf32, "COp">
      %warp1 = arith.cmpi uge, %t, %c32 : index
      scf.if %warp1 {
        gpu.subgroup_mma_store_matrix %e, %tile[%c0, %c0] {leadDimension = 16 : index}
            : !gpu.mma_matrix<16x16xf32, "COp">, memref<16x16xf32, #gpu.address_space<workgroup>>
      }
      gpu.barrier
      // Thread t copies row t % 16, columns 8 (t / 16 % 2) .. + 8 (threads 0..31).
      %low = arith.cmpi ult, %t, %c32 : index
      scf.if %low {
        %row = arith.remui %t, %c16 : index
        %half = arith.divui %t, %c16 : index
        %c8 = arith.constant 8 : index
        %col0 = arith.muli %half, %c8 : index
        scf.for %j = %c0 to %c8 step %c1 {
          %col = arith.addi %col0, %j : index
          %v = memref.load %tile[%row, %col] : memref<16x16xf32, #gpu.address_space<workgroup>>
          memref.store %v, %out[%row, %col] : memref<16x16xf32>
        }
      }
      gpu.return
    }
  }

  func.func @main() {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %c64 = arith.constant 64 : index
    %one = arith.constant 1.0 : f16
    %zero = arith.constant 0.0 : f16
    %a = memref.alloc() : memref<16x16xf16>
    %b = memref.alloc() : memref<16x16xf16>
    %out = memref.alloc() : memref<16x16xf32>
    scf.for %i = %c0 to %c16 step %c1 {
      %next = arith.addi %i, %c1 : index
      %k = arith.remui %next, %c16 : index
      scf.for %j = %c0 to %c16 step %c1 {
        %hit = arith.cmpi eq, %j, %k : index
        %v = arith.select %hit, %one, %zero : f16
        memref.store %v, %a[%i, %j] : memref<16x16xf16>
        %i16 = arith.muli %i, %c16 : index
        %x = arith.addi %i16, %j : index
        %xi = arith.index_cast %x : index to i32
        %xf = arith.sitofp %xi : i32 to f16
        memref.store %xf, %b[%i, %j] : memref<16x16xf16>
      }
    }
    gpu.launch_func @kernels::@wmma blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%a : memref<16x16xf16>, %b : memref<16x16xf16>, %out : memref<16x16xf32>)
    %p = memref.cast %out : memref<16x16xf32> to memref<*xf32>
    call @printMemrefF32(%p) : (memref<*xf32>) -> ()
    memref.dealloc %a : memref<16x16xf16>
    memref.dealloc %b : memref<16x16xf16>
    memref.dealloc %out : memref<16x16xf32>
    return
  }
  func.func private @printMemrefF32(memref<*xf32>)
}
