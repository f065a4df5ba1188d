attn.variant @guarded_load heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
    scalars {n = i64} buffers {bias = #attn.buffer<f32, [8]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %n = attn.scalar "n" : i64
  %ok = arith.cmpi slt, %kv_idx, %n : i64
  %r = scf.if %ok -> (f32) {
    %x = attn.buffer_load "bias"[%kv_idx] : f32
    scf.yield %x : f32
  } else {
    %z = arith.constant 0.0 : f32
    scf.yield %z : f32
  }
  %one = arith.constant 1.0 : f32
  %m = arith.mulf %r, %one : f32
  %s = arith.addf %score, %m : f32
  attn.yield %s : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
