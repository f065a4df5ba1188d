// RUN: attn-opt %s --attn-differentiate-score-mod --attn-simplify --attn-tile-flash-backward="block-q=32 block-kv=16 key-tiles-per-pass=3" | FileCheck %s
// RUN: not attn-opt %s --attn-differentiate-score-mod --attn-tile-flash-backward="key-tiles-per-pass=0" 2>&1 | FileCheck %s --check-prefix=BAD

// key-tiles-per-pass=3 (the CPU target's choice): each pass of the key loop takes
// three key tiles, each with its own dK/dV accumulators; every query tile of the
// group's heads meets the three in turn (each pair classified by the mask on its
// own), so the query rows are read once a pass. The second and third tiles run
// only where they are before the split's end.
// CHECK-LABEL: func.func @causal_flash_backward(
// CHECK-SAME: %[[Q:arg0]]: memref<?x2x?x16xf32
// CHECK-SAME: %[[DK:arg7]]: memref<?x1x?x16xf32
// CHECK-SAME: %[[DV:arg8]]: memref<?x1x?x16xf32
// CHECK: scf.parallel (%[[B:arg[0-9]+]], %[[G:arg[0-9]+]], %[[C:arg[0-9]+]])
// CHECK-DAG: %[[DK0:.*]] = memref.alloca() {attn.scratch = "dk"} : memref<16x16xf32>
// CHECK-DAG: %[[DV0:.*]] = memref.alloca() {attn.scratch = "dv"} : memref<16x16xf32>
// CHECK-DAG: %[[DK1:.*]] = memref.alloca() {attn.scratch = "dk"} : memref<16x16xf32>
// CHECK-DAG: %[[DV1:.*]] = memref.alloca() {attn.scratch = "dv"} : memref<16x16xf32>
// CHECK-DAG: %[[DK2:.*]] = memref.alloca() {attn.scratch = "dk"} : memref<16x16xf32>
// CHECK-DAG: %[[DV2:.*]] = memref.alloca() {attn.scratch = "dv"} : memref<16x16xf32>
// CHECK: %[[LAST:.*]] = arith.minui
// CHECK: scf.for %[[KT:arg[0-9]+]] = %{{.*}} to %[[LAST]] step %c3
// CHECK: %[[K0:.*]] = arith.muli %[[KT]], %c16
// CHECK: %[[KT1:.*]] = arith.addi %[[KT]], %c1
// CHECK-NEXT: %[[LIVE1:.*]] = arith.cmpi ult, %[[KT1]], %[[LAST]]
// CHECK-NEXT: %[[K01:.*]] = arith.muli %[[KT1]], %c16
// CHECK: %[[KT2:.*]] = arith.addi %[[KT]], %c2
// CHECK-NEXT: %[[LIVE2:.*]] = arith.cmpi ult, %[[KT2]], %[[LAST]]
// CHECK-NEXT: %[[K02:.*]] = arith.muli %[[KT2]], %c16
// CHECK: attn.tile_zero %[[DK0]]
// CHECK-NEXT: attn.tile_zero %[[DV0]]
// CHECK-NEXT: scf.if %[[LIVE1]] {
// CHECK-NEXT: attn.tile_zero %[[DK1]]
// CHECK-NEXT: attn.tile_zero %[[DV1]]
// CHECK-NEXT: }
// CHECK-NEXT: scf.if %[[LIVE2]] {
// CHECK-NEXT: attn.tile_zero %[[DK2]]
// CHECK-NEXT: attn.tile_zero %[[DV2]]
// CHECK-NEXT: }
// CHECK: scf.for %[[HH:arg[0-9]+]] = %c0 to %c2
// CHECK: scf.for %[[QT:arg[0-9]+]] =
// CHECK-NEXT: %[[Q0:.*]] = arith.muli %[[QT]], %c32
// The first tile of the pass: classified, then its pair of tiles.
// CHECK: attn.tile_mask_class @causal(%[[B]], %{{.*}}, %[[Q0]], %{{.*}}, %[[K0]],
// CHECK: attn.tile_scores %[[Q]][%[[B]], %{{.*}}, %[[Q0]]], %{{.*}}[_, %[[G]], %[[K0]]]
// CHECK: attn.tile_key_grad %{{.*}} into %[[DV0]]
// CHECK: attn.tile_key_grad %{{.*}} into %[[DK0]]
// CHECK: attn.tile_query_grad %{{.*}}[%[[B]], %[[G]], %[[K0]]] into %{{.*}}[%[[C]], _, %{{.*}}, %[[Q0]]]
// The second and third, under their guards, into their own accumulators.
// CHECK: scf.if %[[LIVE1]] {
// CHECK-NEXT: attn.tile_mask_class @causal(%[[B]], %{{.*}}, %[[Q0]], %{{.*}}, %[[K01]],
// CHECK: attn.tile_scores %[[Q]][%[[B]], %{{.*}}, %[[Q0]]], %{{.*}}[_, %[[G]], %[[K01]]]
// CHECK: attn.tile_key_grad %{{.*}} into %[[DV1]]
// CHECK: attn.tile_key_grad %{{.*}} into %[[DK1]]
// CHECK: attn.tile_query_grad %{{.*}}[%[[B]], %[[G]], %[[K01]]] into
// CHECK: scf.if %[[LIVE2]] {
// CHECK-NEXT: attn.tile_mask_class @causal(%[[B]], %{{.*}}, %[[Q0]], %{{.*}}, %[[K02]],
// CHECK: attn.tile_key_grad %{{.*}} into %[[DV2]]
// CHECK: attn.tile_key_grad %{{.*}} into %[[DK2]]
// CHECK: attn.tile_query_grad %{{.*}}[%[[B]], %[[G]], %[[K02]]] into
// After the query tiles, each tile's dK/dV stored once.
// CHECK: attn.tile_key_store %[[DK0]] into %[[DK]][%[[B]], %[[G]], %[[K0]]]
// CHECK-NEXT: attn.tile_key_store %[[DV0]] into %[[DV]][%[[B]], %[[G]], %[[K0]]]
// CHECK-NEXT: scf.if %[[LIVE1]] {
// CHECK-NEXT: attn.tile_key_store %[[DK1]] into %[[DK]][%[[B]], %[[G]], %[[K01]]]
// CHECK-NEXT: attn.tile_key_store %[[DV1]] into %[[DV]][%[[B]], %[[G]], %[[K01]]]
// CHECK-NEXT: }
// CHECK-NEXT: scf.if %[[LIVE2]] {
// CHECK-NEXT: attn.tile_key_store %[[DK2]] into %[[DK]][%[[B]], %[[G]], %[[K02]]]
// CHECK-NEXT: attn.tile_key_store %[[DV2]] into %[[DV]][%[[B]], %[[G]], %[[K02]]]
// CHECK-NEXT: }

// BAD: error: attn-tile-flash-backward: block sizes and key-tiles-per-pass must be positive
// BAD-NOT: causal_flash_backward
attn.variant @causal heads(2, 1) head_dim(16, 16) dtype(f32) scale(0.25) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %0 : i1
}
func.func @causal_forward(%q: tensor<?x2x?x16xf32>, %k: tensor<?x1x?x16xf32>, %v: tensor<?x1x?x16xf32>) -> (tensor<?x2x?x16xf32>, tensor<?x2x?xf32>) {
  %out, %lse = attn.attention @causal(%q, %k, %v) : tensor<?x2x?x16xf32>, tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32> -> tensor<?x2x?x16xf32>, tensor<?x2x?xf32>
  return %out, %lse : tensor<?x2x?x16xf32>, tensor<?x2x?xf32>
}
