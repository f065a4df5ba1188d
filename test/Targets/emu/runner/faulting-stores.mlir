// A store the emulator reports as out of bounds is not performed: memory beyond
// the buffer keeps its contents, and no other element is written in its place (it
// used to be redirected to element 0). The program goes on and the runner exits 1.
// RUN: not attn-emu-runner %s -e global_store --entry-point-result=void --shared-libs=%mlir_runner_utils 2>&1 | FileCheck %s --check-prefix=GLOBAL
// RUN: not attn-emu-runner %s -e shared_store --entry-point-result=void --shared-libs=%mlir_runner_utils 2>&1 | FileCheck %s --check-prefix=SHARED

func.func private @printMemrefF32(memref<*xf32>)

// A kernel given the first 4 elements of an 8-element buffer writes 9 at index 4 of
// its view: elements 4..7 of the buffer must stay 7.
func.func @global_store() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %seven = arith.constant 7.0 : f32
  %buf = memref.alloc() : memref<8xf32>
  linalg.fill ins(%seven : f32) outs(%buf : memref<8xf32>)
  %view = memref.subview %buf[0] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1]>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c5, %sy = %c1, %sz = %c1) {
    %v = arith.constant 9.0 : f32
    // GLOBAL: error: {{.*}}faulting-stores.mlir:[[@LINE+1]]:5: kernel 'global_store_kernel', block (0, 0, 0), thread (4, 0, 0): write outside a global-memory buffer
    memref.store %v, %view[%tx] : memref<4xf32, strided<[1]>>
    gpu.terminator
  }
  %u = memref.cast %buf : memref<8xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %buf : memref<8xf32>
  return
}
// Threads 0-3 wrote their elements; the faulting thread 4 wrote nothing.
// GLOBAL: [9,  9,  9,  9,  7,  7,  7,  7]

// A workgroup store one past the end of a 4-element tile: reported and not
// performed (it used to write past the allocation: a heap-buffer-overflow under
// AddressSanitizer). The failing block stops, so its output is not checked here;
// the guard itself is checked in ../gpu-to-emu.mlir.
func.func @shared_store() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %out = memref.alloc() : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c5, %sy = %c1, %sz = %c1) {
    %tile = memref.alloca() : memref<4xf32, #gpu.address_space<workgroup>>
    %f = arith.index_cast %tx : index to i32
    %v = arith.sitofp %f : i32 to f32
    // SHARED: error: {{.*}}faulting-stores.mlir:[[@LINE+1]]:5: kernel 'shared_store_kernel', block (0, 0, 0), thread (4, 0, 0): write of 4 bytes outside every workgroup memory allocation
    memref.store %v, %tile[%tx] : memref<4xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %in = arith.cmpi ult, %tx, %c4 : index
    scf.if %in {
      %w = memref.load %tile[%tx] : memref<4xf32, #gpu.address_space<workgroup>>
      memref.store %w, %out[%tx] : memref<4xf32>
    }
    gpu.terminator
  }
  %u = memref.cast %out : memref<4xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %out : memref<4xf32>
  return
}
// SHARED: error: 1 kernel launch failed under cuda-emu
