attn.variant @gqa heads(8, 2) head_dim(32, 32) dtype(f16) scale(0.17677669529663687)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %0 : i1
}
func.func @gqa_forward(%q: tensor<?x8x?x32xf16>, %k: tensor<?x2x?x32xf16>, %v: tensor<?x2x?x32xf16>) -> (tensor<?x8x?x32xf16>, tensor<?x8x?xf32>) {
  %out, %lse = attn.attention @gqa(%q, %k, %v) : tensor<?x8x?x32xf16>, tensor<?x2x?x32xf16>, tensor<?x2x?x32xf16> -> tensor<?x8x?x32xf16>, tensor<?x8x?xf32>
  return %out, %lse : tensor<?x8x?x32xf16>, tensor<?x8x?xf32>
}
