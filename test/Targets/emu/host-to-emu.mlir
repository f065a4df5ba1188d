// RUN: attn-opt %s -split-input-file -verify-diagnostics --attn-gpu-host-to-emu \
// RUN:   | FileCheck %s --implicit-check-not=gpu.wait --implicit-check-not=gpu.host_register

// A launch becomes one call of the emulator: argv points to one 64-bit slot per
// operand, a memref's slot holding the address of its descriptor (aligned pointer
// twice, offset, sizes, strides), a scalar's slot its bits. The device allocation is
// host memory; tokens of completed work and waits for them disappear (no gpu.wait is
// left anywhere: --implicit-check-not).
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @scale(%buf: memref<?xf32>, %s: f32) kernel {
      gpu.return
    }
  }
  func.func @main(%n: index) {
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %s = arith.constant 2.0 : f32
    %t0 = gpu.wait async
    %buf, %t1 = gpu.alloc async [%t0] (%n) : memref<?xf32>
    gpu.wait [%t1]
    gpu.launch_func @kernels::@scale blocks in (%c1, %c1, %c1)
        threads in (%c64, %c1, %c1) args(%buf : memref<?xf32>, %s : f32)
    return
  }
}
// CHECK: module attributes {attn.emu.kernels = ["kernels::scale"], attn.emu.locations = [
// CHECK-DAG: func.func private @attnc_emu_launch(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// CHECK-LABEL: func.func @main(
// CHECK: %[[BUF:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK: memref.alloca_scope {
// CHECK: %[[SLOTS:.*]] = memref.alloca() : memref<2xi64>
// CHECK: %[[ARGV:.*]] = memref.alloca() : memref<2xi64>
// CHECK: %[[DESC:.*]] = memref.alloca() : memref<5xi64>
// CHECK: memref.extract_strided_metadata %[[BUF]]
// CHECK: %[[DESCPTR:.*]] = memref.extract_aligned_pointer_as_index %[[DESC]]
// CHECK: %[[DESCADDR:.*]] = arith.index_cast %[[DESCPTR]] : index to i64
// CHECK: memref.store %[[DESCADDR]], %[[SLOTS]][%{{.*}}] : memref<2xi64>
// CHECK: %[[F32BITS:.*]] = arith.bitcast %{{.*}} : f32 to i32
// CHECK: %[[BITS:.*]] = arith.extui %[[F32BITS]] : i32 to i64
// CHECK: memref.store %[[BITS]], %[[SLOTS]][%{{.*}}] : memref<2xi64>
// CHECK: %[[ARGVPTR:.*]] = memref.extract_aligned_pointer_as_index %[[ARGV]]
// CHECK: %[[ARGVADDR:.*]] = arith.index_cast %[[ARGVPTR]] : index to i64
// CHECK: call @attnc_emu_launch(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ARGVADDR]], %{{.*}}) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
// CHECK: return

// -----

// An asynchronous launch gets a handle: it starts after its dependencies on a thread
// of its own (its arguments are copied; kinds: memref rank or -1); whatever depends
// on it waits for the handle.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%buf: memref<?x?xf32>, %s: f32) kernel {
      gpu.return
    }
  }
  // CHECK-LABEL: func.func @overlap(
  func.func @overlap(%a: memref<?x?xf32>, %host: memref<?x?xf32>, %s: f32) {
    %c1 = arith.constant 1 : index
    %t0 = gpu.wait async
    %t1 = gpu.launch_func async [%t0] @kernels::@k blocks in (%c1, %c1, %c1)
        threads in (%c1, %c1, %c1) args(%a : memref<?x?xf32>, %s : f32)
    // CHECK: %[[H1:.*]] = memref.alloca_scope -> (i64) {
    // CHECK: %[[KINDS:.*]] = memref.alloca() : memref<2xi64>
    // CHECK: %[[RANK:.*]] = arith.constant 2 : i64
    // CHECK: memref.store %[[RANK]], %[[KINDS]]
    // CHECK: %[[SCALAR:.*]] = arith.constant -1 : i64
    // CHECK: memref.store %[[SCALAR]], %[[KINDS]]
    // CHECK: %[[H:.*]] = func.call @attnc_emu_launch_async({{.*}}) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> i64
    // CHECK: memref.alloca_scope.return %[[H]] : i64
    %t2 = gpu.memcpy async [%t1] %host, %a : memref<?x?xf32>, memref<?x?xf32>
    // CHECK: call @attnc_emu_wait(%[[H1]]) : (i64) -> ()
    // CHECK-NEXT: memref.copy
    gpu.wait [%t2]
    // CHECK-NOT: attnc_emu_wait
    // CHECK: return
    return
  }
}

// -----

// Copies, memset and deallocation on host memory; host registration disappears (no
// gpu.host_register is left anywhere: --implicit-check-not).
// CHECK-LABEL: func.func @copies(
func.func @copies(%host: memref<4x3xi32>, %v: i32) {
  %dev = gpu.alloc () : memref<4x3xi32>
  // CHECK: %[[DEV:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x3xi32>
  %u = memref.cast %host : memref<4x3xi32> to memref<*xi32>
  gpu.host_register %u : memref<*xi32>
  gpu.memcpy %dev, %host : memref<4x3xi32>, memref<4x3xi32>
  // CHECK: memref.copy %{{.*}}, %[[DEV]] : memref<4x3xi32> to memref<4x3xi32>
  gpu.memset %dev, %v : memref<4x3xi32>, i32
  // CHECK: scf.for %[[I:.*]] =
  // CHECK: scf.for %[[J:.*]] =
  // CHECK: memref.store %{{.*}}, %[[DEV]][%[[I]], %[[J]]] : memref<4x3xi32>
  gpu.dealloc %dev : memref<4x3xi32>
  // CHECK: memref.dealloc %[[DEV]] : memref<4x3xi32>
  return
}

// -----

func.func @launch_not_outlined() {
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{cuda-emu: outline gpu.launch bodies first (gpu-kernel-outlining)}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  return
}

// -----

func.func @token_escapes() -> !gpu.async.token {
  %t = gpu.wait async
  // expected-error @+1 {{cuda-emu: a gpu async token is used by 'func.return'; tokens may only connect GPU operations}}
  return %t : !gpu.async.token
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%v: vector<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @vector_operand(%v: vector<4xf32>) {
    %c1 = arith.constant 1 : index
    // expected-error @+1 {{cuda-emu: kernel operands must be ranked memrefs or scalars, got 'vector<4xf32>'}}
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%v : vector<4xf32>)
    return
  }
}
