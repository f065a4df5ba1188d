//===- Spec.h - an attention spec, read and checked --------------*- C++ -*-===//
//
// The in-memory form of a spec file (docs/spec.md, "Specs") after every field has
// been checked and both expressions parsed and type-checked. Offsets are byte offsets
// into the spec file, kept so IR generation can attach FILE:LINE:COL locations.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_FRONTEND_SPEC_H
#define ATTNC_COMPILER_FRONTEND_SPEC_H

#include "compiler/frontend/Expr.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnc::frontend {

struct SpecConstant {
  std::string name;
  bool isInt = true;
  int64_t intValue = 0;
  double floatValue = 0;
};

struct SpecScalar {
  std::string name;
  std::string type; ///< "i32", "i64" or "f32"
};

struct SpecBuffer {
  std::string name;
  std::string dtype;          ///< "f32", "i32" or "i64"
  std::vector<int64_t> shape; ///< positive sizes or attn::SymbolicDim codes
  bool requiresGrad = false;  ///< f32 only: the backward pass computes its gradient
};

/// A parsed modifier expression with the map from its characters to file offsets.
struct SpecExpr {
  ExprPtr expr;                     ///< null when the field is absent (the default)
  std::string source;               ///< the expression as written (JSON-decoded)
  std::vector<size_t> charToOffset; ///< decoded byte → file offset (+ closing quote)
  size_t fieldOffset = 0;           ///< the field's value in the file

  size_t fileOffset(unsigned exprOffset) const {
    if (charToOffset.empty())
      return fieldOffset;
    return exprOffset < charToOffset.size() ? charToOffset[exprOffset]
                                            : charToOffset.back();
  }
};

struct Spec {
  std::string name;
  int64_t headsQ = 0, headsKV = 0, headDim = 0, headDimV = 0;
  std::string dtype = "f32";
  double scale = 0;
  std::vector<SpecConstant> constants; ///< in file order
  std::vector<SpecScalar> scalars;     ///< in file order
  std::vector<SpecBuffer> buffers;     ///< in file order
  SpecExpr scoreMod, maskMod;
  size_t nameOffset = 0; ///< where the variant is declared, for its location
};

} // namespace attnc::frontend

#endif // ATTNC_COMPILER_FRONTEND_SPEC_H
