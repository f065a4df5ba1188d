// RUN: attn-emu-runner %s --shared-libs=%mlir_runner_utils --entry-point-result=void | FileCheck %s

// gpu.shuffle in every mode, in a block of 40 threads: warp 0 is full (width 32),
// warp 1 has 8 lanes (width 8). The results follow upstream's NVVM lowering of
// gpu.shuffle (shfl.sync, member mask = lanes [0, width), clamp width - 1; for up the
// clamp is 32 - width, so an up shuffle of width 8 is never valid). -1: not valid.

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c40 = arith.constant 40 : index
  %xor = memref.alloc() : memref<40xi32>
  %down = memref.alloc() : memref<40xi32>
  %up = memref.alloc() : memref<40xi32>
  %idx = memref.alloc() : memref<40xi32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c40, %sy = %c1, %sz = %c1) {
    %t = arith.index_cast %tx : index to i32
    %c32 = arith.constant 32 : i32
    %c8 = arith.constant 8 : i32
    %full = arith.cmpi slt, %t, %c32 : i32
    %width = arith.select %full, %c32, %c8 : i32
    %m1 = arith.constant -1 : i32
    %o1 = arith.constant 1 : i32
    %o2 = arith.constant 2 : i32
    %o3 = arith.constant 3 : i32
    %o5 = arith.constant 5 : i32
    %v0, %ok0 = gpu.shuffle xor %t, %o1, %width : i32
    %r0 = arith.select %ok0, %v0, %m1 : i32
    memref.store %r0, %xor[%tx] : memref<40xi32>
    %v1, %ok1 = gpu.shuffle down %t, %o3, %width : i32
    %r1 = arith.select %ok1, %v1, %m1 : i32
    memref.store %r1, %down[%tx] : memref<40xi32>
    %v2, %ok2 = gpu.shuffle up %t, %o2, %width : i32
    %r2 = arith.select %ok2, %v2, %m1 : i32
    memref.store %r2, %up[%tx] : memref<40xi32>
    %v3, %ok3 = gpu.shuffle idx %t, %o5, %width : i32
    %r3 = arith.select %ok3, %v3, %m1 : i32
    memref.store %r3, %idx[%tx] : memref<40xi32>
    gpu.terminator
  }
  %p0 = memref.cast %xor : memref<40xi32> to memref<*xi32>
  %p1 = memref.cast %down : memref<40xi32> to memref<*xi32>
  %p2 = memref.cast %up : memref<40xi32> to memref<*xi32>
  %p3 = memref.cast %idx : memref<40xi32> to memref<*xi32>
  call @printMemrefI32(%p0) : (memref<*xi32>) -> ()
  call @printMemrefI32(%p1) : (memref<*xi32>) -> ()
  call @printMemrefI32(%p2) : (memref<*xi32>) -> ()
  call @printMemrefI32(%p3) : (memref<*xi32>) -> ()
  memref.dealloc %xor : memref<40xi32>
  memref.dealloc %down : memref<40xi32>
  memref.dealloc %up : memref<40xi32>
  memref.dealloc %idx : memref<40xi32>
  return
}
func.func private @printMemrefI32(memref<*xi32>)

// xor, offset 1
// CHECK: rank = 1 offset = 0 sizes = [40]
// CHECK-NEXT: [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14, 17, 16, 19, 18, 21, 20, 23, 22, 25, 24, 27, 26, 29, 28, 31, 30, 33, 32, 35, 34, 37, 36, 39, 38]
// down, offset 3
// CHECK: rank = 1 offset = 0 sizes = [40]
// CHECK-NEXT: [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, -1, -1, -1, 35, 36, 37, 38, 39, -1, -1, -1]
// up, offset 2
// CHECK: rank = 1 offset = 0 sizes = [40]
// CHECK-NEXT: [-1, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, -1, -1, -1, -1, -1, -1, -1, -1]
// idx, offset 5
// CHECK: rank = 1 offset = 0 sizes = [40]
// CHECK-NEXT: [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 37, 37, 37, 37, 37, 37, 37, 37]
