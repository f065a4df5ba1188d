//===- AttnAttrs.td - attn dialect attributes ----------------*- tablegen -*-===//
//
// `#attn.buffer<f32, [H, 64]>` declares a run-time buffer: its element type and shape.
// A dimension is either a positive integer or one of the symbolic sizes B, H, H_KV,
// Q_LEN, KV_LEN, which are bound when the kernel runs. `requires_grad` (f32 only)
// asks the backward pass for the buffer's gradient.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_ATTRS_TD
#define ATTN_ATTRS_TD

include "dialect/AttnDialect.td"

def Attn_BufferDeclAttr : Attn_Attr<"BufferDecl", "buffer"> {
  let summary = "Declaration of a run-time buffer (element type and shape)";
  let description = [{
    Declares a buffer that a variant's regions read with `attn.buffer_load`. The shape
    lists one entry per dimension: a positive integer, or a symbolic size (`B`, `H`,
    `H_KV`, `Q_LEN`, `KV_LEN`) bound at run time from the q/k/v shapes. Symbolic sizes
    are stored as the negative codes of `attnc::attn::SymbolicDim`.

    A trailing `requires_grad` (f32 buffers only) marks a learnable buffer: the
    backward pass computes its gradient (`attn.buffer_grad` in `score_mod_vjp`).

    Example:

    ```mlir
    buffers {slopes = #attn.buffer<f32, [H]>, bias = #attn.buffer<f32, [H, 32], requires_grad>}
    ```
  }];
  let parameters = (ins "::mlir::Type":$elementType,
                        ArrayRefParameter<"int64_t", "dimensions">:$shape,
                        "bool":$requiresGrad);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    unsigned getRank() const { return getShape().size(); }
  }];
}

#endif // ATTN_ATTRS_TD
