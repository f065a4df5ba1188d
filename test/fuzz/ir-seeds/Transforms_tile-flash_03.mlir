attn.variant @biased heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
    scalars {offset = i32, temp = f32}
    buffers {doc = #attn.buffer<i32, [B, KV_LEN]>, slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %temp = attn.scalar "temp" : f32
  %0 = arith.divf %score, %temp : f32
  %1 = attn.buffer_load "slopes"[%h] : f32
  %2 = arith.subi %kv_idx, %q_idx : i64
  %3 = arith.sitofp %2 : i64 to f32
  %4 = arith.mulf %1, %3 : f32
  %5 = arith.addf %0, %4 : f32
  attn.yield %5 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %offset = attn.scalar "offset" : i32
  %0 = arith.extsi %offset : i32 to i64
  %1 = arith.addi %q_idx, %0 : i64
  %2 = arith.cmpi sge, %1, %kv_idx : i64
  %3 = scf.if %2 -> (i1) {
    %4 = attn.buffer_load "doc"[%b, %kv_idx] : i32
    %c0 = arith.constant 0 : i32
    %5 = arith.cmpi eq, %4, %c0 : i32
    scf.yield %5 : i1
  } else {
    %false = arith.constant false
    scf.yield %false : i1
  }
  attn.yield %3 : i1
}
func.func @biased_forward(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>, %offset: i32, %temp: f32, %doc: tensor<?x?xi32>, %slopes: tensor<4xf32>) -> (tensor<?x4x?x16xf32>, tensor<?x4x?xf32>) {
  %out, %lse = attn.attention @biased(%q, %k, %v) scalars(%offset, %temp : i32, f32) buffers(%doc, %slopes : tensor<?x?xi32>, tensor<4xf32>) : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
  return %out, %lse : tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
}
