//===- ExprReference.cpp - score_mod/mask_mod for the float64 reference ----===//
#include "compiler/frontend/ExprReference.h"
#include "compiler/frontend/ExprDerivative.h"
#include "compiler/frontend/ExprEval.h"
#include "compiler/frontend/ExprParser.h"

#include <set>

namespace attnc::frontend {

/// The evaluation context of pair (b, h, i, j) of `call`: its indices and lengths,
/// its scalars (i32 ones widened, as the kernels do) and its buffers (bounds-checked).
EvalContext referenceContext(const AttentionCall &call, int64_t b, int64_t h, int64_t i,
                             int64_t j) {
  EvalContext ctx;
  ctx.b = b;
  ctx.h = h;
  ctx.qIdx = i;
  ctx.kvIdx = j;
  ctx.qLen = call.qLen();
  ctx.kvLen = call.kvLen();
  ctx.scalar = [&call](const std::string &name) -> std::optional<ExprValue> {
    auto it = call.scalars.find(name);
    if (it == call.scalars.end())
      return std::nullopt;
    if (it->second.type == DType::F32)
      return ExprValue::ofFloat(it->second.f);
    // An i32 scalar is read as i32 and widened, as the kernel does.
    return ExprValue::ofInt(it->second.type == DType::I32 ? int64_t(int32_t(it->second.i))
                                                          : it->second.i);
  };
  ctx.buffer = [&call](const std::string &name,
                       const std::vector<int64_t> &idx) -> std::optional<ExprValue> {
    auto it = call.buffers.find(name);
    if (it == call.buffers.end() || idx.size() != it->second.shape.size())
      return std::nullopt;
    for (size_t d = 0; d < idx.size(); ++d)
      if (idx[d] < 0 || idx[d] >= it->second.shape[d])
        return std::nullopt;
    double v = it->second.get(idx.data());
    if (it->second.dtype == DType::F32)
      return ExprValue::ofFloat(v);
    if (it->second.dtype == DType::I64) {
      int64_t off = it->second.offsetOf(idx.data());
      return ExprValue::ofInt(static_cast<const int64_t *>(it->second.data)[off]);
    }
    return ExprValue::ofInt(int64_t(v));
  };
  return ctx;
}



ModFunctions referenceMods(const Expr *scoreMod, const Expr *maskMod,
                           const AttentionCall &call) {
  auto makeContext = [&call](int64_t b, int64_t h, int64_t i, int64_t j) {
    return referenceContext(call, b, h, i, j);
  };
  ModFunctions mods;
  if (scoreMod)
    mods.scoreMod = [scoreMod, makeContext](double score, int64_t b, int64_t h, int64_t i,
                                        int64_t j, std::string &error) -> std::optional<double> {
      EvalContext ctx = makeContext(b, h, i, j);
      ctx.score = score;
      auto v = evaluate(*scoreMod, ctx, error);
      if (!v)
        return std::nullopt;
      return v->f;
    };
  if (maskMod)
    mods.maskMod = [maskMod, makeContext](int64_t b, int64_t h, int64_t i, int64_t j,
                                       std::string &error) -> std::optional<bool> {
      auto v = evaluate(*maskMod, makeContext(b, h, i, j), error);
      if (!v)
        return std::nullopt;
      return v->b;
    };
  return mods;
}

BackwardModFunctions referenceBackwardMods(const Expr *scoreMod, const Expr *maskMod,
                                           const AttentionCall &call,
                                           std::vector<std::string> requiresGrad) {
  ModFunctions forward = referenceMods(nullptr, maskMod, call);
  BackwardModFunctions mods;
  mods.maskMod = forward.maskMod;
  if (!scoreMod)
    return mods;
  auto grad = std::make_shared<std::set<std::string>>(requiresGrad.begin(), requiresGrad.end());
  mods.scoreMod = [scoreMod, &call, grad](double score, int64_t b, int64_t h, int64_t i,
                                          int64_t j, std::string &error)
      -> std::optional<ScoreModGradient> {
    EvalContext ctx = referenceContext(call, b, h, i, j);
    ctx.score = score;
    std::optional<DualValue> dual = evaluateDerivative(
        *scoreMod, ctx, [&](const std::string &name) { return grad->count(name) > 0; },
        error);
    if (!dual)
      return std::nullopt;
    ScoreModGradient g;
    g.value = dual->value;
    g.dScore = dual->dScore;
    for (const auto &[element, d] : dual->dBuffers)
      g.dBuffers[element] = d;
    return g;
  };
  return mods;
}

std::optional<PairFailure> firstFailingPair(const VariantDesc &variant, const Expr *scoreMod,
                                            const Expr *maskMod, const AttentionCall &call,
                                            int64_t maxPairs) {
  int64_t B = call.batch(), H = variant.headsQ, Q = call.qLen(), KV = call.kvLen();
  int64_t group = variant.headsQ / variant.headsKV, D = variant.headDim;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Q; ++i)
        for (int64_t j = 0; j < KV; ++j) {
          if (maxPairs-- <= 0)
            return std::nullopt;
          EvalContext ctx = referenceContext(call, b, h, i, j);
          PairFailure f{b, h, i, j, true, 0, ""};
          if (maskMod) {
            std::optional<ExprValue> keep = evaluate(*maskMod, ctx, f.message, &f.offset);
            if (!keep)
              return f;
            if (!keep->b)
              continue;
          }
          if (!scoreMod)
            continue;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) {
            int64_t qi[4] = {b, h, i, d}, ki[4] = {b, h / group, j, d};
            dot += call.q.get(qi) * call.k.get(ki);
          }
          ctx.score = variant.scale * dot;
          f.inMaskMod = false;
          if (!evaluate(*scoreMod, ctx, f.message, &f.offset))
            return f;
        }
  return std::nullopt;
}

Result<ParsedModifiers> parseModifiers(const ModifierSources &sources) {
  ExprEnv env;
  for (const SpecConstant &c : sources.constants) {
    ExprSymbol sym;
    sym.kind = ExprSymbol::Kind::Constant;
    sym.type = c.isInt ? ExprType::Int : ExprType::Float;
    sym.intValue = c.intValue;
    sym.floatValue = c.floatValue;
    env.symbols[c.name] = sym;
  }
  for (const SpecScalar &s : sources.scalars) {
    ExprSymbol sym;
    sym.kind = ExprSymbol::Kind::Scalar;
    sym.type = s.type == "f32" ? ExprType::Float : ExprType::Int;
    sym.storageType = s.type;
    env.symbols[s.name] = sym;
  }
  for (const SpecBuffer &b : sources.buffers) {
    ExprSymbol sym;
    sym.kind = ExprSymbol::Kind::Buffer;
    sym.type = b.dtype == "f32" ? ExprType::Float : ExprType::Int;
    sym.rank = unsigned(b.shape.size());
    sym.storageType = b.dtype;
    env.symbols[b.name] = sym;
  }
  ParsedModifiers parsed;
  for (auto [source, kind, out] :
       {std::make_tuple(&sources.scoreMod, ModifierKind::ScoreMod, &parsed.scoreMod),
        std::make_tuple(&sources.maskMod, ModifierKind::MaskMod, &parsed.maskMod)}) {
    if (source->empty())
      continue;
    ExprError error;
    *out = parseModifier(*source, env, kind, error);
    if (!*out)
      return Status::error(std::string(modifierName(kind)) + " '" + *source + "', offset " +
                           std::to_string(error.offset) + ": " + error.message);
  }
  return parsed;
}

} // namespace attnc::frontend
