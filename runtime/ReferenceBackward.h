//===- ReferenceBackward.h - the float64 reference backward -------*- C++ -*-===//
//
// The gradients of docs/spec.md's attention with respect to q, k, v and the
// requires_grad buffers, in float64, computed the plain way (each score row whole,
// softmax's Jacobian applied directly): the oracle the backward kernels are checked
// against. score_mod's derivative comes from a callback (the frontend supplies dual
// numbers over the expression, ExprDerivative.h), independent of the compiler's
// differentiation pass.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_REFERENCEBACKWARD_H
#define ATTNC_RUNTIME_REFERENCEBACKWARD_H

#include "runtime/Reference.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace attnc {

/// score_mod at one pair with its derivatives.
struct ScoreModGradient {
  double value = 0;  ///< the modified score
  double dScore = 1; ///< d value / d score
  /// d value / d element for the requires_grad buffer elements read: (buffer name,
  /// indices) → derivative.
  std::map<std::pair<std::string, std::vector<int64_t>>, double> dBuffers;
};

struct BackwardModFunctions {
  /// score_mod with derivatives at (score, b, h, q_idx, kv_idx); null: the identity.
  std::function<std::optional<ScoreModGradient>(double score, int64_t b, int64_t h,
                                                int64_t qIdx, int64_t kvIdx,
                                                std::string &error)>
      scoreMod;
  /// mask_mod as in ModFunctions; null: every pair kept.
  std::function<std::optional<bool>(int64_t b, int64_t h, int64_t qIdx, int64_t kvIdx,
                                    std::string &error)>
      maskMod;
};

/// Writes dq, dk, dv and every dbuffers entry (overwritten, not accumulated). Rows
/// with no kept pair have no gradient; a row whose forward is NaN gives NaN.
Status referenceBackward(const VariantDesc &variant, const BackwardCall &call,
                         const BackwardModFunctions &mods);

} // namespace attnc

#endif // ATTNC_RUNTIME_REFERENCEBACKWARD_H
