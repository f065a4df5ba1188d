module {
  attn.variant @biased heads(4, 4) head_dim(16, 16) dtype(f32) scale(2.500000e-01) scalars {offset = i32, temp = f32} buffers {doc = #attn.buffer<i32, [B, KV_LEN]>, slopes = #attn.buffer<f32, [H]>} score_mod {
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
    %false = arith.constant false
    %c0_i32 = arith.constant 0 : i32
    %offset = attn.scalar "offset" : i32
    %0 = arith.extsi %offset : i32 to i64
    %1 = arith.addi %q_idx, %0 : i64
    %2 = arith.cmpi sge, %1, %kv_idx : i64
    %3 = scf.if %2 -> (i1) {
      %4 = attn.buffer_load "doc"[%b, %kv_idx] : i32
      %5 = arith.cmpi eq, %4, %c0_i32 : i32
      scf.yield %5 : i1
    } else {
      scf.yield %false : i1
    }
    attn.yield %3 : i1
  }
  func.func @biased_flash(%arg0: memref<?x4x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>, %arg1: memref<?x4x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>, %arg2: memref<?x4x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>, %arg3: memref<?x4x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>, %arg4: memref<?x4x?xf32, strided<[?, ?, ?], offset: ?>>, %arg5: i32, %arg6: f32, %arg7: memref<?x?xi32, strided<[?, ?], offset: ?>>, %arg8: memref<4xf32, strided<[?], offset: ?>>, %arg9: memref<4xi64>) attributes {attn.variant = @biased} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %c64_0 = arith.constant 64 : index
    %c0_1 = arith.constant 0 : index
    %dim = memref.dim %arg0, %c0_1 : memref<?x4x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>
    %c2 = arith.constant 2 : index
    %dim_2 = memref.dim %arg0, %c2 : memref<?x4x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>
    %c2_3 = arith.constant 2 : index
    %dim_4 = memref.dim %arg1, %c2_3 : memref<?x4x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>
    %c4 = arith.constant 4 : index
    %c1_5 = arith.constant 1 : index
    %0 = arith.ceildivui %dim_2, %c64 : index
    %1 = arith.ceildivui %dim_4, %c64_0 : index
    scf.parallel (%arg10, %arg11, %arg12) = (%c0, %c0, %c0) to (%dim, %c4, %0) step (%c1, %c1, %c1) {
      %alloca = memref.alloca() {attn.scratch = "scores"} : memref<64x64xf32>
      %alloca_6 = memref.alloca() {attn.scratch = "acc"} : memref<64x16xf32>
      %alloca_7 = memref.alloca() {attn.scratch = "max"} : memref<64xf32>
      %alloca_8 = memref.alloca() {attn.scratch = "sum"} : memref<64xf32>
      %alloca_9 = memref.alloca() {attn.scratch = "alpha"} : memref<64xf32>
      %2 = arith.muli %arg12, %c64 : index
      %3 = arith.addi %2, %c64 : index
      %4 = arith.minui %3, %dim_2 : index
      %5 = arith.subi %4, %c1 : index
      %6 = arith.divui %arg11, %c1_5 : index
      attn.tile_init %alloca_6, %alloca_7, %alloca_8 : memref<64x16xf32>, memref<64xf32>, memref<64xf32>
      scf.for %arg13 = %c0 to %1 step %c1 {
        %7 = arith.muli %arg13, %c64_0 : index
        %8 = arith.addi %7, %c64_0 : index
        %9 = arith.minui %8, %dim_4 : index
        %10 = arith.subi %9, %c1 : index
        %11 = attn.tile_mask_class @biased(%arg10, %arg11, %2, %5, %7, %10, %dim_2, %dim_4) scalars(%arg5, %arg6 : i32, f32) : index
        %12 = arith.cmpi ne, %11, %c0 : index
        %c2_10 = arith.constant 2 : index
        %13 = arith.cmpi eq, %11, %c2_10 : index
        scf.if %12 {
          attn.tile_scores %arg0[%arg10, %arg11, %2], %arg1[_, %6, %7] into %alloca scale(2.500000e-01) : memref<?x4x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x4x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<64x64xf32>
          scf.if %13 {
            attn.tile_mods @biased %alloca(%arg10, %arg11, %2, %7, %dim_2, %dim_4) scalars(%arg5, %arg6 : i32, f32) buffers(%arg7, %arg8 : memref<?x?xi32, strided<[?, ?], offset: ?>>, memref<4xf32, strided<[?], offset: ?>>) status(%arg9) {apply_mask} : memref<64x64xf32>, memref<4xi64>
          } else {
            attn.tile_mods @biased %alloca(%arg10, %arg11, %2, %7, %dim_2, %dim_4) scalars(%arg5, %arg6 : i32, f32) buffers(%arg7, %arg8 : memref<?x?xi32, strided<[?, ?], offset: ?>>, memref<4xf32, strided<[?], offset: ?>>) status(%arg9) : memref<64x64xf32>, memref<4xi64>
          }
          attn.tile_softmax %alloca, %alloca_7, %alloca_8, %alloca_9 : memref<64x64xf32>, memref<64xf32>, memref<64xf32>, memref<64xf32>
          attn.tile_pv %alloca, %arg2[%arg10, %6, %7], %alloca_9 into %alloca_6 : memref<64x64xf32>, memref<?x4x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<64xf32>, memref<64x16xf32>
        }
      }
      attn.tile_store %alloca_6, %alloca_7, %alloca_8 into %arg3[%arg10, %arg11, %2], %arg4 : memref<64x16xf32>, memref<64xf32>, memref<64xf32>, memref<?x4x?x16xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x4x?xf32, strided<[?, ?, ?], offset: ?>>
      scf.reduce 
    }
    return
  }
}

