attn.variant @guarded heads(2, 1) head_dim(32, 32) dtype(f16) scale(-2.0)
    constants {softcap = 30.0 : f64}
    buffers {keep = #attn.buffer<i32, [KV_LEN]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %cap = arith.constant 30.0 : f32
  %x = arith.divf %score, %cap : f32
  %t = math.tanh %x : f32
  %r = arith.mulf %cap, %t : f32
  attn.yield %r : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %inb = arith.cmpi slt, %kv_idx, %kv_len : i64
  %r = scf.if %inb -> (i1) {
    %k = attn.buffer_load "keep"[%kv_idx] : i32
    %z = arith.constant 0 : i32
    %ne = arith.cmpi ne, %k, %z : i32
    scf.yield %ne : i1
  } else {
    %f = arith.constant false
    scf.yield %f : i1
  }
  attn.yield %r : i1
}
