//===- ExprParser.h - parse and type-check an expression --------*- C++ -*-===//
//
// A recursive-descent parser for the score_mod/mask_mod language (docs/spec.md,
// "Expressions") that type-checks while it builds the tree. It stops at the first
// error and reports it as a byte offset into the expression plus a message; the spec
// reader turns the offset into a FILE:LINE:COL location.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_FRONTEND_EXPRPARSER_H
#define ATTNC_COMPILER_FRONTEND_EXPRPARSER_H

#include "compiler/frontend/Expr.h"

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attnc::frontend {

/// A name the spec declares: a constant, a run-time scalar or a buffer.
struct ExprSymbol {
  enum class Kind { Constant, Scalar, Buffer };
  Kind kind = Kind::Constant;
  ExprType type = ExprType::Int; ///< value type (a buffer's element value type)
  int64_t intValue = 0;          ///< constants
  double floatValue = 0;         ///< constants
  unsigned rank = 0;             ///< buffers
  std::string storageType;       ///< scalars and buffers: "i32", "i64" or "f32"
};

struct ExprEnv {
  std::map<std::string, ExprSymbol, std::less<>> symbols;
};

enum class ModifierKind { ScoreMod, MaskMod };
const char *modifierName(ModifierKind kind);

struct ExprError {
  unsigned offset = 0;
  std::string message;
  /// Further independent errors of the same expression (type errors, unknown
  /// names...), in source order; a syntax error ends the search.
  std::vector<std::pair<unsigned, std::string>> more;
};

/// Parses `source` as the body of a score_mod (numeric result, promoted to float) or
/// mask_mod (bool result). Returns null and fills `error` with the first error and
/// any further independent ones.
ExprPtr parseModifier(std::string_view source, const ExprEnv &env,
                      ModifierKind kind, ExprError &error);

/// Maximum nesting depth of parentheses, calls and operators.
constexpr unsigned kMaxExprDepth = 200;
/// Maximum number of binary operators chained into one path of the tree (a flat
/// `a + b + ... + z` of N terms chains N - 1); nesting counts against
/// kMaxExprDepth instead.
constexpr unsigned kMaxExprChain = 2000;

} // namespace attnc::frontend

#endif // ATTNC_COMPILER_FRONTEND_EXPRPARSER_H
