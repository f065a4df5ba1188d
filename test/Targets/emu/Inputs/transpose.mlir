// The workgroup-memory transpose of test/unit/EmuKernelTest.cpp, as GPU code for
// ptxas.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @transpose(%in: memref<1024xf32>, %out: memref<1024xf32>) kernel {
      %tile = memref.alloca() : memref<32x32xf32, #gpu.address_space<workgroup>>
      %x = gpu.thread_id x
      %y = gpu.thread_id y
      %c0 = arith.constant 0 : index
      %c8 = arith.constant 8 : index
      %c32 = arith.constant 32 : index
      scf.for %r0 = %c0 to %c32 step %c8 {
        %r = arith.addi %r0, %y : index
        %rx = arith.muli %r, %c32 : index
        %i = arith.addi %rx, %x : index
        %v = memref.load %in[%i] : memref<1024xf32>
        memref.store %v, %tile[%r, %x] : memref<32x32xf32, #gpu.address_space<workgroup>>
      }
      gpu.barrier
      scf.for %r0 = %c0 to %c32 step %c8 {
        %r = arith.addi %r0, %y : index
        %v = memref.load %tile[%x, %r] : memref<32x32xf32, #gpu.address_space<workgroup>>
        %rx = arith.muli %r, %c32 : index
        %i = arith.addi %rx, %x : index
        memref.store %v, %out[%i] : memref<1024xf32>
      }
      gpu.return
    }
  }
}
