attn.variant @with_inputs heads(4, 1) head_dim(96, 48) dtype(bf16) scale(1.0)
    scalars {offset = i32, len = i64, temp = f32}
    buffers {slopes = #attn.buffer<f32, [H]>, bias = #attn.buffer<f32, [B, H, Q_LEN, KV_LEN]>,
             kvb = #attn.buffer<f32, [H_KV, 5]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %len = attn.scalar "len" : i64
  %temp = attn.scalar "temp" : f32
  %bias = attn.buffer_load "bias"[%b, %h, %q_idx, %kv_idx] : f32
  %s = arith.divf %score, %temp : f32
  %r = arith.addf %s, %bias : f32
  attn.yield %r : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %off = attn.scalar "offset" : i32
  %off64 = arith.extsi %off : i32 to i64
  %q = arith.addi %q_idx, %off64 : i64
  %c = arith.cmpi sge, %q, %kv_idx : i64
  attn.yield %c : i1
}
func.func @apply_with_inputs(%q: tensor<2x4x?x96xbf16>, %k: tensor<2x1x?x96xbf16>,
                             %v: tensor<2x1x?x48xbf16>, %len: i64, %off: i32, %temp: f32,
                             %bias: tensor<2x4x?x?xf32>, %kvb: tensor<1x5xf32>,
                             %slopes: tensor<?xf32>)
    -> (tensor<2x4x?x48xbf16>, tensor<2x4x?xf32>) {
  %out, %lse = attn.attention @with_inputs(%q, %k, %v)
      scalars(%len, %off, %temp : i64, i32, f32)
      buffers(%bias, %kvb, %slopes : tensor<2x4x?x?xf32>, tensor<1x5xf32>, tensor<?xf32>)
      : tensor<2x4x?x96xbf16>, tensor<2x1x?x96xbf16>, tensor<2x1x?x48xbf16>
      -> tensor<2x4x?x48xbf16>, tensor<2x4x?xf32>
  return %out, %lse : tensor<2x4x?x48xbf16>, tensor<2x4x?xf32>
}
