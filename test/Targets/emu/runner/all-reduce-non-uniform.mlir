// gpu.all_reduce without `uniform` (which upstream's expansion refuses): when every
// thread of the block reaches it, it reduces as the uniform one does (40 threads,
// 0 + 1 + ... + 39 = 780, across two warps); when only some threads reach it, the
// expansion's first warp shuffle is missing lanes, which is reported at the
// reduction.
// RUN: attn-emu-runner %s -e all --entry-point-result=void --shared-libs=%mlir_runner_utils | FileCheck %s --check-prefix=ALL
// RUN: not attn-emu-runner %s -e some --entry-point-result=void --shared-libs=%mlir_runner_utils 2>&1 | FileCheck %s --check-prefix=SOME

func.func private @printMemrefF32(memref<*xf32>)

func.func @all() {
  %c1 = arith.constant 1 : index
  %c40 = arith.constant 40 : index
  %out = memref.alloc() : memref<40xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c40, %sy = %c1, %sz = %c1) {
    %i = arith.index_cast %tx : index to i32
    %f = arith.sitofp %i : i32 to f32
    %s = gpu.all_reduce add %f {} : (f32) -> (f32)
    memref.store %s, %out[%tx] : memref<40xf32>
    gpu.terminator
  }
  %u = memref.cast %out : memref<40xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %out : memref<40xf32>
  return
}
// ALL: [780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780,  780]

func.func @some() {
  %c1 = arith.constant 1 : index
  %c20 = arith.constant 20 : index
  %c64 = arith.constant 64 : index
  %out = memref.alloc() : memref<64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %low = arith.cmpi ult, %tx, %c20 : index
    cf.cond_br %low, ^reduce, ^done
  ^reduce:
    %i = arith.index_cast %tx : index to i32
    %f = arith.sitofp %i : i32 to f32
    // SOME: error: {{.*}}all-reduce-non-uniform.mlir:[[@LINE+1]]:10: kernel 'some_kernel', block (0, 0, 0), thread (0, 0, 0): warp collective 'shuffle.xor width 32' is not executed by every lane of warp 0: lane 20 has exited
    %s = gpu.all_reduce add %f {} : (f32) -> (f32)
    memref.store %s, %out[%tx] : memref<64xf32>
    cf.br ^done
  ^done:
    gpu.terminator
  }
  memref.dealloc %out : memref<64xf32>
  return
}
// SOME: error: 1 kernel launch failed under cuda-emu
