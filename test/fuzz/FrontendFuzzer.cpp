//===- FrontendFuzzer.cpp - libFuzzer target for the spec frontend --------===//
//
// Feeds arbitrary bytes to the frontend. Input starting with '{' (after spaces) is a
// whole spec file, imported exactly as `attnc check` does; anything else is used as
// both a score_mod and a mask_mod expression over a fixed set of declarations, so the
// mutator reaches the expression parser without having to keep the JSON valid. The
// frontend must never crash, hang or leak, whatever the input; diagnostics are
// expected and discarded.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/ExprEval.h"
#include "compiler/frontend/ExprParser.h"
#include "compiler/frontend/Frontend.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace attnc::frontend;

static mlir::MLIRContext &context() {
  static mlir::MLIRContext *ctx = [] {
    auto *c = new mlir::MLIRContext(mlir::MLIRContext::Threading::DISABLED);
    c->getDiagEngine().registerHandler([](mlir::Diagnostic &) {});
    return c;
  }();
  return *ctx;
}

static const ExprEnv &environment() {
  static const ExprEnv env = [] {
    ExprEnv e;
    ExprSymbol window;
    window.intValue = 16;
    e.symbols["window"] = window;
    ExprSymbol cap;
    cap.type = ExprType::Float;
    cap.floatValue = 30.0;
    e.symbols["cap"] = cap;
    ExprSymbol offset;
    offset.kind = ExprSymbol::Kind::Scalar;
    offset.storageType = "i32";
    e.symbols["offset"] = offset;
    ExprSymbol slopes;
    slopes.kind = ExprSymbol::Kind::Buffer;
    slopes.type = ExprType::Float;
    slopes.rank = 1;
    slopes.storageType = "f32";
    e.symbols["slopes"] = slopes;
    ExprSymbol docs;
    docs.kind = ExprSymbol::Kind::Buffer;
    docs.rank = 2;
    docs.storageType = "i32";
    e.symbols["docs"] = docs;
    return e;
  }();
  return env;
}

/// Evaluates a parsed expression on a few index points with small in-range buffers,
/// so the evaluator is fuzzed too.
static void evaluateSome(const Expr &expr) {
  EvalContext ctx;
  ctx.scalar = [](const std::string &) { return ExprValue::ofInt(3); };
  ctx.buffer = [](const std::string &name, const std::vector<int64_t> &idx)
      -> std::optional<ExprValue> {
    for (int64_t i : idx)
      if (i < 0 || i >= 8)
        return std::nullopt;
    return name == "slopes" ? ExprValue::ofFloat(0.5) : ExprValue::ofInt(idx[0]);
  };
  for (int64_t q = 0; q < 3; ++q)
    for (int64_t k = 0; k < 3; ++k) {
      ctx.qIdx = q;
      ctx.kvIdx = k;
      ctx.score = 0.25 * double(q - k);
      ctx.qLen = ctx.kvLen = 8;
      std::string error;
      (void)evaluate(expr, ctx, error);
    }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    (void)importSpec("fuzz.json", text, &context());
    return 0;
  }
  for (ModifierKind kind : {ModifierKind::ScoreMod, ModifierKind::MaskMod}) {
    ExprError error;
    if (ExprPtr expr = parseModifier(text, environment(), kind, error))
      evaluateSome(*expr);
  }
  return 0;
}
