// RUN: attn-opt %s -split-input-file --attn-test-mask-class --canonicalize | FileCheck %s

// The mask analysis (compiler/transforms/MaskIntervals.cpp) one operator at a time:
// attn-test-mask-class replaces each attn.tile_mask_class by the analysis' code
// and --canonicalize folds it for the constant tile bounds below, leaving the class
// of each (query tile [q0, q1], key tile [k0, k1]) pair: 0 empty (no pair kept),
// 1 full (every pair kept), 2 partial (unknown). Sequence lengths 4096, batch 0,
// head 0. Every case has one full, one empty and one partial pair where the
// operator allows it; test/unit/MaskClassDifferentialTest.cpp checks the same
// analysis against brute force on random masks.


// -----

// q_idx >= kv_idx (causal): a tile below the diagonal is full, above it empty, across it partial.
attn.variant @cmpi_sge heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %m = arith.cmpi sge, %q, %kv : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_cmpi_sge(
func.func @test_cmpi_sge() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @cmpi_sge(%i0, %i0, %i64, %i127, %i0, %i63, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @cmpi_sge(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @cmpi_sge(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// q_idx < kv_idx.
attn.variant @cmpi_slt heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %m = arith.cmpi slt, %q, %kv : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_cmpi_slt(
func.func @test_cmpi_slt() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @cmpi_slt(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @cmpi_slt(%i0, %i0, %i64, %i127, %i0, %i63, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @cmpi_slt(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// q_idx == kv_idx: only a pair of one-element tiles can be full.
attn.variant @cmpi_eq heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %m = arith.cmpi eq, %q, %kv : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_cmpi_eq(
func.func @test_cmpi_eq() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i5 = arith.constant 5 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @cmpi_eq(%i0, %i0, %i5, %i5, %i5, %i5, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @cmpi_eq(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @cmpi_eq(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// q_idx != kv_idx.
attn.variant @cmpi_ne heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %m = arith.cmpi ne, %q, %kv : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_cmpi_ne(
func.func @test_cmpi_ne() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i5 = arith.constant 5 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @cmpi_ne(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @cmpi_ne(%i0, %i0, %i5, %i5, %i5, %i5, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @cmpi_ne(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// q_idx + 64 >= kv_idx (a causal mask shifted by a KV-cache offset).
attn.variant @addi heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %c64 = arith.constant 64 : i64
  %s = arith.addi %q, %c64 : i64
  %m = arith.cmpi sge, %s, %kv : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_addi(
func.func @test_addi() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i128 = arith.constant 128 : index
  %i191 = arith.constant 191 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @addi(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @addi(%i0, %i0, %i0, %i63, %i128, %i191, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @addi(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// q_idx - kv_idx < 16 (a sliding window's lower edge).
attn.variant @subi heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %d = arith.subi %q, %kv : i64
  %c16 = arith.constant 16 : i64
  %m = arith.cmpi slt, %d, %c16 : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_subi(
func.func @test_subi() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i15 = arith.constant 15 : index
  %i16 = arith.constant 16 : index
  %i31 = arith.constant 31 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @subi(%i0, %i0, %i0, %i15, %i0, %i15, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @subi(%i0, %i0, %i64, %i127, %i0, %i15, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @subi(%i0, %i0, %i16, %i31, %i0, %i15, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// 2 * kv_idx <= q_idx.
attn.variant @muli heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %c2 = arith.constant 2 : i64
  %t = arith.muli %kv, %c2 : i64
  %m = arith.cmpi sle, %t, %q : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_muli(
func.func @test_muli() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i128 = arith.constant 128 : index
  %i191 = arith.constant 191 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @muli(%i0, %i0, %i128, %i191, %i0, %i63, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @muli(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @muli(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// q_idx // 64 == kv_idx // 64 (block-diagonal chunks of 64).
attn.variant @floordivsi heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %c64 = arith.constant 64 : i64
  %a = arith.floordivsi %q, %c64 : i64
  %bb = arith.floordivsi %kv, %c64 : i64
  %m = arith.cmpi eq, %a, %bb : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_floordivsi(
func.func @test_floordivsi() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i32 = arith.constant 32 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i95 = arith.constant 95 : index
  %i127 = arith.constant 127 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @floordivsi(%i0, %i0, %i64, %i127, %i64, %i127, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @floordivsi(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @floordivsi(%i0, %i0, %i32, %i95, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// min(q_idx, 100) >= kv_idx.
attn.variant @minsi heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %c100 = arith.constant 100 : i64
  %a = arith.minsi %q, %c100 : i64
  %m = arith.cmpi sge, %a, %kv : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_minsi(
func.func @test_minsi() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i63 = arith.constant 63 : index
  %i101 = arith.constant 101 : index
  %i164 = arith.constant 164 : index
  %i200 = arith.constant 200 : index
  %i263 = arith.constant 263 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @minsi(%i0, %i0, %i200, %i263, %i0, %i63, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @minsi(%i0, %i0, %i200, %i263, %i101, %i164, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @minsi(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// max(q_idx, 100) >= kv_idx.
attn.variant @maxsi heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %c100 = arith.constant 100 : i64
  %a = arith.maxsi %q, %c100 : i64
  %m = arith.cmpi sge, %a, %kv : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_maxsi(
func.func @test_maxsi() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i101 = arith.constant 101 : index
  %i127 = arith.constant 127 : index
  %i164 = arith.constant 164 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @maxsi(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @maxsi(%i0, %i0, %i0, %i63, %i101, %i164, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @maxsi(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// kv_idx <= q_idx && kv_idx > q_idx - 16 (a sliding window).
attn.variant @andi heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %a = arith.cmpi sle, %kv, %q : i64
  %c16 = arith.constant 16 : i64
  %lo = arith.subi %q, %c16 : i64
  %bb = arith.cmpi sgt, %kv, %lo : i64
  %m = arith.andi %a, %bb : i1
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_andi(
func.func @test_andi() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i10 = arith.constant 10 : index
  %i15 = arith.constant 15 : index
  %i20 = arith.constant 20 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @andi(%i0, %i0, %i20, %i20, %i10, %i15, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @andi(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @andi(%i0, %i0, %i64, %i127, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// kv_idx < 16 || q_idx >= kv_idx (a causal mask with global keys).
attn.variant @ori heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %c16 = arith.constant 16 : i64
  %a = arith.cmpi slt, %kv, %c16 : i64
  %bb = arith.cmpi sge, %q, %kv : i64
  %m = arith.ori %a, %bb : i1
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_ori(
func.func @test_ori() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i15 = arith.constant 15 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @ori(%i0, %i0, %i0, %i63, %i0, %i15, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @ori(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @ori(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// !(q_idx >= kv_idx).
attn.variant @xori heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %t = arith.constant true
  %a = arith.cmpi sge, %q, %kv : i64
  %m = arith.xori %a, %t : i1
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_xori(
func.func @test_xori() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @xori(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @xori(%i0, %i0, %i64, %i127, %i0, %i63, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @xori(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// kv_idx <= (b == 0 ? q_idx : 0).
attn.variant @select_int heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %c0 = arith.constant 0 : i64
  %z = arith.cmpi eq, %b, %c0 : i64
  %s = arith.select %z, %q, %c0 : i64
  %m = arith.cmpi sle, %kv, %s : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_select_int(
func.func @test_select_int() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @select_int(%i0, %i0, %i64, %i127, %i0, %i63, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @select_int(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @select_int(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// h == 0 ? q_idx >= kv_idx : true (causal on head 0 only; this tile is head 0).
attn.variant @select_bool heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %c0 = arith.constant 0 : i64
  %z = arith.cmpi eq, %h, %c0 : i64
  %t = arith.constant true
  %a = arith.cmpi sge, %q, %kv : i64
  %m = arith.select %z, %a, %t : i1
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_select_bool(
func.func @test_select_bool() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @select_bool(%i0, %i0, %i64, %i127, %i0, %i63, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @select_bool(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @select_bool(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// int(q_idx >= kv_idx) == 1 (a bool used as an integer).
attn.variant @extui heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %a = arith.cmpi sge, %q, %kv : i64
  %e = arith.extui %a : i1 to i64
  %c1 = arith.constant 1 : i64
  %m = arith.cmpi eq, %e, %c1 : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_extui(
func.func @test_extui() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @extui(%i0, %i0, %i64, %i127, %i0, %i63, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @extui(%i0, %i0, %i0, %i63, %i64, %i127, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @extui(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// q_idx % 2 == 0: remainders are not bounded, so every tile is partial (sound).
attn.variant @remsi heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %c2 = arith.constant 2 : i64
  %r = arith.remsi %q, %c2 : i64
  %c0 = arith.constant 0 : i64
  %m = arith.cmpi eq, %r, %c0 : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_remsi(
func.func @test_remsi() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i63 = arith.constant 63 : index
  %i64 = arith.constant 64 : index
  %i127 = arith.constant 127 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @remsi(%i0, %i0, %i64, %i127, %i0, %i63, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @remsi(%i0, %i0, %i0, %i0, %i0, %i63, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @remsi(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c2{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index

// -----

// q_idx + 9223372036854775000 >= kv_idx: the sum can overflow int64 for these tiles, so nothing is claimed (sound).
attn.variant @overflow heads(1, 1) head_dim(16, 16) dtype(f32) scale(1.0) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q: i64, %kv: i64, %ql: i64, %kl: i64):
  %big = arith.constant 9223372036854775000 : i64
  %s = arith.addi %q, %big : i64
  %m = arith.cmpi sge, %s, %kv : i64
  attn.yield %m : i1
}
// CHECK-LABEL: func.func @test_overflow(
func.func @test_overflow() -> (index, index, index) {
  %i0 = arith.constant 0 : index
  %i63 = arith.constant 63 : index
  %i1000 = arith.constant 1000 : index
  %i1063 = arith.constant 1063 : index
  %i2000 = arith.constant 2000 : index
  %i2063 = arith.constant 2063 : index
  %i4096 = arith.constant 4096 : index
  %r0 = attn.tile_mask_class @overflow(%i0, %i0, %i0, %i63, %i0, %i63, %i4096, %i4096) : index
  %r1 = attn.tile_mask_class @overflow(%i0, %i0, %i1000, %i1063, %i0, %i63, %i4096, %i4096) : index
  %r2 = attn.tile_mask_class @overflow(%i0, %i0, %i1000, %i1063, %i2000, %i2063, %i4096, %i4096) : index
  return %r0, %r1, %r2 : index, index, index
}
// CHECK: return %c1{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}} : index, index, index
