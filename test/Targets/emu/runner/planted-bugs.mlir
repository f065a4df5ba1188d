// Programs with planted bugs: each must make attn-emu-runner report the bug at the
// operation's source location and exit with status 1, after running the rest of
// the program (the host code goes on, as under compute-sanitizer).
// RUN: not attn-emu-runner %s -e race --entry-point-result=void 2>&1 | FileCheck %s --check-prefix=RACE
// RUN: not attn-emu-runner %s -e out_of_bounds --entry-point-result=void 2>&1 | FileCheck %s --check-prefix=OOB
// RUN: not attn-emu-runner %s -e divergent --entry-point-result=void 2>&1 | FileCheck %s --check-prefix=DIVERGENT
// RUN: not attn-emu-runner %s -e no_wait --entry-point-result=void 2>&1 | FileCheck %s --check-prefix=WAIT
// RUN: not attn-emu-runner %s -e wide_shuffle --entry-point-result=void 2>&1 | FileCheck %s --check-prefix=SHUFFLE
// RUN: not attn-emu-runner %s -e big_block --entry-point-result=void 2>&1 | FileCheck %s --check-prefix=LAUNCH
// RUN: not attn-emu-runner %s -e wmma_half_warp --entry-point-result=void 2>&1 | FileCheck %s --check-prefix=WMMA
// RUN: not attn-emu-runner %s -e wmma_out_of_bounds --entry-point-result=void 2>&1 | FileCheck %s --check-prefix=WMMA-OOB
// The fixed versions of the same kernels run clean.
// RUN: attn-emu-runner %s -e fixed --entry-point-result=i32 | FileCheck %s --check-prefix=FIXED

// A missing barrier between writing and reading a neighbour's workgroup slot.
func.func @race() {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %out = memref.alloc() : memref<64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %tile = memref.alloca() : memref<64xf32, #gpu.address_space<workgroup>>
    %v = arith.constant 1.0 : f32
    // Thread 0 runs first and reads slot 1 before thread 1 writes it.
    // RACE: error: {{.*}}planted-bugs.mlir:[[@LINE+1]]:5: kernel 'race_kernel', block (0, 0, 0), thread (1, 0, 0): data race on workgroup memory: this write and an access by thread 0 (linear id) with no barrier between them
    memref.store %v, %tile[%tx] : memref<64xf32, #gpu.address_space<workgroup>>
    %n = arith.addi %tx, %c1 : index
    %i = arith.remui %n, %c64 : index
    %w = memref.load %tile[%i] : memref<64xf32, #gpu.address_space<workgroup>>
    memref.store %w, %out[%tx] : memref<64xf32>
    gpu.terminator
  }
  memref.dealloc %out : memref<64xf32>
  return
}
// RACE: error: 1 kernel launch failed under cuda-emu

// Reading one element past the end of a global buffer.
func.func @out_of_bounds() {
  %c1 = arith.constant 1 : index
  %c33 = arith.constant 33 : index
  %buf = memref.alloc() : memref<32xf32>
  %out = memref.alloc() : memref<33xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c33, %sy = %c1, %sz = %c1) {
    // OOB: error: {{.*}}planted-bugs.mlir:[[@LINE+1]]:10: kernel 'out_of_bounds_kernel', block (0, 0, 0), thread (32, 0, 0): read outside a global-memory buffer
    %v = memref.load %buf[%tx] : memref<32xf32>
    memref.store %v, %out[%tx] : memref<33xf32>
    gpu.terminator
  }
  memref.dealloc %buf : memref<32xf32>
  memref.dealloc %out : memref<33xf32>
  return
}

// A barrier that only half of the block reaches.
func.func @divergent() {
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %low = arith.cmpi ult, %tx, %c16 : index
    scf.if %low {
      // DIVERGENT: error: {{.*}}planted-bugs.mlir:[[@LINE+1]]:7: kernel 'divergent_kernel', {{.*}}: barrier reached by 16 of 32 threads; the others have exited (divergent barrier)
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// Reading a cp.async destination without waiting for its group.
func.func @no_wait() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %src = memref.alloc() : memref<16xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %tile = memref.alloca() : memref<16xf32, #gpu.address_space<workgroup>>
    %i = arith.muli %tx, %c4 : index
    %t = nvgpu.device_async_copy %src[%i], %tile[%i], 4 : memref<16xf32> to memref<16xf32, #gpu.address_space<workgroup>>
    %g = nvgpu.device_async_create_group %t
    // WAIT: error: {{.*}}planted-bugs.mlir:[[@LINE+1]]:10: kernel 'no_wait_kernel', {{.*}}: read of workgroup memory whose cp.async (issued at {{.*}}planted-bugs.mlir:[[@LINE-2]]:10) has not completed: missing nvgpu.device_async_wait
    %v = memref.load %tile[%i] : memref<16xf32, #gpu.address_space<workgroup>>
    memref.store %v, %src[%i] : memref<16xf32>
    gpu.terminator
  }
  memref.dealloc %src : memref<16xf32>
  return
}

// A shuffle of width 32 in a block of 20 threads: lanes 20..31 do not exist.
func.func @wide_shuffle() {
  %c1 = arith.constant 1 : index
  %c20 = arith.constant 20 : index
  %out = memref.alloc() : memref<20xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c20, %sy = %c1, %sz = %c1) {
    %v = arith.constant 1.0 : f32
    %o = arith.constant 1 : i32
    %w = arith.constant 32 : i32
    // SHUFFLE: error: {{.*}}planted-bugs.mlir:[[@LINE+1]]:15: kernel 'wide_shuffle_kernel', {{.*}}: gpu.shuffle width 32 is outside [1, 20], the lanes of this warp
    %r, %ok = gpu.shuffle down %v, %o, %w : f32
    memref.store %r, %out[%tx] : memref<20xf32>
    gpu.terminator
  }
  memref.dealloc %out : memref<20xf32>
  return
}

// 2048 threads per block; the program goes on after the failed launch.
func.func @big_block() {
  %c1 = arith.constant 1 : index
  %c2048 = arith.constant 2048 : index
  // LAUNCH: error: {{.*}}planted-bugs.mlir:[[@LINE+1]]:3: invalid launch of kernel 'big_block_kernel' with grid (1, 1, 1) and block (2048, 1, 1): a block has at most 1024 threads
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c2048, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  %v = arith.constant 42 : i32
  vector.print %v : i32
  return
}
// LAUNCH: 42
// LAUNCH-NEXT: error: 1 kernel launch failed under cuda-emu

// A WMMA load that only half of the warp executes.
func.func @wmma_half_warp() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %a = memref.alloc() : memref<16x16xf16>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %low = arith.cmpi ult, %tx, %c16 : index
    scf.if %low {
      // WMMA: error: {{.*}}planted-bugs.mlir:[[@LINE+1]]:12: kernel 'wmma_half_warp_kernel', {{.*}}: warp collective 'gpu.subgroup_mma_load_matrix' is not executed by every lane of warp 0: lane 16 has exited
      %f = gpu.subgroup_mma_load_matrix %a[%c0, %c0] {leadDimension = 16 : index}
          : memref<16x16xf16> -> !gpu.mma_matrix<16x16xf16, "COp">
      gpu.subgroup_mma_store_matrix %f, %a[%c0, %c0] {leadDimension = 16 : index}
          : !gpu.mma_matrix<16x16xf16, "COp">, memref<16x16xf16>
    }
    gpu.terminator
  }
  memref.dealloc %a : memref<16x16xf16>
  return
}

// A WMMA tile at row 8 of a 16-row buffer: rows 16..23 are outside it.
func.func @wmma_out_of_bounds() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %a = memref.alloc() : memref<16x16xf16>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // WMMA-OOB: error: {{.*}}planted-bugs.mlir:[[@LINE+1]]:10: kernel 'wmma_out_of_bounds_kernel', {{.*}}: gpu.subgroup_mma_load_matrix reads element (8, 0) outside its memref (leadDimension 16)
    %f = gpu.subgroup_mma_load_matrix %a[%c8, %c0] {leadDimension = 16 : index}
        : memref<16x16xf16> -> !gpu.mma_matrix<16x16xf16, "COp">
    gpu.subgroup_mma_store_matrix %f, %a[%c0, %c0] {leadDimension = 16 : index}
        : !gpu.mma_matrix<16x16xf16, "COp">, memref<16x16xf16>
    gpu.terminator
  }
  memref.dealloc %a : memref<16x16xf16>
  return
}

// The race and the out-of-bounds read, fixed; returns the sum of what was read.
func.func @fixed() -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %out = memref.alloc() : memref<64xi32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %tile = memref.alloca() : memref<64xi32, #gpu.address_space<workgroup>>
    %v = arith.index_cast %tx : index to i32
    memref.store %v, %tile[%tx] : memref<64xi32, #gpu.address_space<workgroup>>
    gpu.barrier
    %n = arith.addi %tx, %c1 : index
    %i = arith.remui %n, %c64 : index
    %w = memref.load %tile[%i] : memref<64xi32, #gpu.address_space<workgroup>>
    memref.store %w, %out[%tx] : memref<64xi32>
    gpu.terminator
  }
  %zero = arith.constant 0 : i32
  %sum = scf.for %i = %c0 to %c64 step %c1 iter_args(%acc = %zero) -> (i32) {
    %x = memref.load %out[%i] : memref<64xi32>
    %s = arith.addi %acc, %x : i32
    scf.yield %s : i32
  }
  memref.dealloc %out : memref<64xi32>
  return %sum : i32
}
// FIXED: 2016
