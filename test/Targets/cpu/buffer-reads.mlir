// RUN: attn-opt %s -split-input-file --attn-tile-flash --attn-lower-flash-to-cpu | FileCheck %s

// Buffer reads in the modifier regions (RegionVectorizer.cpp): the region runs on 16
// keys at a time, so each index is a vector. An index the same in every lane
// (slopes[7 - h]) is rebuilt as a scalar: one bounds check, one scalar load, broadcast.

attn.variant @reversed_slopes heads(8, 8) head_dim(16, 16) dtype(f32) scale(2.500000e-01) buffers {slopes = #attn.buffer<f32, [H]>} score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c7_i64 = arith.constant 7 : i64
  %0 = arith.subi %c7_i64, %h : i64
  %1 = attn.buffer_load "slopes"[%0] : f32
  %2 = arith.subi %kv_idx, %q_idx : i64
  %3 = arith.sitofp %2 : i64 to f32
  %4 = arith.mulf %1, %3 : f32
  %5 = arith.addf %score, %4 : f32
  attn.yield %5 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %0 : i1
}
func.func @reversed_slopes_forward(%arg0: tensor<?x8x?x16xf32>, %arg1: tensor<?x8x?x16xf32>, %arg2: tensor<?x8x?x16xf32>, %arg3: tensor<8xf32>) -> (tensor<?x8x?x16xf32>, tensor<?x8x?xf32>) {
  %out, %lse = attn.attention @reversed_slopes(%arg0, %arg1, %arg2) buffers(%arg3 : tensor<8xf32>) : tensor<?x8x?x16xf32>, tensor<?x8x?x16xf32>, tensor<?x8x?x16xf32> -> tensor<?x8x?x16xf32>, tensor<?x8x?xf32>
  return %out, %lse : tensor<?x8x?x16xf32>, tensor<?x8x?xf32>
}

// CHECK-LABEL: func.func @reversed_slopes_cpu(
// CHECK: %[[INDEX:.+]] = arith.subi %c7_i64{{.*}}, %{{.*}} : i64
// CHECK: arith.cmpi sge, %[[INDEX]], %{{.*}} : i64
// CHECK: %[[SLOPE:.+]] = scf.if %{{.*}} -> (f32) {
// CHECK: memref.load %{{.*}} : memref<?xf32, strided<[1], offset: ?>>
// CHECK: } else {
// CHECK: memref.store
// CHECK: vector.broadcast %[[SLOPE]] : f32 to vector<16xf32>
// CHECK-NOT: vector.gather

// -----

// An index running over consecutive keys (kv_idx - 1: the lane numbers plus a
// uniform start) is one vector load where the buffer's stride is 1 and the 16
// elements from the start are in bounds; anywhere else (the first keys: start -1)
// the masked gather, whose out-of-range active lanes record the error.

attn.variant @shifted heads(2, 2) head_dim(16, 16) dtype(f32) scale(2.500000e-01) buffers {t = #attn.buffer<f32, [KV_LEN]>} score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c0_i64 = arith.constant 0 : i64
  %0 = arith.cmpi sgt, %kv_idx, %c0_i64 : i64
  %1 = scf.if %0 -> (f32) {
    %c1_i64 = arith.constant 1 : i64
    %3 = arith.subi %kv_idx, %c1_i64 : i64
    %4 = attn.buffer_load "t"[%3] : f32
    scf.yield %4 : f32
  } else {
    %cst = arith.constant 5.000000e-01 : f32
    scf.yield %cst : f32
  }
  %2 = arith.addf %score, %1 : f32
  attn.yield %2 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %true = arith.constant true
  attn.yield %true : i1
}
func.func @shifted_forward(%arg0: tensor<?x2x?x16xf32>, %arg1: tensor<?x2x?x16xf32>, %arg2: tensor<?x2x?x16xf32>, %arg3: tensor<?xf32>) -> (tensor<?x2x?x16xf32>, tensor<?x2x?xf32>) {
  %out, %lse = attn.attention @shifted(%arg0, %arg1, %arg2) buffers(%arg3 : tensor<?xf32>) : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>, tensor<?x2x?xf32>
  return %out, %lse : tensor<?x2x?x16xf32>, tensor<?x2x?xf32>
}

// CHECK-LABEL: func.func @shifted_cpu(
// CHECK: %[[START:.+]] = arith.subi %{{.*}}, %c1_i64{{.*}} : i64
// CHECK: %[[UNIT:.+]] = arith.cmpi eq, %[[STRIDE:.+]], %c1_i64{{.*}} : i64
// CHECK: %[[LAST:.+]] = arith.subi %{{.*}}, %c16_i64{{.*}} : i64
// CHECK: arith.cmpi sge, %[[START]], %c0_i64{{.*}} : i64
// CHECK: arith.cmpi sle, %[[START]], %[[LAST]] : i64
// CHECK: scf.if %{{.*}} -> (vector<16xf32>) {
// CHECK: vector.load %{{.*}} : memref<?xf32, strided<[1], offset: ?>>, vector<16xf32>
// CHECK: } else {
// CHECK: vector.reduction <or>
// CHECK: vector.gather

// -----

// kv_len - 1 - kv_idx runs backwards: a gather only.

attn.variant @backwards_run heads(2, 2) head_dim(16, 16) dtype(f32) scale(2.500000e-01) buffers {t = #attn.buffer<f32, [KV_LEN]>} score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c1_i64 = arith.constant 1 : i64
  %0 = arith.subi %kv_len, %c1_i64 : i64
  %1 = arith.subi %0, %kv_idx : i64
  %2 = attn.buffer_load "t"[%1] : f32
  %3 = arith.addf %score, %2 : f32
  attn.yield %3 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %true = arith.constant true
  attn.yield %true : i1
}
func.func @backwards_run_forward(%arg0: tensor<?x2x?x16xf32>, %arg1: tensor<?x2x?x16xf32>, %arg2: tensor<?x2x?x16xf32>, %arg3: tensor<?xf32>) -> (tensor<?x2x?x16xf32>, tensor<?x2x?xf32>) {
  %out, %lse = attn.attention @backwards_run(%arg0, %arg1, %arg2) buffers(%arg3 : tensor<?xf32>) : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>, tensor<?x2x?xf32>
  return %out, %lse : tensor<?x2x?x16xf32>, tensor<?x2x?xf32>
}

// CHECK-LABEL: func.func @backwards_run_cpu(
// CHECK-NOT: memref<?xf32, strided<[1], offset: ?>>, vector<16xf32>
// CHECK: vector.gather
