attn.variant @alibi heads(2, 2) head_dim(32, 32) dtype(f32) scale(1.250000e-01)
    buffers {slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %s = attn.buffer_load "slopes"[%h] : f32
  %d = arith.subi %kv_idx, %q_idx : i64
  %df = arith.sitofp %d : i64 to f32
  %m = arith.mulf %s, %df : f32
  %r = arith.addf %score, %m : f32
  attn.yield %r : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %c : i1
}
func.func @alibi_forward(%q: tensor<?x2x?x32xf32>, %k: tensor<?x2x?x32xf32>, %v: tensor<?x2x?x32xf32>, %slopes: tensor<2xf32>) -> (tensor<?x2x?x32xf32>, tensor<?x2x?xf32>) {
  %out, %lse = attn.attention @alibi(%q, %k, %v) buffers(%slopes : tensor<2xf32>) : tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32> -> tensor<?x2x?x32xf32>, tensor<?x2x?xf32>
  return %out, %lse : tensor<?x2x?x32xf32>, tensor<?x2x?xf32>
}
