// RUN: attn-opt %s -split-input-file -verify-diagnostics

// Verifier errors of the flash-form tile ops: the symbol checks of tile_mask_class and
// tile_mods (dialect/AttnOps.cpp, verifyTileSymbolUse) and the ODS type constraints
// of AttnFlashOps.td.

//===----------------------------------------------------------------------===//
// attn.tile_mask_class
//===----------------------------------------------------------------------===//

func.func @mask_class_unknown_variant(%i: index) -> index {
  // expected-error @+1 {{'attn.tile_mask_class' op 'nope' does not reference an attn.variant}}
  %c = attn.tile_mask_class @nope(%i, %i, %i, %i, %i, %i, %i, %i) : index
  return %c : index
}

// -----

// A symbol that exists but is not an attn.variant.
func.func @not_a_variant(%i: index) -> index {
  // expected-error @+1 {{'attn.tile_mask_class' op 'not_a_variant' does not reference an attn.variant}}
  %c = attn.tile_mask_class @not_a_variant(%i, %i, %i, %i, %i, %i, %i, %i) : index
  return %c : index
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25) scalars {off = i64}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %off = attn.scalar "off" : i64
  %0 = arith.addi %q_idx, %off : i64
  %1 = arith.cmpi sge, %0, %kv_idx : i64
  attn.yield %1 : i1
}
func.func @mask_class_missing_scalar(%i: index) -> index {
  // expected-error @+1 {{'attn.tile_mask_class' op variant 'v' declares 1 scalar(s) but 0 are passed}}
  %c = attn.tile_mask_class @v(%i, %i, %i, %i, %i, %i, %i, %i) : index
  return %c : index
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @mask_class_extra_scalar(%i: index, %x: i32) -> index {
  // expected-error @+1 {{'attn.tile_mask_class' op variant 'v' declares 0 scalar(s) but 1 are passed}}
  %c = attn.tile_mask_class @v(%i, %i, %i, %i, %i, %i, %i, %i) scalars(%x : i32) : index
  return %c : index
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25) scalars {off = i64, temp = f32}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
// Scalars come in the sorted order of their names: off (i64) first, then temp (f32).
func.func @mask_class_scalar_type(%i: index, %off: i64, %temp: f32) -> index {
  // expected-error @+1 {{'attn.tile_mask_class' op scalar 'off' has the wrong type}}
  %c = attn.tile_mask_class @v(%i, %i, %i, %i, %i, %i, %i, %i) scalars(%temp, %off : f32, i64) : index
  return %c : index
}

// -----

func.func @mask_class_scalar_not_allowed(%i: index, %x: f64) -> index {
  // expected-error @+1 {{'attn.tile_mask_class' op operand #8 must be variadic of 32-bit signless integer or 64-bit signless integer or 32-bit float, but got 'f64'}}
  %c = attn.tile_mask_class @v(%i, %i, %i, %i, %i, %i, %i, %i) scalars(%x : f64) : index
  return %c : index
}

//===----------------------------------------------------------------------===//
// attn.tile_mods
//===----------------------------------------------------------------------===//

// -----

func.func @mods_unknown_variant(%s: memref<64x64xf32>, %st: memref<4xi64>, %i: index) {
  // expected-error @+1 {{'attn.tile_mods' op 'nope' does not reference an attn.variant}}
  attn.tile_mods @nope %s(%i, %i, %i, %i, %i, %i) status(%st) : memref<64x64xf32>, memref<4xi64>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25) scalars {off = i64, temp = f32}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @mods_scalar_count(%s: memref<64x64xf32>, %st: memref<4xi64>, %i: index, %off: i64) {
  // expected-error @+1 {{'attn.tile_mods' op variant 'v' declares 2 scalar(s) but 1 are passed}}
  attn.tile_mods @v %s(%i, %i, %i, %i, %i, %i) scalars(%off : i64) status(%st) : memref<64x64xf32>, memref<4xi64>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25) scalars {off = i64, temp = f32}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @mods_scalar_type(%s: memref<64x64xf32>, %st: memref<4xi64>, %i: index, %off: i64, %temp: i32) {
  // expected-error @+1 {{'attn.tile_mods' op scalar 'temp' has the wrong type}}
  attn.tile_mods @v %s(%i, %i, %i, %i, %i, %i) scalars(%off, %temp : i64, i32) status(%st) : memref<64x64xf32>, memref<4xi64>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
    buffers {doc = #attn.buffer<i32, [B, KV_LEN]>, slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @mods_buffer_count(%s: memref<64x64xf32>, %st: memref<4xi64>, %i: index, %slopes: memref<4xf32>) {
  // expected-error @+1 {{'attn.tile_mods' op variant 'v' declares 2 buffer(s) but 1 are passed}}
  attn.tile_mods @v %s(%i, %i, %i, %i, %i, %i) buffers(%slopes : memref<4xf32>) status(%st) : memref<64x64xf32>, memref<4xi64>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
    buffers {doc = #attn.buffer<i32, [B, KV_LEN]>, slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
// doc holds i32; an i64 memref of the right rank is rejected.
func.func @mods_buffer_type(%s: memref<64x64xf32>, %st: memref<4xi64>, %i: index,
                            %doc: memref<?x?xi64>, %slopes: memref<4xf32>) {
  // expected-error @+1 {{'attn.tile_mods' op buffer 'doc' must be a memref of rank 2 and type 'i32'}}
  attn.tile_mods @v %s(%i, %i, %i, %i, %i, %i) buffers(%doc, %slopes : memref<?x?xi64>, memref<4xf32>) status(%st) : memref<64x64xf32>, memref<4xi64>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
    buffers {doc = #attn.buffer<i32, [B, KV_LEN]>, slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
// slopes has one dimension; a rank-2 f32 memref is rejected.
func.func @mods_buffer_rank(%s: memref<64x64xf32>, %st: memref<4xi64>, %i: index,
                            %doc: memref<?x?xi32>, %slopes: memref<4x1xf32>) {
  // expected-error @+1 {{'attn.tile_mods' op buffer 'slopes' must be a memref of rank 1 and type 'f32'}}
  attn.tile_mods @v %s(%i, %i, %i, %i, %i, %i) buffers(%doc, %slopes : memref<?x?xi32>, memref<4x1xf32>) status(%st) : memref<64x64xf32>, memref<4xi64>
  return
}

// -----

func.func @mods_buffer_element_not_allowed(%s: memref<64x64xf32>, %st: memref<4xi64>, %i: index, %x: memref<4xf16>) {
  // expected-error @+1 {{'attn.tile_mods' op operand #7 must be variadic of memref of 32-bit float or 32-bit signless integer or 64-bit signless integer values, but got 'memref<4xf16>'}}
  attn.tile_mods @v %s(%i, %i, %i, %i, %i, %i) buffers(%x : memref<4xf16>) status(%st) : memref<64x64xf32>, memref<4xi64>
  return
}

// -----

func.func @mods_status_type(%s: memref<64x64xf32>, %st: memref<4xi32>, %i: index) {
  // expected-error @+1 {{'attn.tile_mods' op operand #7 must be 1D memref of 64-bit signless integer values, but got 'memref<4xi32>'}}
  attn.tile_mods @v %s(%i, %i, %i, %i, %i, %i) status(%st) : memref<64x64xf32>, memref<4xi32>
  return
}

//===----------------------------------------------------------------------===//
// ODS type constraints of the other tile ops
//===----------------------------------------------------------------------===//

// -----

func.func @init_f16_tile(%acc: memref<64x64xf16>, %m: memref<64xf32>, %l: memref<64xf32>) {
  // expected-error @+1 {{'attn.tile_init' op operand #0 must be 2D memref of 32-bit float values, but got 'memref<64x64xf16>'}}
  attn.tile_init %acc, %m, %l : memref<64x64xf16>, memref<64xf32>, memref<64xf32>
  return
}

// -----

func.func @init_rank2_max(%acc: memref<64x64xf32>, %m: memref<64x1xf32>, %l: memref<64xf32>) {
  // expected-error @+1 {{'attn.tile_init' op operand #1 must be 1D memref of 32-bit float values, but got 'memref<64x1xf32>'}}
  attn.tile_init %acc, %m, %l : memref<64x64xf32>, memref<64x1xf32>, memref<64xf32>
  return
}

// -----

func.func @scores_rank3_q(%q: memref<?x?x64xf32>, %k: memref<?x4x?x64xf32>, %s: memref<64x64xf32>, %i: index) {
  // expected-error @+1 {{'attn.tile_scores' op operand #0 must be 4D memref of 32-bit float or 16-bit float or bfloat16 type values, but got 'memref<?x?x64xf32>'}}
  attn.tile_scores %q[%i, %i, %i], %k[_, %i, %i] into %s scale(0.125) : memref<?x?x64xf32>, memref<?x4x?x64xf32>, memref<64x64xf32>
  return
}

// -----

func.func @scores_f64_k(%q: memref<?x4x?x64xf32>, %k: memref<?x4x?x64xf64>, %s: memref<64x64xf32>, %i: index) {
  // expected-error @+1 {{'attn.tile_scores' op operand #1 must be 4D memref of 32-bit float or 16-bit float or bfloat16 type values, but got 'memref<?x4x?x64xf64>'}}
  attn.tile_scores %q[%i, %i, %i], %k[_, %i, %i] into %s scale(0.125) : memref<?x4x?x64xf32>, memref<?x4x?x64xf64>, memref<64x64xf32>
  return
}

// -----

func.func @softmax_bf16_scores(%s: memref<64x64xbf16>, %m: memref<64xf32>, %l: memref<64xf32>, %a: memref<64xf32>) {
  // expected-error @+1 {{'attn.tile_softmax' op operand #0 must be 2D memref of 32-bit float values, but got 'memref<64x64xbf16>'}}
  attn.tile_softmax %s, %m, %l, %a : memref<64x64xbf16>, memref<64xf32>, memref<64xf32>, memref<64xf32>
  return
}

// -----

func.func @pv_rank3_v(%p: memref<64x64xf32>, %v: memref<?x?x64xf32>, %a: memref<64xf32>, %acc: memref<64x64xf32>, %i: index) {
  // expected-error @+1 {{'attn.tile_pv' op operand #1 must be 4D memref of 32-bit float or 16-bit float or bfloat16 type values, but got 'memref<?x?x64xf32>'}}
  attn.tile_pv %p, %v[%i, %i, %i], %a into %acc : memref<64x64xf32>, memref<?x?x64xf32>, memref<64xf32>, memref<64x64xf32>
  return
}

// -----

func.func @store_rank2_lse(%acc: memref<64x64xf32>, %m: memref<64xf32>, %l: memref<64xf32>,
                           %out: memref<?x4x?x64xf32>, %lse: memref<?x?xf32>, %i: index) {
  // expected-error @+1 {{'attn.tile_store' op operand #4 must be 3D memref of 32-bit float values, but got 'memref<?x?xf32>'}}
  attn.tile_store %acc, %m, %l into %out[%i, %i, %i], %lse : memref<64x64xf32>, memref<64xf32>, memref<64xf32>, memref<?x4x?x64xf32>, memref<?x?xf32>
  return
}
