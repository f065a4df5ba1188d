//===- Reference.h - the float64 reference implementation ---------*- C++ -*-===//
//
// Attention exactly as docs/spec.md, "Semantics", writes it: materialise the score
// row in float64, apply score_mod and mask_mod through callbacks, softmax, weighted
// sum. Slow and obviously right; every kernel is tested against it.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_REFERENCE_H
#define ATTNC_RUNTIME_REFERENCE_H

#include "runtime/Status.h"
#include "runtime/Variant.h"

#include <functional>
#include <optional>

namespace attnc {

/// score_mod and mask_mod as callbacks. They return nullopt (with a message in
/// `error`) when evaluation fails, e.g. a buffer index is out of range.
struct ModFunctions {
  std::function<std::optional<double>(double score, int64_t b, int64_t h,
                                      int64_t qIdx, int64_t kvIdx, std::string &error)>
      scoreMod;
  std::function<std::optional<bool>(int64_t b, int64_t h, int64_t qIdx,
                                    int64_t kvIdx, std::string &error)>
      maskMod;
};

/// Computes out and lse of `call` for `variant` (head layout and scale from
/// `variant`). Validates the call first.
Status referenceAttention(const VariantDesc &variant, const AttentionCall &call,
                          const ModFunctions &mods);

/// The registry's "eager": plain attention, layout taken from the tensors, scale
/// 1/sqrt(head_dim).
Status eagerAttention(const AttentionCall &call);

} // namespace attnc

#endif // ATTNC_RUNTIME_REFERENCE_H
