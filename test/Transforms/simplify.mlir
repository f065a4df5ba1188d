// RUN: attn-opt %s -split-input-file --attn-simplify | FileCheck %s

// attn-simplify: canonicalization patterns + CSE on the score_mod and mask_mod bodies of
// every attn.variant (compiler/transforms/Simplify.cpp), nothing else.

// `score * 1.0` and `score + -0.0` are identities and fold away. `score + 0.0` does
// not (it is not an identity for score = -0.0), see @add_pos_zero below.
// CHECK-LABEL: attn.variant @mul_one
// CHECK: score_mod {
// CHECK-NOT: arith.
// CHECK: attn.yield %score : f32
// CHECK-NEXT: } mask_mod {
attn.variant @mul_one heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %one = arith.constant 1.0 : f32
  %nz = arith.constant -0.0 : f32
  %0 = arith.mulf %score, %one : f32
  %1 = arith.addf %0, %nz : f32
  attn.yield %1 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// `score + 0.0` is kept by arith's folders (-0.0 + 0.0 = +0.0), unlike what the pass
// description of Passes.td says.
// CHECK-LABEL: attn.variant @add_pos_zero
// CHECK: score_mod {
// CHECK-NEXT: ^bb0(%score: f32,
// CHECK-NEXT: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[R:.*]] = arith.addf %score, %[[Z]] : f32
// CHECK-NEXT: attn.yield %[[R]] : f32
attn.variant @add_pos_zero heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %z = arith.constant 0.0 : f32
  %0 = arith.addf %score, %z : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// Constant arithmetic folds: 2 * 3 -> 6, float(6) * 0.5 -> 3.0.
// CHECK-LABEL: attn.variant @constant_fold
// CHECK: score_mod {
// CHECK-NEXT: ^bb0(%score: f32,
// CHECK-NEXT: %[[THREE:.*]] = arith.constant 3.000000e+00 : f32
// CHECK-NEXT: %[[R:.*]] = arith.addf %score, %[[THREE]] : f32
// CHECK-NEXT: attn.yield %[[R]] : f32
// CHECK-NEXT: } mask_mod {
// CHECK-NEXT: ^bb0(
// CHECK-NEXT: %[[SIX:.*]] = arith.constant 6 : i64
// CHECK-NEXT: %[[W:.*]] = arith.addi %kv_idx, %[[SIX]] : i64
// CHECK-NEXT: %[[C:.*]] = arith.cmpi sle, %q_idx, %[[W]] : i64
// CHECK-NEXT: attn.yield %[[C]] : i1
attn.variant @constant_fold heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %six = arith.muli %c2, %c3 : i64
  %f = arith.sitofp %six : i64 to f32
  %half = arith.constant 0.5 : f32
  %three = arith.mulf %f, %half : f32
  %r = arith.addf %score, %three : f32
  attn.yield %r : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %six = arith.muli %c2, %c3 : i64
  %w = arith.addi %kv_idx, %six : i64
  %0 = arith.cmpi sle, %q_idx, %w : i64
  attn.yield %0 : i1
}

// -----

// `q_idx >= kv_idx || true` -> `true`; the comparison is dead and removed.
// CHECK-LABEL: attn.variant @or_true
// CHECK: mask_mod {
// CHECK-NEXT: ^bb0(
// CHECK-NOT: arith.cmpi
// CHECK-NOT: arith.ori
// CHECK: %[[T:.*]] = arith.constant true
// CHECK-NEXT: attn.yield %[[T]] : i1
// CHECK-NEXT: }
attn.variant @or_true heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
  %t = arith.constant true
  %1 = arith.ori %0, %t : i1
  attn.yield %1 : i1
}

// -----

// Duplicated constants and duplicated attn.scalar reads are merged.
// CHECK-LABEL: attn.variant @cse
// CHECK: score_mod {
// CHECK-NEXT: ^bb0(%score: f32,
// CHECK-NEXT: %[[TWO:.*]] = arith.constant 2.000000e+00 : f32
// CHECK-NEXT: %[[TEMP:.*]] = attn.scalar "temp" : f32
// CHECK-NEXT: %[[A:.*]] = arith.mulf %score, %[[TEMP]] : f32
// CHECK-NEXT: %[[B:.*]] = arith.addf %[[A]], %[[TEMP]] : f32
// CHECK-NEXT: %[[C:.*]] = arith.mulf %[[B]], %[[TWO]] : f32
// CHECK-NEXT: %[[D:.*]] = arith.addf %[[C]], %[[TWO]] : f32
// CHECK-NEXT: attn.yield %[[D]] : f32
// CHECK-NEXT: } mask_mod {
// CHECK-NEXT: ^bb0(
// CHECK-NEXT: %[[OFF:.*]] = attn.scalar "off" : i64
// CHECK-NEXT: %[[Q:.*]] = arith.addi %q_idx, %[[OFF]] : i64
// CHECK-NEXT: %[[K:.*]] = arith.addi %kv_idx, %[[OFF]] : i64
// CHECK-NEXT: %[[R:.*]] = arith.cmpi sge, %[[Q]], %[[K]] : i64
// CHECK-NEXT: attn.yield %[[R]] : i1
attn.variant @cse heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
    scalars {off = i64, temp = f32}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t1 = attn.scalar "temp" : f32
  %a = arith.mulf %score, %t1 : f32
  %t2 = attn.scalar "temp" : f32
  %c = arith.addf %a, %t2 : f32
  %k1 = arith.constant 2.0 : f32
  %k2 = arith.constant 2.0 : f32
  %d = arith.mulf %c, %k1 : f32
  %e = arith.addf %d, %k2 : f32
  attn.yield %e : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %o1 = attn.scalar "off" : i64
  %q = arith.addi %q_idx, %o1 : i64
  %o2 = attn.scalar "off" : i64
  %k = arith.addi %kv_idx, %o2 : i64
  %0 = arith.cmpi sge, %q, %k : i64
  attn.yield %0 : i1
}

// -----

// A select with a constant condition folds to the chosen operand; the dead
// alternative is removed.
// CHECK-LABEL: attn.variant @select_const
// CHECK: score_mod {
// CHECK-NOT: arith.
// CHECK: attn.yield %score : f32
// CHECK-NEXT: } mask_mod {
// CHECK-NEXT: ^bb0(
// CHECK-NEXT: %[[GE:.*]] = arith.cmpi sge, %q_idx, %kv_idx : i64
// CHECK-NOT: arith.select
// CHECK-NEXT: attn.yield %[[GE]] : i1
// CHECK-NEXT: }
attn.variant @select_const heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %f = arith.constant false
  %three = arith.constant 3.0 : f32
  %m = arith.mulf %score, %three : f32
  %s = arith.select %f, %m, %score : f32
  attn.yield %s : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
  %1 = arith.cmpi slt, %q_idx, %kv_idx : i64
  %s = arith.select %t, %0, %1 : i1
  attn.yield %s : i1
}

// -----

// An scf.if with a constant condition is replaced by the taken branch.
// CHECK-LABEL: attn.variant @if_const
// CHECK: score_mod {
// CHECK-NOT: scf.if
// CHECK-NOT: math.exp
// CHECK: %[[T:.*]] = math.tanh %score : f32
// CHECK-NOT: math.exp
// CHECK-NEXT: attn.yield %[[T]] : f32
// CHECK-NEXT: } mask_mod {
attn.variant @if_const heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  %r = scf.if %t -> f32 {
    %x = math.tanh %score : f32
    scf.yield %x : f32
  } else {
    %y = math.exp %score : f32
    scf.yield %y : f32
  }
  attn.yield %r : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// A guarded buffer read (what the frontend emits for `kv_idx < n ? bias[kv_idx] : 0.0`)
// stays under its scf.if: attn.buffer_load is not speculatable. The `* 1.0` still folds.
// CHECK-LABEL: attn.variant @guarded_load
// CHECK: score_mod {
// CHECK-NEXT: ^bb0(%score: f32,
// CHECK-NEXT: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[N:.*]] = attn.scalar "n" : i64
// CHECK-NEXT: %[[OK:.*]] = arith.cmpi slt, %kv_idx, %[[N]] : i64
// CHECK-NEXT: %[[R:.*]] = scf.if %[[OK]] -> (f32) {
// CHECK-NEXT: %[[L:.*]] = attn.buffer_load "bias"[%kv_idx] : f32
// CHECK-NEXT: scf.yield %[[L]] : f32
// CHECK-NEXT: } else {
// CHECK-NEXT: scf.yield %[[Z]] : f32
// CHECK-NEXT: }
// CHECK-NEXT: %[[S:.*]] = arith.addf %score, %[[R]] : f32
// CHECK-NEXT: attn.yield %[[S]] : f32
attn.variant @guarded_load heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
    scalars {n = i64} buffers {bias = #attn.buffer<f32, [8]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %n = attn.scalar "n" : i64
  %ok = arith.cmpi slt, %kv_idx, %n : i64
  %r = scf.if %ok -> (f32) {
    %x = attn.buffer_load "bias"[%kv_idx] : f32
    scf.yield %x : f32
  } else {
    %z = arith.constant 0.0 : f32
    scf.yield %z : f32
  }
  %one = arith.constant 1.0 : f32
  %m = arith.mulf %r, %one : f32
  %s = arith.addf %score, %m : f32
  attn.yield %s : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// Operations outside attn.variant are not touched (the variant beside them is).
// CHECK-LABEL: attn.variant @beside
// CHECK-NOT: arith.addi
// CHECK: attn.yield %score : f32
// CHECK-LABEL: func.func @untouched
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[M:.*]] = arith.mulf %arg0, %[[ONE]] : f32
// CHECK-NEXT: %[[C2:.*]] = arith.constant 2 : i64
// CHECK-NEXT: %[[C3:.*]] = arith.constant 3 : i64
// CHECK-NEXT: %[[SIX:.*]] = arith.muli %[[C2]], %[[C3]] : i64
// CHECK-NEXT: %[[C2B:.*]] = arith.constant 2 : i64
// CHECK-NEXT: %[[DEAD:.*]] = arith.addi %[[C2B]], %[[SIX]] : i64
// CHECK-NEXT: return %[[M]], %[[SIX]] : f32, i64
attn.variant @beside heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c2 = arith.constant 2 : i64
  %dead = arith.addi %h, %c2 : i64
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @untouched(%x: f32) -> (f32, i64) {
  %one = arith.constant 1.0 : f32
  %a = arith.mulf %x, %one : f32
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %six = arith.muli %c2, %c3 : i64
  %c2b = arith.constant 2 : i64
  %dead = arith.addi %c2b, %six : i64
  return %a, %six : f32, i64
}
