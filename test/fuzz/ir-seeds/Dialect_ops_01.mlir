attn.variant @declarations heads(8, 2) head_dim(64, 64) dtype(bf16) scale(0.125)
    constants {window = 4096 : i64, softcap = 50.0 : f64, alpha = -1.5 : f64}
    scalars {offset = i32, seed = i64, bias_scale = f32}
    buffers {slopes = #attn.buffer<f32, [H]>, bias = #attn.buffer<f32, [H, 32]>,
             doc = #attn.buffer<i32, [B, 7]>, pos = #attn.buffer<i64, [KV_LEN]>,
             all = #attn.buffer<f32, [B, H, H_KV, Q_LEN, KV_LEN]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %slope = attn.buffer_load "slopes"[%h] : f32
  %c32 = arith.constant 32 : i64
  %col = arith.remsi %kv_idx, %c32 : i64
  %bias = attn.buffer_load "bias"[%h, %col] : f32
  %bs = attn.scalar "bias_scale" : f32
  %scaled = arith.mulf %bias, %bs : f32
  %d = arith.subi %kv_idx, %q_idx : i64
  %df = arith.sitofp %d : i64 to f32
  %m = arith.mulf %slope, %df : f32
  %s1 = arith.addf %score, %m : f32
  %s2 = arith.addf %s1, %scaled : f32
  attn.yield %s2 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %off = attn.scalar "offset" : i32
  %seed = attn.scalar "seed" : i64
  %c0 = arith.constant 0 : i64
  %doc = attn.buffer_load "doc"[%b, %c0] : i32
  %pos = attn.buffer_load "pos"[%kv_idx] : i64
  %off64 = arith.extsi %off : i32 to i64
  %q = arith.addi %q_idx, %off64 : i64
  %causal = arith.cmpi sge, %q, %pos : i64
  %doc64 = arith.extsi %doc : i32 to i64
  %same = arith.cmpi eq, %doc64, %seed : i64
  %keep = arith.andi %causal, %same : i1
  attn.yield %keep : i1
}
