attn.variant @select_const heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %f = arith.constant false
  %three = arith.constant 3.0 : f32
  %m = arith.mulf %score, %three : f32
  %s = arith.select %f, %m, %score : f32
  attn.yield %s : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
  %1 = arith.cmpi slt, %q_idx, %kv_idx : i64
  %s = arith.select %t, %0, %1 : i1
  attn.yield %s : i1
}
