attn.variant @beside heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c2 = arith.constant 2 : i64
  %dead = arith.addi %h, %c2 : i64
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @untouched(%x: f32) -> (f32, i64) {
  %one = arith.constant 1.0 : f32
  %a = arith.mulf %x, %one : f32
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %six = arith.muli %c2, %c3 : i64
  %c2b = arith.constant 2 : i64
  %dead = arith.addi %c2b, %six : i64
  return %a, %six : f32, i64
}
