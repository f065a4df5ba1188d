//===- AttentionInterface.h - the registry of attention functions -*- C++ -*-===//
//
// Modelled on Hugging Face transformers' `AttentionInterface`: attention
// implementations are registered under a name, looked up by name, and a model
// switches implementation at run time by changing the name it looks up.
//
//   attnc::ALL_ATTENTION_FUNCTIONS.registerFunction("my_variant", fn);
//   Status s = attnc::ALL_ATTENTION_FUNCTIONS["my_variant"](call);
//
// Built-ins: "eager" (the float64-accumulating reference that materialises the score
// matrix; plain softmax attention with GQA, scale 1/sqrt(head_dim)). Compiled
// variants are added by the compiler layer under their spec name (and "sdpa" is the
// compiled plain variant). The registry is safe to use from several threads.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_ATTENTIONINTERFACE_H
#define ATTNC_RUNTIME_ATTENTIONINTERFACE_H

#include "runtime/Status.h"
#include "runtime/Variant.h"

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace attnc {

using AttentionFunction = std::function<Status(const AttentionCall &)>;

class AttentionInterface {
public:
  AttentionInterface();

  /// Adds or replaces `name`. (`register` is a C++ keyword.)
  void registerFunction(const std::string &name, AttentionFunction fn);
  bool contains(const std::string &name) const;
  /// The function registered as `name`; an empty function if there is none.
  AttentionFunction get(const std::string &name) const;
  /// Like `get`, but an unknown name yields a function that fails with an error that
  /// lists the registered names.
  AttentionFunction operator[](const std::string &name) const;
  /// Registered names, sorted.
  std::vector<std::string> keys() const;

private:
  mutable std::mutex mutex;
  std::map<std::string, AttentionFunction> functions;
};

/// The process-wide registry. It is never destroyed: registered functions may own
/// JIT-compiled code whose teardown needs LLVM's own globals, which are gone once
/// static destructors run.
extern AttentionInterface &ALL_ATTENTION_FUNCTIONS;

} // namespace attnc

#endif // ATTNC_RUNTIME_ATTENTIONINTERFACE_H
