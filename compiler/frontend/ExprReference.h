//===- ExprReference.h - score_mod/mask_mod for the float64 reference -*- C++ -*-===//
//
// The reference implementation (runtime/Reference.h) takes score_mod and mask_mod as
// callbacks; these evaluate a variant's parsed expressions with the interpreter of
// ExprEval.h over one call's scalars and buffers (read as the kernels read them: i32
// scalars widened, buffer reads bounds-checked). `parseModifiers` re-parses an
// expression's source against its variant's declarations, for programs that have
// the source but not the spec file (a kernel library's loader). Plain C++: no MLIR.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_FRONTEND_EXPRREFERENCE_H
#define ATTNC_COMPILER_FRONTEND_EXPRREFERENCE_H

#include "compiler/frontend/Expr.h"
#include "compiler/frontend/Spec.h"
#include "compiler/frontend/ExprEval.h"
#include "runtime/Reference.h"
#include "runtime/ReferenceBackward.h"
#include "runtime/Status.h"

#include <cstdint>
#include <optional>

namespace attnc::frontend {

/// Callbacks evaluating `scoreMod` and `maskMod` (either may be null: the default)
/// on `call`'s scalars and buffers; `call` must outlive them.
/// The evaluation context of pair (b, h, i, j) of `call`: indices, lengths, scalars
/// and bounds-checked buffer reads.
EvalContext referenceContext(const AttentionCall &call, int64_t b, int64_t h, int64_t i,
                             int64_t j);

/// score_mod with its float64 derivative (dual numbers, ExprDerivative.h) and
/// mask_mod, for referenceBackward; `requiresGrad` names the buffers differentiated.
BackwardModFunctions referenceBackwardMods(const Expr *scoreMod, const Expr *maskMod,
                                           const AttentionCall &call,
                                           std::vector<std::string> requiresGrad);

ModFunctions referenceMods(const Expr *scoreMod, const Expr *maskMod,
                           const AttentionCall &call);

/// The first (b, h, q_idx, kv_idx) pair, in that order, at which evaluating the
/// modifiers as the reference does (mask_mod, then score_mod on the pair's real
/// score when kept) fails, for a diagnosis of a kernel's run-time error.
struct PairFailure {
  int64_t b = 0, h = 0, qIdx = 0, kvIdx = 0;
  bool inMaskMod = false;
  unsigned offset = 0; ///< where the failing subexpression starts in its source
  std::string message; ///< e.g. "index out of range reading buffer 'tbl' at [4]"
};
/// Evaluates at most `maxPairs` pairs (nullopt if none of them fails).
std::optional<PairFailure> firstFailingPair(const VariantDesc &variant, const Expr *scoreMod,
                                            const Expr *maskMod, const AttentionCall &call,
                                            int64_t maxPairs = INT64_MAX);

/// A variant's declarations and the sources of its modifiers.
struct ModifierSources {
  std::vector<SpecConstant> constants;
  std::vector<SpecScalar> scalars;
  std::vector<SpecBuffer> buffers;
  std::string scoreMod, maskMod; ///< empty: absent
};

struct ParsedModifiers {
  ExprPtr scoreMod, maskMod;
};

/// Parses both sources against the declarations (an error names the modifier, the
/// offset and the message).
Result<ParsedModifiers> parseModifiers(const ModifierSources &sources);

} // namespace attnc::frontend

#endif // ATTNC_COMPILER_FRONTEND_EXPRREFERENCE_H
