attn.variant @narrow_v heads(2, 2) head_dim(64, 32) dtype(bf16) scale(0.125)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %true = arith.constant true
  attn.yield %true : i1
}
func.func @narrow_v_forward(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>) -> (tensor<?x2x?x32xbf16>, tensor<?x2x?xf32>) {
  %out, %lse = attn.attention @narrow_v(%q, %k, %v) : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16> -> tensor<?x2x?x32xbf16>, tensor<?x2x?xf32>
  return %out, %lse : tensor<?x2x?x32xbf16>, tensor<?x2x?xf32>
}
