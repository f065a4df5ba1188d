// RUN: attn-opt %s -split-input-file --attn-tile-flash | FileCheck %s
// RUN: attn-opt %s -split-input-file --attn-tile-flash="block-q=32 block-kv=16" | FileCheck %s --check-prefix=BLK
// RUN: attn-opt %s -split-input-file --attn-tile-flash | FileCheck %s --check-prefix=MEMREF

// attn-tile-flash (compiler/transforms/TileFlash.cpp): @X_forward on tensors becomes
// @X_flash on strided memrefs, a parallel loop over (batch, head, query tile) around
// a loop over key tiles made of attn.tile_* ops. The first RUN uses the default
// 64x64 tiles, the second (BLK) 32 query rows by 16 key rows. No tensor is left
// anywhere in the output (MEMREF, which checks all of it).
// MEMREF-NOT: tensor<

// A causal mask: every key tile is classified; empty tiles are skipped, full ones
// skip the mask, partial ones apply it.
// CHECK-LABEL: attn.variant @causal
// CHECK-LABEL: func.func @causal_flash(
// CHECK-SAME: %[[Q:arg[0-9]+]]: memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[K:arg[0-9]+]]: memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[V:arg[0-9]+]]: memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[OUT:arg[0-9]+]]: memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[LSE:arg[0-9]+]]: memref<?x8x?xf32, strided<[?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[ST:arg[0-9]+]]: memref<4xi64>)
// CHECK-SAME: attributes {attn.variant = @causal} {
// CHECK-DAG: %[[BATCH:.*]] = memref.dim %[[Q]], %c0{{(_[0-9]+)?}} : memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-DAG: %[[QLEN:.*]] = memref.dim %[[Q]], %c2{{(_[0-9]+)?}} : memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-DAG: %[[KVLEN:.*]] = memref.dim %[[K]], %c2{{(_[0-9]+)?}} : memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-DAG: %[[NQ:.*]] = arith.ceildivui %[[QLEN]], %c64{{(_[0-9]+)?}} : index
// CHECK-DAG: %[[NKV:.*]] = arith.ceildivui %[[KVLEN]], %c64{{(_[0-9]+)?}} : index
// CHECK: scf.parallel (%[[BI:arg[0-9]+]], %[[HI:arg[0-9]+]], %[[QT:arg[0-9]+]]) = (%c0{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}) to (%[[BATCH]], %c8{{(_[0-9]+)?}}, %[[NQ]]) step (%c1{{(_[0-9]+)?}}, %c1{{(_[0-9]+)?}}, %c1{{(_[0-9]+)?}}) {
// CHECK-NEXT: %[[S:.*]] = memref.alloca() {attn.scratch = "scores"} : memref<64x64xf32>
// CHECK-NEXT: %[[ACC:.*]] = memref.alloca() {attn.scratch = "acc"} : memref<64x64xf32>
// CHECK-NEXT: %[[M:.*]] = memref.alloca() {attn.scratch = "max"} : memref<64xf32>
// CHECK-NEXT: %[[L:.*]] = memref.alloca() {attn.scratch = "sum"} : memref<64xf32>
// CHECK-NEXT: %[[ALPHA:.*]] = memref.alloca() {attn.scratch = "alpha"} : memref<64xf32>
// CHECK-NEXT: %[[Q0:.*]] = arith.muli %[[QT]], %c64{{(_[0-9]+)?}} : index
// CHECK-NEXT: %[[QE:.*]] = arith.addi %[[Q0]], %c64{{(_[0-9]+)?}} : index
// CHECK-NEXT: %[[QEND:.*]] = arith.minui %[[QE]], %[[QLEN]] : index
// CHECK-NEXT: %[[Q1:.*]] = arith.subi %[[QEND]], %c1{{(_[0-9]+)?}} : index
// CHECK-NEXT: %[[G:.*]] = arith.divui %[[HI]], %c1{{(_[0-9]+)?}} : index
// CHECK-NEXT: attn.tile_init %[[ACC]], %[[M]], %[[L]] : memref<64x64xf32>, memref<64xf32>, memref<64xf32>
// CHECK-NEXT: scf.for %[[KT:.*]] = %c0{{(_[0-9]+)?}} to %[[NKV]] step %c1{{(_[0-9]+)?}} {
// CHECK-NEXT: %[[K0:.*]] = arith.muli %[[KT]], %c64{{(_[0-9]+)?}} : index
// CHECK-NEXT: %[[KE:.*]] = arith.addi %[[K0]], %c64{{(_[0-9]+)?}} : index
// CHECK-NEXT: %[[KEND:.*]] = arith.minui %[[KE]], %[[KVLEN]] : index
// CHECK-NEXT: %[[K1:.*]] = arith.subi %[[KEND]], %c1{{(_[0-9]+)?}} : index
// CHECK-NEXT: %[[CLS:.*]] = attn.tile_mask_class @causal(%[[BI]], %[[HI]], %[[Q0]], %[[Q1]], %[[K0]], %[[K1]], %[[QLEN]], %[[KVLEN]]) : index
// CHECK: %[[LIVE:.*]] = arith.cmpi ne, %[[CLS]], %c0{{(_[0-9]+)?}} : index
// CHECK: %[[PARTIAL:.*]] = arith.cmpi eq, %[[CLS]], %c2{{(_[0-9]+)?}} : index
// CHECK-NEXT: scf.if %[[LIVE]] {
// CHECK-NEXT: attn.tile_scores %[[Q]][%[[BI]], %[[HI]], %[[Q0]]], %[[K]][_, %[[G]], %[[K0]]] into %[[S]] scale(1.250000e-01) : memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<64x64xf32>
// CHECK-NEXT: scf.if %[[PARTIAL]] {
// CHECK-NEXT: attn.tile_mods @causal %[[S]](%[[BI]], %[[HI]], %[[Q0]], %[[K0]], %[[QLEN]], %[[KVLEN]]) status(%[[ST]]) {apply_mask} : memref<64x64xf32>, memref<4xi64>
// CHECK-NEXT: } else {
// CHECK-NEXT: attn.tile_mods @causal %[[S]](%[[BI]], %[[HI]], %[[Q0]], %[[K0]], %[[QLEN]], %[[KVLEN]]) status(%[[ST]]) : memref<64x64xf32>, memref<4xi64>
// CHECK-NEXT: }
// CHECK-NEXT: attn.tile_softmax %[[S]], %[[M]], %[[L]], %[[ALPHA]] : memref<64x64xf32>, memref<64xf32>, memref<64xf32>, memref<64xf32>
// CHECK-NEXT: attn.tile_pv %[[S]], %[[V]][%[[BI]], %[[G]], %[[K0]]], %[[ALPHA]] into %[[ACC]] : memref<64x64xf32>, memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<64xf32>, memref<64x64xf32>
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: attn.tile_store %[[ACC]], %[[M]], %[[L]] into %[[OUT]][%[[BI]], %[[HI]], %[[Q0]]], %[[LSE]] : memref<64x64xf32>, memref<64xf32>, memref<64xf32>, memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x8x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: return
// CHECK-NEXT: }
// CHECK-NOT: @causal_forward
// CHECK-NOT: attn.attention

// BLK-LABEL: func.func @causal_flash(
// BLK-SAME: %[[Q:arg[0-9]+]]: memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>,
// BLK-SAME: %[[K:arg[0-9]+]]: memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>,
// BLK-DAG: %[[QLEN:.*]] = memref.dim %[[Q]], %c2{{(_[0-9]+)?}}
// BLK-DAG: %[[KVLEN:.*]] = memref.dim %[[K]], %c2{{(_[0-9]+)?}}
// BLK-DAG: %[[NQ:.*]] = arith.ceildivui %[[QLEN]], %c32{{(_[0-9]+)?}} : index
// BLK-DAG: %[[NKV:.*]] = arith.ceildivui %[[KVLEN]], %c16{{(_[0-9]+)?}} : index
// BLK-DAG: %c32{{(_[0-9]+)?}} = arith.constant 32 : index
// BLK-DAG: %c16{{(_[0-9]+)?}} = arith.constant 16 : index
// BLK: scf.parallel (%{{.*}}, %{{.*}}, %[[QT:arg[0-9]+]]) = {{.*}} to (%{{.*}}, %c8{{(_[0-9]+)?}}, %[[NQ]])
// BLK-NEXT: %[[S:.*]] = memref.alloca() {attn.scratch = "scores"} : memref<32x16xf32>
// BLK-NEXT: %[[ACC:.*]] = memref.alloca() {attn.scratch = "acc"} : memref<32x64xf32>
// BLK-NEXT: %[[M:.*]] = memref.alloca() {attn.scratch = "max"} : memref<32xf32>
// BLK-NEXT: %[[L:.*]] = memref.alloca() {attn.scratch = "sum"} : memref<32xf32>
// BLK-NEXT: %[[ALPHA:.*]] = memref.alloca() {attn.scratch = "alpha"} : memref<32xf32>
// BLK-NEXT: %[[Q0:.*]] = arith.muli %[[QT]], %c32{{(_[0-9]+)?}} : index
// BLK-NEXT: arith.addi %[[Q0]], %c32{{(_[0-9]+)?}} : index
// BLK: attn.tile_init %[[ACC]], %[[M]], %[[L]] : memref<32x64xf32>, memref<32xf32>, memref<32xf32>
// BLK-NEXT: scf.for %[[KT:.*]] = %{{.*}} to %[[NKV]] step
// BLK-NEXT: %[[K0:.*]] = arith.muli %[[KT]], %c16{{(_[0-9]+)?}} : index
// BLK-NEXT: arith.addi %[[K0]], %c16{{(_[0-9]+)?}} : index
// BLK: attn.tile_scores {{.*}} into %[[S]] scale(1.250000e-01) : {{.*}}, memref<32x16xf32>
// BLK: attn.tile_mods @causal %[[S]]({{.*}}) {apply_mask} : memref<32x16xf32>, memref<4xi64>
// BLK: attn.tile_mods @causal %[[S]]({{.*}}) : memref<32x16xf32>, memref<4xi64>
// BLK: attn.tile_softmax %[[S]], %[[M]], %[[L]], %[[ALPHA]] : memref<32x16xf32>, memref<32xf32>, memref<32xf32>, memref<32xf32>
// BLK: attn.tile_pv %[[S]], {{.*}} into %[[ACC]] : memref<32x16xf32>, {{.*}}, memref<32xf32>, memref<32x64xf32>
// BLK: attn.tile_store %[[ACC]], %[[M]], %[[L]] into {{.*}} : memref<32x64xf32>, memref<32xf32>, memref<32xf32>,
attn.variant @causal heads(8, 8) head_dim(64, 64) dtype(f32) scale(0.125)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %0 : i1
}
func.func @causal_forward(%q: tensor<?x8x?x64xf32>, %k: tensor<?x8x?x64xf32>, %v: tensor<?x8x?x64xf32>) -> (tensor<?x8x?x64xf32>, tensor<?x8x?xf32>) {
  %out, %lse = attn.attention @causal(%q, %k, %v) : tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32> -> tensor<?x8x?x64xf32>, tensor<?x8x?xf32>
  return %out, %lse : tensor<?x8x?x64xf32>, tensor<?x8x?xf32>
}

// -----

// A mask that is trivially true: no classification, no scf.if, one tile_mods
// without apply_mask.
// CHECK-LABEL: func.func @plain_flash(
// CHECK-SAME: %[[Q:arg[0-9]+]]: memref<?x4x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[ST:arg[0-9]+]]: memref<4xi64>)
// CHECK-NOT: attn.tile_mask_class
// CHECK-NOT: scf.if
// CHECK-NOT: attn.tile_mods
// CHECK: attn.tile_init
// CHECK-NEXT: scf.for %[[KT:.*]] = %c0{{(_[0-9]+)?}} to
// CHECK-NEXT: %[[K0:.*]] = arith.muli %[[KT]], %c64{{(_[0-9]+)?}} : index
// CHECK-NEXT: attn.tile_scores %[[Q]][{{.*}}] into %[[S:[a-z0-9_]+]] scale(2.500000e-01)
// CHECK-NEXT: attn.tile_mods @plain %[[S]](%{{.*}}, %{{.*}}, %{{.*}}, %[[K0]], %{{.*}}, %{{.*}}) status(%[[ST]]) : memref<64x64xf32>, memref<4xi64>
// CHECK-NEXT: attn.tile_softmax %[[S]],
// CHECK-NEXT: attn.tile_pv %[[S]],
// CHECK-NEXT: }
// CHECK-NEXT: attn.tile_store
// CHECK-NOT: attn.tile_mask_class
// CHECK-NOT: scf.if
// CHECK-NOT: attn.tile_mods
// CHECK-NOT: apply_mask
// CHECK-NOT: @plain_forward

// BLK-LABEL: func.func @plain_flash(
// BLK-NOT: attn.tile_mask_class
// BLK: attn.tile_mods @plain %{{.*}} : memref<32x16xf32>, memref<4xi64>
attn.variant @plain heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %true = arith.constant true
  attn.yield %true : i1
}
func.func @plain_forward(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>) -> (tensor<?x4x?x16xf32>, tensor<?x4x?xf32>) {
  %out, %lse = attn.attention @plain(%q, %k, %v) : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
  return %out, %lse : tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
}

// -----

// GQA, 8 query heads on 2 key/value heads: the parallel loop runs over the 8 query
// heads, and k and v are read at head h / 4.
// CHECK-LABEL: func.func @gqa_flash(
// CHECK-SAME: %[[Q:arg[0-9]+]]: memref<?x8x?x32xf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[K:arg[0-9]+]]: memref<?x2x?x32xf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[V:arg[0-9]+]]: memref<?x2x?x32xf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[OUT:arg[0-9]+]]: memref<?x8x?x32xf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[LSE:arg[0-9]+]]: memref<?x8x?xf32, strided<[?, ?, ?], offset: ?>>,
// CHECK-SAME: %{{[a-z0-9]+}}: memref<4xi64>)
// CHECK-DAG: %[[C4:c4(_[0-9]+)?]] = arith.constant 4 : index
// CHECK-DAG: %[[C8:c8(_[0-9]+)?]] = arith.constant 8 : index
// CHECK: scf.parallel (%[[BI:arg[0-9]+]], %[[HI:arg[0-9]+]], %{{.*}}) = ({{.*}}) to (%{{.*}}, %[[C8]], %{{.*}})
// CHECK: %[[G:.*]] = arith.divui %[[HI]], %[[C4]] : index
// CHECK: attn.tile_mask_class @gqa(%[[BI]], %[[HI]],
// CHECK: attn.tile_scores %[[Q]][%[[BI]], %[[HI]], %[[Q0:[a-z0-9_]+]]], %[[K]][_, %[[G]], %{{.*}}] into %{{.*}} scale(0.17677669529663687) : memref<?x8x?x32xf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x2x?x32xf16, strided<[?, ?, ?, ?], offset: ?>>, memref<64x64xf32>
// CHECK: attn.tile_mods @gqa %{{.*}}(%[[BI]], %[[HI]], %[[Q0]],
// CHECK: attn.tile_pv %{{.*}}, %[[V]][%[[BI]], %[[G]], %{{.*}}], %{{.*}} into %{{.*}} : memref<64x64xf32>, memref<?x2x?x32xf16, strided<[?, ?, ?, ?], offset: ?>>, memref<64xf32>, memref<64x32xf32>
// CHECK: attn.tile_store %{{.*}} into %[[OUT]][%[[BI]], %[[HI]], %[[Q0]]], %[[LSE]] :

// BLK-LABEL: func.func @gqa_flash(
// BLK: arith.divui %{{.*}}, %c4{{(_[0-9]+)?}} : index
attn.variant @gqa heads(8, 2) head_dim(32, 32) dtype(f16) scale(0.17677669529663687)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %0 : i1
}
func.func @gqa_forward(%q: tensor<?x8x?x32xf16>, %k: tensor<?x2x?x32xf16>, %v: tensor<?x2x?x32xf16>) -> (tensor<?x8x?x32xf16>, tensor<?x8x?xf32>) {
  %out, %lse = attn.attention @gqa(%q, %k, %v) : tensor<?x8x?x32xf16>, tensor<?x2x?x32xf16>, tensor<?x2x?x32xf16> -> tensor<?x8x?x32xf16>, tensor<?x8x?xf32>
  return %out, %lse : tensor<?x8x?x32xf16>, tensor<?x8x?xf32>
}

// -----

// Scalars and buffers: they follow lse in the signature (scalars as they are, buffers
// as strided memrefs), tile_mods gets both, tile_mask_class only the scalars.
// CHECK-LABEL: func.func @biased_flash(
// CHECK-SAME: %{{[a-z0-9]+}}: memref<?x4x?xf32, strided<[?, ?, ?], offset: ?>>,
// CHECK-SAME: %[[OFF:arg[0-9]+]]: i32, %[[TEMP:arg[0-9]+]]: f32,
// CHECK-SAME: %[[DOC:arg[0-9]+]]: memref<?x?xi32, strided<[?, ?], offset: ?>>,
// CHECK-SAME: %[[SLOPES:arg[0-9]+]]: memref<4xf32, strided<[?], offset: ?>>,
// CHECK-SAME: %[[ST:arg[0-9]+]]: memref<4xi64>)
// CHECK: attn.tile_mask_class @biased(%{{[^)]*}}) scalars(%[[OFF]], %[[TEMP]] : i32, f32) : index{{$}}
// CHECK: attn.tile_mods @biased %[[S:[a-z0-9_]+]](%{{[^)]*}}) scalars(%[[OFF]], %[[TEMP]] : i32, f32) buffers(%[[DOC]], %[[SLOPES]] : memref<?x?xi32, strided<[?, ?], offset: ?>>, memref<4xf32, strided<[?], offset: ?>>) status(%[[ST]]) {apply_mask} : memref<64x64xf32>, memref<4xi64>
// CHECK-NEXT: } else {
// CHECK-NEXT: attn.tile_mods @biased %[[S]](%{{[^)]*}}) scalars(%[[OFF]], %[[TEMP]] : i32, f32) buffers(%[[DOC]], %[[SLOPES]] : memref<?x?xi32, strided<[?, ?], offset: ?>>, memref<4xf32, strided<[?], offset: ?>>) status(%[[ST]]) : memref<64x64xf32>, memref<4xi64>

// BLK-LABEL: func.func @biased_flash(
// BLK: attn.tile_mask_class @biased({{.*}}) scalars(%{{.*}}, %{{.*}} : i32, f32) : index{{$}}
attn.variant @biased heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
    scalars {offset = i32, temp = f32}
    buffers {doc = #attn.buffer<i32, [B, KV_LEN]>, slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %temp = attn.scalar "temp" : f32
  %0 = arith.divf %score, %temp : f32
  %1 = attn.buffer_load "slopes"[%h] : f32
  %2 = arith.subi %kv_idx, %q_idx : i64
  %3 = arith.sitofp %2 : i64 to f32
  %4 = arith.mulf %1, %3 : f32
  %5 = arith.addf %0, %4 : f32
  attn.yield %5 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %offset = attn.scalar "offset" : i32
  %0 = arith.extsi %offset : i32 to i64
  %1 = arith.addi %q_idx, %0 : i64
  %2 = arith.cmpi sge, %1, %kv_idx : i64
  %3 = scf.if %2 -> (i1) {
    %4 = attn.buffer_load "doc"[%b, %kv_idx] : i32
    %c0 = arith.constant 0 : i32
    %5 = arith.cmpi eq, %4, %c0 : i32
    scf.yield %5 : i1
  } else {
    %false = arith.constant false
    scf.yield %false : i1
  }
  attn.yield %3 : i1
}
func.func @biased_forward(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>, %offset: i32, %temp: f32, %doc: tensor<?x?xi32>, %slopes: tensor<4xf32>) -> (tensor<?x4x?x16xf32>, tensor<?x4x?xf32>) {
  %out, %lse = attn.attention @biased(%q, %k, %v) scalars(%offset, %temp : i32, f32) buffers(%doc, %slopes : tensor<?x?xi32>, tensor<4xf32>) : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
  return %out, %lse : tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
}

// -----

// head_dim_v (32) differs from head_dim (64): v, out and the accumulator use 32.
// CHECK-LABEL: func.func @narrow_v_flash(
// CHECK-SAME: %{{[a-z0-9]+}}: memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %{{[a-z0-9]+}}: memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %{{[a-z0-9]+}}: memref<?x2x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %{{[a-z0-9]+}}: memref<?x2x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>,
// CHECK-SAME: %{{[a-z0-9]+}}: memref<?x2x?xf32, strided<[?, ?, ?], offset: ?>>,
// CHECK-SAME: %{{[a-z0-9]+}}: memref<4xi64>)
// CHECK: memref.alloca() {attn.scratch = "scores"} : memref<64x64xf32>
// CHECK-NEXT: %[[ACC:.*]] = memref.alloca() {attn.scratch = "acc"} : memref<64x32xf32>
// CHECK: attn.tile_init %[[ACC]], %{{.*}}, %{{.*}} : memref<64x32xf32>, memref<64xf32>, memref<64xf32>
// CHECK: attn.tile_scores {{.*}} : memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<64x64xf32>
// CHECK: attn.tile_pv {{.*}} into %[[ACC]] : memref<64x64xf32>, memref<?x2x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<64xf32>, memref<64x32xf32>
// CHECK: attn.tile_store %[[ACC]], {{.*}} : memref<64x32xf32>, memref<64xf32>, memref<64xf32>, memref<?x2x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x2x?xf32, strided<[?, ?, ?], offset: ?>>

// BLK-LABEL: func.func @narrow_v_flash(
// BLK: memref.alloca() {attn.scratch = "scores"} : memref<32x16xf32>
// BLK-NEXT: memref.alloca() {attn.scratch = "acc"} : memref<32x32xf32>
attn.variant @narrow_v heads(2, 2) head_dim(64, 32) dtype(bf16) scale(0.125)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %true = arith.constant true
  attn.yield %true : i1
}
func.func @narrow_v_forward(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>) -> (tensor<?x2x?x32xbf16>, tensor<?x2x?xf32>) {
  %out, %lse = attn.attention @narrow_v(%q, %k, %v) : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16> -> tensor<?x2x?x32xbf16>, tensor<?x2x?xf32>
  return %out, %lse : tensor<?x2x?x32xbf16>, tensor<?x2x?xf32>
}
