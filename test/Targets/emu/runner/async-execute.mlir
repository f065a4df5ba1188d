// RUN: attn-emu-runner %s --shared-libs=%mlir_runner_utils --entry-point-result=void | FileCheck %s

// GPU work inside async.execute regions (the MLIR async runtime runs them on its
// threads): two launches that fill halves of a buffer concurrently, then one that
// depends on both and doubles every element.

// CHECK: sizes = [8]
// CHECK-NEXT: [2, 4, 6, 8, 20, 22, 24, 26]
func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %c8 = arith.constant 8 : index
  %buf = memref.alloc() : memref<8xi32>
  %t0 = async.execute {
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
      %n = arith.addi %tx, %c1 : index
      %v = arith.index_cast %n : index to i32
      memref.store %v, %buf[%tx] : memref<8xi32>
      gpu.terminator
    }
    async.yield
  }
  %t1 = async.execute {
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
      %i = arith.addi %tx, %c4 : index
      %n = arith.addi %i, %c6 : index
      %v = arith.index_cast %n : index to i32
      memref.store %v, %buf[%i] : memref<8xi32>
      gpu.terminator
    }
    async.yield
  }
  %t2 = async.execute [%t0, %t1] {
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
      %v = memref.load %buf[%tx] : memref<8xi32>
      %w = arith.addi %v, %v : i32
      memref.store %w, %buf[%tx] : memref<8xi32>
      gpu.terminator
    }
    async.yield
  }
  async.await %t2 : !async.token
  %p = memref.cast %buf : memref<8xi32> to memref<*xi32>
  call @printMemrefI32(%p) : (memref<*xi32>) -> ()
  memref.dealloc %buf : memref<8xi32>
  return
}
func.func private @printMemrefI32(memref<*xi32>)
