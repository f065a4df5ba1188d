// RUN: attn-opt %s -split-input-file -verify-diagnostics --attn-tile-flash-backward

// Without attn-differentiate-score-mod there is no derivative to tile.
attn.variant @plain heads(2, 2) head_dim(16, 16) dtype(f32) scale(0.25) score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @plain_forward(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> (tensor<?x2x?x16xf32>, tensor<?x2x?xf32>) {
  // expected-error @below {{attn-tile-flash-backward: variant 'plain' has no score_mod_vjp region (run attn-differentiate-score-mod first)}}
  %out, %lse = attn.attention @plain(%q, %k, %v) : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>, tensor<?x2x?xf32>
  return %out, %lse : tensor<?x2x?x16xf32>, tensor<?x2x?xf32>
}
