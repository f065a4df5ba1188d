//===- ExprEval.cpp - evaluate a typed expression tree ---------------------===//
//
// Integer arithmetic wraps modulo 2^64 (as the generated code does); `&&`, `||` and
// `?:` evaluate lazily, so a guarded buffer read or division is never evaluated.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/ExprEval.h"

#include <cmath>
#include <limits>

namespace attnc::frontend {

int64_t floorDiv(int64_t a, int64_t b) {
  if (b == -1)
    return static_cast<int64_t>(0 - static_cast<uint64_t>(a)); // wraps for INT64_MIN
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}

int64_t floorMod(int64_t a, int64_t b) {
  if (b == -1)
    return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0)))
    r += b;
  return r;
}

// Python's float floor division (Objects/floatobject.c): derived from fmod so that
// a == floorDivF(a, b) * b + floorModF(a, b) as closely as rounding allows.
double floorDivF(double a, double b) {
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0 && ((b < 0) != (mod < 0)))
    div -= 1.0;
  if (div == 0)
    return std::copysign(0.0, a / b);
  double floored = std::floor(div);
  if (div - floored > 0.5)
    floored += 1.0;
  return floored;
}

double floorModF(double a, double b) {
  double r = std::fmod(a, b);
  if (r != 0 && ((r < 0) != (b < 0)))
    r += b;
  return r;
}

namespace {

int64_t wrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t wrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

/// float → int truncating toward zero; out-of-range and NaN saturate.
int64_t truncToInt(double v) {
  if (std::isnan(v))
    return 0;
  if (v >= 9223372036854775807.0)
    return std::numeric_limits<int64_t>::max();
  if (v <= -9223372036854775808.0)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

class Evaluator {
public:
  Evaluator(const EvalContext &ctx, std::string &error, unsigned *errorOffset)
      : ctx(ctx), error(error), errorOffset(errorOffset) {}

  std::optional<ExprValue> eval(const Expr &e) {
    switch (e.kind) {
    case Expr::Kind::IntLit:
      return ExprValue::ofInt(e.intValue);
    case Expr::Kind::FloatLit:
      return ExprValue::ofFloat(e.floatValue);
    case Expr::Kind::BoolLit:
      return ExprValue::ofBool(e.boolValue);
    case Expr::Kind::Var:
      return evalVar(e);
    case Expr::Kind::Cast: {
      auto v = eval(*e.args[0]);
      if (!v)
        return std::nullopt;
      if (e.type == ExprType::Float)
        return ExprValue::ofFloat(v->type == ExprType::Int ? double(v->i) : v->f);
      return ExprValue::ofInt(v->type == ExprType::Float ? truncToInt(v->f) : v->i);
    }
    case Expr::Kind::Select: {
      auto c = eval(*e.args[0]);
      if (!c)
        return std::nullopt;
      return eval(*e.args[c->b ? 1 : 2]);
    }
    case Expr::Kind::Unary: {
      auto v = eval(*e.args[0]);
      if (!v)
        return std::nullopt;
      if (e.op == ExprOp::Not)
        return ExprValue::ofBool(!v->b);
      return v->type == ExprType::Int ? ExprValue::ofInt(wrapSub(0, v->i))
                                      : ExprValue::ofFloat(-v->f);
    }
    case Expr::Kind::Binary:
      return evalBinary(e);
    case Expr::Kind::Call:
      return evalCall(e);
    case Expr::Kind::BufferLoad:
      return evalBufferLoad(e);
    }
    return std::nullopt;
  }

private:
  std::optional<ExprValue> evalVar(const Expr &e) {
    switch (e.varKind) {
    case VarKind::Score:
      return ExprValue::ofFloat(ctx.score);
    case VarKind::Constant:
      return e.type == ExprType::Int ? ExprValue::ofInt(e.intValue)
                                     : ExprValue::ofFloat(e.floatValue);
    case VarKind::Scalar: {
      std::optional<ExprValue> v;
      if (ctx.scalar)
        v = ctx.scalar(e.name);
      if (!v)
        fail(e, "scalar '" + e.name + "' has no value");
      return v;
    }
    case VarKind::Index:
      break;
    }
    switch (e.indexVar) {
    case IndexVar::B: return ExprValue::ofInt(ctx.b);
    case IndexVar::H: return ExprValue::ofInt(ctx.h);
    case IndexVar::QIdx: return ExprValue::ofInt(ctx.qIdx);
    case IndexVar::KVIdx: return ExprValue::ofInt(ctx.kvIdx);
    case IndexVar::QLen: return ExprValue::ofInt(ctx.qLen);
    case IndexVar::KVLen: return ExprValue::ofInt(ctx.kvLen);
    }
    return std::nullopt;
  }

  std::optional<ExprValue> evalBufferLoad(const Expr &e) {
    std::vector<int64_t> indices;
    for (const ExprPtr &arg : e.args) {
      auto v = eval(*arg);
      if (!v)
        return std::nullopt;
      indices.push_back(v->i);
    }
    std::optional<ExprValue> v;
    if (ctx.buffer)
      v = ctx.buffer(e.name, indices);
    if (!v) {
      std::string message = "index out of range reading buffer '" + e.name + "' at [";
      for (size_t i = 0; i < indices.size(); ++i)
        message += (i ? ", " : "") + std::to_string(indices[i]);
      fail(e, message + "]");
    }
    return v;
  }

  std::optional<ExprValue> evalBinary(const Expr &e) {
    auto lhs = eval(*e.args[0]);
    if (!lhs)
      return std::nullopt;
    if (e.op == ExprOp::And && !lhs->b)
      return ExprValue::ofBool(false);
    if (e.op == ExprOp::Or && lhs->b)
      return ExprValue::ofBool(true);
    auto rhs = eval(*e.args[1]);
    if (!rhs)
      return std::nullopt;
    const ExprValue &a = *lhs, &b = *rhs;
    switch (e.op) {
    case ExprOp::And:
    case ExprOp::Or:
      return ExprValue::ofBool(b.b);
    case ExprOp::Eq:
    case ExprOp::Ne: {
      bool eq = a.type == ExprType::Bool  ? a.b == b.b
                : a.type == ExprType::Int ? a.i == b.i
                                          : a.f == b.f;
      return ExprValue::ofBool(e.op == ExprOp::Eq ? eq : !eq);
    }
    case ExprOp::Lt:
    case ExprOp::Le:
    case ExprOp::Gt:
    case ExprOp::Ge: {
      bool isInt = a.type == ExprType::Int;
      bool r = false;
      if (e.op == ExprOp::Lt) r = isInt ? a.i < b.i : a.f < b.f;
      if (e.op == ExprOp::Le) r = isInt ? a.i <= b.i : a.f <= b.f;
      if (e.op == ExprOp::Gt) r = isInt ? a.i > b.i : a.f > b.f;
      if (e.op == ExprOp::Ge) r = isInt ? a.i >= b.i : a.f >= b.f;
      return ExprValue::ofBool(r);
    }
    default:
      break;
    }
    if (e.type == ExprType::Int) {
      switch (e.op) {
      case ExprOp::Add: return ExprValue::ofInt(wrapAdd(a.i, b.i));
      case ExprOp::Sub: return ExprValue::ofInt(wrapSub(a.i, b.i));
      case ExprOp::Mul: return ExprValue::ofInt(wrapMul(a.i, b.i));
      case ExprOp::FloorDiv:
      case ExprOp::Mod:
        if (b.i == 0) {
          fail(e, std::string("integer ") + (e.op == ExprOp::Mod ? "modulo" : "division") +
                      " by zero");
          return std::nullopt;
        }
        return ExprValue::ofInt(e.op == ExprOp::Mod ? floorMod(a.i, b.i)
                                                    : floorDiv(a.i, b.i));
      default:
        break;
      }
    } else {
      switch (e.op) {
      case ExprOp::Add: return ExprValue::ofFloat(a.f + b.f);
      case ExprOp::Sub: return ExprValue::ofFloat(a.f - b.f);
      case ExprOp::Mul: return ExprValue::ofFloat(a.f * b.f);
      case ExprOp::Div: return ExprValue::ofFloat(a.f / b.f);
      case ExprOp::FloorDiv: return ExprValue::ofFloat(floorDivF(a.f, b.f));
      case ExprOp::Mod: return ExprValue::ofFloat(floorModF(a.f, b.f));
      default:
        break;
      }
    }
    error = "internal error: bad binary operator";
    return std::nullopt;
  }

  std::optional<ExprValue> evalCall(const Expr &e) {
    std::vector<ExprValue> args;
    for (const ExprPtr &arg : e.args) {
      auto v = eval(*arg);
      if (!v)
        return std::nullopt;
      args.push_back(*v);
    }
    if (e.type == ExprType::Int) {
      switch (e.op) {
      case ExprOp::Abs: return ExprValue::ofInt(args[0].i < 0 ? wrapSub(0, args[0].i) : args[0].i);
      case ExprOp::Min: return ExprValue::ofInt(std::min(args[0].i, args[1].i));
      case ExprOp::Max: return ExprValue::ofInt(std::max(args[0].i, args[1].i));
      case ExprOp::Clamp:
        return ExprValue::ofInt(std::min(std::max(args[0].i, args[1].i), args[2].i));
      default:
        break;
      }
    }
    double x = args[0].f;
    switch (e.op) {
    case ExprOp::Exp: return ExprValue::ofFloat(std::exp(x));
    case ExprOp::Exp2: return ExprValue::ofFloat(std::exp2(x));
    case ExprOp::Log: return ExprValue::ofFloat(std::log(x));
    case ExprOp::Log2: return ExprValue::ofFloat(std::log2(x));
    case ExprOp::Sqrt: return ExprValue::ofFloat(std::sqrt(x));
    case ExprOp::Rsqrt: return ExprValue::ofFloat(1.0 / std::sqrt(x));
    case ExprOp::Tanh: return ExprValue::ofFloat(std::tanh(x));
    case ExprOp::Sigmoid: return ExprValue::ofFloat(1.0 / (1.0 + std::exp(-x)));
    case ExprOp::Abs: return ExprValue::ofFloat(std::fabs(x));
    case ExprOp::Floor: return ExprValue::ofFloat(std::floor(x));
    case ExprOp::Ceil: return ExprValue::ofFloat(std::ceil(x));
    case ExprOp::Min: return ExprValue::ofFloat(std::fmin(x, args[1].f));
    case ExprOp::Max: return ExprValue::ofFloat(std::fmax(x, args[1].f));
    case ExprOp::Clamp:
      return ExprValue::ofFloat(std::fmin(std::fmax(x, args[1].f), args[2].f));
    default:
      break;
    }
    error = "internal error: bad function";
    return std::nullopt;
  }

  const EvalContext &ctx;
  std::string &error;
  unsigned *errorOffset;

  /// Records the error of evaluating `e` (its message, and where `e` starts).
  void fail(const Expr &e, std::string message) {
    error = std::move(message);
    if (errorOffset)
      *errorOffset = e.offset;
  }
};

} // namespace

std::optional<ExprValue> evaluate(const Expr &expr, const EvalContext &ctx,
                                  std::string &error, unsigned *errorOffset) {
  return Evaluator(ctx, error, errorOffset).eval(expr);
}

} // namespace attnc::frontend
