attn.variant @constant_fold heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %six = arith.muli %c2, %c3 : i64
  %f = arith.sitofp %six : i64 to f32
  %half = arith.constant 0.5 : f32
  %three = arith.mulf %f, %half : f32
  %r = arith.addf %score, %three : f32
  attn.yield %r : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %six = arith.muli %c2, %c3 : i64
  %w = arith.addi %kv_idx, %six : i64
  %0 = arith.cmpi sle, %q_idx, %w : i64
  attn.yield %0 : i1
}
