attn.variant @gqa_dynamic heads(8, 2) head_dim(64, 128) dtype(f16) scale(0.125)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @apply_gqa_dynamic(%q: tensor<?x8x?x64xf16>, %k: tensor<?x2x?x64xf16>,
                             %v: tensor<3x?x17x?xf16>)
    -> (tensor<?x8x?x128xf16>, tensor<3x?x?xf32>) {
  %out, %lse = attn.attention @gqa_dynamic(%q, %k, %v)
      : tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<3x?x17x?xf16>
      -> tensor<?x8x?x128xf16>, tensor<3x?x?xf32>
  return %out, %lse : tensor<?x8x?x128xf16>, tensor<3x?x?xf32>
}
