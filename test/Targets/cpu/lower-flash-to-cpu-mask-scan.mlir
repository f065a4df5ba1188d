// RUN: attn-opt %s -split-input-file --attn-tile-flash="block-q=32 block-kv=32" --attn-lower-flash-to-cpu | FileCheck %s

// A mask that reads buffers (a document mask): the interval analysis cannot see the
// documents, so every tile it does not skip is "partial". The CPU kernel then
// evaluates the mask over the tile's elements (16 keys at a time, the kept and the
// masked lanes ORed over the rows and keys) and refines the class: no element kept
// -> 0 (skipped), none masked -> 1 (full, no mask applied), else 2.

attn.variant @document heads(2, 2) head_dim(16, 16) dtype(f32) scale(2.500000e-01) buffers {kv_doc = #attn.buffer<i32, [B, KV_LEN]>, q_doc = #attn.buffer<i32, [B, Q_LEN]>} score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = attn.buffer_load "q_doc"[%b, %q_idx] : i32
  %1 = arith.extsi %0 : i32 to i64
  %2 = attn.buffer_load "kv_doc"[%b, %kv_idx] : i32
  %3 = arith.extsi %2 : i32 to i64
  %4 = arith.cmpi eq, %1, %3 : i64
  %5 = arith.cmpi sge, %q_idx, %kv_idx : i64
  %6 = arith.andi %4, %5 : i1
  attn.yield %6 : i1
}
func.func @document_forward(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>, %kv_doc: tensor<?x?xi32>, %q_doc: tensor<?x?xi32>) -> (tensor<?x2x?x16xf32>, tensor<?x2x?xf32>) {
  %out, %lse = attn.attention @document(%q, %k, %v) buffers(%kv_doc, %q_doc : tensor<?x?xi32>, tensor<?x?xi32>) : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>, tensor<?x2x?xf32>
  return %out, %lse : tensor<?x2x?x16xf32>, tensor<?x2x?xf32>
}

// CHECK-LABEL: func.func @document_cpu(
// The interval analysis's class first ...
// CHECK: %[[CLS:.+]] = arith.select %{{.*}}, %{{.*}}, %c0{{.*}} : index
// CHECK: %[[PARTIAL:.+]] = arith.cmpi eq, %[[CLS]], %c2{{.*}} : index
// ... then, on partial tiles, the scan: rows q0..q1, keys k0..k1 16 at a time.
// CHECK: %[[REFINED:.+]] = scf.if %[[PARTIAL]] -> (index) {
// CHECK: %[[NONE:.+]] = arith.constant dense<false> : vector<16xi1>
// CHECK: %[[FLAGS:.+]]:2 = scf.for {{.*}} iter_args(%{{.*}} = %[[NONE]], %{{.*}} = %[[NONE]]) -> (vector<16xi1>, vector<16xi1>)
// CHECK: scf.for {{.*}} step %c16{{(_[0-9]+)?}} iter_args({{.*}}) -> (vector<16xi1>, vector<16xi1>)
// The mask's buffer reads, bounds-checked as everywhere: q_doc[b, q_idx] the same in
// every lane (one scalar load), kv_doc[b, kv_idx] 16 consecutive elements (one vector
// load where they are in bounds with stride 1, else a gather).
// CHECK: memref.load %{{.*}} : memref<?xi32, strided<[1], offset: ?>>
// CHECK: vector.load %{{.*}} : memref<?xi32, strided<[1], offset: ?>>, vector<16xi32>
// CHECK: vector.gather
// CHECK: arith.cmpi sge, %{{.*}}, %{{.*}} : vector<16xi64>
// CHECK-NEXT: %[[MASK:.+]] = arith.andi %{{.*}}, %{{.*}} : vector<16xi1>
// CHECK-NEXT: %[[KEPT:.+]] = arith.andi %[[ACTIVE:.+]], %[[MASK]] : vector<16xi1>
// CHECK-NEXT: %[[DROPPED:.+]] = arith.xori %[[ACTIVE]], %[[KEPT]] : vector<16xi1>
// CHECK-NEXT: arith.ori %{{.*}}, %[[KEPT]] : vector<16xi1>
// CHECK-NEXT: arith.ori %{{.*}}, %[[DROPPED]] : vector<16xi1>
// CHECK: %[[ANYDROPPED:.+]] = vector.reduction <or>, %[[FLAGS]]#1 : vector<16xi1> into i1
// CHECK: %[[FULLORPARTIAL:.+]] = arith.select %[[ANYDROPPED]], %c2{{.*}}, %c1{{.*}} : index
// CHECK: %[[ANYKEPT:.+]] = vector.reduction <or>, %[[FLAGS]]#0 : vector<16xi1> into i1
// CHECK: %[[SCANNED:.+]] = arith.select %[[ANYKEPT]], %[[FULLORPARTIAL]], %c0{{.*}} : index
// CHECK: scf.yield %[[SCANNED]] : index
// CHECK: } else {
// CHECK: scf.yield %[[CLS]] : index
// The refined class decides the tile's work.
// CHECK: arith.cmpi ne, %[[REFINED]], %c0{{.*}} : index
// CHECK: arith.cmpi eq, %[[REFINED]], %c2{{.*}} : index

// -----

// A mask without buffer reads keeps the interval analysis's class: no scan.
attn.variant @causal heads(1, 1) head_dim(16, 16) dtype(f32) scale(2.500000e-01) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %c : i1
}
func.func @causal_forward(%q: tensor<?x1x?x16xf32>, %k: tensor<?x1x?x16xf32>, %v: tensor<?x1x?x16xf32>) -> (tensor<?x1x?x16xf32>, tensor<?x1x?xf32>) {
  %out, %lse = attn.attention @causal(%q, %k, %v) : tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32> -> tensor<?x1x?x16xf32>, tensor<?x1x?xf32>
  return %out, %lse : tensor<?x1x?x16xf32>, tensor<?x1x?xf32>
}

// CHECK-LABEL: func.func @causal_cpu(
// CHECK-NOT: vector<16xi1>, vector<16xi1>
// CHECK: return
