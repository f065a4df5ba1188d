// RUN: attn-emu-runner %s --shared-libs=%mlir_runner_utils --entry-point-result=void | FileCheck %s

// gpu.launch_func async runs each launch on a thread of its own once its
// dependencies are done: two kernels with no token between them run at the same
// time (each increments a counter, then spins until both have), and a third one
// that depends on both sees their results. Launched in sequence, the first would
// spin forever.

// CHECK: 2
// CHECK-NEXT: 200
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @meet(%counter: memref<i32>, %out: memref<2xi32>, %slot: index) kernel {
      %c0 = arith.constant 0 : i32
      %c1 = arith.constant 1 : i32
      %c2 = arith.constant 2 : i32
      %c100 = arith.constant 100 : i32
      %old = memref.atomic_rmw addi %c1, %counter[] : (i32, memref<i32>) -> i32
      scf.while : () -> () {
        %v = memref.atomic_rmw addi %c0, %counter[] : (i32, memref<i32>) -> i32
        %wait = arith.cmpi slt, %v, %c2 : i32
        scf.condition(%wait)
      } do {
        scf.yield
      }
      memref.store %c100, %out[%slot] : memref<2xi32>
      gpu.return
    }
    gpu.func @sum(%out: memref<2xi32>, %result: memref<i32>) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %a = memref.load %out[%c0] : memref<2xi32>
      %b = memref.load %out[%c1] : memref<2xi32>
      %s = arith.addi %a, %b : i32
      memref.store %s, %result[] : memref<i32>
      gpu.return
    }
  }

  func.func @main() {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %zero = arith.constant 0 : i32
    %counter = memref.alloc() : memref<i32>
    memref.store %zero, %counter[] : memref<i32>
    %out = memref.alloc() : memref<2xi32>
    %result = memref.alloc() : memref<i32>
    %t0 = gpu.wait async
    %a = gpu.launch_func async [%t0] @kernels::@meet blocks in (%c1, %c1, %c1)
        threads in (%c1, %c1, %c1)
        args(%counter : memref<i32>, %out : memref<2xi32>, %c0 : index)
    %b = gpu.launch_func async [%t0] @kernels::@meet blocks in (%c1, %c1, %c1)
        threads in (%c1, %c1, %c1)
        args(%counter : memref<i32>, %out : memref<2xi32>, %c1 : index)
    %s = gpu.launch_func async [%a, %b] @kernels::@sum blocks in (%c1, %c1, %c1)
        threads in (%c1, %c1, %c1) args(%out : memref<2xi32>, %result : memref<i32>)
    gpu.wait [%s]
    %n = memref.load %counter[] : memref<i32>
    vector.print %n : i32
    %r = memref.load %result[] : memref<i32>
    vector.print %r : i32
    memref.dealloc %counter : memref<i32>
    memref.dealloc %out : memref<2xi32>
    memref.dealloc %result : memref<i32>
    return
  }
}
