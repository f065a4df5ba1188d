// RUN: attn-emu-runner %s --entry-point-result=void | FileCheck %s
// RUN: attn-emu-runner %s --entry-point-result=void | FileCheck %s --check-prefix=THREADS

// gpu.printf from every thread of two blocks of three: C's default promotions
// (f16/f32 to double, i8/i16 to int), index as a 64-bit integer. Threads print in
// the order the emulator runs them (block by block, thread by thread within a block).
// No thread 3 prints anywhere (THREADS checks the whole output).

// CHECK-DAG: block 0 thread 0: 0.500000 -2 0
// CHECK-DAG: block 0 thread 1: 1.500000 -2 10
// CHECK-DAG: block 0 thread 2: 2.500000 -2 20
// CHECK-DAG: block 1 thread 0: 0.500000 -2 0
// CHECK-DAG: block 1 thread 1: 1.500000 -2 10
// CHECK-DAG: block 1 thread 2: 2.500000 -2 20
// THREADS-NOT: thread 3
func.func @main() {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c3, %sy = %c1, %sz = %c1) {
    %t = arith.index_cast %tx : index to i32
    %tf = arith.sitofp %t : i32 to f16
    %half = arith.constant 0.5 : f16
    %f = arith.addf %tf, %half : f16
    %small = arith.constant -2 : i8
    %c10 = arith.constant 10 : index
    %big = arith.muli %tx, %c10 : index
    %b = arith.index_cast %bx : index to i32
    gpu.printf "block %d thread %d: %f %d %lld\n", %b, %t, %f, %small, %big : i32, i32, f16, i8, index
    gpu.terminator
  }
  return
}
