// RUN: attn-opt %s -split-input-file --attn-tile-flash --attn-lower-flash-to-cpu \
// RUN:   | FileCheck %s --implicit-check-not=attn.variant --implicit-check-not=_flash \
// RUN:     --implicit-check-not="vector.reduction <maxnumf>"
// RUN: attn-opt %s -split-input-file --attn-tile-flash="block-q=32 block-kv=32" --attn-lower-flash-to-cpu | FileCheck %s --check-prefix=SMALL

// ALiBi with a causal mask: the flash form becomes the CPU kernel ABI, a loop over
// the work range, interval-based tile classification, register-blocked micro-kernels
// and a vectorised, bounds-checked score_mod.

attn.variant @alibi heads(2, 2) head_dim(32, 32) dtype(f32) scale(1.250000e-01)
    buffers {slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %s = attn.buffer_load "slopes"[%h] : f32
  %d = arith.subi %kv_idx, %q_idx : i64
  %df = arith.sitofp %d : i64 to f32
  %m = arith.mulf %s, %df : f32
  %r = arith.addf %score, %m : f32
  attn.yield %r : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %c : i1
}
func.func @alibi_forward(%q: tensor<?x2x?x32xf32>, %k: tensor<?x2x?x32xf32>, %v: tensor<?x2x?x32xf32>, %slopes: tensor<2xf32>) -> (tensor<?x2x?x32xf32>, tensor<?x2x?xf32>) {
  %out, %lse = attn.attention @alibi(%q, %k, %v) buffers(%slopes : tensor<2xf32>) : tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32> -> tensor<?x2x?x32xf32>, tensor<?x2x?xf32>
  return %out, %lse : tensor<?x2x?x32xf32>, tensor<?x2x?xf32>
}

// The variant is inlined into the kernel and removed; the flash function is gone
// (neither is left anywhere: --implicit-check-not).
// CHECK-LABEL: func.func @alibi_cpu(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: memref<?xf32>, %[[K:[a-z0-9]+]]: memref<?xf32>, %[[V:[a-z0-9]+]]: memref<?xf32>, %[[OUT:[a-z0-9]+]]: memref<?xf32>, %[[LSE:[a-z0-9]+]]: memref<?xf32>,
// CHECK-SAME: %[[SLOPES:[a-z0-9]+]]: memref<2xf32, strided<[?], offset: ?>>, %[[STATUS:[a-z0-9]+]]: memref<4xi64>,
// CHECK-SAME: %[[QLEN:[a-z0-9]+]]: index, %[[KVLEN:[a-z0-9]+]]: index, %[[BEGIN:[a-z0-9]+]]: index, %[[END:[a-z0-9]+]]: index)
// CHECK-SAME: attributes {llvm.emit_c_interface}
// Scratch tiles once per call, 64-byte aligned: scores 64x64, acc 64x32, m, l, alpha,
// and 16 + 1 vectors for the softmax's row reductions.
// CHECK: memref.alloca() {alignment = 64 : i64} : memref<4096xf32>
// CHECK: memref.alloca() {alignment = 64 : i64} : memref<2048xf32>
// CHECK-COUNT-3: memref.alloca() {alignment = 64 : i64} : memref<64xf32>
// CHECK-NEXT: %[[LANES:.+]] = memref.alloca() {alignment = 64 : i64} : memref<272xf32>
// The buffer is read through a flat view of its memory.
// CHECK: memref.extract_strided_metadata %[[SLOPES]]
// CHECK: memref.reinterpret_cast
// The parallel loop became a loop over this call's work items.
// CHECK: scf.for %{{.*}} = %[[BEGIN]] to %[[END]]
// Tile classification by intervals (q_idx in [q0, q1] vs kv_idx in [k0, k1]).
// CHECK: arith.cmpi sle, %{{.*}}, %{{.*}} : i64
// Q.K^T: 4 rows x 4 vectors (64 keys) of accumulators carried through the
// head_dim loop.
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-16: vector.fma
// score_mod on 16 keys at a time: slopes[h] is the same in every lane, so one
// bounds check and one scalar load, broadcast; out of range, the active lanes record
// status code 1 (the first buffer).
// CHECK: %[[SLOPE:.+]] = scf.if %{{.*}} -> (f32) {
// CHECK: memref.load
// CHECK: } else {
// CHECK: vector.reduction <or>,
// CHECK: arith.constant 1 : i64
// CHECK: memref.store %{{.*}}, %[[STATUS]]
// CHECK: vector.broadcast %[[SLOPE]] : f32 to vector<16xf32>
// Online softmax, 16 rows at a time: each row's maximum as a vector, then the 16
// halved pairwise into one vector of row maxima (two-source shuffles, no serial
// vector.reduction <maxnumf>: --implicit-check-not), the rescale on that vector,
// exp per row, and the row sums reduced the same way.
// CHECK: arith.maxnumf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: vector.store %{{.*}}, %[[LANES]][%{{.*}}] : memref<272xf32>, vector<16xf32>
// CHECK-COUNT-8: vector.shuffle %{{.*}}, %{{.*}} [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31]
// CHECK-COUNT-4: vector.shuffle %{{.*}}, %{{.*}} [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31]
// CHECK-COUNT-2: vector.shuffle %{{.*}}, %{{.*}} [2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31]
// CHECK: %[[LO:.+]] = vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30]
// CHECK: %[[HI:.+]] = vector.shuffle %{{.*}}, %{{.*}} [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31]
// CHECK: %[[TILEMAX:.+]] = arith.maxnumf %[[LO]], %[[HI]] : vector<16xf32>
// CHECK: arith.maxnumf %{{.*}}, %[[TILEMAX]] : vector<16xf32>
// CHECK: math.exp %{{.*}} : vector<16xf32>
// CHECK: scf.for
// CHECK: math.exp
// CHECK: vector.store %{{.*}}, %[[LANES]]
// CHECK-COUNT-15: arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
// The final store writes out and lse.
// CHECK: math.log
// CHECK: memref.store %{{.*}}, %[[LSE]]

// SMALL-LABEL: func.func @alibi_cpu(
// SMALL: memref.alloca() {alignment = 64 : i64} : memref<1024xf32>
// SMALL: memref.alloca() {alignment = 64 : i64} : memref<1024xf32>
// SMALL-COUNT-3: memref.alloca() {alignment = 64 : i64} : memref<32xf32>
// With 32-key tiles, Q.K^T carries 4 rows x 2 vectors.
// SMALL: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {

// -----

// A plain variant: no classification, no score_mod code; only the padding columns of
// the last key tile are masked, under a check.
attn.variant @plain heads(1, 1) head_dim(16, 24) dtype(bf16) scale(2.500000e-01)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @plain_forward(%q: tensor<?x1x?x16xbf16>, %k: tensor<?x1x?x16xbf16>, %v: tensor<?x1x?x24xbf16>) -> (tensor<?x1x?x24xbf16>, tensor<?x1x?xf32>) {
  %out, %lse = attn.attention @plain(%q, %k, %v) : tensor<?x1x?x16xbf16>, tensor<?x1x?x16xbf16>, tensor<?x1x?x24xbf16> -> tensor<?x1x?x24xbf16>, tensor<?x1x?xf32>
  return %out, %lse : tensor<?x1x?x24xbf16>, tensor<?x1x?xf32>
}

// head_dim_v = 24 is padded to 32 lanes: acc is 64x32.
// CHECK-LABEL: func.func @plain_cpu(
// CHECK: memref.alloca() {alignment = 64 : i64} : memref<4096xf32>
// CHECK: memref.alloca() {alignment = 64 : i64} : memref<2048xf32>
// CHECK-NOT: vector.gather
// CHECK: arith.cmpi ugt
// CHECK-NEXT: scf.if
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi1>, vector<16xf32>
// CHECK-NOT: vector.gather
