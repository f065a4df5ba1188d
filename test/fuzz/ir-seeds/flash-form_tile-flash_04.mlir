module {
  attn.variant @narrow_v heads(2, 2) head_dim(64, 32) dtype(bf16) scale(1.250000e-01) score_mod {
  ^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
    attn.yield %score : f32
  } mask_mod {
  ^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
    %true = arith.constant true
    attn.yield %true : i1
  }
  func.func @narrow_v_flash(%arg0: memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, %arg1: memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, %arg2: memref<?x2x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>, %arg3: memref<?x2x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>, %arg4: memref<?x2x?xf32, strided<[?, ?, ?], offset: ?>>, %arg5: memref<4xi64>) attributes {attn.variant = @narrow_v} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %c64_0 = arith.constant 64 : index
    %c0_1 = arith.constant 0 : index
    %dim = memref.dim %arg0, %c0_1 : memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>
    %c2 = arith.constant 2 : index
    %dim_2 = memref.dim %arg0, %c2 : memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>
    %c2_3 = arith.constant 2 : index
    %dim_4 = memref.dim %arg1, %c2_3 : memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>
    %c2_5 = arith.constant 2 : index
    %c1_6 = arith.constant 1 : index
    %0 = arith.ceildivui %dim_2, %c64 : index
    %1 = arith.ceildivui %dim_4, %c64_0 : index
    scf.parallel (%arg6, %arg7, %arg8) = (%c0, %c0, %c0) to (%dim, %c2_5, %0) step (%c1, %c1, %c1) {
      %alloca = memref.alloca() {attn.scratch = "scores"} : memref<64x64xf32>
      %alloca_7 = memref.alloca() {attn.scratch = "acc"} : memref<64x32xf32>
      %alloca_8 = memref.alloca() {attn.scratch = "max"} : memref<64xf32>
      %alloca_9 = memref.alloca() {attn.scratch = "sum"} : memref<64xf32>
      %alloca_10 = memref.alloca() {attn.scratch = "alpha"} : memref<64xf32>
      %2 = arith.muli %arg8, %c64 : index
      %3 = arith.addi %2, %c64 : index
      %4 = arith.minui %3, %dim_2 : index
      %5 = arith.subi %4, %c1 : index
      %6 = arith.divui %arg7, %c1_6 : index
      attn.tile_init %alloca_7, %alloca_8, %alloca_9 : memref<64x32xf32>, memref<64xf32>, memref<64xf32>
      scf.for %arg9 = %c0 to %1 step %c1 {
        %7 = arith.muli %arg9, %c64_0 : index
        attn.tile_scores %arg0[%arg6, %arg7, %2], %arg1[_, %6, %7] into %alloca scale(1.250000e-01) : memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x2x?x64xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<64x64xf32>
        attn.tile_mods @narrow_v %alloca(%arg6, %arg7, %2, %7, %dim_2, %dim_4) status(%arg5) : memref<64x64xf32>, memref<4xi64>
        attn.tile_softmax %alloca, %alloca_8, %alloca_9, %alloca_10 : memref<64x64xf32>, memref<64xf32>, memref<64xf32>, memref<64xf32>
        attn.tile_pv %alloca, %arg2[%arg6, %6, %7], %alloca_10 into %alloca_7 : memref<64x64xf32>, memref<?x2x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<64xf32>, memref<64x32xf32>
      }
      attn.tile_store %alloca_7, %alloca_8, %alloca_9 into %arg3[%arg6, %arg7, %2], %arg4 : memref<64x32xf32>, memref<64xf32>, memref<64xf32>, memref<?x2x?x32xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x2x?xf32, strided<[?, ?, ?], offset: ?>>
      scf.reduce 
    }
    return
  }
}

