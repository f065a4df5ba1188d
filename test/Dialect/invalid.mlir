// RUN: attn-opt %s -split-input-file -verify-diagnostics --allow-unregistered-dialect

// Every verifier error of the attn dialect (dialect/AttnOps.cpp, dialect/AttnAttrs.cpp
// and the ODS constraints of AttnOps.td), one case per error. The unregistered op
// "test.term" is used only to build a region that does not end with attn.yield.

//===----------------------------------------------------------------------===//
// attn.variant: head layout, dtype, scale
//===----------------------------------------------------------------------===//

// expected-error @+1 {{'attn.variant' op query heads (6) must be a multiple of key/value heads (4)}}
attn.variant @heads_not_multiple heads(6, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op attribute 'heads_q' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
attn.variant @zero_heads_q heads(0, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op attribute 'heads_kv' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
attn.variant @negative_heads_kv heads(4, -2) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op attribute 'head_dim' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
attn.variant @zero_head_dim heads(4, 4) head_dim(0, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op attribute 'head_dim_v' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
attn.variant @negative_head_dim_v heads(4, 4) head_dim(16, -16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op attribute 'dtype' failed to satisfy constraint: type attribute of 32-bit float or 16-bit float or bfloat16 type}}
attn.variant @bad_dtype heads(4, 4) head_dim(16, 16) dtype(i32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// +inf.
// expected-error @+1 {{'attn.variant' op scale must be finite}}
attn.variant @infinite_scale heads(4, 4) head_dim(16, 16) dtype(f32) scale(0x7FF0000000000000)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// NaN.
// expected-error @+1 {{'attn.variant' op scale must be finite}}
attn.variant @nan_scale heads(4, 4) head_dim(16, 16) dtype(f32) scale(0x7FF8000000000000)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

//===----------------------------------------------------------------------===//
// attn.variant: constants, scalars, buffers
//===----------------------------------------------------------------------===//

// -----

// expected-error @+1 {{'attn.variant' op constant name 'score' is reserved}}
attn.variant @reserved_constant heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    constants {score = 1.0 : f64}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op scalar name 'exp' is reserved}}
attn.variant @reserved_scalar heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    scalars {exp = f32}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op buffer name 'q_idx' is reserved}}
attn.variant @reserved_buffer heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {q_idx = #attn.buffer<i64, [Q_LEN]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op name 'window' is declared more than once}}
attn.variant @duplicate_constant_scalar heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    constants {window = 128 : i64} scalars {window = i64}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op name 'slopes' is declared more than once}}
attn.variant @duplicate_scalar_buffer heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    scalars {slopes = f32} buffers {slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op constant 'softcap' must be an i64 or f64 number}}
attn.variant @constant_f32 heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    constants {softcap = 50.0 : f32}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op constant 'window' must be an i64 or f64 number}}
attn.variant @constant_i32 heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    constants {window = 128 : i32}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op constant 'name' must be an i64 or f64 number}}
attn.variant @constant_string heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    constants {name = "gemma"}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op scalar 'temp' must have type i32, i64 or f32}}
attn.variant @scalar_f16 heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    scalars {temp = f16}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op scalar 'offset' must have type i32, i64 or f32}}
attn.variant @scalar_not_a_type heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    scalars {offset = 3 : i64}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op buffer 'slopes' must be declared with #attn.buffer<...>}}
attn.variant @buffer_not_decl heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {slopes = tensor<4xf32>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

//===----------------------------------------------------------------------===//
// #attn.buffer
//===----------------------------------------------------------------------===//

// -----

attn.variant @buffer_f16 heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    // expected-error @+1 {{buffer element type must be f32, i32 or i64, got 'f16'}}
    buffers {slopes = #attn.buffer<f16, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.variant @buffer_empty_shape heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    // expected-error @+1 {{buffer must have at least one dimension}}
    buffers {slopes = #attn.buffer<f32, []>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.variant @buffer_unknown_dim heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    // expected-error @+1 {{expected a positive integer or one of B, H, H_KV, Q_LEN, KV_LEN, got 'SEQ'}}
    buffers {slopes = #attn.buffer<f32, [H, SEQ]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.variant @buffer_zero_dim heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    // expected-error @+1 {{buffer dimension must be positive or symbolic, got 0}}
    buffers {slopes = #attn.buffer<f32, [H, 0]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.variant @buffer_negative_dim heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    // expected-error @+1 {{buffer dimension must be positive or symbolic, got -7}}
    buffers {slopes = #attn.buffer<f32, [-7]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

//===----------------------------------------------------------------------===//
// attn.variant: regions and attn.yield
//===----------------------------------------------------------------------===//

// -----

// expected-error @+1 {{'attn.variant' op 'score_mod' region must take (score: f32, b, h, q_idx, kv_idx, q_len, kv_len: i64)}}
attn.variant @score_mod_arg_count heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op 'score_mod' region must take (score: f32, b, h, q_idx, kv_idx, q_len, kv_len: i64)}}
attn.variant @score_mod_score_type heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f16, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %s = arith.extf %score : f16 to f32
  attn.yield %s : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op 'score_mod' region must take (score: f32, b, h, q_idx, kv_idx, q_len, kv_len: i64)}}
attn.variant @score_mod_index_type heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i32, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// mask_mod does not take a score.
// expected-error @+1 {{'attn.variant' op 'mask_mod' region must take (b, h, q_idx, kv_idx, q_len, kv_len: i64)}}
attn.variant @mask_mod_arg_count heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op 'mask_mod' region must take (b, h, q_idx, kv_idx, q_len, kv_len: i64)}}
attn.variant @mask_mod_arg_type heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: index, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.variant @score_mod_yield_type heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %s = arith.extf %score : f32 to f64
  // expected-error @+1 {{'attn.yield' op in 'score_mod' must yield 'f32', got 'f64'}}
  attn.yield %s : f64
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.variant @mask_mod_yield_type heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.subi %q_idx, %kv_idx : i64
  // expected-error @+1 {{'attn.yield' op in 'mask_mod' must yield 'i1', got 'i64'}}
  attn.yield %c : i64
}

// -----

// expected-error @+1 {{'attn.variant' op 'score_mod' region must end with attn.yield}}
attn.variant @score_mod_no_yield heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  "test.term"(%score) : (f32) -> ()
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'attn.variant' op 'mask_mod' region must end with attn.yield}}
attn.variant @mask_mod_no_yield heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  "test.term"(%t) : (i1) -> ()
}

// -----

// attn.yield only terminates the regions of an attn.variant.
func.func @yield_outside_variant(%x: f32) {
  // expected-error @+1 {{'attn.yield' op expects parent op 'attn.variant'}}
  attn.yield %x : f32
}

//===----------------------------------------------------------------------===//
// attn.scalar
//===----------------------------------------------------------------------===//

// -----

attn.variant @scalar_undeclared heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    scalars {offset = i32}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  // expected-error @+1 {{'attn.scalar' op reads undeclared scalar 'window'}}
  %w = attn.scalar "window" : i64
  %c = arith.cmpi slt, %q_idx, %w : i64
  attn.yield %c : i1
}

// -----

attn.variant @scalar_wrong_type heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    scalars {offset = i32}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  // expected-error @+1 {{'attn.scalar' op scalar 'offset' is declared 'i32' but read as 'i64'}}
  %o = attn.scalar "offset" : i64
  %c = arith.cmpi slt, %q_idx, %o : i64
  attn.yield %c : i1
}

// -----

// A constant is folded into the regions; it is not a scalar.
attn.variant @scalar_reads_constant heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    constants {window = 16 : i64}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  // expected-error @+1 {{'attn.scalar' op reads undeclared scalar 'window'}}
  %w = attn.scalar "window" : i64
  %c = arith.cmpi slt, %q_idx, %w : i64
  attn.yield %c : i1
}

// -----

func.func @scalar_outside_variant() -> i32 {
  // expected-error @+1 {{'attn.scalar' op must be nested in an attn.variant region}}
  %o = attn.scalar "offset" : i32
  return %o : i32
}

// -----

attn.variant @scalar_result_f16 heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    scalars {temp = f32}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  // expected-error @+1 {{'attn.scalar' op result #0 must be 32-bit signless integer or 64-bit signless integer or 32-bit float, but got 'f16'}}
  %t = attn.scalar "temp" : f16
  %t32 = arith.extf %t : f16 to f32
  %s = arith.divf %score, %t32 : f32
  attn.yield %s : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

//===----------------------------------------------------------------------===//
// attn.buffer_load
//===----------------------------------------------------------------------===//

// -----

attn.variant @load_undeclared heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  // expected-error @+1 {{'attn.buffer_load' op reads undeclared buffer 'bias'}}
  %x = attn.buffer_load "bias"[%h] : f32
  %s = arith.addf %score, %x : f32
  attn.yield %s : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.variant @load_too_many_indices heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  // expected-error @+1 {{'attn.buffer_load' op buffer 'slopes' has 1 dimension(s) but is indexed with 2}}
  %x = attn.buffer_load "slopes"[%b, %h] : f32
  %s = arith.addf %score, %x : f32
  attn.yield %s : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.variant @load_too_few_indices heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {bias = #attn.buffer<f32, [Q_LEN, KV_LEN]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  // expected-error @+1 {{'attn.buffer_load' op buffer 'bias' has 2 dimension(s) but is indexed with 1}}
  %x = attn.buffer_load "bias"[%q_idx] : f32
  %s = arith.addf %score, %x : f32
  attn.yield %s : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.variant @load_wrong_type heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {doc = #attn.buffer<i32, [KV_LEN]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  // expected-error @+1 {{'attn.buffer_load' op buffer 'doc' holds 'i32' but is read as 'i64'}}
  %d = attn.buffer_load "doc"[%kv_idx] : i64
  %c = arith.cmpi eq, %d, %q_idx : i64
  attn.yield %c : i1
}

// -----

func.func @load_outside_variant(%i: i64) -> f32 {
  // expected-error @+1 {{'attn.buffer_load' op must be nested in an attn.variant region}}
  %x = attn.buffer_load "slopes"[%i] : f32
  return %x : f32
}

// -----

// The custom syntax only takes i64 indices; the generic form reaches the ODS check.
attn.variant @load_i32_index heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %h32 = arith.trunci %h : i64 to i32
  // expected-error @+1 {{'attn.buffer_load' op operand #0 must be variadic of 64-bit signless integer, but got 'i32'}}
  %x = "attn.buffer_load"(%h32) <{buffer = "slopes"}> : (i32) -> f32
  %s = arith.addf %score, %x : f32
  attn.yield %s : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

//===----------------------------------------------------------------------===//
// attn.attention
//===----------------------------------------------------------------------===//

// -----

func.func @missing_variant(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'attn.attention' op 'nope' does not reference an attn.variant}}
  %out, %lse = attn.attention @nope(%q, %k, %v) : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>, tensor<1x4x8xf32>
  return
}

// -----

func.func @not_a_variant(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'attn.attention' op 'not_a_variant' does not reference an attn.variant}}
  %out, %lse = attn.attention @not_a_variant(%q, %k, %v) : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>, tensor<1x4x8xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(bf16) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @q_element_type(%q: tensor<1x4x8x16xf16>, %k: tensor<1x4x8x16xbf16>, %v: tensor<1x4x8x16xbf16>) {
  // expected-error @+1 {{'attn.attention' op q must have element type 'bf16', got 'f16'}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<1x4x8x16xf16>, tensor<1x4x8x16xbf16>, tensor<1x4x8x16xbf16> -> tensor<1x4x8x16xbf16>, tensor<1x4x8xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f16) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @v_element_type(%q: tensor<1x4x8x16xf16>, %k: tensor<1x4x8x16xf16>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'attn.attention' op v must have element type 'f16', got 'f32'}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf16>, tensor<1x4x8xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f16) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @out_element_type(%q: tensor<1x4x8x16xf16>, %k: tensor<1x4x8x16xf16>, %v: tensor<1x4x8x16xf16>) {
  // expected-error @+1 {{'attn.attention' op out must have element type 'f16', got 'f32'}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16> -> tensor<1x4x8x16xf32>, tensor<1x4x8xf32>
  return
}

// -----

// lse is always f32; the ODS result constraint rejects anything else.
attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f16) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @lse_not_f32(%q: tensor<1x4x8x16xf16>, %k: tensor<1x4x8x16xf16>, %v: tensor<1x4x8x16xf16>) {
  // expected-error @+1 {{'attn.attention' op result #1 must be ranked tensor of 32-bit float values, but got 'tensor<1x4x8xf16>'}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16> -> tensor<1x4x8x16xf16>, tensor<1x4x8xf16>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @q_rank(%q: tensor<4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'attn.attention' op q must have rank 4, got 3}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>, tensor<1x4x8xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @lse_rank(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'attn.attention' op lse must have rank 3, got 4}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>, tensor<1x4x8x1xf32>
  return
}

// -----

attn.variant @v heads(8, 2) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @q_heads(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) {
  // expected-error @+1 {{'attn.attention' op q dimension 1 must be 8, got 2}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x8x?x16xf32>, tensor<?x8x?xf32>
  return
}

// -----

attn.variant @v heads(8, 2) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @kv_heads(%q: tensor<?x8x?x16xf32>, %k: tensor<?x8x?x16xf32>, %v: tensor<?x8x?x16xf32>) {
  // expected-error @+1 {{'attn.attention' op k dimension 1 must be 2, got 8}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<?x8x?x16xf32>, tensor<?x8x?x16xf32>, tensor<?x8x?x16xf32> -> tensor<?x8x?x16xf32>, tensor<?x8x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @lse_heads(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>) {
  // expected-error @+1 {{'attn.attention' op lse dimension 1 must be 4, got 1}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x1x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(64, 32) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @q_head_dim(%q: tensor<?x4x?x32xf32>, %k: tensor<?x4x?x64xf32>, %v: tensor<?x4x?x32xf32>) {
  // expected-error @+1 {{'attn.attention' op q dimension 3 must be 64, got 32}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<?x4x?x32xf32>, tensor<?x4x?x64xf32>, tensor<?x4x?x32xf32> -> tensor<?x4x?x32xf32>, tensor<?x4x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(64, 32) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @k_head_dim(%q: tensor<?x4x?x64xf32>, %k: tensor<?x4x?x32xf32>, %v: tensor<?x4x?x32xf32>) {
  // expected-error @+1 {{'attn.attention' op k dimension 3 must be 64, got 32}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<?x4x?x64xf32>, tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32> -> tensor<?x4x?x32xf32>, tensor<?x4x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(64, 32) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @v_head_dim_v(%q: tensor<?x4x?x64xf32>, %k: tensor<?x4x?x64xf32>, %v: tensor<?x4x?x64xf32>) {
  // expected-error @+1 {{'attn.attention' op v dimension 3 must be 32, got 64}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32> -> tensor<?x4x?x32xf32>, tensor<?x4x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(64, 32) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @out_head_dim_v(%q: tensor<?x4x?x64xf32>, %k: tensor<?x4x?x64xf32>, %v: tensor<?x4x?x32xf32>) {
  // expected-error @+1 {{'attn.attention' op out dimension 3 must be 32, got 64}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32>, tensor<?x4x?x32xf32> -> tensor<?x4x?x64xf32>, tensor<?x4x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @batch_mismatch(%q: tensor<2x4x?x16xf32>, %k: tensor<3x4x?x16xf32>, %v: tensor<?x4x?x16xf32>) {
  // expected-error @+1 {{'attn.attention' op k dimension 0 (B) is 3 but q has B = 2}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<2x4x?x16xf32>, tensor<3x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
  return
}

// -----

// B is bound by the first operand with a static batch (here v).
attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @batch_mismatch_lse(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<5x4x?x16xf32>) {
  // expected-error @+1 {{'attn.attention' op lse dimension 0 (B) is 1 but v has B = 5}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<5x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<1x4x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @q_len_mismatch(%q: tensor<?x4x128x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>) {
  // expected-error @+1 {{'attn.attention' op out dimension 2 (Q_LEN) is 64 but q has Q_LEN = 128}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<?x4x128x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x64x16xf32>, tensor<?x4x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @q_len_mismatch_lse(%q: tensor<?x4x128x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>) {
  // expected-error @+1 {{'attn.attention' op lse dimension 2 (Q_LEN) is 127 but q has Q_LEN = 128}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<?x4x128x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x127xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @kv_len_mismatch(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x256x16xf32>, %v: tensor<?x4x255x16xf32>) {
  // expected-error @+1 {{'attn.attention' op v dimension 2 (KV_LEN) is 255 but k has KV_LEN = 256}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<?x4x?x16xf32>, tensor<?x4x256x16xf32>, tensor<?x4x255x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    scalars {offset = i32, window = i64}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @scalar_count(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>, %o: i32) {
  // expected-error @+1 {{'attn.attention' op variant 'v' declares 2 scalar(s) but 1 are passed}}
  %out, %lse = attn.attention @v(%q, %k, %v) scalars(%o : i32) : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @scalar_undeclared(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>, %o: i32) {
  // expected-error @+1 {{'attn.attention' op variant 'v' declares 0 scalar(s) but 1 are passed}}
  %out, %lse = attn.attention @v(%q, %k, %v) scalars(%o : i32) : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
  return
}

// -----

// Scalars are passed in the sorted order of their declarations: offset, then window.
attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    scalars {window = i64, offset = i32}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @scalar_type(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>, %w: i64, %o: i32) {
  // expected-error @+1 {{'attn.attention' op scalar 'offset' must be 'i32', got 'i64'}}
  %out, %lse = attn.attention @v(%q, %k, %v) scalars(%w, %o : i64, i32) : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @buffer_count(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>) {
  // expected-error @+1 {{'attn.attention' op variant 'v' declares 1 buffer(s) but 0 are passed}}
  %out, %lse = attn.attention @v(%q, %k, %v) : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {doc = #attn.buffer<i32, [B, KV_LEN]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @buffer_element_type(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>, %doc: tensor<?x?xi64>) {
  // expected-error @+1 {{'attn.attention' op buffer 'doc' must have element type 'i32', got 'i64'}}
  %out, %lse = attn.attention @v(%q, %k, %v) buffers(%doc : tensor<?x?xi64>) : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {doc = #attn.buffer<i32, [B, KV_LEN]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @buffer_rank(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>, %doc: tensor<?xi32>) {
  // expected-error @+1 {{'attn.attention' op buffer 'doc' must have rank 2, got 1}}
  %out, %lse = attn.attention @v(%q, %k, %v) buffers(%doc : tensor<?xi32>) : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
  return
}

// -----

attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {bias = #attn.buffer<f32, [H, 32]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @buffer_fixed_dim(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>, %bias: tensor<4x31xf32>) {
  // expected-error @+1 {{'attn.attention' op buffer 'bias' dimension 1 must be 32, got 31}}
  %out, %lse = attn.attention @v(%q, %k, %v) buffers(%bias : tensor<4x31xf32>) : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
  return
}

// -----

// H is the number of query heads.
attn.variant @v heads(8, 2) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {slopes = #attn.buffer<f32, [H]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @buffer_h_dim(%q: tensor<?x8x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>, %slopes: tensor<2xf32>) {
  // expected-error @+1 {{'attn.attention' op buffer 'slopes' dimension 0 must be 8, got 2}}
  %out, %lse = attn.attention @v(%q, %k, %v) buffers(%slopes : tensor<2xf32>) : tensor<?x8x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x8x?x16xf32>, tensor<?x8x?xf32>
  return
}

// -----

// H_KV is the number of key/value heads.
attn.variant @v heads(8, 2) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {kv_bias = #attn.buffer<f32, [H_KV, KV_LEN]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @buffer_h_kv_dim(%q: tensor<?x8x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>, %kvb: tensor<8x?xf32>) {
  // expected-error @+1 {{'attn.attention' op buffer 'kv_bias' dimension 0 must be 2, got 8}}
  %out, %lse = attn.attention @v(%q, %k, %v) buffers(%kvb : tensor<8x?xf32>) : tensor<?x8x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x8x?x16xf32>, tensor<?x8x?xf32>
  return
}

// -----

// A buffer's symbolic B/Q_LEN/KV_LEN must agree with q/k/v.
attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {pos = #attn.buffer<i64, [B, KV_LEN]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @buffer_kv_len(%q: tensor<2x4x?x16xf32>, %k: tensor<2x4x100x16xf32>, %v: tensor<2x4x100x16xf32>, %pos: tensor<2x99xi64>) {
  // expected-error @+1 {{'attn.attention' op buffer 'pos' dimension 1 (KV_LEN) is 99 but k has KV_LEN = 100}}
  %out, %lse = attn.attention @v(%q, %k, %v) buffers(%pos : tensor<2x99xi64>) : tensor<2x4x?x16xf32>, tensor<2x4x100x16xf32>, tensor<2x4x100x16xf32> -> tensor<2x4x?x16xf32>, tensor<2x4x?xf32>
  return
}

// -----

// With q/k/v fully dynamic, the first buffer binds Q_LEN and the second must agree.
attn.variant @v heads(4, 4) head_dim(16, 16) dtype(f32) scale(1.0)
    buffers {a = #attn.buffer<f32, [Q_LEN]>, b2 = #attn.buffer<f32, [Q_LEN, 3]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @buffer_vs_buffer(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>, %a: tensor<10xf32>, %b2: tensor<11x3xf32>) {
  // expected-error @+1 {{'attn.attention' op buffer 'b2' dimension 0 (Q_LEN) is 11 but buffer 'a' has Q_LEN = 10}}
  %out, %lse = attn.attention @v(%q, %k, %v) buffers(%a, %b2 : tensor<10xf32>, tensor<11x3xf32>) : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>, tensor<?x4x?xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// requires_grad buffers, score_mod_vjp and attn.buffer_grad
//===----------------------------------------------------------------------===//

attn.variant @grad_int_buffer heads(1, 1) head_dim(8, 8) dtype(f32) scale(1.0)
    // expected-error @+1 {{only f32 buffers can require gradients, got 'i32'}}
    buffers {doc = #attn.buffer<i32, [KV_LEN], requires_grad>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.variant @grad_outside_vjp heads(1, 1) head_dim(8, 8) dtype(f32) scale(1.0)
    buffers {bias = #attn.buffer<f32, [KV_LEN], requires_grad>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  // expected-error @+1 {{'attn.buffer_grad' op must be nested in an attn.variant's score_mod_vjp region}}
  attn.buffer_grad "bias"[%kv_idx], %score : f32
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.variant @grad_not_requires_grad heads(1, 1) head_dim(8, 8) dtype(f32) scale(1.0)
    buffers {w = #attn.buffer<f32, [KV_LEN]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
} score_mod_vjp {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64, %dout: f32):
  // expected-error @+1 {{'attn.buffer_grad' op buffer 'w' is not declared requires_grad}}
  attn.buffer_grad "w"[%kv_idx], %dout : f32
  attn.yield %dout : f32
}

// -----

attn.variant @grad_wrong_rank heads(1, 1) head_dim(8, 8) dtype(f32) scale(1.0)
    buffers {bias = #attn.buffer<f32, [H, 8], requires_grad>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
} score_mod_vjp {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64, %dout: f32):
  // expected-error @+1 {{'attn.buffer_grad' op buffer 'bias' has 2 dimension(s) but is indexed with 1}}
  attn.buffer_grad "bias"[%h], %dout : f32
  attn.yield %dout : f32
}

// -----

// expected-error @+1 {{'attn.variant' op 'score_mod_vjp' region must take (score: f32, b, h, q_idx, kv_idx, q_len, kv_len: i64, dout: f32)}}
attn.variant @vjp_without_dout heads(1, 1) head_dim(8, 8) dtype(f32) scale(1.0)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
} score_mod_vjp {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
}
