// RUN: attn-opt %s -split-input-file --attn-differentiate-score-mod --attn-simplify | FileCheck %s

// attn-differentiate-score-mod (compiler/transforms/DifferentiateScoreMod.cpp) adds
// score_mod_vjp: block (score, b, h, q_idx, kv_idx, q_len, kv_len, dout), yielding
// dout * d score_mod / d score, with attn.buffer_grad for requires_grad reads. One
// case per derivative rule; test/unit/ScoreModVjpTest.cpp checks the numbers.

// The identity: the gradient passes through.
// CHECK-LABEL: attn.variant @identity
// CHECK: score_mod_vjp {
// CHECK-NEXT: ^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64, %dout: f32):
// CHECK-NEXT: attn.yield %dout : f32
attn.variant @identity heads(1, 1) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @mulf
// CHECK: score_mod_vjp {
// CHECK: %[[S2:.*]] = arith.addf %score, %score
// CHECK: %[[D:.*]] = arith.mulf %[[S2]], %{{.*}}
// CHECK: %[[G:.*]] = arith.mulf %dout, %[[D]]
// CHECK: attn.yield %[[G]] : f32
attn.variant @mulf heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.constant 3.0 : f32
  %0 = arith.mulf %score, %score : f32
  %1 = arith.mulf %0, %c : f32
  attn.yield %1 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @divf
// CHECK: score_mod_vjp {
// CHECK: %[[Y:.*]] = arith.addf %score, %[[C2:.*]] : f32
// CHECK: %[[R:.*]] = arith.divf %[[C2]], %[[Y]]
// CHECK: %[[RY:.*]] = arith.divf %[[R]], %[[Y]]
// CHECK: %[[N:.*]] = arith.negf %[[RY]]
// CHECK: %[[G:.*]] = arith.mulf %dout, %[[N]]
// CHECK: attn.yield %[[G]]
attn.variant @divf heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.constant 2.0 : f32
  %0 = arith.addf %score, %c : f32
  %1 = arith.divf %c, %0 : f32
  attn.yield %1 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @subf_negf
// CHECK: score_mod_vjp {
// CHECK-NEXT: ^bb0
// CHECK-NEXT: attn.yield %dout : f32
attn.variant @subf_negf heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.constant 2.0 : f32
  %0 = arith.subf %c, %score : f32
  %1 = arith.negf %0 : f32
  attn.yield %1 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @exp
// CHECK: score_mod_vjp {
// CHECK: %[[E:.*]] = math.exp %score
// CHECK: %[[G:.*]] = arith.mulf %dout, %[[E]]
// CHECK: attn.yield %[[G]]
attn.variant @exp heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = math.exp %score : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @exp2
// CHECK: score_mod_vjp {
// CHECK: %[[LN2:.*]] = arith.constant 0.693147182 : f32
// CHECK: %[[E:.*]] = math.exp2 %score
// CHECK: %[[D:.*]] = arith.mulf %[[E]], %[[LN2]]
// CHECK: arith.mulf %dout, %[[D]]
attn.variant @exp2 heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = math.exp2 %score : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @log
// CHECK: score_mod_vjp {
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00
// CHECK: %[[D:.*]] = arith.divf %[[ONE]], %score
// CHECK: arith.mulf %dout, %[[D]]
attn.variant @log heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = math.log %score : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @log2
// CHECK: score_mod_vjp {
// CHECK: %[[INV:.*]] = arith.constant 1.44269502 : f32
// CHECK: %[[D:.*]] = arith.divf %[[INV]], %score
// CHECK: arith.mulf %dout, %[[D]]
attn.variant @log2 heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = math.log2 %score : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @sqrt
// CHECK: score_mod_vjp {
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01
// CHECK: %[[R:.*]] = math.sqrt %score
// CHECK: %[[D:.*]] = arith.divf %[[HALF]], %[[R]]
// CHECK: arith.mulf %dout, %[[D]]
attn.variant @sqrt heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = math.sqrt %score : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @rsqrt
// CHECK: score_mod_vjp {
// CHECK: %[[MH:.*]] = arith.constant -5.000000e-01
// CHECK: %[[R:.*]] = math.rsqrt %score
// CHECK: %[[M:.*]] = arith.mulf %[[R]], %[[MH]]
// CHECK: %[[D:.*]] = arith.divf %[[M]], %score
// CHECK: arith.mulf %dout, %[[D]]
attn.variant @rsqrt heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = math.rsqrt %score : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @tanh
// CHECK: score_mod_vjp {
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00
// CHECK: %[[T:.*]] = math.tanh %score
// CHECK: %[[T2:.*]] = arith.mulf %[[T]], %[[T]]
// CHECK: %[[D:.*]] = arith.subf %[[ONE]], %[[T2]]
// CHECK: arith.mulf %dout, %[[D]]
attn.variant @tanh heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = math.tanh %score : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @absf
// CHECK: score_mod_vjp {
// sign(score), 0 at 0
// CHECK-DAG: %[[M1:.*]] = arith.constant -1.000000e+00
// CHECK-DAG: %[[P1:.*]] = arith.constant 1.000000e+00
// CHECK-DAG: %[[Z:.*]] = arith.constant 0.000000e+00
// CHECK: %[[LT:.*]] = arith.cmpf olt, %score, %[[Z]]
// CHECK: %[[NEG:.*]] = arith.select %[[LT]], %[[M1]], %[[Z]]
// CHECK: %[[GT:.*]] = arith.cmpf ogt, %score, %[[Z]]
// CHECK: %[[SIGN:.*]] = arith.select %[[GT]], %[[P1]], %[[NEG]]
// CHECK: arith.mulf %dout, %[[SIGN]]
attn.variant @absf heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = math.absf %score : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @floor
// CHECK: score_mod_vjp {
// piecewise constant: no gradient
// CHECK-NEXT: ^bb0
// CHECK-NEXT: %[[Z:.*]] = arith.constant 0.000000e+00
// CHECK-NEXT: attn.yield %[[Z]]
attn.variant @floor heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = math.floor %score : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @minnumf
// CHECK: score_mod_vjp {
// the chosen operand gets it all; a tie splits it
// CHECK-DAG: %[[Z:.*]] = arith.constant 0.000000e+00
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00
// CHECK-DAG: %[[HALF:.*]] = arith.constant 5.000000e-01
// CHECK: %[[R:.*]] = arith.minnumf %score, %[[HALF]]
// CHECK: %[[TIE:.*]] = arith.cmpf oeq, %score, %[[HALF]]
// CHECK: %[[PICK:.*]] = arith.cmpf oeq, %[[R]], %score
// CHECK: %[[W:.*]] = arith.select %[[PICK]], %[[ONE]], %[[Z]]
// CHECK: %[[WT:.*]] = arith.select %[[TIE]], %[[HALF]], %[[W]]
// CHECK: arith.mulf %dout, %[[WT]]
attn.variant @minnumf heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.constant 0.5 : f32
  %0 = arith.minnumf %score, %c : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @remf
// CHECK: score_mod_vjp {
// d rem(score, c) / d score = 1
// CHECK-NEXT: ^bb0
// CHECK-NEXT: attn.yield %dout : f32
attn.variant @remf heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.constant 1.5 : f32
  %0 = arith.remf %score, %c : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @copysign
// CHECK: score_mod_vjp {
// CHECK-DAG: %[[M1:.*]] = arith.constant -1.000000e+00
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00
// CHECK: %[[SX:.*]] = math.copysign %[[ONE]], %score
// CHECK: %[[F:.*]] = arith.mulf %[[SX]], %[[M1]]
// CHECK: arith.mulf %dout, %[[F]]
attn.variant @copysign heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.constant -1.0 : f32
  %0 = math.copysign %score, %c : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @select
// CHECK: score_mod_vjp {
// CHECK: %[[C:.*]] = arith.cmpi sge, %q_idx, %kv_idx
// CHECK: %[[D:.*]] = arith.select %[[C]], %{{.*}}, %{{.*}} : f32
// CHECK: arith.mulf %dout, %[[D]]
attn.variant @select heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.cmpi sge, %q_idx, %kv_idx : i64
  %h2 = arith.constant 0.5 : f32
  %0 = arith.mulf %score, %h2 : f32
  %1 = arith.select %c, %score, %0 : f32
  attn.yield %1 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @grad_read
// CHECK: score_mod_vjp {
// d/d bias = 1 at [h, kv_idx % 16]; w has no gradient
// CHECK: %[[I:.*]] = arith.remsi %kv_idx
// CHECK: %[[W:.*]] = attn.buffer_load "w"[%h]
// CHECK: attn.buffer_grad "bias"[%h, %[[I]]], %dout : f32
// CHECK-NOT: attn.buffer_grad "w"
// CHECK: %[[G:.*]] = arith.mulf %dout, %[[W]]
// CHECK: attn.yield %[[G]]
attn.variant @grad_read heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0) buffers {bias = #attn.buffer<f32, [H, 16], requires_grad>, w = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c16 = arith.constant 16 : i64
  %i = arith.remsi %kv_idx, %c16 : i64
  %x = attn.buffer_load "bias"[%h, %i] : f32
  %w = attn.buffer_load "w"[%h] : f32
  %0 = arith.mulf %score, %w : f32
  %1 = arith.addf %0, %x : f32
  attn.yield %1 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @guarded_read
// CHECK: score_mod_vjp {
// the read stays guarded; the if yields its indices (0 when not read) and
// tangents, which canonicalization turns into selects
// CHECK: %[[IN:.*]] = arith.cmpi slt, %kv_idx
// CHECK: %[[DX:.*]] = arith.select %[[IN]], %score, %[[Z:.*]] : f32
// CHECK: %[[IH:.*]] = arith.select %[[IN]], %h, %[[C0:.*]] : i64
// CHECK: %[[IK:.*]] = arith.select %[[IN]], %kv_idx, %[[C0]] : i64
// CHECK: %[[DS:.*]] = scf.if %[[IN]] -> (f32) {
// CHECK-NEXT: %[[X:.*]] = attn.buffer_load "bias"[%h, %kv_idx]
// CHECK-NEXT: scf.yield %[[X]]
// CHECK: %[[GX:.*]] = arith.mulf %dout, %[[DX]]
// CHECK: attn.buffer_grad "bias"[%[[IH]], %[[IK]]], %[[GX]]
// CHECK: %[[G:.*]] = arith.mulf %dout, %[[DS]]
// CHECK: attn.yield %[[G]]
attn.variant @guarded_read heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0) buffers {bias = #attn.buffer<f32, [H, 16], requires_grad>, w = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c8 = arith.constant 8 : i64
  %in = arith.cmpi slt, %kv_idx, %c8 : i64
  %0 = scf.if %in -> (f32) {
    %x = attn.buffer_load "bias"[%h, %kv_idx] : f32
    %y = arith.mulf %score, %x : f32
    scf.yield %y : f32
  } else {
    scf.yield %score : f32
  }
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// CHECK-LABEL: attn.variant @no_score
// CHECK: score_mod_vjp {
// CHECK-NEXT: ^bb0
// CHECK-NEXT: %[[Z:.*]] = arith.constant 0.000000e+00
// CHECK-NEXT: attn.yield %[[Z]]
attn.variant @no_score heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %x = arith.constant 1.0 : f32
  attn.yield %x : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
