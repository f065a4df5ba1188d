//===- Inputs.h - building attention calls for the command line ---*- C++ -*-===//
//
// `attnc run` and `attnc bench` need tensors: random ones (seeded, reproducible) or
// ones read from a safetensors file, checked against the variant with errors that
// name the tensor, what was expected and what was found (docs/spec.md, "Tensor
// files").
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_TOOLS_COMMON_INPUTS_H
#define ATTNC_TOOLS_COMMON_INPUTS_H

#include "runtime/SafeTensors.h"
#include "runtime/Variant.h"

#include <map>
#include <string>

namespace attnc {

/// Owns the tensors of one call.
struct CallTensors {
  Tensor q, k, v, out, lse;
  std::map<std::string, Tensor> buffers;
  std::map<std::string, ScalarValue> scalars;

  /// A call over these tensors (out and lse poisoned by the caller when wanted).
  AttentionCall call() const;
  /// Fresh out/lse of the right shapes, poisoned.
  Status allocateOutputs(const VariantDesc &variant);
};

/// Parses "B,Q_LEN,KV_LEN" (each in [1, 2^31)).
bool parseShape(const std::string &text, int64_t &b, int64_t &q, int64_t &kv);

/// Parses scalar overrides "name=value" against the variant's declarations.
Status parseScalarOverrides(const VariantDesc &variant,
                            const std::vector<std::string> &overrides,
                            std::map<std::string, ScalarValue> &scalars);

/// Random q/k/v in [-1, 1], random buffers (floats in [-1, 1]; ints in [0, 8),
/// non-decreasing along the last dimension, like document ids), scalars = 0 unless
/// overridden.
Result<CallTensors> randomCall(const VariantDesc &variant, int64_t batch, int64_t qLen,
                       int64_t kvLen, uint64_t seed,
                       const std::map<std::string, ScalarValue> &scalarOverrides);

/// Reads q, k, v, buffers and scalars from a safetensors file.
Result<CallTensors> callFromFile(const VariantDesc &variant, const std::string &path);

} // namespace attnc

#endif // ATTNC_TOOLS_COMMON_INPUTS_H
