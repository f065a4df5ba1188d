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
