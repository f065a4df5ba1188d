attn.variant @mha_static heads(4, 4) head_dim(64, 64) dtype(f32) scale(0.125)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %c : i1
}
func.func @apply_mha_static(%q: tensor<2x4x128x64xf32>, %k: tensor<2x4x256x64xf32>,
                            %v: tensor<2x4x256x64xf32>)
    -> (tensor<2x4x128x64xf32>, tensor<2x4x128xf32>) {
  %out, %lse = attn.attention @mha_static(%q, %k, %v)
      : tensor<2x4x128x64xf32>, tensor<2x4x256x64xf32>, tensor<2x4x256x64xf32>
      -> tensor<2x4x128x64xf32>, tensor<2x4x128xf32>
  return %out, %lse : tensor<2x4x128x64xf32>, tensor<2x4x128xf32>
}
