// RUN: attn-emu-runner %s --shared-libs=%mlir_runner_utils --entry-point-result=void | FileCheck %s

// Block and warp reductions, expanded by attn-gpu-emu-rewrite into shuffles,
// workgroup memory and barriers. Two blocks of 100 threads (the last warp has 4
// lanes) as a 5 x 10 x 2 block: every thread of block b contributes
// linear_id + 1000 * b.
//   add: 4950 + 100000 b, max: 99 + 1000 b, and: 0 (block 0: thread 0 gives 0;
//   block 1: 1023 & 1024 = 0)
// Then gpu.subgroup_reduce over two full warps (64 threads) of tid: 496 and 1520.

// CHECK: sizes = [2, 3]
// CHECK-NEXT: [4950, 99, 0]
// CHECK-NEXT: [104950, 1099, 0]
// CHECK: sizes = [64]
// CHECK-NEXT: [496, 496, {{.*}}, 496, 1520, {{.*}}, 1520]
func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c5 = arith.constant 5 : index
  %c10 = arith.constant 10 : index
  %c64 = arith.constant 64 : index
  %c1000 = arith.constant 1000 : index
  %out = memref.alloc() : memref<2x3xi32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c5, %sy = %c10, %sz = %c2) {
    %yz = arith.muli %tz, %sy : index
    %row = arith.addi %yz, %ty : index
    %rowx = arith.muli %row, %sx : index
    %lin = arith.addi %rowx, %tx : index
    %b1000 = arith.muli %bx, %c1000 : index
    %v = arith.addi %lin, %b1000 : index
    %vi = arith.index_cast %v : index to i32
    %sum = gpu.all_reduce add %vi uniform {} : (i32) -> (i32)
    %max = gpu.all_reduce maxsi %vi uniform {} : (i32) -> (i32)
    %and = gpu.all_reduce and %vi uniform {} : (i32) -> (i32)
    %is0 = arith.cmpi eq, %lin, %c0 : index
    scf.if %is0 {
      memref.store %sum, %out[%bx, %c0] : memref<2x3xi32>
      memref.store %max, %out[%bx, %c1] : memref<2x3xi32>
      memref.store %and, %out[%bx, %c2] : memref<2x3xi32>
    }
    gpu.terminator
  }
  %warps = memref.alloc() : memref<64xi32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %t = arith.index_cast %tx : index to i32
    %s = gpu.subgroup_reduce add %t uniform : (i32) -> i32
    memref.store %s, %warps[%tx] : memref<64xi32>
    gpu.terminator
  }
  %p = memref.cast %out : memref<2x3xi32> to memref<*xi32>
  call @printMemrefI32(%p) : (memref<*xi32>) -> ()
  %q = memref.cast %warps : memref<64xi32> to memref<*xi32>
  call @printMemrefI32(%q) : (memref<*xi32>) -> ()
  memref.dealloc %out : memref<2x3xi32>
  memref.dealloc %warps : memref<64xi32>
  return
}
func.func private @printMemrefI32(memref<*xi32>)
