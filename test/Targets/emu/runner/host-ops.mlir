// RUN: attn-emu-runner %s --shared-libs=%mlir_runner_utils --entry-point-result=void | FileCheck %s

// Host-side GPU operations as a CUDA program uses them: device buffers (gpu.alloc,
// async tokens), copies both ways, memset, gpu.wait, and a launch with memref, f32,
// index and i64 operands whose kernel reverses 70 values (not a multiple of 32)
// through dynamic shared memory with a barrier: out[i] = in[69 - i] * 2 + 1.

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @reverse(%data: memref<?xf32>, %scale: f32, %n: index, %bias: i64) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %t = gpu.thread_id x
      %shm = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %tile = memref.view %shm[%c0][] : memref<?xi8, #gpu.address_space<workgroup>>
          to memref<128xf32, #gpu.address_space<workgroup>>
      %v = memref.load %data[%t] : memref<?xf32>
      memref.store %v, %tile[%t] : memref<128xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %last = arith.subi %n, %c1 : index
      %src = arith.subi %last, %t : index
      %w = memref.load %tile[%src] : memref<128xf32, #gpu.address_space<workgroup>>
      %b = arith.sitofp %bias : i64 to f32
      %s = arith.mulf %w, %scale : f32
      %r = arith.addf %s, %b : f32
      memref.store %r, %data[%t] : memref<?xf32>
      gpu.return
    }
  }

  func.func @main() {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c5 = arith.constant 5 : index
    %c70 = arith.constant 70 : index
    %shared = arith.constant 512 : i32
    %host = memref.alloc(%c70) : memref<?xf32>
    scf.for %i = %c0 to %c70 step %c1 {
      %ii = arith.index_cast %i : index to i32
      %f = arith.sitofp %ii : i32 to f32
      memref.store %f, %host[%i] : memref<?xf32>
    }
    %t0 = gpu.wait async
    %dev, %t1 = gpu.alloc async [%t0] (%c70) : memref<?xf32>
    %t2 = gpu.memcpy async [%t1] %dev, %host : memref<?xf32>, memref<?xf32>
    %two = arith.constant 2.0 : f32
    %one = arith.constant 1 : i64
    %t3 = gpu.launch_func async [%t2] @kernels::@reverse blocks in (%c1, %c1, %c1)
        threads in (%c70, %c1, %c1) dynamic_shared_memory_size %shared
        args(%dev : memref<?xf32>, %two : f32, %c70 : index, %one : i64)
    %t4 = gpu.memcpy async [%t3] %host, %dev : memref<?xf32>, memref<?xf32>
    %t5 = gpu.dealloc async [%t4] %dev : memref<?xf32>
    gpu.wait [%t5]
    %p = memref.cast %host : memref<?xf32> to memref<*xf32>
    call @printMemrefF32(%p) : (memref<*xf32>) -> ()

    %small = gpu.alloc (%c5) : memref<?xi32>
    %seven = arith.constant 7 : i32
    gpu.memset %small, %seven : memref<?xi32>, i32
    %back = memref.alloc(%c5) : memref<?xi32>
    gpu.memcpy %back, %small : memref<?xi32>, memref<?xi32>
    gpu.dealloc %small : memref<?xi32>
    %q = memref.cast %back : memref<?xi32> to memref<*xi32>
    call @printMemrefI32(%q) : (memref<*xi32>) -> ()
    memref.dealloc %host : memref<?xf32>
    memref.dealloc %back : memref<?xi32>
    return
  }
  func.func private @printMemrefF32(memref<*xf32>)
  func.func private @printMemrefI32(memref<*xi32>)
}

// CHECK: sizes = [70]
// CHECK-NEXT: [139, 137, 135, 133, 131, 129, 127, 125, 123, 121, 119, 117, 115, 113, 111, 109, 107, 105, 103, 101, 99, 97, 95, 93, 91, 89, 87, 85, 83, 81, 79, 77, 75, 73, 71, 69, 67, 65, 63, 61, 59, 57, 55, 53, 51, 49, 47, 45, 43, 41, 39, 37, 35, 33, 31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1]
// CHECK: sizes = [5]
// CHECK-NEXT: [7, 7, 7, 7, 7]
