// The flash form of examples/specs/mqa.json (bf16) with 128-row query tiles and
// 32-key tiles (attnc compile --emit flash --block-q 128 --block-kv 32).
module {
  attn.variant @mqa heads(16, 1) head_dim(64, 64) dtype(bf16) scale(1.250000e-01) score_mod {
  ^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
    attn.yield %score : f32
  } mask_mod {
  ^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
    %true = arith.constant true
    attn.yield %true : i1
  }
  func.func @mqa_flash(%arg0: memref<?x16x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, %arg1: memref<?x1x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, %arg2: memref<?x1x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, %arg3: memref<?x16x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, %arg4: memref<?x16x?xf32, strided<[?, ?, ?], offset: ?>>, %arg5: memref<4xi64>) attributes {attn.variant = @mqa} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c128 = arith.constant 128 : index
    %c32 = arith.constant 32 : index
    %c0_0 = arith.constant 0 : index
    %dim = memref.dim %arg0, %c0_0 : memref<?x16x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>
    %c2 = arith.constant 2 : index
    %dim_1 = memref.dim %arg0, %c2 : memref<?x16x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>
    %c2_2 = arith.constant 2 : index
    %dim_3 = memref.dim %arg1, %c2_2 : memref<?x1x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>
    %c16 = arith.constant 16 : index
    %c16_4 = arith.constant 16 : index
    %0 = arith.ceildivui %dim_1, %c128 : index
    %1 = arith.ceildivui %dim_3, %c32 : index
    scf.parallel (%arg6, %arg7, %arg8) = (%c0, %c0, %c0) to (%dim, %c16, %0) step (%c1, %c1, %c1) {
      %alloca = memref.alloca() {attn.scratch = "scores"} : memref<128x32xf32>
      %alloca_5 = memref.alloca() {attn.scratch = "acc"} : memref<128x64xf32>
      %alloca_6 = memref.alloca() {attn.scratch = "max"} : memref<128xf32>
      %alloca_7 = memref.alloca() {attn.scratch = "sum"} : memref<128xf32>
      %alloca_8 = memref.alloca() {attn.scratch = "alpha"} : memref<128xf32>
      %2 = arith.muli %arg8, %c128 : index
      %3 = arith.addi %2, %c128 : index
      %4 = arith.minui %3, %dim_1 : index
      %5 = arith.subi %4, %c1 : index
      %6 = arith.divui %arg7, %c16_4 : index
      attn.tile_init %alloca_5, %alloca_6, %alloca_7 : memref<128x64xf32>, memref<128xf32>, memref<128xf32>
      scf.for %arg9 = %c0 to %1 step %c1 {
        %7 = arith.muli %arg9, %c32 : index
        attn.tile_scores %arg0[%arg6, %arg7, %2], %arg1[_, %6, %7] into %alloca scale(1.250000e-01) : memref<?x16x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x1x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<128x32xf32>
        attn.tile_mods @mqa %alloca(%arg6, %arg7, %2, %7, %dim_1, %dim_3) status(%arg5) : memref<128x32xf32>, memref<4xi64>
        attn.tile_softmax %alloca, %alloca_6, %alloca_7, %alloca_8 : memref<128x32xf32>, memref<128xf32>, memref<128xf32>, memref<128xf32>
        attn.tile_pv %alloca, %arg2[%arg6, %6, %7], %alloca_8 into %alloca_5 : memref<128x32xf32>, memref<?x1x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<128xf32>, memref<128x64xf32>
      }
      attn.tile_store %alloca_5, %alloca_6, %alloca_7 into %arg3[%arg6, %arg7, %2], %arg4 : memref<128x64xf32>, memref<128xf32>, memref<128xf32>, memref<?x16x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x16x?xf32, strided<[?, ?, ?], offset: ?>>
      scf.reduce 
    }
    return
  }
}
