// RUN: attn-opt %s -split-input-file -verify-diagnostics --attn-gpu-to-emu | FileCheck %s

// ldmatrix reads this lane's row address; its registers come back through a small
// stack buffer and are reinterpreted as the op's vector of halves.
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @frag(%out: memref<4xi32>) workgroup(%tile: memref<32x8xf16, #gpu.address_space<workgroup>>) kernel {
      %l = gpu.lane_id
      %c0 = arith.constant 0 : index
      %f = nvgpu.ldmatrix %tile[%l, %c0] {numTiles = 4 : i32, transpose = true}
          : memref<32x8xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
      gpu.return
    }
  }
}
// CHECK-LABEL: func.func @frag(
// CHECK: %[[BUF:.*]] = memref.alloca() : memref<4xi32>
// CHECK: %[[NUM:.*]] = arith.constant 4 : i64
// CHECK: %[[TRANS:.*]] = arith.constant 1 : i64
// CHECK: call @attnc_emu_ldmatrix(%{{.*}}, %[[NUM]], %[[TRANS]], %{{.*}}, %{{.*}}) : (i64, i64, i64, i64, i64) -> ()
// CHECK: vector.load %[[BUF]][%{{.*}}] : memref<4xi32>, vector<4xi32>
// CHECK: vector.shape_cast %{{.*}} : vector<4xi32> to vector<4x1xi32>
// CHECK: vector.bitcast %{{.*}} : vector<4x1xi32> to vector<4x2xf16>

// -----

// mma.sync: fragments spilled to stack buffers, one call, the accumulators reloaded.
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @mma(%a: vector<4x2xbf16>, %b: vector<2x2xbf16>, %c: vector<2x2xf32>, %o: memref<4xf32>) kernel {
      %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]}
          : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
      gpu.return
    }
  }
}
// CHECK-LABEL: func.func @mma(
// CHECK: vector.shape_cast %{{.*}} : vector<4x2xbf16> to vector<8xbf16>
// CHECK: vector.shape_cast %{{.*}} : vector<2x2xbf16> to vector<4xbf16>
// CHECK: %[[BF16:.*]] = arith.constant 1 : i64
// CHECK: call @attnc_emu_mma_m16n8k16(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BF16]], %{{.*}})
// CHECK: vector.shape_cast %{{.*}} : vector<4xf32> to vector<2x2xf32>

// -----

// cp.async: the copy, the group and the wait become runtime calls; global accesses
// are bounds-checked.
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @stage(%src: memref<?xf16>, %dst: memref<8xf32>)
        workgroup(%tile: memref<64xf16, #gpu.address_space<workgroup>>) kernel {
      %l = gpu.thread_id x
      %c8 = arith.constant 8 : index
      %i = arith.muli %l, %c8 : index
      %t = nvgpu.device_async_copy %src[%i], %tile[%i], 8 : memref<?xf16> to memref<64xf16, #gpu.address_space<workgroup>>
      %g = nvgpu.device_async_create_group %t
      nvgpu.device_async_wait %g {numGroups = 1 : i32}
      %v = arith.constant 1.0 : f32
      memref.store %v, %dst[%l] : memref<8xf32>
      gpu.return
    }
  }
}
// CHECK-LABEL: func.func @stage(
// 8 halves = 16 bytes, all read from the source.
// CHECK: %[[SRCBYTES:.*]] = arith.constant 16 : i64
// CHECK: %[[BYTES:.*]] = arith.constant 16 : i64
// CHECK: call @attnc_emu_async_copy(%{{.*}}, %{{.*}}, %[[BYTES]], %[[SRCBYTES]], %{{.*}}) : (i64, i64, i64, i64, i64) -> ()
// CHECK: call @attnc_emu_async_commit() : () -> ()
// CHECK: %[[PENDING:.*]] = arith.constant 1 : i64
// CHECK: call @attnc_emu_async_wait(%[[PENDING]], %{{.*}}) : (i64, i64) -> ()
// CHECK: memref.dim %{{.*}}, %{{.*}} : memref<8xf32>
// CHECK: scf.if
// CHECK: call @attnc_emu_out_of_bounds
// CHECK: memref.store

// -----

// f16 accumulators: widened to f32 for the call, the result rounded once.
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @mma_f16acc(%a: vector<4x2xf16>, %b: vector<2x2xf16>, %c: vector<2x2xf16>, %o: memref<1xf16>) kernel {
      %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]}
          : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf16>) -> vector<2x2xf16>
      gpu.return
    }
  }
}
// CHECK-LABEL: func.func @mma_f16acc(
// CHECK: arith.extf %{{.*}} : vector<4xf16> to vector<4xf32>
// CHECK: call @attnc_emu_mma_m16n8k16(
// CHECK: arith.truncf %{{.*}} : vector<4xf32> to vector<4xf16>
// CHECK: vector.shape_cast %{{.*}} : vector<4xf16> to vector<2x2xf16>

// -----

// m16n8k4 tf32 is m16n8k8 with A's and B's upper k half zero.
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @mma_k4(%a: vector<2x1xf32>, %b: vector<1x1xf32>, %c: vector<2x2xf32>, %o: memref<1xf32>) kernel {
      %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 4], tf32Enabled}
          : (vector<2x1xf32>, vector<1x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
      gpu.return
    }
  }
}
// CHECK-LABEL: func.func @mma_k4(
// CHECK: %[[A:.*]] = vector.shape_cast %{{.*}} : vector<2x1xf32> to vector<2xf32>
// CHECK: vector.insert_strided_slice %[[A]], %{{.*}} {offsets = [0], strides = [1]} : vector<2xf32> into vector<4xf32>
// CHECK: %[[B:.*]] = vector.shape_cast %{{.*}} : vector<1x1xf32> to vector<1xf32>
// CHECK: vector.insert_strided_slice %[[B]], %{{.*}} {offsets = [0], strides = [1]} : vector<1xf32> into vector<2xf32>
// CHECK: call @attnc_emu_mma_m16n8k8_tf32(

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @mma_i8(%a: vector<4x4xi8>, %b: vector<2x4xi8>, %c: vector<2x2xi32>, %o: memref<1xi32>) kernel {
      // expected-error @+1 {{cuda-emu: supported mma.sync forms are}}
      %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 32]}
          : (vector<4x4xi8>, vector<2x4xi8>, vector<2x2xi32>) -> vector<2x2xi32>
      gpu.return
    }
  }
}
