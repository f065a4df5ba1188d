//===- AttnDialect.td - the attn dialect ---------------------*- tablegen -*-===//
//
// The `attn` dialect describes an attention variant declaratively: its head layout,
// dtypes, scale, run-time inputs, and two small regions (`score_mod`, `mask_mod`) that
// say how a score is modified and which (query, key) pairs take part. `attn.attention`
// applies a variant to q/k/v tensors. Later passes tile it into the flash form.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_TD
#define ATTN_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let cppNamespace = "::attnc::attn";
  let summary = "Declarative attention variants (score_mod, mask_mod, head layouts)";
  let description = [{
    The `attn` dialect is attnc's entry IR. A spec file becomes one `attn.variant`
    symbol (the variant's static description and its two modifier regions) and a
    function whose body applies it with `attn.attention`. Region bodies are written with
    upstream `arith`, `math` and `scf` ops plus `attn.scalar` and `attn.buffer_load`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
  let useDefaultAttributePrinterParser = 1;
  // `attn.scratch` (a flash-form scratch tile's role) and `attn.variant` (the variant
  // a flash-form function computes) are checked where they appear on other
  // dialects' ops: AttnDialect::verifyOperationAttribute.
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Defined in AttnAttrs.cpp, beside the attribute storage classes.
    void registerAttributes();

    /// The roles of a flash form's scratch tiles (`attn.scratch`), in the order
    /// attn-tile-flash creates them.
    static ::llvm::ArrayRef<::llvm::StringRef> scratchRoles();
  }];
}

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, traits>;

class Attn_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Attn_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

#endif // ATTN_DIALECT_TD
