//===- AttnOps.td - attn dialect operations ------------------*- tablegen -*-===//
//
// Operations of the attn dialect: the variant symbol, its region terminator, the two
// ops that read run-time inputs inside a region, and the attention computation itself.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_OPS_TD
#define ATTN_OPS_TD

include "dialect/AttnDialect.td"
include "dialect/AttnAttrs.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/OpAsmInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

def Attn_ElementType : AnyTypeOf<[F32, F16, BF16]>;

//===----------------------------------------------------------------------===//
// attn.variant
//===----------------------------------------------------------------------===//

def Attn_VariantOp : Attn_Op<"variant", [
    Symbol, IsolatedFromAbove,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmBlockArgumentNames"]>]> {
  let summary = "An attention variant: head layout, dtypes, inputs and modifiers";
  let description = [{
    Declares one attention variant under a symbol name (the registry key). It holds:

    - `heads(Q, KV)`: query and key/value head counts; `Q % KV == 0`. Query head `h`
      reads key/value head `h / (Q / KV)` (MHA, GQA, MQA).
    - `head_dim(D, DV)`: the q/k dimension and the v/out dimension.
    - `dtype(T)`: element type of q, k, v and out (`f32`, `f16`, `bf16`).
    - `scale(S)`: multiplies q·k before `score_mod`.
    - `constants`: compile-time numbers the frontend folded into the regions (kept for
      documentation and for the kernel cache key).
    - `scalars`: run-time scalars, name → `i32`/`i64`/`f32`, read with `attn.scalar`.
    - `buffers`: run-time buffers, name → `#attn.buffer<...>`, read with
      `attn.buffer_load`.
    - `score_mod`: one block with arguments
      `(%score: f32, %b, %h, %q_idx, %kv_idx, %q_len, %kv_len: i64)`, yielding the
      modified score (`f32`).
    - `mask_mod`: one block with arguments `(%b, %h, %q_idx, %kv_idx, %q_len,
      %kv_len: i64)`, yielding `i1` (true: the pair takes part).
    - `score_mod_vjp` (optional; `attn-differentiate-score-mod` adds it for the
      backward pass): one block with score_mod's arguments and `%dout: f32`, the
      gradient of the loss with respect to the modified score. It yields the
      gradient with respect to `score` (`dout * d score_mod / d score`) and adds
      `dout * d score_mod / d x` to the gradient of each `requires_grad` buffer
      element `x` that score_mod reads (`attn.buffer_grad`).

    Example (ALiBi with a causal mask):

    ```mlir
    attn.variant @alibi heads(8, 8) head_dim(64, 64) dtype(f32) scale(1.250000e-01)
        buffers {slopes = #attn.buffer<f32, [H]>}
    score_mod {
    ^bb0(%score: f32, %b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
      %s = attn.buffer_load "slopes"[%h] : f32
      %d = arith.subi %kv_idx, %q_idx : i64
      %df = arith.sitofp %d : i64 to f32
      %m = arith.mulf %s, %df : f32
      %r = arith.addf %score, %m : f32
      attn.yield %r : f32
    } mask_mod {
    ^bb0(%b: i64, %h: i64, %q_idx: i64, %kv_idx: i64, %q_len: i64, %kv_len: i64):
      %c = arith.cmpi sge, %q_idx, %kv_idx : i64
      attn.yield %c : i1
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       ConfinedAttr<I64Attr, [IntPositive]>:$heads_q,
                       ConfinedAttr<I64Attr, [IntPositive]>:$heads_kv,
                       ConfinedAttr<I64Attr, [IntPositive]>:$head_dim,
                       ConfinedAttr<I64Attr, [IntPositive]>:$head_dim_v,
                       TypeAttrOf<Attn_ElementType>:$dtype,
                       F64Attr:$scale,
                       OptionalAttr<DictionaryAttr>:$constants,
                       OptionalAttr<DictionaryAttr>:$scalars,
                       OptionalAttr<DictionaryAttr>:$buffers);
  let regions = (region SizedRegion<1>:$score_mod, SizedRegion<1>:$mask_mod,
                        MaxSizedRegion<1>:$score_mod_vjp);
  let assemblyFormat = [{
    $sym_name `heads` `(` $heads_q `,` $heads_kv `)`
    `head_dim` `(` $head_dim `,` $head_dim_v `)`
    `dtype` `(` $dtype `)` `scale` `(` $scale `)`
    (`constants` $constants^)? (`scalars` $scalars^)? (`buffers` $buffers^)?
    attr-dict-with-keyword `score_mod` $score_mod `mask_mod` $mask_mod
    (`score_mod_vjp` $score_mod_vjp^)?
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// Number of block arguments of each region and their meaning.
    static constexpr unsigned kNumScoreModArgs = 7;
    static constexpr unsigned kNumScoreModVjpArgs = 8;
    static constexpr unsigned kNumMaskModArgs = 6;
    /// The declared type of scalar `name`, or null.
    ::mlir::Type getScalarType(::llvm::StringRef name);
    /// The declaration of buffer `name`, or null.
    BufferDeclAttr getBufferDecl(::llvm::StringRef name);
    /// The value yielded by a region (its terminator's operand).
    ::mlir::Value getScoreModResult();
    ::mlir::Value getMaskModResult();
    /// Whether the buffer `name` is declared with requires_grad.
    bool bufferRequiresGrad(::llvm::StringRef name);
  }];
}

//===----------------------------------------------------------------------===//
// attn.yield
//===----------------------------------------------------------------------===//

def Attn_YieldOp : Attn_Op<"yield", [Pure, Terminator, ReturnLike,
                                     HasParent<"VariantOp">]> {
  let summary = "Terminates a score_mod or mask_mod region";
  let description = [{
    Yields the region's single result: the modified score (`f32`) in `score_mod`, the
    keep predicate (`i1`) in `mask_mod`.

    ```mlir
    attn.yield %score : f32
    ```
  }];
  let arguments = (ins AnyType:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

//===----------------------------------------------------------------------===//
// attn.scalar
//===----------------------------------------------------------------------===//

def Attn_ScalarOp : Attn_Op<"scalar", [Pure,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmResultNames"]>]> {
  let summary = "Reads a run-time scalar inside a variant region";
  let description = [{
    Produces the value of the run-time scalar `name` declared in the enclosing
    variant's `scalars`. The result type is the declared type.

    ```mlir
    %offset = attn.scalar "offset" : i32
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs AnyTypeOf<[I32, I64, F32]>:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// attn.buffer_load
//===----------------------------------------------------------------------===//

// Not `Pure`: a load must not be hoisted out of the scf.if that guards it (the
// frontend evaluates `&&`, `||` and `?:` lazily around buffer reads), because a read
// outside the buffer makes the run fail.
def Attn_BufferLoadOp : Attn_Op<"buffer_load", [NoMemoryEffect]> {
  let summary = "Reads one element of a run-time buffer inside a variant region";
  let description = [{
    Reads element `[i, j, ...]` (one `i64` index per dimension) of the buffer `name`
    declared in the enclosing variant's `buffers`. The result type is the buffer's
    element type. An index outside the buffer's shape makes the run fail with an error
    naming the buffer; memory outside the buffer is never read.

    ```mlir
    %slope = attn.buffer_load "slopes"[%h] : f32
    %bias = attn.buffer_load "bias"[%h, %d] : f32
    ```
  }];
  let arguments = (ins StrAttr:$buffer, Variadic<I64>:$indices);
  let results = (outs AnyTypeOf<[F32, I32, I64]>:$result);
  let assemblyFormat = "$buffer `[` $indices `]` attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// attn.buffer_grad
//===----------------------------------------------------------------------===//

def Attn_BufferGradOp : Attn_Op<"buffer_grad", [MemoryEffects<[MemWrite]>]> {
  let summary = "Adds to one element of a requires_grad buffer's gradient";
  let description = [{
    Only in a variant's `score_mod_vjp` region: adds `value` to element `[i, j, ...]`
    of the gradient of the buffer `name`, which must be declared `requires_grad`.
    Backward kernels sum these contributions over every (query, key) pair that
    takes part, deterministically.

    ```mlir
    attn.buffer_grad "bias"[%h, %d], %g : f32
    ```
  }];
  let arguments = (ins StrAttr:$buffer, Variadic<I64>:$indices, F32:$value);
  let assemblyFormat = "$buffer `[` $indices `]` `,` $value attr-dict `:` type($value)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// attn.attention
//===----------------------------------------------------------------------===//

def Attn_AttentionOp : Attn_Op<"attention", [Pure, AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Applies an attention variant to q, k and v";
  let description = [{
    The whole attention computation of docs/spec.md, "Semantics", on tensors,
    for the variant `@variant`:

    - `q : tensor<B x H x Q_LEN x D x T>`, `k : tensor<B x H_KV x KV_LEN x D x T>`,
      `v : tensor<B x H_KV x KV_LEN x DV x T>`;
    - `scalars`: one value per declared scalar, in the declaration dictionary's
      (alphabetical) order, of its declared type;
    - `buffers`: one tensor per declared buffer, in alphabetical order;
    - results: `out : tensor<B x H x Q_LEN x DV x T>` and `lse : tensor<B x H x Q_LEN x f32>`.

    Dimensions may be dynamic; static ones must agree with the variant and with each
    other.

    ```mlir
    %out, %lse = attn.attention @alibi(%q, %k, %v) buffers(%slopes : tensor<8xf32>)
        : tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>
        -> tensor<?x8x?x64xf32>, tensor<?x8x?xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$variant,
                       RankedTensorOf<[F32, F16, BF16]>:$query,
                       RankedTensorOf<[F32, F16, BF16]>:$key,
                       RankedTensorOf<[F32, F16, BF16]>:$value,
                       Variadic<AnyTypeOf<[I32, I64, F32]>>:$scalars,
                       Variadic<RankedTensorOf<[F32, I32, I64]>>:$buffers);
  let results = (outs RankedTensorOf<[F32, F16, BF16]>:$out,
                      RankedTensorOf<[F32]>:$lse);
  let assemblyFormat = [{
    $variant `(` $query `,` $key `,` $value `)`
    (`scalars` `(` $scalars^ `:` type($scalars) `)`)?
    (`buffers` `(` $buffers^ `:` type($buffers) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value)
    `->` type($out) `,` type($lse)
  }];
}

include "dialect/AttnFlashOps.td"

#endif // ATTN_OPS_TD
