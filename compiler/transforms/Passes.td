//===- Passes.td - attnc's target-independent passes ---------*- tablegen -*-===//

#ifndef ATTNC_TRANSFORMS_PASSES_TD
#define ATTNC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnSimplify : Pass<"attn-simplify", "mlir::ModuleOp"> {
  let summary = "Folds and simplifies the bodies of score_mod and mask_mod";
  let description = [{
    Runs the canonicalization patterns of every dialect used in the variant regions
    (constant folding, algebraic identities, select/if folding) and removes
    redundant operations, so that later passes see the simplest form of each
    modifier: `score * 1.0` becomes `score`, `q_idx >= kv_idx || true` becomes
    `true`, duplicated constants and scalar reads are merged.

    ```mlir
    // before
    %c1 = arith.constant 1.0 : f32
    %0 = arith.mulf %score, %c1 : f32
    attn.yield %0 : f32
    // after
    attn.yield %score : f32
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def AttnDifferentiateScoreMod : Pass<"attn-differentiate-score-mod", "mlir::ModuleOp"> {
  let summary = "Adds each variant's score_mod_vjp region, score_mod's derivative";
  let description = [{
    Gives every `attn.variant` the `score_mod_vjp` region the backward pass uses:
    given `%dout`, the loss's gradient with respect to score_mod's result, it
    yields the gradient with respect to `%score` and adds the gradient of each
    `requires_grad` buffer element score_mod reads (`attn.buffer_grad`). The
    derivative is taken in forward mode (tangents with respect to the score and to
    each such read travel beside the recomputed values; the `scf.if` of lazy
    operators yields them), with the rules and subgradients of docs/spec.md,
    "Gradients". An operation without a derivative rule is an error.

    ```mlir
    // score_mod: cap * tanh(score / cap), cap = 30
    score_mod_vjp {
    ^bb0(%score: f32, ..., %dout: f32):
      %t = math.tanh (%score / 30)
      %g = %dout * (1 - %t * %t)      // after attn-simplify
      attn.yield %g : f32
    }
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect"];
}

def AttnTileFlash : Pass<"attn-tile-flash", "mlir::ModuleOp"> {
  let summary = "Tiles attn.attention into the flash form";
  let description = [{
    Replaces each function `@X_forward` whose body is one `attn.attention` on tensors
    by `@X_flash` on memrefs: a parallel loop over (batch, head, query tile) whose
    body initialises the running state (`attn.tile_init`), loops over key tiles
    (`attn.tile_scores`, `attn.tile_mods`, `attn.tile_softmax`, `attn.tile_pv`), and
    writes the normalised output and lse (`attn.tile_store`). Unless the mask is
    trivially true, each key tile is first classified with `attn.tile_mask_class`:
    empty tiles are skipped and full tiles apply `score_mod` without evaluating
    the mask. The signature becomes
    `(q, k, v, out, lse, scalars..., buffers..., status: memref<4xi64>)`. Run
    `attn-simplify` first so that masks that fold to `true` need no classification.
  }];
  let options = [
    Option<"blockQ", "block-q", "int64_t", "64", "Query rows per tile">,
    Option<"blockKV", "block-kv", "int64_t", "64", "Key rows per tile">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect", "::mlir::func::FuncDialect"];
}

def AttnTileFlashBackward : Pass<"attn-tile-flash-backward", "mlir::ModuleOp"> {
  let summary = "Tiles attn.attention into the backward flash form";
  let description = [{
    Replaces each function `@X_forward` whose body is one `attn.attention` by
    `@X_flash_backward` (attribute `attn.backward`), FlashAttention-2's backward
    pass on memrefs: a parallel loop over (batch, key/value head, split of the key
    tiles); for each key tile, dK and dV accumulate in scratch tiles over the query
    tiles of every head of the group (`attn.tile_scores`, `attn.tile_probs`,
    `attn.tile_key_grad`, `attn.tile_delta`, `attn.tile_dscores`,
    `attn.tile_query_grad`) and are written by `attn.tile_key_store`. The
    signature is `(q, k, v, out, dout, lse, dq, dk, dv, scalars..., buffers...,
    grads..., status: memref<4xi64>)`, where `dq` is `[splits, B, H, Q_LEN, D]`
    f32 (one partial per split, zero on entry; their sum is dQ) and `grads` has one
    f32 memref per `requires_grad` buffer. Run `attn-differentiate-score-mod` and
    `attn-simplify` first. With `key-tiles-per-pass=n` each step of the key loop
    takes n key tiles (the last ones of a split under `scf.if`), each with its own
    dK/dV scratch tiles, and every query tile meets the n in turn.

    ```mlir
    scf.parallel (%b, %g, %c) = (%c0, %c0, %c0) to (%B, %c2, %splits) step (...) {
      scf.for %kt = %first to %last step %c1 {
        attn.tile_zero %dk_acc : memref<64x64xf32>
        scf.for %hh = %c0 to %c4 step %c1 {        // the heads of group %g
          scf.for %qt = %c0 to %nq step %c1 {
            attn.tile_scores %q[%b, %h, %q0], %k[_, %g, %k0] into %s scale(...)
            attn.tile_probs @v %s(...), %lse into %p status(%st) : ...
            ...
    ```
  }];
  let options = [
    Option<"blockQ", "block-q", "int64_t", "64", "Query rows per tile">,
    Option<"blockKV", "block-kv", "int64_t", "64", "Key rows per tile">,
    Option<"keyTilesPerPass", "key-tiles-per-pass", "int64_t", "1",
           "Key tiles whose dK/dV accumulate together while the query tiles stream "
           "through them once (the CPU target's choice; GPU targets take 1)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect", "::mlir::func::FuncDialect"];
}

def AttnTestMaskClass : Pass<"attn-test-mask-class", "mlir::ModuleOp"> {
  let summary = "Test pass: replaces attn.tile_mask_class by the mask analysis' code";
  let description = [{
    Emits, in place of each `attn.tile_mask_class`, the interval interpretation of
    its variant's `mask_mod` (MaskIntervals.h), the code every target runs to
    classify a tile pair. With constant operands, `-canonicalize` then folds it to
    the class (0 empty, 1 full, 2 partial), so lit can check the analysis one
    operator at a time (test/Transforms/mask-class.mlir).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

#endif // ATTNC_TRANSFORMS_PASSES_TD
