// RUN: attn-opt %s -split-input-file -verify-diagnostics --attn-gpu-to-emu | FileCheck %s

// Kernel bodies move over as they are: unstructured control flow stays, and the GPU
// operations in every block are replaced.
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
// CHECK-NOT: address_space
// CHECK: memref.load %[[P]]
// CHECK: call @twice(

// -----

// Two modules with a kernel of the same name (as gpu-kernel-outlining makes them):
// the second is renamed after its module, and the map records both.
// CHECK: attn.emu.kernel_functions = {"a::main_kernel" = "main_kernel", "b::main_kernel" = "b_main_kernel"}
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
    gpu.func @prints() kernel {
      // expected-error @+1 {{cuda-emu: 'gpu.printf' is not supported in kernels}}
      gpu.printf "hello\n"
      gpu.return
    }
  }
}

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
