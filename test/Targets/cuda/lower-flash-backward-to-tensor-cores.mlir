// RUN: attn-opt %s --attn-differentiate-score-mod --attn-simplify --attn-tile-flash-backward="block-q=32 block-kv=32" --attn-lower-flash-to-gpu | FileCheck %s --implicit-check-not=attn.tile

// attn-lower-flash-to-gpu on the backward flash form of an f16 variant with tiles
// that are multiples of 16 (compiler/targets/cuda/TensorCoreBackwardKernel.cpp): a
// block per (split, key/value head, batch) of block-kv / 16 = 2 warps (64 threads),
// each owning 16 key rows. Workgroup memory holds the Q, dO, K and V tiles (16-bit,
// 16 columns padded to 24), the dSᵀ tile (32 keys x 32 queries, padded to 40), lse
// and δ. The score tiles are computed transposed with mma.sync: Sᵀ = K·Qᵀ (K as A,
// Q rows as B, no transpose), dV += Pᵀ·dO (dO through ldmatrix.trans), dPᵀ = V·dOᵀ;
// dSᵀ goes to shared memory in f16, dK += dSᵀ·Q (Q through ldmatrix.trans), then,
// after a barrier, the warps share out dQ's items: dS (ldmatrix.trans of the dSᵀ
// tile) times K (ldmatrix.trans), added to the split's f32 partial. dK and dV leave
// through the K and V tiles, copied out by every thread. The bias gradient is
// added atomically. No attn.tile_* op is left (--implicit-check-not).
// CHECK-LABEL: func.func @gqa_bias_backward_gpu(
// CHECK-SAME: %[[DQ:arg6]]: memref<?x?x4x?x16xf32>, %[[DK:arg7]]: memref<?x2x?x16xf16, strided<[?, ?, ?, ?], offset: ?>>, %[[DV:arg8]]: memref<?x2x?x16xf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-SAME: %[[DBIAS:arg10]]: memref<4x9xf32, strided<[?, ?], offset: ?>>
// CHECK: gpu.launch blocks(%[[SPLIT:[a-z0-9]+]], %[[G:[a-z0-9]+]], %[[BI:[a-z0-9]+]]) in ({{.*}}) threads(%[[TID:[a-z0-9]+]], {{.*}}) in ({{.*}} = %c64, {{.*}} = %c1{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}})
// CHECK-SAME: workgroup(%[[QT:[a-z0-9]+]] : memref<32x24xf16, #gpu.address_space<workgroup>>, %[[DOT:[a-z0-9]+]] : memref<32x24xf16, #gpu.address_space<workgroup>>, %[[KT:[a-z0-9]+]] : memref<32x24xf16, #gpu.address_space<workgroup>>, %[[VT:[a-z0-9]+]] : memref<32x24xf16, #gpu.address_space<workgroup>>, %[[DST:[a-z0-9]+]] : memref<32x40xf16, #gpu.address_space<workgroup>>, %[[LSE:[a-z0-9]+]] : memref<32xf32, #gpu.address_space<workgroup>>, %[[DELTA:[a-z0-9]+]] : memref<32xf32, #gpu.address_space<workgroup>>)
// The key tiles: K and V staged between barriers, dK and dV (2 fragments each)
// carried through the loops over heads and query tiles.
// CHECK: scf.for
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[KT]][
// CHECK: memref.store %{{.*}}, %[[VT]][
// CHECK: gpu.barrier
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// A pair: Q, dO and lse staged; Sᵀ = K·Qᵀ.
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[QT]][
// CHECK: memref.store %{{.*}}, %[[DOT]][
// CHECK: memref.store %{{.*}}, %[[LSE]][
// CHECK: gpu.barrier
// CHECK: %[[KA:.*]] = nvgpu.ldmatrix %[[KT]][{{.*}}] {numTiles = 4 : i32, transpose = false}
// CHECK-NEXT: nvgpu.ldmatrix %[[QT]][{{.*}}] {numTiles = 4 : i32, transpose = false}
// CHECK: nvgpu.mma.sync(%[[KA]], {{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// Pᵀ from lse, then dV += Pᵀ·dO.
// CHECK: memref.load %[[LSE]][
// CHECK: math.exp
// CHECK: nvgpu.ldmatrix %[[DOT]][{{.*}}] {numTiles = 4 : i32, transpose = true}
// CHECK: nvgpu.mma.sync
// dPᵀ = V·dOᵀ.
// CHECK: nvgpu.ldmatrix %[[VT]][{{.*}}] {numTiles = 4 : i32, transpose = false}
// CHECK-NEXT: nvgpu.ldmatrix %[[DOT]][{{.*}}] {numTiles = 4 : i32, transpose = false}
// δ: a warp per row, a butterfly of shuffles, then a barrier.
// CHECK: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[DELTA]][
// CHECK: gpu.barrier
// dSᵀ: the bias gradient atomically, dSᵀ into shared memory in f16.
// CHECK: memref.load %[[DELTA]][
// CHECK: memref.atomic_rmw addf %{{.*}}, %[[DBIAS]][
// CHECK: memref.store %{{.*}}, %[[DST]][
// dK += dSᵀ·Q.
// CHECK: nvgpu.ldmatrix %[[QT]][{{.*}}] {numTiles = 4 : i32, transpose = true}
// CHECK: nvgpu.mma.sync
// dQ: after a barrier, the warp's items (a loop from its index, step 2 warps).
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %{{.*}} to %c2{{(_[0-9]+)?}} step %c2{{(_[0-9]+)?}} {
// CHECK: nvgpu.ldmatrix %[[DST]][{{.*}}] {numTiles = 4 : i32, transpose = true}
// CHECK: nvgpu.ldmatrix %[[KT]][{{.*}}] {numTiles = 4 : i32, transpose = true}
// CHECK: nvgpu.mma.sync
// CHECK: memref.store %{{.*}}, %[[DQ]][%[[SPLIT]], %[[BI]],
// The key tile's end: dK into the K tile in f16, copied out; then dV the same way.
// CHECK: gpu.barrier
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK-NEXT: memref.store %{{.*}}, %[[KT]][
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to %c512{{(_[0-9]+)?}} step %c64
// CHECK: memref.store %{{.*}}, %[[DK]][%[[BI]], %[[G]],
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[VT]][
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[DV]][%[[BI]], %[[G]],
// CHECK: gpu.terminator
attn.variant @gqa_bias heads(4, 2) head_dim(16, 16) dtype(f16) scale(0.25) buffers {bias = #attn.buffer<f32, [H, 9], requires_grad>} score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.constant 4 : i64
  %0 = arith.subi %kv_idx, %q_idx : i64
  %1 = arith.addi %0, %c : i64
  %2 = attn.buffer_load "bias"[%h, %1] : f32
  %3 = arith.addf %score, %2 : f32
  attn.yield %3 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %0 : i1
}
func.func @gqa_bias_forward(%q: tensor<?x4x?x16xf16>, %k: tensor<?x2x?x16xf16>, %v: tensor<?x2x?x16xf16>, %bias: tensor<4x9xf32>) -> (tensor<?x4x?x16xf16>, tensor<?x4x?xf32>) {
  %out, %lse = attn.attention @gqa_bias(%q, %k, %v) buffers(%bias : tensor<4x9xf32>) : tensor<?x4x?x16xf16>, tensor<?x2x?x16xf16>, tensor<?x2x?x16xf16> -> tensor<?x4x?x16xf16>, tensor<?x4x?xf32>
  return %out, %lse : tensor<?x4x?x16xf16>, tensor<?x4x?xf32>
}
