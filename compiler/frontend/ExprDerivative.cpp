//===- ExprDerivative.cpp - score_mod's derivative in float64 -------------===//
//
// Dual numbers over the expression tree (see ExprDerivative.h). Each float node
// gives its value and its derivatives as a linear combination of its operands':
// `combine` adds ca * a' + cb * b'.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/ExprDerivative.h"

#include <cmath>

namespace attnc::frontend {
namespace {

/// c * x' + d * y' (y optional), with `value` as the result's value.
DualValue combine(double value, const DualValue &x, double c, const DualValue *y = nullptr,
                  double d = 0) {
  DualValue r;
  r.value = value;
  r.dScore = c * x.dScore + (y ? d * y->dScore : 0);
  for (const auto &[element, dx] : x.dBuffers)
    r.dBuffers[element] += c * dx;
  if (y)
    for (const auto &[element, dy] : y->dBuffers)
      r.dBuffers[element] += d * dy;
  return r;
}

DualValue constant(double value) {
  DualValue r;
  r.value = value;
  return r;
}

/// min(x, y) (or max), as the generated code's minnum: a NaN operand gives the
/// other; a tie splits the derivative evenly.
DualValue minMax(const DualValue &x, const DualValue &y, bool isMax) {
  if (std::isnan(x.value))
    return y;
  if (std::isnan(y.value))
    return x;
  if (x.value == y.value)
    return combine(x.value, x, 0.5, &y, 0.5);
  bool pickX = isMax ? x.value > y.value : x.value < y.value;
  return pickX ? x : y;
}

class DerivativeEvaluator {
public:
  DerivativeEvaluator(const EvalContext &ctx,
                      const std::function<bool(const std::string &)> &requiresGrad,
                      std::string &error)
      : ctx(ctx), requiresGrad(requiresGrad), error(error) {}

  std::optional<DualValue> eval(const Expr &e) {
    if (e.type != ExprType::Float) {
      error = "internal error: the derivative of a non-float expression";
      return std::nullopt;
    }
    switch (e.kind) {
    case Expr::Kind::FloatLit:
      return constant(e.floatValue);
    case Expr::Kind::Var:
      if (e.varKind == VarKind::Score) {
        DualValue r = constant(ctx.score);
        r.dScore = 1;
        return r;
      }
      return plain(e);
    case Expr::Kind::Cast:
      return plain(e); // int → float: no derivative
    case Expr::Kind::Select: {
      std::optional<ExprValue> c = evaluate(*e.args[0], ctx, error);
      if (!c)
        return std::nullopt;
      return eval(*e.args[c->b ? 1 : 2]);
    }
    case Expr::Kind::Unary: {
      auto x = eval(*e.args[0]);
      return x ? std::optional(combine(-x->value, *x, -1)) : std::nullopt;
    }
    case Expr::Kind::Binary:
      return binary(e);
    case Expr::Kind::Call:
      return call(e);
    case Expr::Kind::BufferLoad:
      return bufferLoad(e);
    default:
      error = "internal error: unexpected float expression";
      return std::nullopt;
    }
  }

private:
  /// A float without derivatives, evaluated by ExprEval (constants, scalars, casts).
  std::optional<DualValue> plain(const Expr &e) {
    std::optional<ExprValue> v = evaluate(e, ctx, error);
    return v ? std::optional(constant(v->f)) : std::nullopt;
  }

  std::optional<DualValue> bufferLoad(const Expr &e) {
    std::optional<ExprValue> v = evaluate(e, ctx, error);
    if (!v)
      return std::nullopt;
    DualValue r = constant(v->f);
    if (requiresGrad(e.name)) {
      BufferElement element{e.name, {}};
      for (const auto &index : e.args) {
        std::optional<ExprValue> i = evaluate(*index, ctx, error);
        if (!i)
          return std::nullopt;
        element.second.push_back(i->i);
      }
      r.dBuffers[element] = 1;
    }
    return r;
  }

  std::optional<DualValue> binary(const Expr &e) {
    auto x = eval(*e.args[0]);
    auto y = x ? eval(*e.args[1]) : std::nullopt;
    if (!y)
      return std::nullopt;
    double a = x->value, b = y->value;
    switch (e.op) {
    case ExprOp::Add: return combine(a + b, *x, 1, &*y, 1);
    case ExprOp::Sub: return combine(a - b, *x, 1, &*y, -1);
    case ExprOp::Mul: return combine(a * b, *x, b, &*y, a);
    case ExprOp::Div: return combine(a / b, *x, 1 / b, &*y, -(a / b) / b);
    case ExprOp::FloorDiv: return constant(floorDivF(a, b)); // piecewise constant
    case ExprOp::Mod: // a - floor(a / b) * b
      return combine(floorModF(a, b), *x, 1, &*y, -floorDivF(a, b));
    default:
      error = "internal error: bad float operator";
      return std::nullopt;
    }
  }

  std::optional<DualValue> call(const Expr &e) {
    std::vector<DualValue> args;
    for (const auto &arg : e.args) {
      auto v = eval(*arg);
      if (!v)
        return std::nullopt;
      args.push_back(*v);
    }
    const DualValue &x = args[0];
    double v = x.value;
    switch (e.op) {
    case ExprOp::Exp: return combine(std::exp(v), x, std::exp(v));
    case ExprOp::Exp2: return combine(std::exp2(v), x, std::exp2(v) * std::log(2.0));
    case ExprOp::Log: return combine(std::log(v), x, 1 / v);
    case ExprOp::Log2: return combine(std::log2(v), x, 1 / (v * std::log(2.0)));
    case ExprOp::Sqrt: return combine(std::sqrt(v), x, 0.5 / std::sqrt(v));
    case ExprOp::Rsqrt: return combine(1 / std::sqrt(v), x, -0.5 / (v * std::sqrt(v)));
    case ExprOp::Tanh: {
      double t = std::tanh(v);
      return combine(t, x, 1 - t * t);
    }
    case ExprOp::Sigmoid: {
      double s = 1 / (1 + std::exp(-v));
      return combine(s, x, s * (1 - s));
    }
    case ExprOp::Abs: return combine(std::fabs(v), x, v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0);
    case ExprOp::Floor: return constant(std::floor(v));
    case ExprOp::Ceil: return constant(std::ceil(v));
    case ExprOp::Min: return minMax(x, args[1], false);
    case ExprOp::Max: return minMax(x, args[1], true);
    case ExprOp::Clamp: return minMax(minMax(x, args[1], true), args[2], false);
    default:
      error = "internal error: bad float function";
      return std::nullopt;
    }
  }

  const EvalContext &ctx;
  const std::function<bool(const std::string &)> &requiresGrad;
  std::string &error;
};

} // namespace

std::optional<DualValue> evaluateDerivative(
    const Expr &expr, const EvalContext &ctx,
    const std::function<bool(const std::string &)> &requiresGrad, std::string &error) {
  return DerivativeEvaluator(ctx, requiresGrad, error).eval(expr);
}

} // namespace attnc::frontend
