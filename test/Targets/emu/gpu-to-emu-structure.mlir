// RUN: attn-opt %s -split-input-file -verify-diagnostics --attn-gpu-to-emu \
// RUN:   | FileCheck %s --implicit-check-not=address_space --implicit-check-not=mma_matrix

// Kernel bodies move over as they are: unstructured control flow stays, and the GPU
// operations in every block are replaced. No memory space and no !gpu.mma_matrix is
// left anywhere in the output (--implicit-check-not).
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @branches(%out: memref<32xf32>) kernel {
      %t = gpu.thread_id x
      %c16 = arith.constant 16 : index
      %low = arith.cmpi ult, %t, %c16 : index
      cf.cond_br %low, ^bb1, ^bb2
    ^bb1:
      gpu.barrier
      cf.br ^bb2
    ^bb2:
      %v = arith.constant 1.0 : f32
      memref.store %v, %out[%t] : memref<32xf32>
      gpu.return
    }
  }
}
// CHECK-LABEL: func.func @branches(
// CHECK: call @attnc_emu_thread_id
// CHECK: cf.cond_br %{{.*}}, ^bb1, ^bb2
// CHECK: ^bb1:
// CHECK: call @attnc_emu_barrier
// CHECK: cf.br ^bb2
// CHECK: ^bb2:
// CHECK: scf.if
// CHECK: call @attnc_emu_out_of_bounds
// CHECK: memref.store
// CHECK: return

// -----

// Device functions (func.func in the gpu.module) move to the host module, their GPU
// operations lowered too, calls unchanged; private
// attributions become per-thread stack memory; memory spaces are dropped.
module attributes {gpu.container_module} {
  gpu.module @m {
    func.func @twice(%x: f32) -> f32 {
      %y = arith.addf %x, %x : f32
      %l = gpu.lane_id
      return %y : f32
    }
    gpu.func @k(%out: memref<4xf32>) private(%p: memref<4xf32, #gpu.address_space<private>>) kernel {
      %c0 = arith.constant 0 : index
      %v = arith.constant 2.0 : f32
      memref.store %v, %p[%c0] : memref<4xf32, #gpu.address_space<private>>
      %w = memref.load %p[%c0] : memref<4xf32, #gpu.address_space<private>>
      %r = func.call @twice(%w) : (f32) -> f32
      memref.store %r, %out[%c0] : memref<4xf32>
      gpu.return
    }
  }
}
// CHECK-LABEL: func.func @twice(%{{.*}}: f32) -> f32 {
// CHECK: call @attnc_emu_lane_id()
// CHECK: return %{{.*}} : f32
// CHECK-LABEL: func.func @k(
// CHECK: %[[P:.*]] = memref.alloca() : memref<4xf32>
// CHECK: memref.load %[[P]]
// CHECK: call @twice(

// -----

// Two modules with a kernel of the same name (as gpu-kernel-outlining makes them):
// the second is renamed after its module, and the map records both.
// CHECK-LABEL: attn.emu.kernel_functions = {"a::main_kernel" = "main_kernel", "b::main_kernel" = "b_main_kernel"}
module attributes {gpu.container_module} {
  gpu.module @a {
    gpu.func @main_kernel() kernel {
      gpu.return
    }
  }
  gpu.module @b {
    gpu.func @main_kernel() kernel {
      gpu.return
    }
  }
}
// CHECK-DAG: func.func @main_kernel()
// CHECK-DAG: func.func @b_main_kernel()

// -----

// Dynamic shared memory: the block's buffer of the launch's size.
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @dyn(%out: memref<1xi8>) kernel {
      %c0 = arith.constant 0 : index
      %shm = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %v = memref.load %shm[%c0] : memref<?xi8, #gpu.address_space<workgroup>>
      memref.store %v, %out[%c0] : memref<1xi8>
      gpu.return
    }
  }
}
// CHECK-LABEL: func.func @dyn(
// CHECK: %[[SHM:.*]] = call @attnc_emu_dynamic_shared() : () -> memref<?xi8>
// CHECK: call @attnc_emu_check_shared(
// CHECK: memref.load %[[SHM]]

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @k() kernel {
      gpu.return
    }
  }
  func.func @host() {
    %c1 = arith.constant 1 : index
    // expected-error @+1 {{cuda-emu: lower host code with attn-gpu-host-to-emu before attn-gpu-to-emu}}
    gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @wide(%a: f64, %out: memref<1xf64>) kernel {
      %c0 = arith.constant 0 : index
      %o = arith.constant 1 : i32
      %w = arith.constant 32 : i32
      // expected-error @+1 {{cuda-emu: gpu.shuffle supports 32-bit values, got 'f64' (run attn-gpu-emu-rewrite first to split wider ones)}}
      %r, %ok = gpu.shuffle xor %a, %o, %w : f64
      memref.store %r, %out[%c0] : memref<1xf64>
      gpu.return
    }
  }
}

// -----

// WMMA fragments: every lane holds the whole matrix as a vector (the type follows
// through loop-carried values); load, compute and store are emulator calls.
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @wmma(%a: memref<16x16xf16>, %c: memref<16x16xf32>, %n: index) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %fa = gpu.subgroup_mma_load_matrix %a[%c0, %c0] {leadDimension = 16 : index}
          : memref<16x16xf16> -> !gpu.mma_matrix<16x16xf16, "AOp">
      %fb = gpu.subgroup_mma_load_matrix %a[%c0, %c0] {leadDimension = 16 : index, transpose}
          : memref<16x16xf16> -> !gpu.mma_matrix<16x16xf16, "BOp">
      %zero = arith.constant 0.0 : f32
      %init = gpu.subgroup_mma_constant_matrix %zero : !gpu.mma_matrix<16x16xf32, "COp">
      %acc = scf.for %i = %c0 to %n step %c1 iter_args(%x = %init) -> (!gpu.mma_matrix<16x16xf32, "COp">) {
        %y = gpu.subgroup_mma_compute %fa, %fb, %x
            : !gpu.mma_matrix<16x16xf16, "AOp">, !gpu.mma_matrix<16x16xf16, "BOp">
            -> !gpu.mma_matrix<16x16xf32, "COp">
        scf.yield %y : !gpu.mma_matrix<16x16xf32, "COp">
      }
      gpu.subgroup_mma_store_matrix %acc, %c[%c0, %c0] {leadDimension = 16 : index}
          : !gpu.mma_matrix<16x16xf32, "COp">, memref<16x16xf32>
      gpu.return
    }
  }
}
// CHECK-LABEL: func.func @wmma(
// CHECK: %[[LANE_A:.*]] = memref.alloca() : memref<256xf16>
// CHECK: call @attnc_emu_wmma_load(
// CHECK: %[[A:.*]] = vector.shape_cast %{{.*}} : vector<256xf16> to vector<16x16xf16>
// CHECK: call @attnc_emu_wmma_load(
// CHECK: %[[INIT:.*]] = vector.broadcast %{{.*}} : f32 to vector<16x16xf32>
// CHECK: scf.for {{.*}} iter_args(%[[X:.*]] = %[[INIT]]) -> (vector<16x16xf32>)
// CHECK: call @attnc_emu_wmma_compute(
// CHECK: scf.yield %{{.*}} : vector<16x16xf32>
// CHECK: call @attnc_emu_wmma_store(

// -----

// gpu.printf: the format as a constant global string, a call of C's printf with the
// arguments promoted (f32 to f64, i8 to i32, index to i64).
// CHECK-LABEL: attn.emu.kernel_functions = {"m::hello" = "hello"}
// CHECK-DAG: llvm.func @printf(!llvm.ptr, ...) -> i32
// CHECK-DAG: llvm.mlir.global internal constant @attnc_emu_string_0("x=%f %d %lld\0A\00")
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @hello(%x: f32, %s: i8) kernel {
      %t = gpu.thread_id x
      gpu.printf "x=%f %d %lld\n", %x, %s, %t : f32, i8, index
      gpu.return
    }
  }
}
// CHECK-LABEL: func.func @hello(
// CHECK: %[[FMT:.*]] = llvm.mlir.addressof @attnc_emu_string_0 : !llvm.ptr
// CHECK: %[[X:.*]] = arith.extf %{{.*}} : f32 to f64
// CHECK: %[[S:.*]] = arith.extsi %{{.*}} : i8 to i32
// CHECK: %[[T:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK: llvm.call @printf(%[[FMT]], %[[X]], %[[S]], %[[T]]) vararg(!llvm.func<i32 (ptr, ...)>) : (!llvm.ptr, f64, i32, i64) -> i32
