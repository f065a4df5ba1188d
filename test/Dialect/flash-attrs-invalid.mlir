// RUN: attn-opt %s -split-input-file -verify-diagnostics

// The attn dialect's attributes on other dialects' ops are verified: a scratch
// tile's role is one of the five, attn.variant names a variant.

func.func @typo() {
  // expected-error @+1 {{'attn.scratch' must be one of "scores", "acc", "max", "sum", "alpha", "probs", "dprobs", "dscores", "delta", "dk", "dv", got "alhpa"}}
  %a = memref.alloca() {attn.scratch = "alhpa"} : memref<64xf32>
  return
}

// -----

func.func @not_a_string() {
  // expected-error @+1 {{'attn.scratch' must be one of "scores", "acc", "max", "sum", "alpha", "probs", "dprobs", "dscores", "delta", "dk", "dv", got 3 : i64}}
  %a = memref.alloca() {attn.scratch = 3} : memref<64xf32>
  return
}

// -----

func.func @not_an_alloca(%m: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'attn.scratch' marks a flash form's memref.alloca, not 'memref.load'}}
  %x = memref.load %m[%c0] {attn.scratch = "acc"} : memref<4xf32>
  return
}

// -----

func.func @helper() {
  return
}
// expected-error @+1 {{'attn.variant' names @helper, which is not an attn.variant}}
func.func @flash() attributes {attn.variant = @helper} {
  return
}

// -----

// expected-error @+1 {{'attn.variant' must be a symbol reference, got "plain"}}
func.func @flash() attributes {attn.variant = "plain"} {
  return
}

// -----

// expected-error @+1 {{unknown attn dialect attribute 'attn.scratchpad'}}
func.func @f() attributes {attn.scratchpad = "acc"} {
  return
}

// -----

func.func @roles() {
  %s = memref.alloca() {attn.scratch = "scores"} : memref<4x4xf32>
  %a = memref.alloca() {attn.scratch = "acc"} : memref<4x4xf32>
  %m = memref.alloca() {attn.scratch = "max"} : memref<4xf32>
  %l = memref.alloca() {attn.scratch = "sum"} : memref<4xf32>
  %x = memref.alloca() {attn.scratch = "alpha"} : memref<4xf32>
  return
}
