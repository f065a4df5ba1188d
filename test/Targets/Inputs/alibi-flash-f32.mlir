// The flash form of examples/specs/alibi.json (f32; attnc compile --emit flash),
// checked in so that the targets' lowerings are tested on the flash form alone.
module {
  attn.variant @alibi heads(8, 8) head_dim(64, 64) dtype(f32) scale(1.250000e-01) buffers {slopes = #attn.buffer<f32, [H]>} score_mod {
  ^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
    %0 = attn.buffer_load "slopes"[%h] : f32
    %1 = arith.subi %kv_idx, %q_idx : i64
    %2 = arith.sitofp %1 : i64 to f32
    %3 = arith.mulf %0, %2 : f32
    %4 = arith.addf %score, %3 : f32
    attn.yield %4 : f32
  } mask_mod {
  ^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
    %0 = arith.cmpi sge, %q_idx, %kv_idx : i64
    attn.yield %0 : i1
  }
  func.func @alibi_flash(%arg0: memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>, %arg1: memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>, %arg2: memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>, %arg3: memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>, %arg4: memref<?x8x?xf32, strided<[?, ?, ?], offset: ?>>, %arg5: memref<8xf32, strided<[?], offset: ?>>, %arg6: memref<4xi64>) attributes {attn.variant = @alibi} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %c64_0 = arith.constant 64 : index
    %c0_1 = arith.constant 0 : index
    %dim = memref.dim %arg0, %c0_1 : memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>
    %c2 = arith.constant 2 : index
    %dim_2 = memref.dim %arg0, %c2 : memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>
    %c2_3 = arith.constant 2 : index
    %dim_4 = memref.dim %arg1, %c2_3 : memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>
    %c8 = arith.constant 8 : index
    %c1_5 = arith.constant 1 : index
    %0 = arith.ceildivui %dim_2, %c64 : index
    %1 = arith.ceildivui %dim_4, %c64_0 : index
    scf.parallel (%arg7, %arg8, %arg9) = (%c0, %c0, %c0) to (%dim, %c8, %0) step (%c1, %c1, %c1) {
      %alloca = memref.alloca() {attn.scratch = "scores"} : memref<64x64xf32>
      %alloca_6 = memref.alloca() {attn.scratch = "acc"} : memref<64x64xf32>
      %alloca_7 = memref.alloca() {attn.scratch = "max"} : memref<64xf32>
      %alloca_8 = memref.alloca() {attn.scratch = "sum"} : memref<64xf32>
      %alloca_9 = memref.alloca() {attn.scratch = "alpha"} : memref<64xf32>
      %2 = arith.muli %arg9, %c64 : index
      %3 = arith.addi %2, %c64 : index
      %4 = arith.minui %3, %dim_2 : index
      %5 = arith.subi %4, %c1 : index
      %6 = arith.divui %arg8, %c1_5 : index
      attn.tile_init %alloca_6, %alloca_7, %alloca_8 : memref<64x64xf32>, memref<64xf32>, memref<64xf32>
      scf.for %arg10 = %c0 to %1 step %c1 {
        %7 = arith.muli %arg10, %c64_0 : index
        %8 = arith.addi %7, %c64_0 : index
        %9 = arith.minui %8, %dim_4 : index
        %10 = arith.subi %9, %c1 : index
        %11 = attn.tile_mask_class @alibi(%arg7, %arg8, %2, %5, %7, %10, %dim_2, %dim_4) : index
        %12 = arith.cmpi ne, %11, %c0 : index
        %c2_10 = arith.constant 2 : index
        %13 = arith.cmpi eq, %11, %c2_10 : index
        scf.if %12 {
          attn.tile_scores %arg0[%arg7, %arg8, %2], %arg1[_, %6, %7] into %alloca scale(1.250000e-01) : memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<64x64xf32>
          scf.if %13 {
            attn.tile_mods @alibi %alloca(%arg7, %arg8, %2, %7, %dim_2, %dim_4) buffers(%arg5 : memref<8xf32, strided<[?], offset: ?>>) status(%arg6) {apply_mask} : memref<64x64xf32>, memref<4xi64>
          } else {
            attn.tile_mods @alibi %alloca(%arg7, %arg8, %2, %7, %dim_2, %dim_4) buffers(%arg5 : memref<8xf32, strided<[?], offset: ?>>) status(%arg6) : memref<64x64xf32>, memref<4xi64>
          }
          attn.tile_softmax %alloca, %alloca_7, %alloca_8, %alloca_9 : memref<64x64xf32>, memref<64xf32>, memref<64xf32>, memref<64xf32>
          attn.tile_pv %alloca, %arg2[%arg7, %6, %7], %alloca_9 into %alloca_6 : memref<64x64xf32>, memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<64xf32>, memref<64x64xf32>
        }
      }
      attn.tile_store %alloca_6, %alloca_7, %alloca_8 into %arg3[%arg7, %arg8, %2], %arg4 : memref<64x64xf32>, memref<64xf32>, memref<64xf32>, memref<?x8x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x8x?xf32, strided<[?, ?, ?], offset: ?>>
      scf.reduce 
    }
    return
  }
}
