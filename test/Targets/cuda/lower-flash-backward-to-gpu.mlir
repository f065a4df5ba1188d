// RUN: attn-opt %s --attn-differentiate-score-mod --attn-simplify --attn-tile-flash-backward="block-q=32 block-kv=16" --attn-lower-flash-to-gpu="tensor-cores=false" | FileCheck %s --implicit-check-not=attn.tile

// attn-lower-flash-to-gpu on the backward flash form (compiler/targets/cuda/
// SimtBackwardKernel.cpp): @X_flash_backward becomes @X_backward_gpu with the same
// arguments, one gpu.launch with a block per (split, key/value head, batch) and a
// thread per key row (block-kv = 16 threads). Shared memory holds the staged query
// rows (32 x 16), key rows (16 x 16), the dS tile (32 x 16) and delta (32); each
// thread keeps its column of S, P, dP (32) and its rows of dK and dV (16) private.
// dQ goes to the split's f32 partial (memref<?x?x4x?x16xf32>), the bias gradient
// by atomic adds, dK and dV as bf16 rows of the thread's key. No attn.tile_* op is
// left (--implicit-check-not).
// CHECK-LABEL: func.func @gqa_bias_backward_gpu(
// CHECK-SAME: %[[Q:arg0]]: memref<?x4x?x16xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-SAME: %[[DQ:arg6]]: memref<?x?x4x?x16xf32>, %[[DK:arg7]]: memref<?x2x?x16xbf16, strided<[?, ?, ?, ?], offset: ?>>, %[[DV:arg8]]: memref<?x2x?x16xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-SAME: %[[BIAS:arg9]]: memref<4x9xf32, strided<[?, ?], offset: ?>>, %[[DBIAS:arg10]]: memref<4x9xf32, strided<[?, ?], offset: ?>>, %[[ST:arg11]]: memref<4xi64>)
// CHECK-SAME: attributes {attnc.backward_kernel, llvm.emit_c_interface}
// CHECK: %[[B:.*]] = memref.dim %[[Q]], %c0
// CHECK: %[[SPLITS:.*]] = memref.dim %[[DQ]], %c0
// CHECK: gpu.launch blocks(%[[SPLIT:[a-z0-9]+]], %[[G:[a-z0-9]+]], %[[BI:[a-z0-9]+]]) in ({{.*}} = %[[SPLITS]], {{.*}} = %c2{{(_[0-9]+)?}}, {{.*}} = %[[B]]) threads(%[[TID:[a-z0-9]+]], {{.*}}) in ({{.*}} = %c16{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}})
// CHECK-SAME: workgroup(%[[ROWS:[a-z0-9]+]] : memref<32x16xf32, #gpu.address_space<workgroup>>, %[[KEYS:[a-z0-9]+]] : memref<16x16xf32, #gpu.address_space<workgroup>>, %[[DS:[a-z0-9]+]] : memref<32x16xf32, #gpu.address_space<workgroup>>, %[[DELTA:[a-z0-9]+]] : memref<32xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[S:.*]] = memref.alloca() : memref<32xf32>
// CHECK-NEXT: %[[P:.*]] = memref.alloca() : memref<32xf32>
// CHECK-NEXT: %[[DP:.*]] = memref.alloca() : memref<32xf32>
// CHECK-NEXT: %[[DKT:.*]] = memref.alloca() : memref<16xf32>
// CHECK-NEXT: %[[DVT:.*]] = memref.alloca() : memref<16xf32>
// The split's key tiles; dK and dV zeroed per tile.
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %[[DKT]][
// CHECK: memref.store %{{.*}}, %[[DVT]][
// tile_scores (Q·Kᵀ): a barrier, q rows and k rows staged by all threads (e = tid,
// tid + 16, ...), a barrier, the thread's column.
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to %c512{{(_[0-9]+)?}} step %c16
// CHECK: memref.store %{{.*}}, %[[ROWS]][
// CHECK: scf.for %{{.*}} = %[[TID]] to %c256{{(_[0-9]+)?}} step %c16
// CHECK: memref.store %{{.*}}, %[[KEYS]][
// CHECK: gpu.barrier
// CHECK: memref.load %[[KEYS]][%[[TID]],
// CHECK: memref.store %{{.*}}, %[[S]][
// tile_probs: exp(score_mod(s) - lse) where the pair counts.
// CHECK: math.exp
// CHECK: memref.store %{{.*}}, %[[P]][
// tile_key_grad (dV += Pᵀ·dO): dout rows staged, accumulated into the thread's row.
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[ROWS]][
// CHECK: gpu.barrier
// CHECK: memref.load %[[P]][
// CHECK: memref.store %{{.*}}, %[[DVT]][
// tile_scores (dO·Vᵀ) into dP.
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[KEYS]][
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[DP]][
// tile_delta: rows over the threads, into shared memory, between barriers.
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to %c32{{(_[0-9]+)?}} step %c16
// CHECK: memref.store %{{.*}}, %[[DELTA]][
// CHECK: gpu.barrier
// tile_dscores: the bias gradient by atomic adds; dS into the thread's column of
// the shared tile.
// CHECK: memref.load %[[DELTA]][
// CHECK: memref.atomic_rmw addf %{{.*}}, %[[DBIAS]][
// CHECK: memref.store %{{.*}}, %[[DS]][%{{.*}}, %[[TID]]]
// tile_key_grad (dK += dSᵀ·Q), then tile_query_grad: k rows staged, each thread's
// query rows of dS·K added to the split's partial.
// CHECK: memref.load %[[DS]][%{{.*}}, %[[TID]]]
// CHECK: memref.store %{{.*}}, %[[DKT]][
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[KEYS]][
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to %c32{{(_[0-9]+)?}} step %c16
// CHECK: memref.load %[[DS]][
// CHECK: memref.store %{{.*}}, %[[DQ]][%[[SPLIT]], %[[BI]],
// tile_key_store: the thread's key row, as bf16, where it is inside KV_LEN.
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK-NEXT: memref.store %{{.*}}, %[[DK]][%[[BI]], %[[G]],
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK-NEXT: memref.store %{{.*}}, %[[DV]][%[[BI]], %[[G]],
// CHECK: gpu.terminator
attn.variant @gqa_bias heads(4, 2) head_dim(16, 16) dtype(bf16) scale(0.25) buffers {bias = #attn.buffer<f32, [H, 9], requires_grad>} score_mod {
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
func.func @gqa_bias_forward(%q: tensor<?x4x?x16xbf16>, %k: tensor<?x2x?x16xbf16>, %v: tensor<?x2x?x16xbf16>, %bias: tensor<4x9xf32>) -> (tensor<?x4x?x16xbf16>, tensor<?x4x?xf32>) {
  %out, %lse = attn.attention @gqa_bias(%q, %k, %v) buffers(%bias : tensor<4x9xf32>) : tensor<?x4x?x16xbf16>, tensor<?x2x?x16xbf16>, tensor<?x2x?x16xbf16> -> tensor<?x4x?x16xbf16>, tensor<?x4x?xf32>
  return %out, %lse : tensor<?x4x?x16xbf16>, tensor<?x4x?xf32>
}
