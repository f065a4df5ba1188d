// RUN: attn-opt %s --attn-gpu-to-emu | FileCheck %s
// RUN: attn-opt %s --attn-gpu-to-emu | FileCheck %s --check-prefix=GONE

// A block reduction: thread ids, a shuffle, workgroup memory and a barrier become
// calls into the emulator; workgroup accesses are checked first.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @reduce(%in: memref<?xf32>, %out: memref<1xf32>)
        workgroup(%sums: memref<4xf32, #gpu.address_space<workgroup>>) kernel {
      %t = gpu.thread_id x
      %lane = gpu.lane_id
      %v = memref.load %in[%t] : memref<?xf32>
      %c16 = arith.constant 16 : i32
      %c32 = arith.constant 32 : i32
      %r, %valid = gpu.shuffle xor %v, %c16, %c32 : f32
      %s = arith.addf %v, %r : f32
      %c32i = arith.constant 32 : index
      %w = arith.divui %t, %c32i : index
      memref.store %s, %sums[%w] : memref<4xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %c0 = arith.constant 0 : index
      %x = memref.load %sums[%c0] : memref<4xf32, #gpu.address_space<workgroup>>
      memref.store %x, %out[%c0] : memref<1xf32>
      gpu.return
    }
  }
}

// The kernel's path maps to its host function; locations are kept for diagnostics.
// The gpu.module is gone (GONE checks the whole output).
// CHECK: module attributes {attn.emu.kernel_functions = {"kernels::reduce" = "reduce"}, attn.emu.locations = [
// GONE-NOT: gpu.module
// The runtime functions are declared; the shared-memory one returns a memref through
// the C interface.
// CHECK-DAG: func.func private @attnc_emu_barrier(i64)
// CHECK-DAG: func.func private @attnc_emu_shared(i64, i64) -> memref<?xi8> attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @reduce(%{{.*}}: memref<?xf32>, %{{.*}}: memref<1xf32>) attributes {llvm.emit_c_interface}
// The workgroup attribution: one per-block allocation of 16 bytes, viewed as 4 x f32.
// CHECK: %[[ID:.*]] = arith.constant 0 : i64
// CHECK: %[[BYTES:.*]] = arith.constant 16 : i64
// CHECK: %[[RAW:.*]] = call @attnc_emu_shared(%[[ID]], %[[BYTES]]) : (i64, i64) -> memref<?xi8>
// CHECK: %[[SUMS:.*]] = memref.view %[[RAW]][%{{.*}}][] : memref<?xi8> to memref<4xf32>
// CHECK: call @attnc_emu_thread_id(%{{.*}}) : (i64) -> i64
// CHECK: call @attnc_emu_lane_id() : () -> i64
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: call @attnc_emu_shuffle(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i32, i32, i32, i32, i64) -> i64
// Store to workgroup memory: check (write, with the stored bits), then store only if
// the check passed (a faulting store is reported and never performed).
// CHECK: %[[BITS:.*]] = arith.bitcast %[[S:.*]] : f32 to i32
// CHECK: %[[WIDE:.*]] = arith.extui %[[BITS]] : i32 to i64
// CHECK: memref.extract_aligned_pointer_as_index %[[SUMS]]
// CHECK: %[[OKW:.*]] = call @attnc_emu_check_shared_store(%{{.*}}, %{{.*}}, %[[WIDE]], %{{.*}}) : (i64, i64, i64, i64) -> i64
// CHECK-NEXT: arith.constant 0 : i64
// CHECK-NEXT: %[[STORE_OK:.*]] = arith.cmpi ne, %[[OKW]]
// CHECK-NEXT: scf.if %[[STORE_OK]] {
// CHECK-NEXT: memref.store %[[S]], %[[SUMS]][%{{.*}}] : memref<4xf32>
// CHECK-NEXT: }
// CHECK: call @attnc_emu_barrier(%{{.*}}) : (i64) -> ()
// A load: a faulting one reads element 0 instead of outside the allocation.
// CHECK: %[[OKR:.*]] = call @attnc_emu_check_shared({{.*}}) : (i64, i64, i64, i64) -> i64
// CHECK-NEXT: arith.constant 0 : i64
// CHECK-NEXT: %[[LOAD_OK:.*]] = arith.cmpi ne, %[[OKR]]
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[SAFE:.*]] = arith.select %[[LOAD_OK]], %{{.*}}, %[[ZERO]] : index
// CHECK-NEXT: memref.load %[[SUMS]][%[[SAFE]]] : memref<4xf32>
// CHECK: return
