// The flash form of examples/specs/gqa.json (f16, 8 query heads on 2 key/value
// heads, head dim 128; attnc compile --emit flash): the tensor-core kernel's input.
module {
  attn.variant @gqa heads(32, 8) head_dim(128, 128) dtype(f16) scale(0.088388347648318433) score_mod {
  ^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
    attn.yield %score : f32
  } mask_mod {
  ^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
    %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
    attn.yield %0 : i1
  }
  func.func @gqa_flash(%arg0: memref<?x32x?x128xf16, strided<[?, ?, ?, ?], offset: ?>>, %arg1: memref<?x8x?x128xf16, strided<[?, ?, ?, ?], offset: ?>>, %arg2: memref<?x8x?x128xf16, strided<[?, ?, ?, ?], offset: ?>>, %arg3: memref<?x32x?x128xf16, strided<[?, ?, ?, ?], offset: ?>>, %arg4: memref<?x32x?xf32, strided<[?, ?, ?], offset: ?>>, %arg5: memref<4xi64>) attributes {attn.variant = @gqa} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %c32 = arith.constant 32 : index
    %c0_0 = arith.constant 0 : index
    %dim = memref.dim %arg0, %c0_0 : memref<?x32x?x128xf16, strided<[?, ?, ?, ?], offset: ?>>
    %c2 = arith.constant 2 : index
    %dim_1 = memref.dim %arg0, %c2 : memref<?x32x?x128xf16, strided<[?, ?, ?, ?], offset: ?>>
    %c2_2 = arith.constant 2 : index
    %dim_3 = memref.dim %arg1, %c2_2 : memref<?x8x?x128xf16, strided<[?, ?, ?, ?], offset: ?>>
    %c32_4 = arith.constant 32 : index
    %c4 = arith.constant 4 : index
    %0 = arith.ceildivui %dim_1, %c64 : index
    %1 = arith.ceildivui %dim_3, %c32 : index
    scf.parallel (%arg6, %arg7, %arg8) = (%c0, %c0, %c0) to (%dim, %c32_4, %0) step (%c1, %c1, %c1) {
      %alloca = memref.alloca() {attn.scratch = "scores"} : memref<64x32xf32>
      %alloca_5 = memref.alloca() {attn.scratch = "acc"} : memref<64x128xf32>
      %alloca_6 = memref.alloca() {attn.scratch = "max"} : memref<64xf32>
      %alloca_7 = memref.alloca() {attn.scratch = "sum"} : memref<64xf32>
      %alloca_8 = memref.alloca() {attn.scratch = "alpha"} : memref<64xf32>
      %2 = arith.muli %arg8, %c64 : index
      %3 = arith.addi %2, %c64 : index
      %4 = arith.minui %3, %dim_1 : index
      %5 = arith.subi %4, %c1 : index
      %6 = arith.divui %arg7, %c4 : index
      attn.tile_init %alloca_5, %alloca_6, %alloca_7 : memref<64x128xf32>, memref<64xf32>, memref<64xf32>
      scf.for %arg9 = %c0 to %1 step %c1 {
        %7 = arith.muli %arg9, %c32 : index
        %8 = arith.addi %7, %c32 : index
        %9 = arith.minui %8, %dim_3 : index
        %10 = arith.subi %9, %c1 : index
        %11 = attn.tile_mask_class @gqa(%arg6, %arg7, %2, %5, %7, %10, %dim_1, %dim_3) : index
        %12 = arith.cmpi ne, %11, %c0 : index
        %c2_9 = arith.constant 2 : index
        %13 = arith.cmpi eq, %11, %c2_9 : index
        scf.if %12 {
          attn.tile_scores %arg0[%arg6, %arg7, %2], %arg1[_, %6, %7] into %alloca scale(0.088388347648318433) : memref<?x32x?x128xf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x8x?x128xf16, strided<[?, ?, ?, ?], offset: ?>>, memref<64x32xf32>
          scf.if %13 {
            attn.tile_mods @gqa %alloca(%arg6, %arg7, %2, %7, %dim_1, %dim_3) status(%arg5) {apply_mask} : memref<64x32xf32>, memref<4xi64>
          } else {
            attn.tile_mods @gqa %alloca(%arg6, %arg7, %2, %7, %dim_1, %dim_3) status(%arg5) : memref<64x32xf32>, memref<4xi64>
          }
          attn.tile_softmax %alloca, %alloca_6, %alloca_7, %alloca_8 : memref<64x32xf32>, memref<64xf32>, memref<64xf32>, memref<64xf32>
          attn.tile_pv %alloca, %arg2[%arg6, %6, %7], %alloca_8 into %alloca_5 : memref<64x32xf32>, memref<?x8x?x128xf16, strided<[?, ?, ?, ?], offset: ?>>, memref<64xf32>, memref<64x128xf32>
        }
      }
      attn.tile_store %alloca_5, %alloca_6, %alloca_7 into %arg3[%arg6, %arg7, %2], %arg4 : memref<64x128xf32>, memref<64xf32>, memref<64xf32>, memref<?x32x?x128xf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x32x?xf32, strided<[?, ?, ?], offset: ?>>
      scf.reduce 
    }
    return
  }
}
