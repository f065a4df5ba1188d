// cf.assert in a kernel: a failing one is reported with its message, its location,
// and the block and thread that failed (it used to abort the runner with an LLVM
// stack dump); the program goes on and the runner exits 1. Passing asserts are free.
// RUN: not attn-emu-runner %s -e failing --entry-point-result=void 2>&1 | FileCheck %s --check-prefix=FAIL
// RUN: attn-emu-runner %s -e passing --entry-point-result=i32 | FileCheck %s --check-prefix=PASS

func.func @failing() {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %c5 = arith.constant 5 : index
    %ok = arith.cmpi ne, %tx, %c5 : index
    // FAIL: error: {{.*}}assert.mlir:[[@LINE+1]]:5: kernel 'failing_kernel', block (0, 0, 0), thread (5, 0, 0): assertion failed: thread 5 must not get here
    cf.assert %ok, "thread 5 must not get here"
    gpu.terminator
  }
  return
}
// FAIL: error: 1 kernel launch failed under cuda-emu

func.func @passing() -> i32 {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %ok = arith.cmpi ult, %tx, %c32 : index
    cf.assert %ok, "never"
    gpu.terminator
  }
  %r = arith.constant 7 : i32
  return %r : i32
}
// PASS: 7
