// RUN: attn-opt %s --attn-differentiate-score-mod --attn-simplify --attn-tile-flash-backward="block-q=32 block-kv=16" --attn-lower-flash-to-cpu | FileCheck %s --implicit-check-not "vector.reduction <add>"

// attn-lower-flash-to-cpu on the backward flash form (compiler/targets/cpu/
// CpuBackwardKernel.cpp): @X_backward_cpu takes ten packed f32 panels (q, k as
// transposed tiles and as rows, v as transposed tiles, dout, delta = rowsum(dout ∘
// out) which the runtime computes once a call, lse, the dQ partials, dk, dv), the buffers, the gradients of the requires_grad buffers, the
// status word, then q_len, kv_len, the number of splits and the work range. The
// scratch tiles are allocated once per call (BQ x BK = 512 floats, dK/dV 16 x 16),
// the work items are (batch x key/value head) x split, attn.tile_delta copies the
// query tile's rows of the delta panel (no row sums of dout ∘ out in the kernel),
// the bias gradient is added lane by lane, and no attn op is left.
// CHECK-LABEL: func.func @gqa_bias_backward_cpu(
// CHECK-SAME: %arg0: memref<?xf32>, %arg1: memref<?xf32>, %arg2: memref<?xf32>, %arg3: memref<?xf32>, %arg4: memref<?xf32>, %[[DELTAP:arg5]]: memref<?xf32>, %arg6: memref<?xf32>, %arg7: memref<?xf32>, %arg8: memref<?xf32>, %arg9: memref<?xf32>,
// CHECK-SAME: %[[BIAS:arg10]]: memref<4x9xf32, strided<[?, ?], offset: ?>>, %[[DBIAS:arg11]]: memref<4x9xf32, strided<[?, ?], offset: ?>>, %[[ST:arg12]]: memref<4xi64>,
// CHECK-SAME: %[[QLEN:arg13]]: index, %[[KVLEN:arg14]]: index, %[[SPLITS:arg15]]: index, %[[BEGIN:arg16]]: index, %[[END:arg17]]: index)
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK-DAG: memref.alloc() {alignment = 64 : i64} : memref<512xf32>
// CHECK-DAG: memref.alloc() {alignment = 64 : i64} : memref<256xf32>
// CHECK-DAG: %[[DELTA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32xf32>
// CHECK: memref.extract_strided_metadata %[[DBIAS]]
// CHECK: scf.for %[[W:.*]] = %[[BEGIN]] to %[[END]]
// CHECK: arith.divui %[[W]], %[[SPLITS]]
// CHECK: math.exp %{{.*}} : vector<16xf32>
// CHECK: %[[D:.*]] = memref.load %[[DELTAP]][%{{.*}}] : memref<?xf32>
// CHECK-NEXT: memref.store %[[D]], %[[DELTA]][%{{.*}}] : memref<32xf32>
// CHECK: vector.extract %{{.*}}[15] : i1 from vector<16xi1>
// CHECK: memref.dealloc
// CHECK: return
// CHECK-NOT: attn.
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
