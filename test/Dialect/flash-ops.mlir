// RUN: attn-opt %s | attn-opt | FileCheck %s
// RUN: attn-opt %s --mlir-print-op-generic | attn-opt | FileCheck %s

// Round trip of the flash-form tile ops (dialect/AttnFlashOps.td): tile_init,
// tile_scores, tile_mask_class (with and without scalars), tile_mods (with and without
// scalars, buffers and apply_mask), tile_softmax, tile_pv and tile_store.

attn.variant @plain heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %0 : i1
}

attn.variant @rich heads(8, 2) head_dim(64, 32) dtype(bf16) scale(0.125)
    scalars {offset = i32, seed = i64, temp = f32}
    buffers {doc = #attn.buffer<i32, [B, KV_LEN]>, pos = #attn.buffer<i64, [KV_LEN]>, slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = attn.scalar "temp" : f32
  %0 = arith.divf %score, %t : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %0 : i1
}

// CHECK-LABEL: func.func @plain_tiles(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: memref<?x4x?x16xf32>, %[[K:[a-z0-9]+]]: memref<?x4x?x16xf32>,
// CHECK-SAME: %[[V:[a-z0-9]+]]: memref<?x4x?x16xf32>, %[[OUT:[a-z0-9]+]]: memref<?x4x?x16xf32>,
// CHECK-SAME: %[[LSE:[a-z0-9]+]]: memref<?x4x?xf32>, %[[ST:[a-z0-9]+]]: memref<4xi64>,
// CHECK-SAME: %[[B:[a-z0-9]+]]: index, %[[H:[a-z0-9]+]]: index, %[[Q0:[a-z0-9]+]]: index, %[[Q1:[a-z0-9]+]]: index,
// CHECK-SAME: %[[K0:[a-z0-9]+]]: index, %[[K1:[a-z0-9]+]]: index, %[[QL:[a-z0-9]+]]: index, %[[KL:[a-z0-9]+]]: index)
// CHECK: %[[S:.*]] = memref.alloca() : memref<64x32xf32>
// CHECK-NEXT: %[[ACC:.*]] = memref.alloca() : memref<64x16xf32>
// CHECK-NEXT: %[[M:.*]] = memref.alloca() : memref<64xf32>
// CHECK-NEXT: %[[L:.*]] = memref.alloca() : memref<64xf32>
// CHECK-NEXT: %[[A:.*]] = memref.alloca() : memref<64xf32>
// CHECK-NEXT: attn.tile_init %[[ACC]], %[[M]], %[[L]] : memref<64x16xf32>, memref<64xf32>, memref<64xf32>
// CHECK-NEXT: %[[CLS:.*]] = attn.tile_mask_class @plain(%[[B]], %[[H]], %[[Q0]], %[[Q1]], %[[K0]], %[[K1]], %[[QL]], %[[KL]]) : index
// CHECK-NEXT: attn.tile_scores %[[Q]][%[[B]], %[[H]], %[[Q0]]], %[[K]][_, %[[H]], %[[K0]]] into %[[S]] scale(2.500000e-01) : memref<?x4x?x16xf32>, memref<?x4x?x16xf32>, memref<64x32xf32>
// CHECK-NEXT: attn.tile_mods @plain %[[S]](%[[B]], %[[H]], %[[Q0]], %[[K0]], %[[QL]], %[[KL]]) status(%[[ST]]) {apply_mask} : memref<64x32xf32>, memref<4xi64>
// CHECK-NEXT: attn.tile_mods @plain %[[S]](%[[B]], %[[H]], %[[Q0]], %[[K0]], %[[QL]], %[[KL]]) status(%[[ST]]) : memref<64x32xf32>, memref<4xi64>
// CHECK-NEXT: attn.tile_softmax %[[S]], %[[M]], %[[L]], %[[A]] : memref<64x32xf32>, memref<64xf32>, memref<64xf32>, memref<64xf32>
// CHECK-NEXT: attn.tile_pv %[[S]], %[[V]][%[[B]], %[[H]], %[[K0]]], %[[A]] into %[[ACC]] : memref<64x32xf32>, memref<?x4x?x16xf32>, memref<64xf32>, memref<64x16xf32>
// CHECK-NEXT: attn.tile_store %[[ACC]], %[[M]], %[[L]] into %[[OUT]][%[[B]], %[[H]], %[[Q0]]], %[[LSE]] : memref<64x16xf32>, memref<64xf32>, memref<64xf32>, memref<?x4x?x16xf32>, memref<?x4x?xf32>
// CHECK-NEXT: return %[[CLS]] : index
func.func @plain_tiles(%q: memref<?x4x?x16xf32>, %k: memref<?x4x?x16xf32>, %v: memref<?x4x?x16xf32>,
                       %out: memref<?x4x?x16xf32>, %lse: memref<?x4x?xf32>, %st: memref<4xi64>,
                       %b: index, %h: index, %q0: index, %q1: index, %k0: index, %k1: index,
                       %ql: index, %kl: index) -> index {
  %s = memref.alloca() : memref<64x32xf32>
  %acc = memref.alloca() : memref<64x16xf32>
  %m = memref.alloca() : memref<64xf32>
  %l = memref.alloca() : memref<64xf32>
  %alpha = memref.alloca() : memref<64xf32>
  attn.tile_init %acc, %m, %l : memref<64x16xf32>, memref<64xf32>, memref<64xf32>
  %cls = attn.tile_mask_class @plain(%b, %h, %q0, %q1, %k0, %k1, %ql, %kl) : index
  attn.tile_scores %q[%b, %h, %q0], %k[_, %h, %k0] into %s scale(0.25)
      : memref<?x4x?x16xf32>, memref<?x4x?x16xf32>, memref<64x32xf32>
  attn.tile_mods @plain %s(%b, %h, %q0, %k0, %ql, %kl) status(%st) {apply_mask}
      : memref<64x32xf32>, memref<4xi64>
  attn.tile_mods @plain %s(%b, %h, %q0, %k0, %ql, %kl) status(%st)
      : memref<64x32xf32>, memref<4xi64>
  attn.tile_softmax %s, %m, %l, %alpha : memref<64x32xf32>, memref<64xf32>, memref<64xf32>, memref<64xf32>
  attn.tile_pv %s, %v[%b, %h, %k0], %alpha into %acc
      : memref<64x32xf32>, memref<?x4x?x16xf32>, memref<64xf32>, memref<64x16xf32>
  attn.tile_store %acc, %m, %l into %out[%b, %h, %q0], %lse
      : memref<64x16xf32>, memref<64xf32>, memref<64xf32>, memref<?x4x?x16xf32>, memref<?x4x?xf32>
  return %cls : index
}

// Strided views, bf16 tensors, head_dim_v != head_dim, scalars and buffers.
// CHECK-LABEL: func.func @rich_tiles(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: memref<?x8x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[OFF:[a-z0-9]+]]: i32, %[[SEED:[a-z0-9]+]]: i64, %[[TEMP:[a-z0-9]+]]: f32,
// CHECK-SAME: %[[DOC:[a-z0-9]+]]: memref<?x?xi32>, %[[POS:[a-z0-9]+]]: memref<?xi64, strided<[?], offset: ?>>, %[[SL:[a-z0-9]+]]: memref<8xf32>,
// CHECK-SAME: %[[ST:[a-z0-9]+]]: memref<4xi64>
// CHECK: %[[CLS:.*]] = attn.tile_mask_class @rich(%{{[^)]*}}) scalars(%[[OFF]], %[[SEED]], %[[TEMP]] : i32, i64, f32) : index
// CHECK-NEXT: attn.tile_scores %[[Q]][%{{.*}}], %{{.*}}[_, %[[G:[a-z0-9]+]], %{{.*}}] into %{{.*}} scale(1.250000e-01) : memref<?x8x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<32x16xf32>
// CHECK-NEXT: attn.tile_mods @rich %[[S:[a-z0-9_]+]](%{{[^)]*}}) scalars(%[[OFF]], %[[SEED]], %[[TEMP]] : i32, i64, f32) buffers(%[[DOC]], %[[POS]], %[[SL]] : memref<?x?xi32>, memref<?xi64, strided<[?], offset: ?>>, memref<8xf32>) status(%[[ST]]) {apply_mask} : memref<32x16xf32>, memref<4xi64>
// CHECK-NEXT: attn.tile_mods @rich %[[S]](%{{[^)]*}}) scalars(%[[OFF]], %[[SEED]], %[[TEMP]] : i32, i64, f32) buffers(%[[DOC]], %[[POS]], %[[SL]] : memref<?x?xi32>, memref<?xi64, strided<[?], offset: ?>>, memref<8xf32>) status(%[[ST]]) : memref<32x16xf32>, memref<4xi64>
// CHECK-NEXT: attn.tile_pv %[[S]], %{{.*}}[%{{.*}}, %[[G]], %{{.*}}], %{{.*}} into %{{.*}} : memref<32x16xf32>, memref<?x2x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<32xf32>, memref<32x32xf32>
// CHECK-NEXT: attn.tile_store {{.*}} : memref<32x32xf32>, memref<32xf32>, memref<32xf32>, memref<?x8x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x8x?xf32, strided<[?, ?, ?], offset: ?>>
func.func @rich_tiles(%q: memref<?x8x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>,
                      %k: memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>,
                      %v: memref<?x2x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>,
                      %out: memref<?x8x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>,
                      %lse: memref<?x8x?xf32, strided<[?, ?, ?], offset: ?>>,
                      %offset: i32, %seed: i64, %temp: f32,
                      %doc: memref<?x?xi32>, %pos: memref<?xi64, strided<[?], offset: ?>>, %slopes: memref<8xf32>,
                      %st: memref<4xi64>, %b: index, %h: index, %g: index, %q0: index, %k0: index,
                      %ql: index, %kl: index) -> index {
  %s = memref.alloca() : memref<32x16xf32>
  %acc = memref.alloca() : memref<32x32xf32>
  %m = memref.alloca() : memref<32xf32>
  %l = memref.alloca() : memref<32xf32>
  %alpha = memref.alloca() : memref<32xf32>
  %cls = attn.tile_mask_class @rich(%b, %h, %q0, %q0, %k0, %k0, %ql, %kl)
      scalars(%offset, %seed, %temp : i32, i64, f32) : index
  attn.tile_scores %q[%b, %h, %q0], %k[_, %g, %k0] into %s scale(0.125)
      : memref<?x8x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<32x16xf32>
  attn.tile_mods @rich %s(%b, %h, %q0, %k0, %ql, %kl) scalars(%offset, %seed, %temp : i32, i64, f32)
      buffers(%doc, %pos, %slopes : memref<?x?xi32>, memref<?xi64, strided<[?], offset: ?>>, memref<8xf32>)
      status(%st) {apply_mask} : memref<32x16xf32>, memref<4xi64>
  attn.tile_mods @rich %s(%b, %h, %q0, %k0, %ql, %kl) scalars(%offset, %seed, %temp : i32, i64, f32)
      buffers(%doc, %pos, %slopes : memref<?x?xi32>, memref<?xi64, strided<[?], offset: ?>>, memref<8xf32>)
      status(%st) : memref<32x16xf32>, memref<4xi64>
  attn.tile_pv %s, %v[%b, %g, %k0], %alpha into %acc
      : memref<32x16xf32>, memref<?x2x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<32xf32>, memref<32x32xf32>
  attn.tile_store %acc, %m, %l into %out[%b, %h, %q0], %lse
      : memref<32x32xf32>, memref<32xf32>, memref<32xf32>, memref<?x8x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x8x?xf32, strided<[?, ?, ?], offset: ?>>
  return %cls : index
}

// f16 tensors with static shapes, scale 1.0; tile_mods of a variant that declares
// buffers but no scalars (no `scalars(...)` group is printed).
attn.variant @bufonly heads(2, 1) head_dim(8, 8) dtype(f16) scale(1.0)
    buffers {bias = #attn.buffer<f32, [H, KV_LEN]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = attn.buffer_load "bias"[%h, %kv_idx] : f32
  %1 = arith.addf %score, %0 : f32
  attn.yield %1 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// CHECK-LABEL: func.func @bufonly_tiles(
// CHECK: attn.tile_scores %{{.*}} scale(1.000000e+00) : memref<1x2x16x8xf16>, memref<1x1x16x8xf16>, memref<16x16xf32>
// CHECK-NEXT: attn.tile_mods @bufonly %{{[a-z0-9_]+}}(%{{[^)]*}}) buffers(%{{.*}} : memref<2x16xf32>) status(%{{.*}}) : memref<16x16xf32>, memref<4xi64>
func.func @bufonly_tiles(%q: memref<1x2x16x8xf16>, %k: memref<1x1x16x8xf16>, %bias: memref<2x16xf32>,
                         %st: memref<4xi64>, %i: index) {
  %s = memref.alloca() : memref<16x16xf32>
  attn.tile_scores %q[%i, %i, %i], %k[_, %i, %i] into %s scale(1.0)
      : memref<1x2x16x8xf16>, memref<1x1x16x8xf16>, memref<16x16xf32>
  attn.tile_mods @bufonly %s(%i, %i, %i, %i, %i, %i) buffers(%bias : memref<2x16xf32>) status(%st)
      : memref<16x16xf32>, memref<4xi64>
  return
}
