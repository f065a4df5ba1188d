//===- ExprParserTest.cpp - parsing and type checking of expressions ------===//
//
// Precedence, associativity and the promotion rules of docs/spec.md, "Expressions",
// checked through Expr::str(), and every error the lexer and parser report, with its
// byte offset.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/ExprEval.h"
#include "compiler/frontend/ExprParser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

using namespace attnc::frontend;

namespace {

/// Constants `window` (int 4) and `softcap` (float 50), scalars `offset` (i32) and
/// `temp` (f32), buffers `slopes` (f32, rank 1), `bias` (f32, rank 2), `doc` (i32,
/// rank 1).
ExprEnv testEnv() {
  ExprEnv env;
  ExprSymbol window;
  window.kind = ExprSymbol::Kind::Constant;
  window.type = ExprType::Int;
  window.intValue = 4;
  env.symbols["window"] = window;

  ExprSymbol softcap;
  softcap.kind = ExprSymbol::Kind::Constant;
  softcap.type = ExprType::Float;
  softcap.floatValue = 50.0;
  env.symbols["softcap"] = softcap;

  ExprSymbol offset;
  offset.kind = ExprSymbol::Kind::Scalar;
  offset.type = ExprType::Int;
  offset.storageType = "i32";
  env.symbols["offset"] = offset;

  ExprSymbol temp;
  temp.kind = ExprSymbol::Kind::Scalar;
  temp.type = ExprType::Float;
  temp.storageType = "f32";
  env.symbols["temp"] = temp;

  ExprSymbol slopes;
  slopes.kind = ExprSymbol::Kind::Buffer;
  slopes.type = ExprType::Float;
  slopes.rank = 1;
  slopes.storageType = "f32";
  env.symbols["slopes"] = slopes;

  ExprSymbol bias = slopes;
  bias.rank = 2;
  env.symbols["bias"] = bias;

  ExprSymbol doc;
  doc.kind = ExprSymbol::Kind::Buffer;
  doc.type = ExprType::Int;
  doc.rank = 1;
  doc.storageType = "i32";
  env.symbols["doc"] = doc;
  return env;
}

constexpr ModifierKind kScore = ModifierKind::ScoreMod;
constexpr ModifierKind kMask = ModifierKind::MaskMod;

ExprPtr parse(std::string_view src, ModifierKind kind, ExprError &error) {
  static const ExprEnv env = testEnv();
  error = {};
  return parseModifier(src, env, kind, error);
}

/// The rendering of a valid expression, or a description of the error.
std::string render(std::string_view src, ModifierKind kind = kScore) {
  ExprError error;
  ExprPtr expr = parse(src, kind, error);
  if (!expr)
    return "error @" + std::to_string(error.offset) + ": " + error.message;
  return expr->str();
}

/// Parses a valid expression, failing the test if it is rejected.
ExprPtr parseOk(std::string_view src, ModifierKind kind = kScore) {
  ExprError error;
  ExprPtr expr = parse(src, kind, error);
  EXPECT_NE(expr, nullptr) << "'" << src << "' rejected at " << error.offset << ": "
                           << error.message;
  return expr;
}

/// Checks that `src` is rejected at `offset` with exactly `message`.
::testing::AssertionResult failsWith(std::string_view src, ModifierKind kind,
                                     unsigned offset, const std::string &message) {
  ExprError error;
  ExprPtr expr = parse(src, kind, error);
  if (expr)
    return ::testing::AssertionFailure()
           << "'" << src << "' was accepted as " << expr->str();
  if (error.offset != offset || error.message != message)
    return ::testing::AssertionFailure()
           << "'" << src << "': got error @" << error.offset << " \"" << error.message
           << "\", expected @" << offset << " \"" << message << "\"";
  return ::testing::AssertionSuccess();
}

// ===--- Precedence --------------------------------------------------------===//

TEST(ExprParserPrecedence, MultiplicationBindsTighterThanAddition) {
  EXPECT_EQ(render("1 + 2 * 3"), "(float (+ 1 (* 2 3)))");
  EXPECT_EQ(render("1 * 2 + 3"), "(float (+ (* 1 2) 3))");
  EXPECT_EQ(render("1 - 2 / 4"), "(- (float 1) (/ (float 2) (float 4)))");
}

TEST(ExprParserPrecedence, FloorDivAndModuloAreAtMultiplicationLevel) {
  EXPECT_EQ(render("1 + 7 // 2"), "(float (+ 1 (// 7 2)))");
  EXPECT_EQ(render("1 - 7 % 3 * 2"), "(float (- 1 (* (% 7 3) 2)))");
  EXPECT_EQ(render("q_idx * 2 // 3"), "(float (// (* q_idx 2) 3))");
  EXPECT_EQ(render("q_idx % 3 * 2"), "(float (* (% q_idx 3) 2))");
}

TEST(ExprParserPrecedence, AndBindsTighterThanOr) {
  EXPECT_EQ(render("true || false && false", kMask), "(|| true (&& false false))");
  EXPECT_EQ(render("true && false || true", kMask), "(|| (&& true false) true)");
}

TEST(ExprParserPrecedence, UnaryMinusBindsTighterThanMultiplication) {
  EXPECT_EQ(render("-q_idx * kv_idx"), "(float (* (neg q_idx) kv_idx))");
  EXPECT_EQ(render("-score * 2.0"), "(* (neg score) 2.0)");
  EXPECT_EQ(render("2 * -q_idx"), "(float (* 2 (neg q_idx)))");
}

TEST(ExprParserPrecedence, NotBindsTighterThanEquality) {
  EXPECT_EQ(render("!true == false", kMask), "(== (! true) false)");
  EXPECT_EQ(render("not true == false", kMask), "(== (! true) false)");
  EXPECT_EQ(render("!(q_idx == kv_idx)", kMask), "(! (== q_idx kv_idx))");
}

TEST(ExprParserPrecedence, ComparisonLevels) {
  EXPECT_EQ(render("q_idx + 1 >= kv_idx", kMask), "(>= (+ q_idx 1) kv_idx)");
  EXPECT_EQ(render("1 < 2 == 3 < 4", kMask), "(== (< 1 2) (< 3 4))");
  EXPECT_EQ(render("q_idx == 1 && kv_idx != 2", kMask),
            "(&& (== q_idx 1) (!= kv_idx 2))");
  EXPECT_EQ(render("q_idx <= 1 || kv_idx > 2", kMask), "(|| (<= q_idx 1) (> kv_idx 2))");
}

TEST(ExprParserPrecedence, TernaryIsLoosest) {
  EXPECT_EQ(render("true || false ? 1 : 2"), "(float (?: (|| true false) 1 2))");
  EXPECT_EQ(render("q_idx < 1 ? score + 1.0 : score * 2.0"),
            "(?: (< q_idx 1) (+ score 1.0) (* score 2.0))");
  EXPECT_EQ(render("q_idx > 0 && kv_idx > 0 ? q_idx == kv_idx : false", kMask),
            "(?: (&& (> q_idx 0) (> kv_idx 0)) (== q_idx kv_idx) false)");
}

TEST(ExprParserPrecedence, ParenthesesGroup) {
  EXPECT_EQ(render("(1 + 2) * 3"), "(float (* (+ 1 2) 3))");
  EXPECT_EQ(render("-(score + 1.0)"), "(neg (+ score 1.0))");
  EXPECT_EQ(render("(true || false) && false", kMask), "(&& (|| true false) false)");
}

TEST(ExprParserPrecedence, CallsAndIndexingBindTightest) {
  EXPECT_EQ(render("-slopes[h] * 2.0"), "(* (neg (slopes[] h)) 2.0)");
  EXPECT_EQ(render("-exp(score) + 1.0"), "(+ (neg (exp score)) 1.0)");
  EXPECT_EQ(render("bias[q_idx + 1, kv_idx]"), "(bias[] (+ q_idx 1) kv_idx)");
}

// ===--- Associativity -----------------------------------------------------===//

TEST(ExprParserAssociativity, SubtractionIsLeftAssociative) {
  EXPECT_EQ(render("10 - 3 - 2"), "(float (- (- 10 3) 2))");
  EXPECT_EQ(render("10 - 3 + 2"), "(float (+ (- 10 3) 2))");
}

TEST(ExprParserAssociativity, DivisionIsLeftAssociative) {
  EXPECT_EQ(render("score / 2.0 / 4.0"), "(/ (/ score 2.0) 4.0)");
}

TEST(ExprParserAssociativity, FloorDivAndModuloAreLeftAssociative) {
  EXPECT_EQ(render("100 // 7 // 2"), "(float (// (// 100 7) 2))");
  EXPECT_EQ(render("100 % 7 % 3"), "(float (% (% 100 7) 3))");
  EXPECT_EQ(render("100 // 7 % 3"), "(float (% (// 100 7) 3))");
  EXPECT_EQ(render("100 % 7 // 3"), "(float (// (% 100 7) 3))");
}

TEST(ExprParserAssociativity, LogicalOperatorsAreLeftAssociative) {
  EXPECT_EQ(render("true || false || true", kMask), "(|| (|| true false) true)");
  EXPECT_EQ(render("true && false && true", kMask), "(&& (&& true false) true)");
}

TEST(ExprParserAssociativity, TernaryIsRightAssociative) {
  EXPECT_EQ(render("q_idx < 1 ? 1.0 : q_idx < 2 ? 2.0 : 3.0"),
            "(?: (< q_idx 1) 1.0 (?: (< q_idx 2) 2.0 3.0))");
  EXPECT_EQ(render("true ? false ? 1.0 : 2.0 : 3.0"),
            "(?: true (?: false 1.0 2.0) 3.0)");
}

TEST(ExprParserAssociativity, UnaryOperatorsNest) {
  EXPECT_EQ(render("- -q_idx"), "(float (neg (neg q_idx)))");
  EXPECT_EQ(render("!!true", kMask), "(! (! true))");
  EXPECT_EQ(render("not not true", kMask), "(! (! true))");
}

// ===--- Types and promotion -----------------------------------------------===//

TEST(ExprParserTypes, MixedIntFloatArithmeticPromotesWithCasts) {
  EXPECT_EQ(render("q_idx + 1.5"), "(+ (float q_idx) 1.5)");
  EXPECT_EQ(render("score * 2"), "(* score (float 2))");
  EXPECT_EQ(render("temp - offset"), "(- temp (float offset))");
  ExprPtr e = parseOk("q_idx + 1.5");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, ExprType::Float);
  ASSERT_EQ(e->args.size(), 2u);
  EXPECT_EQ(e->args[0]->kind, Expr::Kind::Cast);
  EXPECT_EQ(e->args[0]->type, ExprType::Float);
  EXPECT_EQ(e->args[0]->args[0]->type, ExprType::Int);
}

TEST(ExprParserTypes, IntArithmeticStaysInt) {
  ExprPtr e = parseOk("q_idx - kv_idx * 2 == 0", kMask);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, ExprType::Bool);
  EXPECT_EQ(e->args[0]->type, ExprType::Int);
  EXPECT_EQ(e->str(), "(== (- q_idx (* kv_idx 2)) 0)");
}

TEST(ExprParserTypes, SlashIsAlwaysFloatDivision) {
  EXPECT_EQ(render("q_idx / 2"), "(/ (float q_idx) (float 2))");
  ExprPtr e = parseOk("7 / 2");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Expr::Kind::Binary);
  EXPECT_EQ(e->type, ExprType::Float);
}

TEST(ExprParserTypes, FloorDivAndModuloKeepIntForInts) {
  EXPECT_EQ(render("q_idx // 2 == 1", kMask), "(== (// q_idx 2) 1)");
  EXPECT_EQ(render("q_idx % 2 == 1", kMask), "(== (% q_idx 2) 1)");
  EXPECT_EQ(render("score // 2"), "(// score (float 2))");
  EXPECT_EQ(render("score % 2"), "(% score (float 2))");
}

TEST(ExprParserTypes, ComparisonsGiveBoolAndPromoteOperands) {
  EXPECT_EQ(render("q_idx < 1.5", kMask), "(< (float q_idx) 1.5)");
  EXPECT_EQ(render("1 != temp", kMask), "(!= (float 1) temp)");
  EXPECT_EQ(render("true == false", kMask), "(== true false)");
  EXPECT_EQ(render("(q_idx > 1) != (kv_idx > 1)", kMask),
            "(!= (> q_idx 1) (> kv_idx 1))");
  for (const char *op : {"<", "<=", ">", ">=", "==", "!="}) {
    std::string src = std::string("score ") + op + " 1.0 ? 1.0 : 0.0";
    ExprPtr e = parseOk(src);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->args[0]->kind, Expr::Kind::Binary) << src;
    EXPECT_EQ(e->args[0]->type, ExprType::Bool) << src;
    EXPECT_EQ(e->args[0]->args[0]->type, ExprType::Float) << src;
  }
}

TEST(ExprParserTypes, FloatAndIntConversions) {
  EXPECT_EQ(render("float(q_idx) < 1.0", kMask), "(< (float q_idx) 1.0)");
  EXPECT_EQ(render("int(score)"), "(float (int score))");
  // Converting to the type a value already has adds no node.
  EXPECT_EQ(render("float(1.5)"), "1.5");
  EXPECT_EQ(render("int(3) == 3", kMask), "(== 3 3)");
  ExprPtr e = parseOk("int(score) + 1 == 2 ? 1.0 : 0.0");
  ASSERT_TRUE(e);
  const Expr &cond = *e->args[0];
  EXPECT_EQ(cond.args[0]->type, ExprType::Int);
  EXPECT_EQ(cond.args[0]->args[0]->kind, Expr::Kind::Cast);
  EXPECT_EQ(cond.args[0]->args[0]->type, ExprType::Int);
}

TEST(ExprParserTypes, AbsMinMaxClampKeepIntForInts) {
  EXPECT_EQ(render("abs(q_idx - kv_idx) <= window", kMask),
            "(<= (abs (- q_idx kv_idx)) window)");
  EXPECT_EQ(render("min(q_idx, kv_idx) == 0", kMask), "(== (min q_idx kv_idx) 0)");
  EXPECT_EQ(render("max(q_idx, kv_idx) == 0", kMask), "(== (max q_idx kv_idx) 0)");
  EXPECT_EQ(render("clamp(q_idx, 0, 10) == 0", kMask), "(== (clamp q_idx 0 10) 0)");
  for (const char *src : {"abs(q_idx)", "min(q_idx, 1)", "max(1, kv_idx)",
                          "clamp(q_idx, 0, 10)"}) {
    ExprPtr e = parseOk(src);
    ASSERT_TRUE(e);
    ASSERT_EQ(e->kind, Expr::Kind::Cast) << src; // the score_mod promotion
    EXPECT_EQ(e->args[0]->kind, Expr::Kind::Call) << src;
    EXPECT_EQ(e->args[0]->type, ExprType::Int) << src;
  }
}

TEST(ExprParserTypes, AbsMinMaxClampPromoteMixedArguments) {
  EXPECT_EQ(render("abs(score)"), "(abs score)");
  EXPECT_EQ(render("min(q_idx, 1.5)"), "(min (float q_idx) 1.5)");
  EXPECT_EQ(render("max(score, 0)"), "(max score (float 0))");
  EXPECT_EQ(render("clamp(score, 0, 1)"), "(clamp score (float 0) (float 1))");
  EXPECT_EQ(render("clamp(q_idx, 0, softcap)"),
            "(clamp (float q_idx) (float 0) softcap)");
}

TEST(ExprParserTypes, OtherFunctionsPromoteToFloat) {
  for (const char *fn : {"exp", "exp2", "log", "log2", "sqrt", "rsqrt", "tanh",
                         "sigmoid", "floor", "ceil"}) {
    std::string src = std::string(fn) + "(q_idx)";
    ExprPtr e = parseOk(src);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->str(), "(" + std::string(fn) + " (float q_idx))");
    EXPECT_EQ(e->kind, Expr::Kind::Call) << src;
    EXPECT_EQ(e->type, ExprType::Float) << src;
  }
}

TEST(ExprParserTypes, WhereIsASelect) {
  EXPECT_EQ(render("where(q_idx > 1, 1, 2.5)"), "(?: (> q_idx 1) (float 1) 2.5)");
  EXPECT_EQ(render("where(q_idx > 1, true, false)", kMask), "(?: (> q_idx 1) true false)");
  EXPECT_EQ(render("where(q_idx > 1, 1, 2)"), "(float (?: (> q_idx 1) 1 2))");
}

TEST(ExprParserTypes, TernaryBranchesPromote) {
  EXPECT_EQ(render("q_idx > 1 ? q_idx : score"), "(?: (> q_idx 1) (float q_idx) score)");
  ExprPtr e = parseOk("q_idx > 1 ? 1 : 2");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Expr::Kind::Cast);
  EXPECT_EQ(e->args[0]->kind, Expr::Kind::Select);
  EXPECT_EQ(e->args[0]->type, ExprType::Int);
}

TEST(ExprParserTypes, ScoreModIntResultIsPromotedToFloat) {
  ExprPtr e = parseOk("q_idx - kv_idx");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->str(), "(float (- q_idx kv_idx))");
  EXPECT_EQ(e->kind, Expr::Kind::Cast);
  EXPECT_EQ(e->type, ExprType::Float);
  ExprPtr f = parseOk("score");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, Expr::Kind::Var);
  EXPECT_EQ(f->varKind, VarKind::Score);
  EXPECT_EQ(f->type, ExprType::Float);
}

TEST(ExprParserTypes, MaskModBoolResultIsKept) {
  ExprPtr e = parseOk("q_idx >= kv_idx", kMask);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Expr::Kind::Binary);
  EXPECT_EQ(e->type, ExprType::Bool);
}

TEST(ExprParserTypes, WordOperatorsAreSynonyms) {
  EXPECT_EQ(render("true and false or not true", kMask), "(|| (&& true false) (! true))");
  EXPECT_EQ(render("q_idx > 1 and not (kv_idx > 2)", kMask),
            "(&& (> q_idx 1) (! (> kv_idx 2)))");
  EXPECT_EQ(render("true or false", kMask), render("true || false", kMask));
  // Only whole words: `order` and `notice` are names, not `or` + `der`.
  EXPECT_TRUE(failsWith("order", kMask, 0, "unknown name 'order'"));
  EXPECT_TRUE(failsWith("notice", kMask, 0, "unknown name 'notice'"));
}

TEST(ExprParserTypes, InfAndBoolLiterals) {
  ExprPtr inf = parseOk("inf");
  ASSERT_TRUE(inf);
  EXPECT_EQ(inf->kind, Expr::Kind::FloatLit);
  EXPECT_TRUE(std::isinf(inf->floatValue) && inf->floatValue > 0);
  EXPECT_EQ(render("-inf"), "(neg inf)");
  EXPECT_EQ(render("q_idx > kv_idx ? -inf : score"), "(?: (> q_idx kv_idx) (neg inf) score)");

  ExprPtr t = parseOk("true", kMask);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, Expr::Kind::BoolLit);
  EXPECT_TRUE(t->boolValue);
  ExprPtr f = parseOk("false", kMask);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, Expr::Kind::BoolLit);
  EXPECT_FALSE(f->boolValue);
}

TEST(ExprParserTypes, NumericLiteralForms) {
  struct Case {
    const char *src;
    double value;
  } cases[] = {{"1.5", 1.5},   {"1e-3", 1e-3}, {".5", 0.5},      {"2.", 2.0},
               {"1E3", 1000.}, {"2.5e+2", 250}, {"0.0", 0.0},    {"1e-400", 0.0}};
  for (const Case &c : cases) {
    ExprPtr e = parseOk(c.src);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, Expr::Kind::FloatLit) << c.src;
    EXPECT_DOUBLE_EQ(e->floatValue, c.value) << c.src;
  }
  EXPECT_EQ(render("2."), "2.0");
  EXPECT_EQ(render(".5"), "0.5");
  EXPECT_EQ(render("1e-3"), "0.001");

  ExprPtr i = parseOk("42");
  ASSERT_TRUE(i);
  ASSERT_EQ(i->kind, Expr::Kind::Cast);
  EXPECT_EQ(i->args[0]->kind, Expr::Kind::IntLit);
  EXPECT_EQ(i->args[0]->intValue, 42);
  ExprPtr max = parseOk("9223372036854775807");
  ASSERT_TRUE(max);
  EXPECT_EQ(max->args[0]->intValue, std::numeric_limits<int64_t>::max());
}

TEST(ExprParserTypes, NamesResolveToTheirSymbols) {
  ExprPtr w = parseOk("q_idx < window", kMask);
  ASSERT_TRUE(w);
  const Expr &window = *w->args[1];
  EXPECT_EQ(window.kind, Expr::Kind::Var);
  EXPECT_EQ(window.varKind, VarKind::Constant);
  EXPECT_EQ(window.type, ExprType::Int);
  EXPECT_EQ(window.intValue, 4);

  ExprPtr s = parseOk("softcap");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->varKind, VarKind::Constant);
  EXPECT_EQ(s->type, ExprType::Float);
  EXPECT_DOUBLE_EQ(s->floatValue, 50.0);

  ExprPtr o = parseOk("offset");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->args[0]->varKind, VarKind::Scalar);
  EXPECT_EQ(o->args[0]->storageType, "i32");

  ExprPtr d = parseOk("doc[kv_idx]");
  ASSERT_TRUE(d);
  const Expr &load = *d->args[0];
  EXPECT_EQ(load.kind, Expr::Kind::BufferLoad);
  EXPECT_EQ(load.type, ExprType::Int);
  EXPECT_EQ(load.storageType, "i32");
  EXPECT_EQ(load.name, "doc");

  ExprPtr idx = parseOk("kv_len", kScore);
  ASSERT_TRUE(idx);
  EXPECT_EQ(idx->args[0]->varKind, VarKind::Index);
  EXPECT_EQ(idx->args[0]->indexVar, IndexVar::KVLen);
}

TEST(ExprParserTypes, NodesCarryTheirTokenOffsets) {
  ExprPtr e = parseOk("q_idx  >=\tkv_idx", kMask);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->offset, 7u);
  EXPECT_EQ(e->args[0]->offset, 0u);
  EXPECT_EQ(e->args[1]->offset, 10u);
  ExprPtr c = parseOk("  exp(score)");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->offset, 2u);
  EXPECT_EQ(c->args[0]->offset, 6u);
}

TEST(ExprParserTypes, WhitespaceIsSkipped) {
  EXPECT_EQ(render(" \tq_idx\n>=\r\nkv_idx  ", kMask), "(>= q_idx kv_idx)");
}

TEST(ExprParserTypes, MayFailMarksBufferReadsAndIntDivision) {
  struct Case {
    const char *src;
    bool mayFail;
  } cases[] = {{"slopes[h]", true},       {"q_idx // 2", true},
               {"q_idx % 2", true},       {"score // 2.0", false},
               {"score % 2.0", false},    {"q_idx + 1", false},
               {"exp(slopes[0])", true},  {"q_idx / 0", false}};
  for (const Case &c : cases) {
    ExprPtr e = parseOk(c.src);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->mayFail(), c.mayFail) << c.src;
  }
}

// ===--- Lexer errors ------------------------------------------------------===//

TEST(ExprParserErrors, UnexpectedCharacter) {
  EXPECT_TRUE(failsWith("q_idx $ 1", kScore, 6, "unexpected character '$'"));
  EXPECT_TRUE(failsWith("#", kScore, 0, "unexpected character '#'"));
  EXPECT_TRUE(failsWith("(1 @ 2)", kScore, 3, "unexpected character '@'"));
  EXPECT_TRUE(failsWith("score + \x01", kScore, 8, "unexpected control byte 0x01 (expressions are ASCII)"));
  EXPECT_TRUE(failsWith("score + \xC3\xA9", kScore, 8, "unexpected non-ASCII byte 0xC3 (expressions are ASCII)"));
}

TEST(ExprParserErrors, LoneEqualsAmpersandPipe) {
  EXPECT_TRUE(failsWith("q_idx = 1", kMask, 6, "unexpected '='; did you mean '=='?"));
  EXPECT_TRUE(failsWith("true & false", kMask, 5, "unexpected '&'; did you mean '&&'?"));
  EXPECT_TRUE(failsWith("true | false", kMask, 5, "unexpected '|'; did you mean '||'?"));
  EXPECT_TRUE(failsWith("=", kMask, 0, "unexpected '='; did you mean '=='?"));
}

TEST(ExprParserErrors, BadNumbers) {
  EXPECT_TRUE(failsWith("2x", kScore, 0, "invalid number '2x'"));
  EXPECT_TRUE(failsWith("q_idx + 12abc", kScore, 8, "invalid number '12abc'"));
  EXPECT_TRUE(failsWith("1.5.2", kScore, 0, "invalid number '1.5.2'"));
  EXPECT_TRUE(failsWith("1e", kScore, 0, "expected digits in the exponent of a number"));
  EXPECT_TRUE(failsWith("score * 1e+", kScore, 8,
                        "expected digits in the exponent of a number"));
  EXPECT_TRUE(failsWith("2.5e-x", kScore, 0,
                        "expected digits in the exponent of a number"));
}

TEST(ExprParserErrors, LiteralOutOfRange) {
  EXPECT_TRUE(failsWith("9223372036854775808", kScore, 0,
                        "integer literal '9223372036854775808' does not fit in 64 bits"));
  EXPECT_TRUE(failsWith("score + 99999999999999999999", kScore, 8,
                        "integer literal '99999999999999999999' does not fit in 64 bits"));
  EXPECT_TRUE(failsWith("score * 1e999", kScore, 8, "float literal '1e999' is out of range"));
}

// ===--- Name errors -------------------------------------------------------===//

TEST(ExprParserErrors, UnknownName) {
  EXPECT_TRUE(failsWith("score + foo", kScore, 8, "unknown name 'foo'"));
  EXPECT_TRUE(failsWith("nan", kScore, 0, "unknown name 'nan'"));
  // Only the first error is reported.
  EXPECT_TRUE(failsWith("foo + bar", kScore, 0, "unknown name 'foo'"));
}

TEST(ExprParserErrors, UnknownFunction) {
  EXPECT_TRUE(failsWith("foo(1)", kScore, 0, "unknown function 'foo'"));
  EXPECT_TRUE(failsWith("1 + pow(score, 2)", kScore, 4, "unknown function 'pow'"));
}

TEST(ExprParserErrors, CallingANonFunction) {
  EXPECT_TRUE(failsWith("q_idx(1)", kScore, 0, "'q_idx' is not a function"));
  EXPECT_TRUE(failsWith("score * window(2)", kScore, 8, "'window' is not a function"));
  EXPECT_TRUE(failsWith("true()", kMask, 0, "'true' is not a function"));
}

TEST(ExprParserErrors, ScoreInMaskMod) {
  EXPECT_TRUE(failsWith("q_idx < 3 && score > 0", kMask, 13,
                        "'score' is only available in score_mod"));
}

TEST(ExprParserErrors, WrongArity) {
  EXPECT_TRUE(failsWith("min(1)", kScore, 0, "'min' takes 2 arguments, got 1"));
  EXPECT_TRUE(failsWith("score + exp(1, 2)", kScore, 8, "'exp' takes 1 argument, got 2"));
  EXPECT_TRUE(failsWith("clamp(1, 2)", kScore, 0, "'clamp' takes 3 arguments, got 2"));
  EXPECT_TRUE(failsWith("where(true, 1)", kScore, 0, "'where' takes 3 arguments, got 2"));
  EXPECT_TRUE(failsWith("float()", kScore, 0, "'float' takes 1 argument, got 0"));
  EXPECT_TRUE(failsWith("int(1, 2)", kScore, 0, "'int' takes 1 argument, got 2"));
}

TEST(ExprParserErrors, FunctionWithoutCall) {
  EXPECT_TRUE(failsWith("exp + 1", kScore, 0, "function 'exp' must be called, e.g. exp(...)"));
  EXPECT_TRUE(failsWith("score * where", kScore, 8,
                        "function 'where' must be called, e.g. where(...)"));
  EXPECT_TRUE(failsWith("int", kScore, 0, "function 'int' must be called, e.g. int(...)"));
}

// ===--- Buffer errors -----------------------------------------------------===//

TEST(ExprParserErrors, BufferUsedWithoutIndex) {
  EXPECT_TRUE(failsWith("slopes + score", kScore, 0,
                        "buffer 'slopes' must be indexed, e.g. slopes[i]"));
  EXPECT_TRUE(failsWith("score + bias", kScore, 8,
                        "buffer 'bias' must be indexed, e.g. bias[i, j]"));
}

TEST(ExprParserErrors, IndexingANonBuffer) {
  EXPECT_TRUE(failsWith("q_idx[0]", kScore, 0,
                        "'q_idx' is not a buffer and cannot be indexed"));
  EXPECT_TRUE(failsWith("score * window[0]", kScore, 8,
                        "'window' is not a buffer and cannot be indexed"));
  EXPECT_TRUE(failsWith("exp[0]", kScore, 0, "'exp' is not a buffer and cannot be indexed"));
  EXPECT_TRUE(failsWith("score + nope[0]", kScore, 8, "unknown buffer 'nope'"));
}

TEST(ExprParserErrors, WrongIndexCount) {
  EXPECT_TRUE(failsWith("bias[h]", kScore, 0,
                        "buffer 'bias' has 2 dimensions but 1 index was given"));
  EXPECT_TRUE(failsWith("score + slopes[h, h]", kScore, 8,
                        "buffer 'slopes' has 1 dimension but 2 indices were given"));
  EXPECT_TRUE(failsWith("slopes[]", kScore, 0,
                        "buffer 'slopes' has 1 dimension but 0 indices were given"));
}

TEST(ExprParserErrors, BufferIndexMustBeInt) {
  EXPECT_TRUE(failsWith("slopes[score]", kScore, 7,
                        "index of buffer 'slopes' must be int, got float"));
  EXPECT_TRUE(failsWith("bias[h, 1.5]", kScore, 8,
                        "index of buffer 'bias' must be int, got float"));
  EXPECT_TRUE(failsWith("slopes[true]", kScore, 7,
                        "index of buffer 'slopes' must be int, got bool"));
}

// ===--- Type errors -------------------------------------------------------===//

TEST(ExprParserErrors, LogicalOperatorsRequireBool) {
  EXPECT_TRUE(failsWith("q_idx && true", kMask, 6,
                        "operator '&&' requires bool operands, got int and bool"));
  EXPECT_TRUE(failsWith("true || 1.5", kMask, 5,
                        "operator '||' requires bool operands, got bool and float"));
  EXPECT_TRUE(failsWith("q_idx and kv_idx", kMask, 6,
                        "operator '&&' requires bool operands, got int and int"));
}

TEST(ExprParserErrors, RelationalOperatorsRequireNumbers) {
  EXPECT_TRUE(failsWith("true < false", kMask, 5,
                        "operator '<' requires numeric operands, got bool and bool"));
  EXPECT_TRUE(failsWith("1 < 2 < 3", kMask, 6,
                        "operator '<' requires numeric operands, got bool and int"));
  EXPECT_TRUE(failsWith("q_idx >= true", kMask, 6,
                        "operator '>=' requires numeric operands, got int and bool"));
}

TEST(ExprParserErrors, EqualityRequiresTwoNumbersOrTwoBools) {
  EXPECT_TRUE(failsWith("true == 1", kMask, 5,
                        "operator '==' requires numeric operands (or two bools), got "
                        "bool and int"));
  EXPECT_TRUE(failsWith("q_idx != false", kMask, 6,
                        "operator '!=' requires numeric operands (or two bools), got "
                        "int and bool"));
}

TEST(ExprParserErrors, ArithmeticRequiresNumbers) {
  EXPECT_TRUE(failsWith("true + 1", kScore, 5,
                        "operator '+' requires numeric operands, got bool and int"));
  EXPECT_TRUE(failsWith("score * (q_idx > 0)", kScore, 6,
                        "operator '*' requires numeric operands, got float and bool"));
  EXPECT_TRUE(failsWith("1 / true", kScore, 2,
                        "operator '/' requires numeric operands, got int and bool"));
  EXPECT_TRUE(failsWith("false // 2", kScore, 6,
                        "operator '//' requires numeric operands, got bool and int"));
  EXPECT_TRUE(failsWith("score % true", kScore, 6,
                        "operator '%' requires numeric operands, got float and bool"));
  EXPECT_TRUE(failsWith("score - false", kScore, 6,
                        "operator '-' requires numeric operands, got float and bool"));
}

TEST(ExprParserErrors, UnaryMinusRequiresNumber) {
  EXPECT_TRUE(failsWith("score + -true", kScore, 8,
                        "unary '-' requires a numeric operand, got bool"));
}

TEST(ExprParserErrors, NotRequiresBool) {
  EXPECT_TRUE(failsWith("!q_idx", kMask, 0, "'!' requires a bool operand, got int"));
  EXPECT_TRUE(failsWith("not score", kScore, 0, "'not' requires a bool operand, got float"));
  // `not` binds like `!`, tighter than `==` (unlike Python).
  EXPECT_TRUE(failsWith("not q_idx == kv_idx", kMask, 0,
                        "'not' requires a bool operand, got int"));
}

TEST(ExprParserErrors, ConditionMustBeBool) {
  EXPECT_TRUE(failsWith("q_idx ? 1.0 : 2.0", kScore, 0,
                        "condition of '?:' must be bool, got int"));
  EXPECT_TRUE(failsWith("score ? 1.0 : 2.0", kScore, 0,
                        "condition of '?:' must be bool, got float"));
  EXPECT_TRUE(failsWith("where(kv_idx, 1, 2)", kScore, 6,
                        "condition of 'where' must be bool, got int"));
}

TEST(ExprParserErrors, BranchesMustAgree) {
  EXPECT_TRUE(failsWith("q_idx > 0 ? 1 : true", kScore, 10,
                        "branches of '?:' must both be numeric or both bool, got int "
                        "and bool"));
  EXPECT_TRUE(failsWith("where(true, false, 1.0)", kScore, 0,
                        "branches of 'where' must both be numeric or both bool, got "
                        "bool and float"));
}

TEST(ExprParserErrors, BoolIsNeverANumber) {
  EXPECT_TRUE(failsWith("exp(true)", kScore, 4, "argument of 'exp' must be numeric, got bool"));
  EXPECT_TRUE(failsWith("float(false)", kScore, 6,
                        "argument of 'float' must be numeric, got bool"));
  EXPECT_TRUE(failsWith("int(true)", kScore, 4, "argument of 'int' must be numeric, got bool"));
  EXPECT_TRUE(failsWith("min(1, true)", kScore, 7, "argument of 'min' must be numeric, got bool"));
  EXPECT_TRUE(failsWith("abs(false)", kScore, 4, "argument of 'abs' must be numeric, got bool"));
}

// ===--- Syntax errors -----------------------------------------------------===//

TEST(ExprParserErrors, MissingClosingParenthesis) {
  EXPECT_TRUE(failsWith("(score + 1", kScore, 10, "expected ')', got end of expression"));
  EXPECT_TRUE(failsWith("(score + 1]", kScore, 10, "expected ')', got ']'"));
  EXPECT_TRUE(failsWith("exp(score", kScore, 9, "expected ',' or ')', got end of expression"));
  EXPECT_TRUE(failsWith("min(1 2)", kScore, 6, "expected ',' or ')', got number '2'"));
}

TEST(ExprParserErrors, MissingClosingBracket) {
  EXPECT_TRUE(failsWith("slopes[h", kScore, 8, "expected ',' or ']', got end of expression"));
  EXPECT_TRUE(failsWith("bias[h, 1)", kScore, 9, "expected ',' or ']', got ')'"));
}

TEST(ExprParserErrors, MissingColonOfTernary) {
  EXPECT_TRUE(failsWith("true ? 1.0 2.0", kScore, 11,
                        "expected ':' of '?:', got number '2.0'"));
  EXPECT_TRUE(failsWith("true ? 1.0", kScore, 10,
                        "expected ':' of '?:', got end of expression"));
}

TEST(ExprParserErrors, TrailingTokens) {
  EXPECT_TRUE(failsWith("score 1", kScore, 6,
                        "expected an operator or end of expression, got number '1'"));
  EXPECT_TRUE(failsWith("score)", kScore, 5,
                        "expected an operator or end of expression, got ')'"));
  EXPECT_TRUE(failsWith("score score", kScore, 6,
                        "expected an operator or end of expression, got identifier "
                        "'score'"));
  EXPECT_TRUE(failsWith("q_idx >= kv_idx $", kMask, 16, "unexpected character '$'"));
}

TEST(ExprParserErrors, MissingOperand) {
  EXPECT_TRUE(failsWith("", kScore, 0, "expected an expression, got end of expression"));
  EXPECT_TRUE(failsWith("   ", kScore, 3, "expected an expression, got end of expression"));
  EXPECT_TRUE(failsWith("score +", kScore, 7, "expected an expression, got end of expression"));
  EXPECT_TRUE(failsWith("()", kScore, 1, "expected an expression, got ')'"));
  EXPECT_TRUE(failsWith("score * * 2", kScore, 8, "expected an expression, got '*'"));
  EXPECT_TRUE(failsWith("!", kMask, 1, "expected an expression, got end of expression"));
}

TEST(ExprParserErrors, MaskModMustBeBool) {
  EXPECT_TRUE(failsWith("q_idx - kv_idx", kMask, 0, "mask_mod must be a bool expression, got int"));
  EXPECT_TRUE(failsWith("  1.5", kMask, 2, "mask_mod must be a bool expression, got float"));
}

TEST(ExprParserErrors, ScoreModMustBeNumeric) {
  EXPECT_TRUE(failsWith("score > 0", kScore, 0, "score_mod must be a numeric expression, got bool"));
  EXPECT_TRUE(failsWith("\t true", kScore, 2, "score_mod must be a numeric expression, got bool"));
}

// ===--- Nesting limits ----------------------------------------------------===//

/// Checks that `src` is rejected as too deeply nested, at a token inside it.
void expectTooDeep(const std::string &src, ModifierKind kind) {
  ExprError error;
  ExprPtr expr = parse(src, kind, error);
  ASSERT_EQ(expr, nullptr) << "accepted: nesting of " << src.size() << " bytes";
  EXPECT_EQ(error.message, "expression is nested too deeply");
  EXPECT_LT(error.offset, src.size());
}

TEST(ExprParserNesting, ThousandParenthesesAreAnErrorNotACrash) {
  std::string src = std::string(1000, '(') + "1" + std::string(1000, ')');
  expectTooDeep(src, kScore);
  ExprError error;
  ASSERT_FALSE(parse(src, kScore, error));
  EXPECT_EQ(src[error.offset], '(');
  EXPECT_LE(error.offset, kMaxExprDepth);
}

TEST(ExprParserNesting, DeepUnaryCallsIndexingAndTernariesAreErrors) {
  std::string minus;
  for (int i = 0; i < 1000; ++i)
    minus += "-";
  expectTooDeep(minus + "score", kScore);

  std::string nots;
  for (int i = 0; i < 1000; ++i)
    nots += "!";
  expectTooDeep(nots + "true", kMask);

  std::string calls;
  for (int i = 0; i < 1000; ++i)
    calls += "exp(";
  calls += "score" + std::string(1000, ')');
  expectTooDeep(calls, kScore);

  std::string index;
  for (int i = 0; i < 1000; ++i)
    index += "doc[";
  index += "0" + std::string(1000, ']');
  expectTooDeep(index, kScore);

  std::string ternary;
  for (int i = 0; i < 1000; ++i)
    ternary += "true ? 1.0 : ";
  ternary += "2.0";
  expectTooDeep(ternary, kScore);

  // Unbalanced input fails the same way rather than running off the end.
  expectTooDeep(std::string(100000, '('), kScore);
}

TEST(ExprParserNesting, ModerateNestingIsAccepted) {
  std::string src = std::string(50, '(') + "score" + std::string(50, ')');
  EXPECT_EQ(render(src), "score");
  std::string ternary;
  for (int i = 0; i < 40; ++i)
    ternary += "q_idx < " + std::to_string(i) + " ? " + std::to_string(i) + ".0 : ";
  ternary += "score";
  EXPECT_NE(parseOk(ternary), nullptr);
}

// Regression (was a bug): the depth limit covers parentheses, unary operators, calls and `?:`, but not
// chains of left-associative binary operators. `1+1+...+1` with 100000 terms (a
// 200 KB string) parses into a tree 100000 levels deep, and every recursive consumer
// (evaluate(), Expr::str(), the destructor, IR generation) overflows the stack: the
// evaluator segfaults on it. Either the parser should reject such a tree ("expression
// is nested too deeply") or the consumers must not recurse on it.
TEST(ExprParserNestingDeathTest, LongOperatorChainIsRejectedOrEvaluatesSafely) {
  EXPECT_EXIT(
      {
        std::string src = "1";
        for (int i = 0; i < 100000; ++i)
          src += "+1";
        ExprError error;
        ExprPtr expr = parse(src, kScore, error);
        if (expr) {
          std::string evalError;
          EvalContext ctx;
          auto value = evaluate(*expr, ctx, evalError);
          std::exit(value && value->f == 100001.0 ? 0 : 1);
        }
        std::exit(error.message == "expression chains more than 2000 binary operators" ? 0 : 2);
      },
      ::testing::ExitedWithCode(0), "");
}

// A flat chain is not nesting: 200 (and 2000) `+ 1` terms are accepted and evaluate
// (they used to count against the 200-level nesting limit), 2001 are not.
TEST(ExprParserNesting, FlatChainsAreNotNesting) {
  for (int terms : {200, 201, 2001}) {
    std::string src = "score";
    for (int i = 0; i < terms - 1; ++i)
      src += " + 1";
    ExprPtr expr = parseOk(src);
    ASSERT_NE(expr, nullptr) << terms << " terms";
    std::string evalError;
    EvalContext ctx;
    ctx.score = 0.5;
    auto value = evaluate(*expr, ctx, evalError);
    ASSERT_TRUE(value) << evalError;
    EXPECT_EQ(value->f, 0.5 + (terms - 1));
  }
  std::string src = "score";
  for (int i = 0; i < 2001; ++i)
    src += " + 1";
  ExprError error;
  EXPECT_EQ(parse(src, kScore, error), nullptr);
  EXPECT_EQ(error.message, "expression chains more than 2000 binary operators");
  // Nesting is still limited to 200 levels.
  expectTooDeep(std::string(201, '(') + "score" + std::string(201, ')'), kScore);
}

// Every independent error of an expression is reported, in source order; an error
// whose operand already failed is not reported again, and a syntax error ends the
// search.
TEST(ExprParserErrors, IndependentErrorsAreAllReported) {
  ExprError error;
  EXPECT_EQ(parse("tanh(true) + nope * 2 + doc[1.5] - (q_idx && 1)", kScore, error), nullptr);
  EXPECT_EQ(error.offset, 5u);
  EXPECT_EQ(error.message, "argument of 'tanh' must be numeric, got bool");
  ASSERT_EQ(error.more.size(), 3u);
  EXPECT_EQ(error.more[0], std::make_pair(13u, std::string("unknown name 'nope'")));
  EXPECT_EQ(error.more[1].first, 28u);
  EXPECT_EQ(error.more[1].second, "index of buffer 'doc' must be int, got float");
  EXPECT_EQ(error.more[2].first, 42u);
  EXPECT_EQ(error.more[2].second, "operator '&&' requires bool operands, got int and int");
  // `!nope` and `nope + 1`: one error, no cascade.
  EXPECT_EQ(parse("!nope || q_idx > nope + 1", kMask, error), nullptr);
  EXPECT_EQ(error.message, "unknown name 'nope'");
  EXPECT_EQ(error.more.size(), 1u); // the second 'nope'
  // A syntax error stops: what follows it is not examined.
  EXPECT_EQ(parse("nope + ) + other", kScore, error), nullptr);
  EXPECT_EQ(error.message, "unknown name 'nope'");
  ASSERT_EQ(error.more.size(), 1u);
  EXPECT_EQ(error.more[0].second, "expected an expression, got ')'");
}

// Regression (was a bug): whole-expression type errors are meant to point at the first token,
// but parseModifier() skips only ' ' and '\t' while the lexer also skips '\n' and
// '\r', so "\n q_idx" reports offset 0 (the newline) instead of 2 (`q_idx`).
TEST(ExprParserErrors, WholeExpressionErrorSkipsLeadingNewlines) {
  EXPECT_TRUE(failsWith("\n q_idx", kMask, 2, "mask_mod must be a bool expression, got int"));
  EXPECT_TRUE(failsWith("\r\nscore > 0", kScore, 2,
                        "score_mod must be a numeric expression, got bool"));
}

} // namespace
