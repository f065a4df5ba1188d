//===- ExprDerivative.h - score_mod's derivative in float64 -----*- C++ -*-===//
//
// The reference derivative of a float expression: dual numbers evaluated over the
// expression tree in float64, independently of the compiler's differentiation pass
// (attn-differentiate-score-mod), with the same conventions (docs/spec.md,
// "Gradients"). It gives d expr / d score and d expr / d x for every element x of a
// requires_grad buffer that the expression reads. Integer and boolean
// subexpressions (conditions, indices) are evaluated by ExprEval.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_FRONTEND_EXPRDERIVATIVE_H
#define ATTNC_COMPILER_FRONTEND_EXPRDERIVATIVE_H

#include "compiler/frontend/ExprEval.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace attnc::frontend {

/// A buffer element: the buffer's name and the indices read.
using BufferElement = std::pair<std::string, std::vector<int64_t>>;

/// A float value with its derivatives.
struct DualValue {
  double value = 0;
  double dScore = 0;                            ///< d value / d score
  std::map<BufferElement, double> dBuffers;     ///< d value / d element (read ones)
};

/// Evaluates the float expression `expr` with derivatives; `requiresGrad(name)`
/// says which buffers are differentiated. Nullopt (with `error`) where evaluation
/// fails (an out-of-range read, an integer division by zero).
std::optional<DualValue> evaluateDerivative(const Expr &expr, const EvalContext &ctx,
                                            const std::function<bool(const std::string &)> &requiresGrad,
                                            std::string &error);

} // namespace attnc::frontend

#endif // ATTNC_COMPILER_FRONTEND_EXPRDERIVATIVE_H
