attn.variant @plain heads(1, 1) head_dim(16, 16) dtype(f32) scale(2.500000e-01)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @plain_forward(%q: tensor<?x1x?x16xf32>, %k: tensor<?x1x?x16xf32>, %v: tensor<?x1x?x16xf32>) -> (tensor<?x1x?x16xf32>, tensor<?x1x?xf32>) {
  %out, %lse = attn.attention @plain(%q, %k, %v) : tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32> -> tensor<?x1x?x16xf32>, tensor<?x1x?xf32>
  return %out, %lse : tensor<?x1x?x16xf32>, tensor<?x1x?xf32>
}
