attn.variant @plain heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %0 : i1
}

attn.variant @rich heads(8, 2) head_dim(64, 32) dtype(bf16) scale(0.125)
    scalars {offset = i32, seed = i64, temp = f32}
    buffers {doc = #attn.buffer<i32, [B, KV_LEN]>, pos = #attn.buffer<i64, [KV_LEN]>, slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = attn.scalar "temp" : f32
  %0 = arith.divf %score, %t : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %0 : i1
}

func.func @plain_tiles(%q: memref<?x4x?x16xf32>, %k: memref<?x4x?x16xf32>, %v: memref<?x4x?x16xf32>,
                       %out: memref<?x4x?x16xf32>, %lse: memref<?x4x?xf32>, %st: memref<4xi64>,
                       %b: index, %h: index, %q0: index, %q1: index, %k0: index, %k1: index,
                       %ql: index, %kl: index) -> index {
  %s = memref.alloca() : memref<64x32xf32>
  %acc = memref.alloca() : memref<64x16xf32>
  %m = memref.alloca() : memref<64xf32>
  %l = memref.alloca() : memref<64xf32>
  %alpha = memref.alloca() : memref<64xf32>
  attn.tile_init %acc, %m, %l : memref<64x16xf32>, memref<64xf32>, memref<64xf32>
  %cls = attn.tile_mask_class @plain(%b, %h, %q0, %q1, %k0, %k1, %ql, %kl) : index
  attn.tile_scores %q[%b, %h, %q0], %k[_, %h, %k0] into %s scale(0.25)
      : memref<?x4x?x16xf32>, memref<?x4x?x16xf32>, memref<64x32xf32>
  attn.tile_mods @plain %s(%b, %h, %q0, %k0, %ql, %kl) status(%st) {apply_mask}
      : memref<64x32xf32>, memref<4xi64>
  attn.tile_mods @plain %s(%b, %h, %q0, %k0, %ql, %kl) status(%st)
      : memref<64x32xf32>, memref<4xi64>
  attn.tile_softmax %s, %m, %l, %alpha : memref<64x32xf32>, memref<64xf32>, memref<64xf32>, memref<64xf32>
  attn.tile_pv %s, %v[%b, %h, %k0], %alpha into %acc
      : memref<64x32xf32>, memref<?x4x?x16xf32>, memref<64xf32>, memref<64x16xf32>
  attn.tile_store %acc, %m, %l into %out[%b, %h, %q0], %lse
      : memref<64x16xf32>, memref<64xf32>, memref<64xf32>, memref<?x4x?x16xf32>, memref<?x4x?xf32>
  return %cls : index
}

func.func @rich_tiles(%q: memref<?x8x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>,
                      %k: memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>,
                      %v: memref<?x2x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>,
                      %out: memref<?x8x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>,
                      %lse: memref<?x8x?xf32, strided<[?, ?, ?], offset: ?>>,
                      %offset: i32, %seed: i64, %temp: f32,
                      %doc: memref<?x?xi32>, %pos: memref<?xi64, strided<[?], offset: ?>>, %slopes: memref<8xf32>,
                      %st: memref<4xi64>, %b: index, %h: index, %g: index, %q0: index, %k0: index,
                      %ql: index, %kl: index) -> index {
  %s = memref.alloca() : memref<32x16xf32>
  %acc = memref.alloca() : memref<32x32xf32>
  %m = memref.alloca() : memref<32xf32>
  %l = memref.alloca() : memref<32xf32>
  %alpha = memref.alloca() : memref<32xf32>
  %cls = attn.tile_mask_class @rich(%b, %h, %q0, %q0, %k0, %k0, %ql, %kl)
      scalars(%offset, %seed, %temp : i32, i64, f32) : index
  attn.tile_scores %q[%b, %h, %q0], %k[_, %g, %k0] into %s scale(0.125)
      : memref<?x8x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<32x16xf32>
  attn.tile_mods @rich %s(%b, %h, %q0, %k0, %ql, %kl) scalars(%offset, %seed, %temp : i32, i64, f32)
      buffers(%doc, %pos, %slopes : memref<?x?xi32>, memref<?xi64, strided<[?], offset: ?>>, memref<8xf32>)
      status(%st) {apply_mask} : memref<32x16xf32>, memref<4xi64>
  attn.tile_mods @rich %s(%b, %h, %q0, %k0, %ql, %kl) scalars(%offset, %seed, %temp : i32, i64, f32)
      buffers(%doc, %pos, %slopes : memref<?x?xi32>, memref<?xi64, strided<[?], offset: ?>>, memref<8xf32>)
      status(%st) : memref<32x16xf32>, memref<4xi64>
  attn.tile_pv %s, %v[%b, %g, %k0], %alpha into %acc
      : memref<32x16xf32>, memref<?x2x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<32xf32>, memref<32x32xf32>
  attn.tile_store %acc, %m, %l into %out[%b, %h, %q0], %lse
      : memref<32x32xf32>, memref<32xf32>, memref<32xf32>, memref<?x8x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x8x?xf32, strided<[?, ?, ?], offset: ?>>
  return %cls : index
}

attn.variant @bufonly heads(2, 1) head_dim(8, 8) dtype(f16) scale(1.0)
    buffers {bias = #attn.buffer<f32, [H, KV_LEN]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %0 = attn.buffer_load "bias"[%h, %kv_idx] : f32
  %1 = arith.addf %score, %0 : f32
  attn.yield %1 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

func.func @bufonly_tiles(%q: memref<1x2x16x8xf16>, %k: memref<1x1x16x8xf16>, %bias: memref<2x16xf32>,
                         %st: memref<4xi64>, %i: index) {
  %s = memref.alloca() : memref<16x16xf32>
  attn.tile_scores %q[%i, %i, %i], %k[_, %i, %i] into %s scale(1.0)
      : memref<1x2x16x8xf16>, memref<1x1x16x8xf16>, memref<16x16xf32>
  attn.tile_mods @bufonly %s(%i, %i, %i, %i, %i, %i) buffers(%bias : memref<2x16xf32>) status(%st)
      : memref<16x16xf32>, memref<4xi64>
  return
}
