// RUN: attn-opt %s --attn-tile-flash="block-q=32 block-kv=32" --attn-lower-flash-to-cpu=operands=bf16 \
// RUN:   | FileCheck %s --implicit-check-not=vector.fma
// RUN: attn-opt %s --attn-tile-flash="block-q=32 block-kv=32" --attn-lower-flash-to-cpu \
// RUN:   | FileCheck %s --check-prefix=F32 --implicit-check-not=x86vector
// RUN: not attn-opt %s --attn-tile-flash --attn-lower-flash-to-cpu=operands=f16 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BAD

// operands=bf16: q, k and v arrive as bf16 panels of pairs and both products are
// AVX512-BF16 pair dot products (x86vector.avx512.dot) accumulated in f32; P is
// rounded to bf16 for P·V. Head dim 33 is odd: the panels' rows hold 17 pairs.

attn.variant @softcap heads(2, 1) head_dim(33, 20) dtype(bf16) scale(1.250000e-01)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.constant 3.000000e+01 : f32
  %d = arith.divf %score, %c : f32
  %t = math.tanh %d : f32
  %r = arith.mulf %t, %c : f32
  attn.yield %r : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @softcap_forward(%q: tensor<?x2x?x33xbf16>, %k: tensor<?x1x?x33xbf16>, %v: tensor<?x1x?x20xbf16>) -> (tensor<?x2x?x20xbf16>, tensor<?x2x?xf32>) {
  %out, %lse = attn.attention @softcap(%q, %k, %v) : tensor<?x2x?x33xbf16>, tensor<?x1x?x33xbf16>, tensor<?x1x?x20xbf16> -> tensor<?x2x?x20xbf16>, tensor<?x2x?xf32>
  return %out, %lse : tensor<?x2x?x20xbf16>, tensor<?x2x?xf32>
}

// CHECK-LABEL: func.func @softcap_cpu(
// CHECK-SAME: %{{[a-z0-9]+}}: memref<?xbf16>, %{{[a-z0-9]+}}: memref<?xbf16>, %{{[a-z0-9]+}}: memref<?xbf16>, %{{[a-z0-9]+}}: memref<?xf32>, %{{[a-z0-9]+}}: memref<?xf32>,
// P rounded to bf16 has a scratch tile of its own (32 x 32).
// CHECK: %[[P16:.+]] = memref.alloca() {alignment = 64 : i64} : memref<1024xbf16>
// Q·Kᵀ: 17 pairs of head dims (33 rounded up to 34) with 4 rows x 2 vectors of
// accumulators; a step loads 16 key pairs twice, broadcasts each row's pair (two
// bf16 as one i32) and takes 8 pair dot products.
// CHECK: scf.for %{{.*}} = %{{.*}} to %c17 step %{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-2: vector.load %arg1[%{{.*}}] : memref<?xbf16>, vector<32xbf16>
// CHECK: vector.load %arg0[%{{.*}}] : memref<?xbf16>, vector<2xbf16>
// CHECK: vector.bitcast %{{.*}} : vector<2xbf16> to vector<1xi32>
// CHECK: vector.broadcast %{{.*}} : i32 to vector<16xi32>
// CHECK: vector.bitcast %{{.*}} : vector<16xi32> to vector<32xbf16>
// CHECK-COUNT-8: x86vector.avx512.dot %{{.*}}, %{{.*}}, %{{.*}} : vector<32xbf16> -> vector<16xf32>
// CHECK: scf.yield
// The online softmax stores P rounded to bf16 (the row sums take the f32 values).
// CHECK: arith.truncf %{{.*}} : vector<16xf32> to vector<16xbf16>
// CHECK: vector.store %{{.*}}, %[[P16]][%{{.*}}] : memref<1024xbf16>, vector<16xbf16>
// P·V: 16 key pairs with the accumulators (rescaled by alpha) in registers; a step
// loads v's pairs of rows (arg2) and P's pair of keys of each row.
// CHECK: scf.for %{{.*}} = %{{.*}} to %c16{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.load %arg2[%{{.*}}] : memref<?xbf16>, vector<32xbf16>
// CHECK: vector.load %[[P16]][%{{.*}}] : memref<1024xbf16>, vector<2xbf16>
// CHECK-COUNT-8: x86vector.avx512.dot

// The default (f32 operands): f32 panels and FMAs, no pair dot product anywhere.
// F32-LABEL: func.func @softcap_cpu(
// F32-SAME: %{{[a-z0-9]+}}: memref<?xf32>, %{{[a-z0-9]+}}: memref<?xf32>, %{{[a-z0-9]+}}: memref<?xf32>,
// F32: vector.fma

// BAD: error: attn-lower-flash-to-cpu: operands must be f32 or bf16, got 'f16'
