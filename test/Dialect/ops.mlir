// RUN: attn-opt %s -split-input-file | attn-opt -split-input-file | FileCheck %s
// RUN: attn-opt %s -split-input-file --mlir-print-op-generic | attn-opt -split-input-file | FileCheck %s

// Round-trip tests of the attn dialect: attn.variant (with and without constants,
// scalars and buffers), attn.yield, attn.scalar, attn.buffer_load, #attn.buffer and
// attn.attention.

// The smallest variant: no constants, scalars or buffers; identity score_mod and an
// always-true mask_mod. Region arguments get their canonical names back.
// CHECK-LABEL: attn.variant @minimal
// CHECK-SAME: heads(4, 4) head_dim(16, 16) dtype(f32) scale(2.500000e-01)
// CHECK-NOT: constants
// CHECK-NOT: scalars
// CHECK-NOT: buffers
// CHECK-SAME: score_mod {
// CHECK-NEXT: ^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
// CHECK-NEXT: attn.yield %score : f32
// CHECK-NEXT: } mask_mod {
// CHECK-NEXT: ^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
// CHECK-NEXT: %[[TRUE:.*]] = arith.constant true
// CHECK-NEXT: attn.yield %[[TRUE]] : i1
// CHECK-NEXT: }
attn.variant @minimal heads(4, 4) head_dim(16, 16) dtype(f32) scale(0.25)
score_mod {
^bb0(%s: f32, %b: i64, %h: i64, %qi: i64, %ki: i64, %ql: i64, %kl: i64):
  attn.yield %s : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %qi: i64, %ki: i64, %ql: i64, %kl: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// Constants, scalars and buffers: dictionaries print sorted by name; #attn.buffer
// keeps symbolic (B, H, H_KV, Q_LEN, KV_LEN) and fixed dimensions.
// CHECK-LABEL: attn.variant @declarations
// CHECK-SAME: heads(8, 2) head_dim(64, 64) dtype(bf16) scale(1.250000e-01)
// CHECK-SAME: constants {alpha = -1.500000e+00 : f64, softcap = 5.000000e+01 : f64, window = 4096 : i64}
// CHECK-SAME: scalars {bias_scale = f32, offset = i32, seed = i64}
// CHECK-SAME: buffers {all = #attn.buffer<f32, [B, H, H_KV, Q_LEN, KV_LEN]>, bias = #attn.buffer<f32, [H, 32]>, doc = #attn.buffer<i32, [B, 7]>, pos = #attn.buffer<i64, [KV_LEN]>, slopes = #attn.buffer<f32, [H]>}
// CHECK-SAME: score_mod {
// CHECK-NEXT: ^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
// CHECK-NEXT: %[[SLOPE:.*]] = attn.buffer_load "slopes"[%h] : f32
// CHECK: %[[COL:.*]] = arith.remsi %kv_idx, %{{.*}} : i64
// CHECK: %[[BIAS:.*]] = attn.buffer_load "bias"[%h, %[[COL]]] : f32
// CHECK-NEXT: %bias_scale = attn.scalar "bias_scale" : f32
// CHECK-NEXT: arith.mulf %[[BIAS]], %bias_scale : f32
// CHECK: arith.mulf %[[SLOPE]], %{{.*}} : f32
// CHECK: attn.yield %{{.*}} : f32
// CHECK-NEXT: } mask_mod {
// CHECK-NEXT: ^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
// CHECK-NEXT: %offset = attn.scalar "offset" : i32
// CHECK-NEXT: %seed = attn.scalar "seed" : i64
// CHECK-NEXT: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-NEXT: %[[DOC:.*]] = attn.buffer_load "doc"[%b, %[[C0]]] : i32
// CHECK-NEXT: %[[POS:.*]] = attn.buffer_load "pos"[%kv_idx] : i64
// CHECK-NEXT: %[[OFF64:.*]] = arith.extsi %offset : i32 to i64
// CHECK-NEXT: %[[QO:.*]] = arith.addi %q_idx, %[[OFF64]] : i64
// CHECK-NEXT: arith.cmpi sge, %[[QO]], %[[POS]] : i64
// CHECK-NEXT: %[[DOC64:.*]] = arith.extsi %[[DOC]] : i32 to i64
// CHECK-NEXT: arith.cmpi eq, %[[DOC64]], %seed : i64
// CHECK: attn.yield %{{.*}} : i1
// CHECK-NEXT: }
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

// -----

// Math ops in score_mod (softcap) and an scf.if in mask_mod that guards a buffer read
// (lazy `&&`), as the frontend emits them.
// CHECK-LABEL: attn.variant @guarded
// CHECK-SAME: heads(2, 1) head_dim(32, 32) dtype(f16) scale(-2.000000e+00)
// CHECK-SAME: constants {softcap = 3.000000e+01 : f64}
// CHECK-SAME: buffers {keep = #attn.buffer<i32, [KV_LEN]>}
// CHECK: math.tanh %{{.*}} : f32
// CHECK: attn.yield %{{.*}} : f32
// CHECK: } mask_mod {
// CHECK-NEXT: ^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
// CHECK-NEXT: %[[INB:.*]] = arith.cmpi slt, %kv_idx, %kv_len : i64
// CHECK-NEXT: %[[R:.*]] = scf.if %[[INB]] -> (i1) {
// CHECK-NEXT: %[[K:.*]] = attn.buffer_load "keep"[%kv_idx] : i32
// CHECK: scf.yield %{{.*}} : i1
// CHECK-NEXT: } else {
// CHECK-NEXT: %[[F:.*]] = arith.constant false
// CHECK-NEXT: scf.yield %[[F]] : i1
// CHECK-NEXT: }
// CHECK-NEXT: attn.yield %[[R]] : i1
attn.variant @guarded heads(2, 1) head_dim(32, 32) dtype(f16) scale(-2.0)
    constants {softcap = 30.0 : f64}
    buffers {keep = #attn.buffer<i32, [KV_LEN]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %cap = arith.constant 30.0 : f32
  %x = arith.divf %score, %cap : f32
  %t = math.tanh %x : f32
  %r = arith.mulf %cap, %t : f32
  attn.yield %r : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %inb = arith.cmpi slt, %kv_idx, %kv_len : i64
  %r = scf.if %inb -> (i1) {
    %k = attn.buffer_load "keep"[%kv_idx] : i32
    %z = arith.constant 0 : i32
    %ne = arith.cmpi ne, %k, %z : i32
    scf.yield %ne : i1
  } else {
    %f = arith.constant false
    scf.yield %f : i1
  }
  attn.yield %r : i1
}

// -----

// attn.attention with fully static shapes, MHA, f32, no scalars or buffers.
// CHECK-LABEL: attn.variant @mha_static
// CHECK-SAME: heads(4, 4) head_dim(64, 64) dtype(f32) scale(1.250000e-01)
// CHECK-LABEL: func.func @apply_mha_static
// CHECK-SAME: (%[[Q:[a-z0-9]+]]: tensor<2x4x128x64xf32>, %[[K:[a-z0-9]+]]: tensor<2x4x256x64xf32>, %[[V:[a-z0-9]+]]: tensor<2x4x256x64xf32>)
// CHECK-NEXT: %[[OUT:.*]], %[[LSE:.*]] = attn.attention @mha_static(%[[Q]], %[[K]], %[[V]]) : tensor<2x4x128x64xf32>, tensor<2x4x256x64xf32>, tensor<2x4x256x64xf32> -> tensor<2x4x128x64xf32>, tensor<2x4x128xf32>
// CHECK-NEXT: return %[[OUT]], %[[LSE]]
attn.variant @mha_static heads(4, 4) head_dim(64, 64) dtype(f32) scale(0.125)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c = arith.cmpi sge, %q_idx, %kv_idx : i64
  attn.yield %c : i1
}
func.func @apply_mha_static(%q: tensor<2x4x128x64xf32>, %k: tensor<2x4x256x64xf32>,
                            %v: tensor<2x4x256x64xf32>)
    -> (tensor<2x4x128x64xf32>, tensor<2x4x128xf32>) {
  %out, %lse = attn.attention @mha_static(%q, %k, %v)
      : tensor<2x4x128x64xf32>, tensor<2x4x256x64xf32>, tensor<2x4x256x64xf32>
      -> tensor<2x4x128x64xf32>, tensor<2x4x128xf32>
  return %out, %lse : tensor<2x4x128x64xf32>, tensor<2x4x128xf32>
}

// -----

// attn.attention with dynamic B/Q_LEN/KV_LEN, GQA heads(8, 2), head_dim_v != head_dim,
// f16; static and dynamic dimensions may be mixed across operands.
// CHECK-LABEL: attn.variant @gqa_dynamic
// CHECK-SAME: heads(8, 2) head_dim(64, 128) dtype(f16) scale(1.250000e-01)
// CHECK-LABEL: func.func @apply_gqa_dynamic
// CHECK-SAME: (%[[Q:[a-z0-9]+]]: tensor<?x8x?x64xf16>, %[[K:[a-z0-9]+]]: tensor<?x2x?x64xf16>, %[[V:[a-z0-9]+]]: tensor<3x?x17x?xf16>)
// CHECK-NEXT: %[[OUT:.*]], %[[LSE:.*]] = attn.attention @gqa_dynamic(%[[Q]], %[[K]], %[[V]]) : tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<3x?x17x?xf16> -> tensor<?x8x?x128xf16>, tensor<3x?x?xf32>
attn.variant @gqa_dynamic heads(8, 2) head_dim(64, 128) dtype(f16) scale(0.125)
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  attn.yield %score : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
func.func @apply_gqa_dynamic(%q: tensor<?x8x?x64xf16>, %k: tensor<?x2x?x64xf16>,
                             %v: tensor<3x?x17x?xf16>)
    -> (tensor<?x8x?x128xf16>, tensor<3x?x?xf32>) {
  %out, %lse = attn.attention @gqa_dynamic(%q, %k, %v)
      : tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<3x?x17x?xf16>
      -> tensor<?x8x?x128xf16>, tensor<3x?x?xf32>
  return %out, %lse : tensor<?x8x?x128xf16>, tensor<3x?x?xf32>
}

// -----

// attn.attention with run-time scalars and buffers (passed in the sorted order of
// their declarations), MQA heads(4, 1), bf16, head_dim_v < head_dim.
// CHECK-LABEL: attn.variant @with_inputs
// CHECK-SAME: heads(4, 1) head_dim(96, 48) dtype(bf16) scale(1.000000e+00)
// CHECK-SAME: scalars {len = i64, offset = i32, temp = f32}
// CHECK-SAME: buffers {bias = #attn.buffer<f32, [B, H, Q_LEN, KV_LEN]>, kvb = #attn.buffer<f32, [H_KV, 5]>, slopes = #attn.buffer<f32, [H]>}
// CHECK: %len = attn.scalar "len" : i64
// CHECK: %temp = attn.scalar "temp" : f32
// CHECK: attn.buffer_load "bias"[%b, %h, %q_idx, %kv_idx] : f32
// CHECK: %offset = attn.scalar "offset" : i32
// CHECK-LABEL: func.func @apply_with_inputs
// CHECK-SAME: (%[[Q:[a-z0-9]+]]: tensor<2x4x?x96xbf16>, %[[K:[a-z0-9]+]]: tensor<2x1x?x96xbf16>, %[[V:[a-z0-9]+]]: tensor<2x1x?x48xbf16>, %[[LEN:[a-z0-9]+]]: i64, %[[OFF:[a-z0-9]+]]: i32, %[[TEMP:[a-z0-9]+]]: f32, %[[BIAS:[a-z0-9]+]]: tensor<2x4x?x?xf32>, %[[KVB:[a-z0-9]+]]: tensor<1x5xf32>, %[[SL:[a-z0-9]+]]: tensor<?xf32>)
// CHECK-NEXT: %[[OUT:.*]], %[[LSE:.*]] = attn.attention @with_inputs(%[[Q]], %[[K]], %[[V]]) scalars(%[[LEN]], %[[OFF]], %[[TEMP]] : i64, i32, f32) buffers(%[[BIAS]], %[[KVB]], %[[SL]] : tensor<2x4x?x?xf32>, tensor<1x5xf32>, tensor<?xf32>) : tensor<2x4x?x96xbf16>, tensor<2x1x?x96xbf16>, tensor<2x1x?x48xbf16> -> tensor<2x4x?x48xbf16>, tensor<2x4x?xf32>
// CHECK-NEXT: return %[[OUT]], %[[LSE]]
attn.variant @with_inputs heads(4, 1) head_dim(96, 48) dtype(bf16) scale(1.0)
    scalars {offset = i32, len = i64, temp = f32}
    buffers {slopes = #attn.buffer<f32, [H]>, bias = #attn.buffer<f32, [B, H, Q_LEN, KV_LEN]>,
             kvb = #attn.buffer<f32, [H_KV, 5]>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %len = attn.scalar "len" : i64
  %temp = attn.scalar "temp" : f32
  %bias = attn.buffer_load "bias"[%b, %h, %q_idx, %kv_idx] : f32
  %s = arith.divf %score, %temp : f32
  %r = arith.addf %s, %bias : f32
  attn.yield %r : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %off = attn.scalar "offset" : i32
  %off64 = arith.extsi %off : i32 to i64
  %q = arith.addi %q_idx, %off64 : i64
  %c = arith.cmpi sge, %q, %kv_idx : i64
  attn.yield %c : i1
}
func.func @apply_with_inputs(%q: tensor<2x4x?x96xbf16>, %k: tensor<2x1x?x96xbf16>,
                             %v: tensor<2x1x?x48xbf16>, %len: i64, %off: i32, %temp: f32,
                             %bias: tensor<2x4x?x?xf32>, %kvb: tensor<1x5xf32>,
                             %slopes: tensor<?xf32>)
    -> (tensor<2x4x?x48xbf16>, tensor<2x4x?xf32>) {
  %out, %lse = attn.attention @with_inputs(%q, %k, %v)
      scalars(%len, %off, %temp : i64, i32, f32)
      buffers(%bias, %kvb, %slopes : tensor<2x4x?x?xf32>, tensor<1x5xf32>, tensor<?xf32>)
      : tensor<2x4x?x96xbf16>, tensor<2x1x?x96xbf16>, tensor<2x1x?x48xbf16>
      -> tensor<2x4x?x48xbf16>, tensor<2x4x?xf32>
  return %out, %lse : tensor<2x4x?x48xbf16>, tensor<2x4x?xf32>
}

// -----

// A requires_grad buffer and the score_mod_vjp region with attn.buffer_grad round-trip.
// CHECK-LABEL: attn.variant @learned_bias
// CHECK-SAME: buffers {bias = #attn.buffer<f32, [H, 16], requires_grad>}
// CHECK: } score_mod_vjp {
// CHECK-NEXT: ^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64, %dout: f32):
// CHECK: attn.buffer_grad "bias"[%h, %{{.*}}], %dout : f32
// CHECK-NEXT: attn.yield %dout : f32
attn.variant @learned_bias heads(4, 4) head_dim(8, 8) dtype(f32) scale(1.0)
    buffers {bias = #attn.buffer<f32, [H, 16], requires_grad>}
score_mod {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %c16 = arith.constant 16 : i64
  %i = arith.remsi %kv_idx, %c16 : i64
  %x = attn.buffer_load "bias"[%h, %i] : f32
  %0 = arith.addf %score, %x : f32
  attn.yield %0 : f32
} mask_mod {
^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
  %t = arith.constant true
  attn.yield %t : i1
} score_mod_vjp {
^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64, %dout: f32):
  %c16 = arith.constant 16 : i64
  %i = arith.remsi %kv_idx, %c16 : i64
  attn.buffer_grad "bias"[%h, %i], %dout : f32
  attn.yield %dout : f32
}
