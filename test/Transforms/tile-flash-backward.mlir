// RUN: attn-opt %s -split-input-file --attn-differentiate-score-mod --attn-simplify --attn-tile-flash-backward="block-q=32 block-kv=16" | FileCheck %s

// attn-tile-flash-backward (compiler/transforms/TileFlashBackward.cpp): @X_forward
// becomes @X_flash_backward, FlashAttention-2's backward pass as tile ops: a
// parallel loop over (batch, key/value head, split of the key tiles); per key tile
// dK/dV are zeroed, the query tiles of every head of the group stream through
// them, and they are stored once. A requires_grad buffer gets a gradient argument
// that attn.tile_dscores accumulates into.

// GQA (4 query heads, 2 key/value heads), a causal mask, a learnable bias.
// CHECK-LABEL: func.func @gqa_bias_flash_backward(
// CHECK-SAME: %[[Q:arg0]]: memref<?x4x?x16xbf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[K:arg1]]: memref<?x2x?x16xbf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[V:arg2]]: memref<?x2x?x16xbf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[OUT:arg3]]: memref<?x4x?x16xbf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[DOUT:arg4]]: memref<?x4x?x16xbf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[LSE:arg5]]: memref<?x4x?xf32, strided<[?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[DQ:arg6]]: memref<?x?x4x?x16xf32>,
// CHECK-SAME: %[[DK:arg7]]: memref<?x2x?x16xbf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[DV:arg8]]: memref<?x2x?x16xbf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[BIAS:arg9]]: memref<4x9xf32, strided<[?, ?], offset: ?>>,
// CHECK-SAME: %[[DBIAS:arg10]]: memref<4x9xf32, strided<[?, ?], offset: ?>>,
// CHECK-SAME: %[[ST:arg11]]: memref<4xi64>)
// CHECK-SAME: attributes {attn.backward, attn.variant = @gqa_bias}
// CHECK: %[[SPLITS:.*]] = memref.dim %[[DQ]], %c0{{(_[0-9]+)?}} : memref<?x?x4x?x16xf32>
// CHECK: scf.parallel (%[[B:arg[0-9]+]], %[[G:arg[0-9]+]], %[[C:arg[0-9]+]]) = ({{.*}}) to (%{{.*}}, %c2{{(_[0-9]+)?}}, %[[SPLITS]])
// CHECK-DAG: %[[S:.*]] = memref.alloca() {attn.scratch = "scores"} : memref<32x16xf32>
// CHECK-DAG: %[[P:.*]] = memref.alloca() {attn.scratch = "probs"} : memref<32x16xf32>
// CHECK-DAG: %[[DP:.*]] = memref.alloca() {attn.scratch = "dprobs"} : memref<32x16xf32>
// CHECK-DAG: %[[DS:.*]] = memref.alloca() {attn.scratch = "dscores"} : memref<32x16xf32>
// CHECK-DAG: %[[DELTA:.*]] = memref.alloca() {attn.scratch = "delta"} : memref<32xf32>
// CHECK-DAG: %[[DKT:.*]] = memref.alloca() {attn.scratch = "dk"} : memref<16x16xf32>
// CHECK-DAG: %[[DVT:.*]] = memref.alloca() {attn.scratch = "dv"} : memref<16x16xf32>
// CHECK: scf.for %[[KT:arg[0-9]+]] =
// CHECK: %[[K0:.*]] = arith.muli %[[KT]], %c16
// CHECK: attn.tile_zero %[[DKT]]
// CHECK-NEXT: attn.tile_zero %[[DVT]]
// The heads of group %G: h = G * 2 + hh.
// CHECK: scf.for %[[HH:arg[0-9]+]] = %c0 to %c2{{(_[0-9]+)?}}
// CHECK: %[[GH:.*]] = arith.muli %[[G]], %c2
// CHECK-NEXT: %[[H:.*]] = arith.addi %[[GH]], %[[HH]]
// CHECK: scf.for %[[QT:arg[0-9]+]] =
// CHECK: %[[Q0:.*]] = arith.muli %[[QT]], %c32
// CHECK: %[[CLS:.*]] = attn.tile_mask_class @gqa_bias(%[[B]], %[[H]], %[[Q0]], %{{.*}}, %[[K0]],
// CHECK: scf.if
// CHECK-NEXT: attn.tile_scores %[[Q]][%[[B]], %[[H]], %[[Q0]]], %[[K]][_, %[[G]], %[[K0]]] into %[[S]] scale(2.500000e-01)
// CHECK-NEXT: scf.if
// CHECK-NEXT: attn.tile_probs @gqa_bias %[[S]](%[[B]], %[[H]], %[[Q0]], %[[K0]], {{.*}}), %[[LSE]] into %[[P]] buffers(%[[BIAS]] : {{.*}}) status(%[[ST]]) {apply_mask}
// CHECK-NEXT: } else {
// CHECK-NEXT: attn.tile_probs @gqa_bias %[[S]]({{.*}}), %[[LSE]] into %[[P]] buffers(%[[BIAS]] : {{.*}}) status(%[[ST]]) :
// CHECK: attn.tile_key_grad %[[P]], %[[DOUT]][%[[B]], %[[H]], %[[Q0]]] into %[[DVT]] scale(1.000000e+00)
// CHECK-NEXT: attn.tile_scores %[[DOUT]][%[[B]], %[[H]], %[[Q0]]], %[[V]][_, %[[G]], %[[K0]]] into %[[DP]] scale(1.000000e+00)
// CHECK-NEXT: attn.tile_delta %[[DOUT]][%[[B]], %[[H]], %[[Q0]]], %[[OUT]] into %[[DELTA]]
// CHECK-NEXT: scf.if
// CHECK-NEXT: attn.tile_dscores @gqa_bias %[[S]], %[[P]], %[[DP]], %[[DELTA]] into %[[DS]]({{.*}}) buffers(%[[BIAS]] : {{.*}}) grads(%[[DBIAS]] : {{.*}}) status(%[[ST]]) {apply_mask}
// CHECK: attn.tile_key_grad %[[DS]], %[[Q]][%[[B]], %[[H]], %[[Q0]]] into %[[DKT]] scale(2.500000e-01)
// CHECK-NEXT: attn.tile_query_grad %[[DS]], %[[K]][%[[B]], %[[G]], %[[K0]]] into %[[DQ]][%[[C]], _, %[[H]], %[[Q0]]] scale(2.500000e-01)
// CHECK: attn.tile_key_store %[[DKT]] into %[[DK]][%[[B]], %[[G]], %[[K0]]]
// CHECK-NEXT: attn.tile_key_store %[[DVT]] into %[[DV]][%[[B]], %[[G]], %[[K0]]]
// CHECK-NOT: attn.attention
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

// -----

// No mask: no tile is classified and mask_mod is never applied.
// CHECK-LABEL: func.func @plain_flash_backward(
// CHECK-NOT: attn.tile_mask_class
// CHECK-NOT: apply_mask
// CHECK: attn.tile_probs @plain
// CHECK-NOT: attn.tile_mask_class
// CHECK-NOT: apply_mask
// CHECK: attn.tile_dscores @plain
// CHECK-NOT: apply_mask
// CHECK: return
attn.variant @plain heads(2, 2) head_dim(16, 16) dtype(f32) scale(0.25) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @plain_forward(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> (tensor<?x2x?x16xf32>, tensor<?x2x?xf32>) {
  %out, %lse = attn.attention @plain(%q, %k, %v) : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>, tensor<?x2x?xf32>
  return %out, %lse : tensor<?x2x?x16xf32>, tensor<?x2x?xf32>
}
