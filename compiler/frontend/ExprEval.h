//===- ExprEval.h - evaluate a typed expression tree -------------*- C++ -*-===//
//
// A direct interpreter of the expression language: bools, 64-bit ints (wrapping) and
// floats (f32, as the language defines them: each operation is computed in double and
// rounded to f32). It defines the language's semantics independently of
// the MLIR lowering: the unit tests check the parser through it, and the float64
// reference implementation evaluates score_mod/mask_mod with it.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_FRONTEND_EXPREVAL_H
#define ATTNC_COMPILER_FRONTEND_EXPREVAL_H

#include "compiler/frontend/Expr.h"

#include <functional>
#include <optional>
#include <string>

namespace attnc::frontend {

struct ExprValue {
  ExprType type = ExprType::Int;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  static ExprValue ofBool(bool v) { return {ExprType::Bool, v, 0, 0}; }
  static ExprValue ofInt(int64_t v) { return {ExprType::Int, false, v, 0}; }
  /// Floats are f32: every float value is rounded to single precision.
  static ExprValue ofFloat(double v) {
    return {ExprType::Float, false, 0, double(static_cast<float>(v))};
  }
};

/// The values an expression may read.
struct EvalContext {
  double score = 0;
  int64_t b = 0, h = 0, qIdx = 0, kvIdx = 0, qLen = 0, kvLen = 0;
  /// Value of a run-time scalar (as int or float per its declared type).
  std::function<std::optional<ExprValue>(const std::string &name)> scalar;
  /// Reads buffer `name` at `indices`; nullopt when out of range.
  std::function<std::optional<ExprValue>(const std::string &name,
                                         const std::vector<int64_t> &indices)>
      buffer;
};

/// Evaluates `expr`. Returns nullopt and sets `error` when a buffer read is out of
/// range, an integer is divided by zero, or a scalar is missing.
/// With `errorOffset`, also where the failing subexpression starts (a byte offset
/// into the expression's source).
std::optional<ExprValue> evaluate(const Expr &expr, const EvalContext &ctx,
                                  std::string &error, unsigned *errorOffset = nullptr);

/// Python's floor division and floor modulo.
int64_t floorDiv(int64_t a, int64_t b);
int64_t floorMod(int64_t a, int64_t b);
double floorDivF(double a, double b);
double floorModF(double a, double b);

} // namespace attnc::frontend

#endif // ATTNC_COMPILER_FRONTEND_EXPREVAL_H
