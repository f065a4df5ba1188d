//===- ExprEvalTest.cpp - evaluation of expressions -------------------------===//
//
// Python's floor division and modulo, and end-to-end parse + evaluate of
// score_mod/mask_mod expressions: buffers, scalars, lazy operators, run-time errors,
// wrapping integer arithmetic and the float functions.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/ExprEval.h"
#include "compiler/frontend/ExprParser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

using namespace attnc::frontend;

namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr double kInf = std::numeric_limits<double>::infinity();

// ===--- floorDiv / floorMod -----------------------------------------------===//

TEST(FloorDivMod, IntegerFloorDivisionMatchesPython) {
  struct Case {
    int64_t a, b, q;
  } cases[] = {
      {7, 2, 3},       {7, -2, -4},     {-7, 2, -4},       {-7, -2, 3},
      {6, 3, 2},       {-6, 3, -2},     {6, -3, -2},       {0, 5, 0},
      {0, -5, 0},      {1, -1, -1},     {-1, 2, -1},       {1, 2, 0},
      {kMin, 1, kMin}, {kMin, 2, kMin / 2}, {kMax, -1, -kMax}, {kMin, kMax, -2},
      {-1, kMax, -1},  {kMax, kMin, -1}, {kMin, kMin, 1},
  };
  for (const Case &c : cases)
    EXPECT_EQ(floorDiv(c.a, c.b), c.q) << c.a << " // " << c.b;
}

TEST(FloorDivMod, IntMinDividedByMinusOneWraps) {
  EXPECT_EQ(floorDiv(kMin, -1), kMin);
  EXPECT_EQ(floorMod(kMin, -1), 0);
}

TEST(FloorDivMod, IntegerFloorModuloMatchesPython) {
  struct Case {
    int64_t a, b, r;
  } cases[] = {
      {7, 3, 1},     {-7, 3, 2},      {7, -3, -2},   {-7, -3, -1}, {6, -3, 0},
      {-6, 3, 0},    {0, -5, 0},      {5, 1, 0},     {5, -1, 0},   {-1, kMax, kMax - 1},
      {kMin, 3, 1},  {kMax, -2, -1},  {kMin, kMax, kMax - 1},
  };
  for (const Case &c : cases)
    EXPECT_EQ(floorMod(c.a, c.b), c.r) << c.a << " % " << c.b;
}

TEST(FloorDivMod, IntegerDivModIdentityAndSignOfRemainder) {
  for (int64_t a = -25; a <= 25; ++a)
    for (int64_t b = -7; b <= 7; ++b) {
      if (b == 0)
        continue;
      int64_t q = floorDiv(a, b), r = floorMod(a, b);
      EXPECT_EQ(q * b + r, a) << a << ", " << b;
      EXPECT_TRUE(r == 0 || (r < 0) == (b < 0)) << a << " % " << b << " = " << r;
      EXPECT_LT(std::abs(r), std::abs(b));
      EXPECT_EQ(q, static_cast<int64_t>(std::floor(double(a) / double(b))));
    }
}

TEST(FloorDivMod, FloatFloorDivisionMatchesPython) {
  EXPECT_EQ(floorDivF(-7.5, 2), -4.0);
  EXPECT_EQ(floorDivF(7.5, 2), 3.0);
  EXPECT_EQ(floorDivF(7.5, -2), -4.0);
  EXPECT_EQ(floorDivF(-7.5, -2), 3.0);
  EXPECT_EQ(floorDivF(-7.0, 2), -4.0);
  EXPECT_EQ(floorDivF(6.0, 3.0), 2.0);
  EXPECT_EQ(floorDivF(5.0, kInf), 0.0);
}

TEST(FloorDivMod, FloatFloorModuloMatchesPython) {
  EXPECT_EQ(floorModF(-7.5, 2), 0.5);
  EXPECT_EQ(floorModF(7.5, 2), 1.5);
  EXPECT_EQ(floorModF(7.5, -2), -0.5);
  EXPECT_EQ(floorModF(-7.5, -2), -1.5);
  EXPECT_EQ(floorModF(-7.0, 3.0), 2.0);
  EXPECT_EQ(floorModF(6.0, -3.0), 0.0);
  EXPECT_EQ(floorModF(5.0, kInf), 5.0);
  EXPECT_EQ(floorModF(-5.0, kInf), kInf);
  EXPECT_EQ(floorModF(5.0, -kInf), -kInf);
}

// Questionable: floorDivF is floor(a / b), which rounds a / b before flooring, so it
// disagrees with Python where the rounded quotient crosses an integer. Python:
// 1.0 // 0.1 == 9.0 (and 1.0 % 0.1 == 0.09999999999999995, which floorModF does
// return, so q * b + r is ~1.1 here, not 1.0); -5.0 // inf == -1.0 (because
// -5.0 % inf == inf), but floor(-5.0 / inf) is -0.0.
TEST(FloorDivMod, FloatFloorDivisionIsConsistentWithModuloLikePython) {
  EXPECT_EQ(floorDivF(1.0, 0.1), 9.0);
  EXPECT_DOUBLE_EQ(floorModF(1.0, 0.1), 0.09999999999999995);
  EXPECT_EQ(floorDivF(-5.0, kInf), -1.0);
}

// ===--- End-to-end helpers -----------------------------------------------===//

ExprEnv testEnv() {
  ExprEnv env;
  auto add = [&](const char *name, ExprSymbol::Kind kind, ExprType type,
                 const char *storage, unsigned rank = 0) {
    ExprSymbol sym;
    sym.kind = kind;
    sym.type = type;
    sym.storageType = storage;
    sym.rank = rank;
    env.symbols[name] = sym;
  };
  add("offset", ExprSymbol::Kind::Scalar, ExprType::Int, "i32");
  add("temp", ExprSymbol::Kind::Scalar, ExprType::Float, "f32");
  add("slopes", ExprSymbol::Kind::Buffer, ExprType::Float, "f32", 1);
  add("bias", ExprSymbol::Kind::Buffer, ExprType::Float, "f32", 2);
  add("doc", ExprSymbol::Kind::Buffer, ExprType::Int, "i32", 1);
  ExprSymbol window;
  window.kind = ExprSymbol::Kind::Constant;
  window.type = ExprType::Int;
  window.intValue = 3;
  env.symbols["window"] = window;
  ExprSymbol softcap;
  softcap.kind = ExprSymbol::Kind::Constant;
  softcap.type = ExprType::Float;
  softcap.floatValue = 50.0;
  env.symbols["softcap"] = softcap;
  return env;
}

ExprPtr parseOk(std::string_view src, ModifierKind kind = ModifierKind::ScoreMod) {
  static const ExprEnv env = testEnv();
  ExprError error;
  ExprPtr expr = parseModifier(src, env, kind, error);
  EXPECT_NE(expr, nullptr) << "'" << src << "' rejected at " << error.offset << ": "
                           << error.message;
  return expr;
}

ExprPtr parseMask(std::string_view src) { return parseOk(src, ModifierKind::MaskMod); }

/// Evaluates a score_mod, expecting success.
double evalScore(std::string_view src, const EvalContext &ctx = {}) {
  ExprPtr expr = parseOk(src);
  if (!expr)
    return std::nan("");
  std::string error;
  auto value = evaluate(*expr, ctx, error);
  EXPECT_TRUE(value) << src << ": " << error;
  if (!value)
    return std::nan("");
  EXPECT_EQ(value->type, ExprType::Float) << src;
  return value->f;
}

/// Evaluates a score_mod whose body is an int expression, skipping the final
/// int→float promotion, so large values are compared exactly.
int64_t evalInt(std::string_view src, const EvalContext &ctx = {}) {
  ExprPtr expr = parseOk(src);
  if (!expr)
    return 0;
  EXPECT_EQ(expr->kind, Expr::Kind::Cast) << src;
  EXPECT_EQ(expr->args.at(0)->type, ExprType::Int) << src;
  std::string error;
  auto value = evaluate(*expr->args.at(0), ctx, error);
  EXPECT_TRUE(value) << src << ": " << error;
  if (!value)
    return 0;
  EXPECT_EQ(value->type, ExprType::Int) << src;
  return value->i;
}

/// Evaluates a mask_mod, expecting success.
bool evalMask(std::string_view src, const EvalContext &ctx) {
  ExprPtr expr = parseMask(src);
  if (!expr)
    return false;
  std::string error;
  auto value = evaluate(*expr, ctx, error);
  EXPECT_TRUE(value) << src << ": " << error;
  if (!value)
    return false;
  EXPECT_EQ(value->type, ExprType::Bool) << src;
  return value->b;
}

/// Evaluates `src`, expecting a run-time error; returns the error message.
std::string evalError(std::string_view src, ModifierKind kind, const EvalContext &ctx) {
  ExprPtr expr = parseOk(src, kind);
  if (!expr)
    return "<parse failed>";
  std::string error;
  auto value = evaluate(*expr, ctx, error);
  EXPECT_FALSE(value) << src << " evaluated without an error";
  return error;
}

/// A context whose buffers are `slopes` (f32, 4 elements), `bias` (f32, 3x5) and
/// `doc` (i32, 8 elements); reads outside them return nullopt. Counts the reads.
struct Buffers {
  std::vector<double> slopes = {0.5, 0.25, 0.125, 0.0625};
  std::vector<int64_t> doc = {0, 0, 0, 1, 1, 2, 2, 2};
  int reads = 0;
  std::vector<std::string> names;

  static double biasAt(int64_t i, int64_t j) { return 10.0 * i + j; }

  void install(EvalContext &ctx) {
    ctx.buffer = [this](const std::string &name, const std::vector<int64_t> &idx)
        -> std::optional<ExprValue> {
      ++reads;
      names.push_back(name);
      if (name == "slopes" && idx.size() == 1 && idx[0] >= 0 && idx[0] < 4)
        return ExprValue::ofFloat(slopes[idx[0]]);
      if (name == "doc" && idx.size() == 1 && idx[0] >= 0 && idx[0] < 8)
        return ExprValue::ofInt(doc[idx[0]]);
      if (name == "bias" && idx.size() == 2 && idx[0] >= 0 && idx[0] < 3 &&
          idx[1] >= 0 && idx[1] < 5)
        return ExprValue::ofFloat(biasAt(idx[0], idx[1]));
      return std::nullopt;
    };
  }
};

// ===--- Arithmetic -------------------------------------------------------===//

TEST(ExprEval, FloorDivisionAndModuloInExpressions) {
  EXPECT_EQ(evalInt("7 // -2"), -4);
  EXPECT_EQ(evalInt("-7 // 2"), -4);
  EXPECT_EQ(evalInt("-7 % 3"), 2);
  EXPECT_EQ(evalInt("7 % -3"), -2);
  EXPECT_DOUBLE_EQ(evalScore("-7.5 // 2"), -4.0);
  EXPECT_DOUBLE_EQ(evalScore("-7.5 % 2"), 0.5);
  EXPECT_DOUBLE_EQ(evalScore("7.5 % -2"), -0.5);
  EXPECT_EQ(evalInt("(-9223372036854775807 - 1) // -1"), kMin);
  EXPECT_EQ(evalInt("(-9223372036854775807 - 1) % -1"), 0);

  EvalContext ctx;
  ctx.qIdx = -7;
  ctx.kvIdx = 2;
  EXPECT_EQ(evalInt("q_idx // kv_idx", ctx), -4);
  EXPECT_EQ(evalInt("q_idx % kv_idx", ctx), 1);
}

TEST(ExprEval, SlashIsTrueDivision) {
  EXPECT_DOUBLE_EQ(evalScore("7 / 2"), 3.5);
  EXPECT_DOUBLE_EQ(evalScore("-7 / 2"), -3.5);
  EvalContext ctx;
  ctx.qIdx = 1;
  ctx.kvIdx = 4;
  EXPECT_DOUBLE_EQ(evalScore("q_idx / kv_idx", ctx), 0.25);
}

TEST(ExprEval, PrecedenceAndAssociativityDecideValues) {
  EXPECT_EQ(evalInt("2 + 3 * 4"), 14);
  EXPECT_EQ(evalInt("(2 + 3) * 4"), 20);
  EXPECT_EQ(evalInt("10 - 3 - 2"), 5);
  EXPECT_EQ(evalInt("100 // 7 // 2"), 7);
  EXPECT_EQ(evalInt("2 * 3 % 4"), 2);
  EXPECT_EQ(evalInt("-2 * 3"), -6);
  EXPECT_DOUBLE_EQ(evalScore("8.0 / 4.0 / 2.0"), 1.0);
  EXPECT_DOUBLE_EQ(evalScore("true ? 1.0 : false ? 2.0 : 3.0"), 1.0);
  EXPECT_DOUBLE_EQ(evalScore("false ? 1.0 : false ? 2.0 : 3.0"), 3.0);
}

TEST(ExprEval, MixedArithmeticPromotes) {
  EvalContext ctx;
  ctx.qIdx = 3;
  ctx.score = 0.25;
  EXPECT_DOUBLE_EQ(evalScore("q_idx + 1.5", ctx), 4.5);
  EXPECT_DOUBLE_EQ(evalScore("score * q_idx", ctx), 0.75);
  EXPECT_DOUBLE_EQ(evalScore("q_idx - kv_idx", ctx), 3.0);
}

TEST(ExprEval, IntegerArithmeticWraps) {
  EXPECT_EQ(evalInt("9223372036854775807 + 1"), kMin);
  EXPECT_EQ(evalInt("-9223372036854775807 - 2"), kMax);
  EXPECT_EQ(evalInt("4611686018427387904 * 2"), kMin);
  EXPECT_EQ(evalInt("3037000500 * 3037000500"), int64_t(-9223372036709301616LL));
  EXPECT_EQ(evalInt("-(-9223372036854775807 - 1)"), kMin);
  EXPECT_EQ(evalInt("abs(-9223372036854775807 - 1)"), kMin);
  EvalContext ctx;
  ctx.qLen = kMax;
  EXPECT_EQ(evalInt("q_len + q_len", ctx), -2);
}

TEST(ExprEval, IndexVariables) {
  EvalContext ctx;
  ctx.b = 1;
  ctx.h = 2;
  ctx.qIdx = 3;
  ctx.kvIdx = 4;
  ctx.qLen = 5;
  ctx.kvLen = 6;
  EXPECT_EQ(evalInt("b * 100000 + h * 10000 + q_idx * 1000 + kv_idx * 100 + q_len * 10 + "
                    "kv_len",
                    ctx),
            123456);
}

TEST(ExprEval, ComparisonsAndBoolEquality) {
  EvalContext ctx;
  for (int q = -1; q <= 1; ++q)
    for (int kv = -1; kv <= 1; ++kv) {
      ctx.qIdx = q;
      ctx.kvIdx = kv;
      EXPECT_EQ(evalMask("q_idx < kv_idx", ctx), q < kv);
      EXPECT_EQ(evalMask("q_idx <= kv_idx", ctx), q <= kv);
      EXPECT_EQ(evalMask("q_idx > kv_idx", ctx), q > kv);
      EXPECT_EQ(evalMask("q_idx >= kv_idx", ctx), q >= kv);
      EXPECT_EQ(evalMask("q_idx == kv_idx", ctx), q == kv);
      EXPECT_EQ(evalMask("q_idx != kv_idx", ctx), q != kv);
      EXPECT_EQ(evalMask("(q_idx > 0) == (kv_idx > 0)", ctx), (q > 0) == (kv > 0));
      EXPECT_EQ(evalMask("q_idx + 0.5 > kv_idx", ctx), q + 0.5 > kv);
      EXPECT_EQ(evalMask("not (q_idx > 0) or kv_idx > 0", ctx), !(q > 0) || kv > 0);
    }
}

// ===--- Conversions and functions ---------------------------------------===//

TEST(ExprEval, IntTruncatesTowardZero) {
  EXPECT_EQ(evalInt("int(-2.7)"), -2);
  EXPECT_EQ(evalInt("int(2.7)"), 2);
  EXPECT_EQ(evalInt("int(-0.5)"), 0);
  EXPECT_EQ(evalInt("int(-3.0)"), -3);
  EvalContext ctx;
  ctx.score = -3.99;
  EXPECT_EQ(evalInt("int(score)", ctx), -3);
  EXPECT_DOUBLE_EQ(evalScore("floor(score)", ctx), -4.0);
  EXPECT_DOUBLE_EQ(evalScore("ceil(score)", ctx), -3.0);
}

TEST(ExprEval, IntOfOutOfRangeFloatSaturates) {
  EXPECT_EQ(evalInt("int(inf)"), kMax);
  EXPECT_EQ(evalInt("int(-inf)"), kMin);
  EXPECT_EQ(evalInt("int(1e30)"), kMax);
  EXPECT_EQ(evalInt("int(inf - inf)"), 0); // NaN
}

/// The language's floats are f32: the evaluator rounds every float result.
static double f32(double v) { return double(static_cast<float>(v)); }

TEST(ExprEval, FloatFunctionsMatchStd) {
  for (double x : {-3.0, -0.5, 0.0, 0.5, 2.0, 10.0}) {
    EvalContext ctx;
    ctx.score = x;
    EXPECT_DOUBLE_EQ(evalScore("sigmoid(score)", ctx), f32(1.0 / (1.0 + std::exp(-x)))) << x;
    EXPECT_DOUBLE_EQ(evalScore("tanh(score)", ctx), f32(std::tanh(x))) << x;
    EXPECT_DOUBLE_EQ(evalScore("exp(score)", ctx), f32(std::exp(x))) << x;
    EXPECT_DOUBLE_EQ(evalScore("exp2(score)", ctx), f32(std::exp2(x))) << x;
    EXPECT_DOUBLE_EQ(evalScore("abs(score)", ctx), f32(std::fabs(x))) << x;
    EXPECT_DOUBLE_EQ(evalScore("floor(score)", ctx), f32(std::floor(x))) << x;
    EXPECT_DOUBLE_EQ(evalScore("ceil(score)", ctx), f32(std::ceil(x))) << x;
    if (x > 0) {
      EXPECT_DOUBLE_EQ(evalScore("log(score)", ctx), f32(std::log(x))) << x;
      EXPECT_DOUBLE_EQ(evalScore("log2(score)", ctx), f32(std::log2(x))) << x;
      EXPECT_DOUBLE_EQ(evalScore("sqrt(score)", ctx), f32(std::sqrt(x))) << x;
      EXPECT_DOUBLE_EQ(evalScore("rsqrt(score)", ctx), f32(1.0 / std::sqrt(x))) << x;
    }
  }
  EXPECT_DOUBLE_EQ(evalScore("sigmoid(0)"), 0.5);
  EXPECT_DOUBLE_EQ(evalScore("exp(1)"), f32(std::exp(1.0)));
  EXPECT_DOUBLE_EQ(evalScore("sqrt(2)"), f32(std::sqrt(2.0)));
}

TEST(ExprEval, MinMaxClamp) {
  EvalContext ctx;
  for (int q = 0; q < 8; ++q) {
    ctx.qIdx = q;
    EXPECT_EQ(evalInt("clamp(q_idx, 2, 5)", ctx), std::min(std::max(q, 2), 5));
    EXPECT_EQ(evalInt("min(q_idx, 3)", ctx), std::min(q, 3));
    EXPECT_EQ(evalInt("max(q_idx, 3)", ctx), std::max(q, 3));
    EXPECT_EQ(evalInt("abs(q_idx - 4)", ctx), std::abs(q - 4));
  }
  ctx.score = 2.5;
  EXPECT_DOUBLE_EQ(evalScore("min(score, 1.5)", ctx), 1.5);
  EXPECT_DOUBLE_EQ(evalScore("max(score, 3)", ctx), 3.0);
  EXPECT_DOUBLE_EQ(evalScore("clamp(score, -1, 1)", ctx), 1.0);
  EXPECT_DOUBLE_EQ(evalScore("clamp(-score, -1, 1)", ctx), -1.0);
}

TEST(ExprEval, SoftcapScoreMod) {
  EvalContext ctx;
  for (double x : {-200.0, -10.0, 0.0, 3.0, 75.0}) {
    ctx.score = x;
    // Each f32 operation rounds: score / softcap, tanh(...), softcap * (...).
    EXPECT_DOUBLE_EQ(evalScore("softcap * tanh(score / softcap)", ctx),
                     f32(50.0 * f32(std::tanh(f32(x / 50.0)))))
        << x;
  }
}

TEST(ExprEval, InfLiteralMasksScores) {
  EvalContext ctx;
  ctx.qIdx = 1;
  ctx.kvIdx = 2;
  double v = evalScore("kv_idx > q_idx ? -inf : score", ctx);
  EXPECT_TRUE(std::isinf(v) && v < 0);
  ctx.kvIdx = 0;
  ctx.score = 1.25;
  EXPECT_DOUBLE_EQ(evalScore("kv_idx > q_idx ? -inf : score", ctx), 1.25);
}

// ===--- Variants over a grid --------------------------------------------===//

TEST(ExprEval, AlibiScoreModReadsTheSlopeBuffer) {
  Buffers buffers;
  EvalContext ctx;
  buffers.install(ctx);
  ExprPtr expr = parseOk("score + slopes[h] * (kv_idx - q_idx)");
  ASSERT_TRUE(expr);
  int points = 0;
  for (int64_t h = 0; h < 4; ++h)
    for (int64_t q = 0; q < 6; ++q)
      for (int64_t kv = 0; kv < 6; ++kv) {
        ctx.h = h;
        ctx.qIdx = q;
        ctx.kvIdx = kv;
        ctx.score = f32(0.1 * double(q) - 0.3 * double(kv));
        std::string error;
        auto v = evaluate(*expr, ctx, error);
        ASSERT_TRUE(v) << error;
        // slopes[h] * float(kv - q), then score + ..., each rounded to f32.
        EXPECT_DOUBLE_EQ(v->f, f32(ctx.score + f32(f32(buffers.slopes[h]) * double(kv - q))));
        ++points;
      }
  EXPECT_EQ(buffers.reads, points);
}

TEST(ExprEval, TwoDimensionalBufferIndicesInOrder) {
  Buffers buffers;
  EvalContext ctx;
  buffers.install(ctx);
  ctx.score = 0.5;
  for (int64_t q = 0; q < 3; ++q)
    for (int64_t kv = 0; kv < 5; ++kv) {
      ctx.qIdx = q;
      ctx.kvIdx = kv;
      EXPECT_DOUBLE_EQ(evalScore("score + bias[q_idx, kv_idx]", ctx),
                       0.5 + Buffers::biasAt(q, kv));
    }
}

TEST(ExprEval, CausalMaskMatchesPredicate) {
  ExprPtr expr = parseMask("q_idx >= kv_idx");
  ASSERT_TRUE(expr);
  EvalContext ctx;
  int kept = 0;
  for (int64_t q = 0; q < 8; ++q)
    for (int64_t kv = 0; kv < 8; ++kv) {
      ctx.qIdx = q;
      ctx.kvIdx = kv;
      std::string error;
      auto v = evaluate(*expr, ctx, error);
      ASSERT_TRUE(v) << error;
      EXPECT_EQ(v->b, q >= kv) << q << ", " << kv;
      kept += v->b;
    }
  EXPECT_EQ(kept, 36);
}

TEST(ExprEval, SlidingWindowMaskMatchesPredicate) {
  ExprPtr expr = parseMask("q_idx >= kv_idx && q_idx - kv_idx < window");
  ASSERT_TRUE(expr);
  EvalContext ctx;
  for (int64_t q = 0; q < 8; ++q)
    for (int64_t kv = 0; kv < 8; ++kv) {
      ctx.qIdx = q;
      ctx.kvIdx = kv;
      std::string error;
      auto v = evaluate(*expr, ctx, error);
      ASSERT_TRUE(v) << error;
      EXPECT_EQ(v->b, q >= kv && q - kv < 3) << q << ", " << kv;
    }
}

TEST(ExprEval, ScalarsComeFromTheCallback) {
  EvalContext ctx;
  ctx.scalar = [](const std::string &name) -> std::optional<ExprValue> {
    if (name == "offset")
      return ExprValue::ofInt(2);
    if (name == "temp")
      return ExprValue::ofFloat(0.5);
    return std::nullopt;
  };
  ExprPtr expr = parseMask("q_idx + offset >= kv_idx && q_idx + offset - kv_idx < window");
  ASSERT_TRUE(expr);
  for (int64_t q = 0; q < 6; ++q)
    for (int64_t kv = 0; kv < 10; ++kv) {
      ctx.qIdx = q;
      ctx.kvIdx = kv;
      std::string error;
      auto v = evaluate(*expr, ctx, error);
      ASSERT_TRUE(v) << error;
      EXPECT_EQ(v->b, q + 2 >= kv && q + 2 - kv < 3) << q << ", " << kv;
    }
  ctx.score = 3.0;
  EXPECT_DOUBLE_EQ(evalScore("score * temp + offset", ctx), 3.5);
}

TEST(ExprEval, MissingScalarIsAnError) {
  EvalContext ctx;
  EXPECT_EQ(evalError("score * temp", ModifierKind::ScoreMod, ctx),
            "scalar 'temp' has no value");
  ctx.scalar = [](const std::string &) { return std::optional<ExprValue>(); };
  EXPECT_EQ(evalError("q_idx < offset", ModifierKind::MaskMod, ctx),
            "scalar 'offset' has no value");
}

TEST(ExprEval, DocumentMaskWithIntBuffer) {
  Buffers buffers;
  EvalContext ctx;
  buffers.install(ctx);
  for (int64_t q = 0; q < 8; ++q)
    for (int64_t kv = 0; kv < 8; ++kv) {
      ctx.qIdx = q;
      ctx.kvIdx = kv;
      EXPECT_EQ(evalMask("doc[q_idx] == doc[kv_idx] && q_idx >= kv_idx", ctx),
                buffers.doc[q] == buffers.doc[kv] && q >= kv)
          << q << ", " << kv;
    }
}

// ===--- Laziness and run-time errors ------------------------------------===//

TEST(ExprEval, AndGuardsAnOutOfRangeRead) {
  Buffers buffers;
  EvalContext ctx;
  buffers.install(ctx);
  ctx.qIdx = 10;
  EXPECT_FALSE(evalMask("q_idx < 4 && slopes[q_idx] > 0.0", ctx));
  EXPECT_EQ(buffers.reads, 0);
  ctx.qIdx = 2;
  EXPECT_TRUE(evalMask("q_idx < 4 && slopes[q_idx] > 0.0", ctx));
  EXPECT_EQ(buffers.reads, 1);
}

TEST(ExprEval, OrGuardsAnOutOfRangeRead) {
  Buffers buffers;
  EvalContext ctx;
  buffers.install(ctx);
  ctx.qIdx = 10;
  EXPECT_TRUE(evalMask("q_idx >= 4 || slopes[q_idx] > 0.0", ctx));
  EXPECT_TRUE(evalMask("q_idx >= 4 or doc[q_idx] == 0", ctx));
  EXPECT_EQ(buffers.reads, 0);
}

TEST(ExprEval, TernaryAndWhereEvaluateOnlyTheChosenBranch) {
  Buffers buffers;
  EvalContext ctx;
  buffers.install(ctx);
  ctx.qIdx = 10;
  EXPECT_DOUBLE_EQ(evalScore("q_idx < 4 ? slopes[q_idx] : 0.0", ctx), 0.0);
  EXPECT_DOUBLE_EQ(evalScore("q_idx >= 4 ? -1.0 : slopes[q_idx]", ctx), -1.0);
  EXPECT_DOUBLE_EQ(evalScore("where(q_idx < 4, slopes[q_idx], 2.0)", ctx), 2.0);
  EXPECT_EQ(buffers.reads, 0);
  ctx.qIdx = 1;
  EXPECT_DOUBLE_EQ(evalScore("q_idx < 4 ? slopes[q_idx] : 0.0", ctx), 0.25);
  EXPECT_EQ(buffers.reads, 1);
}

TEST(ExprEval, UnguardedOutOfRangeReadNamesTheBuffer) {
  Buffers buffers;
  EvalContext ctx;
  buffers.install(ctx);
  ctx.qIdx = 10;
  std::string error = evalError("slopes[q_idx] > 0.0", ModifierKind::MaskMod, ctx);
  EXPECT_NE(error.find("'slopes'"), std::string::npos) << error;
  EXPECT_EQ(error, "index out of range reading buffer 'slopes' at [10]");
  // A guard after the read does not help: && evaluates left to right.
  error = evalError("slopes[q_idx] > 0.0 && q_idx < 4", ModifierKind::MaskMod, ctx);
  EXPECT_NE(error.find("slopes"), std::string::npos) << error;
  // Negative and two-dimensional indices are reported as read.
  ctx.qIdx = 0;
  ctx.kvIdx = 7;
  EXPECT_EQ(evalError("score + bias[q_idx - 1, kv_idx]", ModifierKind::ScoreMod, ctx),
            "index out of range reading buffer 'bias' at [-1, 7]");
  // The guard decides: the wrong branch of ?: still fails.
  ctx.qIdx = 10;
  EXPECT_NE(evalError("q_idx >= 4 ? slopes[q_idx] : 0.0", ModifierKind::ScoreMod, ctx)
                .find("slopes"),
            std::string::npos);
}

TEST(ExprEval, OutOfRangeReadWithoutBufferCallbackIsAnError) {
  EvalContext ctx; // no buffer callback at all
  std::string error = evalError("score + slopes[0]", ModifierKind::ScoreMod, ctx);
  EXPECT_EQ(error, "index out of range reading buffer 'slopes' at [0]");
}

TEST(ExprEval, IntegerDivisionByZeroIsAnError) {
  EvalContext ctx;
  ctx.qIdx = 5;
  ctx.kvIdx = 0;
  EXPECT_EQ(evalError("q_idx // kv_idx", ModifierKind::ScoreMod, ctx),
            "integer division by zero");
  EXPECT_EQ(evalError("q_idx % kv_idx == 0", ModifierKind::MaskMod, ctx),
            "integer modulo by zero");
  EXPECT_EQ(evalError("score + 1 // 0", ModifierKind::ScoreMod, ctx),
            "integer division by zero");
}

TEST(ExprEval, GuardedIntegerDivisionByZeroIsNotEvaluated) {
  EvalContext ctx;
  ctx.qIdx = 5;
  ctx.kvIdx = 0;
  EXPECT_FALSE(evalMask("kv_idx != 0 && q_idx // kv_idx >= 1", ctx));
  EXPECT_TRUE(evalMask("kv_idx == 0 || q_idx % kv_idx == 0", ctx));
  EXPECT_DOUBLE_EQ(evalScore("kv_idx == 0 ? 0 : q_idx // kv_idx", ctx), 0.0);
}

TEST(ExprEval, FloatDivisionByZeroIsNotAnError) {
  EvalContext ctx;
  ctx.score = 1.0;
  double v = evalScore("score / 0", ctx);
  EXPECT_TRUE(std::isinf(v) && v > 0);
  v = evalScore("-score / 0.0", ctx);
  EXPECT_TRUE(std::isinf(v) && v < 0);
  // `/` promotes ints to float, so even 1 / 0 is inf, not an error.
  EXPECT_TRUE(std::isinf(evalScore("1 / 0")));
}

} // namespace
