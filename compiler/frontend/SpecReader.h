//===- SpecReader.h - read and check a spec file -----------------*- C++ -*-===//
//
// Reads a spec's JSON text into a checked `Spec`, enforcing every rule of
// docs/spec.md, "Specs" and "Expressions": required fields, value types and ranges,
// unknown and duplicate fields, identifier names, and the expressions' syntax and
// types. Every error carries the byte offset of what it is about; as many errors as
// can be found independently are reported.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_FRONTEND_SPECREADER_H
#define ATTNC_COMPILER_FRONTEND_SPECREADER_H

#include "compiler/frontend/Spec.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attnc::frontend {

struct SpecDiagnostic {
  size_t offset = 0; ///< byte offset into the spec text
  std::string message;
};

/// Returns the spec, or nullopt with at least one entry in `diagnostics`.
std::optional<Spec> readSpec(std::string_view text,
                             std::vector<SpecDiagnostic> &diagnostics);

} // namespace attnc::frontend

#endif // ATTNC_COMPILER_FRONTEND_SPECREADER_H
