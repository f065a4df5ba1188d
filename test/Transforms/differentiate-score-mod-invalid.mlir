// RUN: attn-opt %s -split-input-file -verify-diagnostics --attn-differentiate-score-mod

// An f32 operation on the score without a derivative rule is an error at the
// operation (the frontend never emits math.sin; a hand-written variant can).
attn.variant @no_rule heads(1, 1) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  // expected-error @+1 {{cannot differentiate 'math.sin' in score_mod (the backward pass needs its derivative)}}
  %0 = math.sin %score : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// An operation that does not depend on the score or a requires_grad read needs no
// rule: math.sin of an index is fine.
attn.variant @no_rule_needed heads(1, 1) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %i = arith.sitofp %kv_idx : i64 to f32
  %0 = math.sin %i : f32
  %1 = arith.addf %score, %0 : f32
  attn.yield %1 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
