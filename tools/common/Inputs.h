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

/// Parses buffer overrides "NAME=FILE.safetensors" against the variant's
/// declarations: the file's tensor called NAME (or its only tensor), with the
/// declared dtype (its shape is checked with the call).
Status parseBufferOverrides(const VariantDesc &variant,
                            const std::vector<std::string> &overrides,
                            std::map<std::string, Tensor> &buffers);

/// The random inputs of `run --random` and `bench` (docs/spec.md, "The command
/// line"): q, k and v from N(0, 1); float buffers from U(-1, 1); integer buffers
/// with values in [0, 8), non-decreasing along their last dimension (like document
/// ids); scalars 0. `scalarOverrides` and `bufferOverrides` replace any of them.
Result<CallTensors> randomCall(const VariantDesc &variant, int64_t batch, int64_t qLen,
                               int64_t kvLen, uint64_t seed,
                               const std::map<std::string, ScalarValue> &scalarOverrides,
                               const std::map<std::string, Tensor> &bufferOverrides = {});

/// One line saying what randomCall draws for the variant's buffers and scalars
/// ("" for a variant with neither), printed with each run.
std::string describeRandomInputs(const VariantDesc &variant,
                                 const std::map<std::string, ScalarValue> &scalarOverrides,
                                 const std::map<std::string, Tensor> &bufferOverrides);

/// The bytes `copies` sets of a call's tensors take (q, k, v, out, lse and the
/// buffers), and an error naming the estimate and the limit when that exceeds the
/// memory this machine has available ($ATTNC_MEMORY_LIMIT, in bytes or with a K, M
/// or G suffix, lowers the limit).
Status checkMemoryEstimate(const VariantDesc &variant, int64_t batch, int64_t qLen,
                           int64_t kvLen, int copies);

/// Reads q, k, v, buffers and scalars from a safetensors file; with `dout`, also
/// the tensor 'dout' (the backward pass's input; its shape is checked later).
Result<CallTensors> callFromFile(const VariantDesc &variant, const std::string &path,
                                 Tensor *dout = nullptr);

} // namespace attnc

#endif // ATTNC_TOOLS_COMMON_INPUTS_H
