//===- Expr.h - typed expression trees of score_mod/mask_mod ----*- C++ -*-===//
//
// The expression language (docs/spec.md, "Expressions") after parsing and type
// checking. Every node carries its static type (bool, int = 64-bit signed, float =
// f32) and the byte offset of its token inside the expression string, so later
// stages (IR generation, the evaluator) report errors at the right column. Implicit
// int→float promotions are explicit `Cast` nodes, so consumers never re-derive the
// promotion rules.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_FRONTEND_EXPR_H
#define ATTNC_COMPILER_FRONTEND_EXPR_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace attnc::frontend {

enum class ExprType { Bool, Int, Float };
const char *exprTypeName(ExprType type);

/// Operators and built-in functions.
enum class ExprOp {
  // Binary
  Add, Sub, Mul, Div, FloorDiv, Mod, Lt, Le, Gt, Ge, Eq, Ne, And, Or,
  // Unary
  Neg, Not,
  // Functions
  Exp, Exp2, Log, Log2, Sqrt, Rsqrt, Tanh, Sigmoid, Abs, Floor, Ceil, Min, Max,
  Clamp,
};
const char *exprOpSpelling(ExprOp op);

/// What a name refers to.
enum class VarKind {
  Score,    ///< the score (score_mod only)
  Index,    ///< b, h, q_idx, kv_idx, q_len, kv_len
  Constant, ///< a spec constant; the node keeps its value
  Scalar,   ///< a run-time scalar
};

/// The index variables, in the order of the region block arguments after `score`.
enum class IndexVar { B, H, QIdx, KVIdx, QLen, KVLen };
const char *indexVarName(IndexVar var);

struct Expr {
  enum class Kind {
    IntLit,    ///< intValue
    FloatLit,  ///< floatValue (may be inf)
    BoolLit,   ///< boolValue
    Var,       ///< name, varKind (+ indexVar / literal value for constants)
    Unary,     ///< op, args[0]
    Binary,    ///< op, args[0..1]
    Select,    ///< args[0] ? args[1] : args[2]
    Call,      ///< op (a function), args
    BufferLoad,///< name, args = indices
    Cast,      ///< args[0] converted to `type` (int→float, float→int truncating)
  };

  Kind kind;
  ExprType type;
  unsigned offset = 0; ///< byte offset of the node's token in the expression string

  ExprOp op = ExprOp::Add;
  std::string name;
  VarKind varKind = VarKind::Index;
  IndexVar indexVar = IndexVar::B;
  /// For scalars and buffers: the declared run-time type ("i32", "i64", "f32").
  std::string storageType;
  int64_t intValue = 0;
  double floatValue = 0;
  bool boolValue = false;
  /// Set by the parser on a node standing in for a subexpression with an error, so
  /// that the error is reported once and parsing goes on to find independent ones;
  /// a tree with such a node is never returned.
  bool poison = false;
  std::vector<std::unique_ptr<Expr>> args;

  Expr(Kind kind, ExprType type, unsigned offset)
      : kind(kind), type(type), offset(offset) {}

  /// True when evaluating this tree can fail at run time (a buffer read, an integer
  /// division or modulo), so `&&`, `||` and `?:` must evaluate it lazily.
  bool mayFail() const;
  /// A compact prefix rendering, for tests and debugging: `(+ q_idx (float 1))`.
  std::string str() const;
};

using ExprPtr = std::unique_ptr<Expr>;

} // namespace attnc::frontend

#endif // ATTNC_COMPILER_FRONTEND_EXPR_H
