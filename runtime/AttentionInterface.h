//===- AttentionInterface.h - the registry of attention functions -*- C++ -*-===//
//
// Modelled on Hugging Face transformers' `AttentionInterface`: attention
// implementations are registered under a name, looked up by name, and a model
// switches implementation at run time by changing the name it looks up.
//
//   attnc::ALL_ATTENTION_FUNCTIONS.registerFunction("my_variant", fn);
//   Status s = attnc::ALL_ATTENTION_FUNCTIONS["my_variant"](call);
//   Status g = attnc::ALL_ATTENTION_FUNCTIONS.getBackward("my_variant")(backwardCall);
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
/// A backward pass: writes dq, dk, dv and the buffer gradients of a BackwardCall.
using BackwardFunction = std::function<Status(const BackwardCall &)>;

class AttentionInterface {
public:
  AttentionInterface();

  /// Adds or replaces `name`'s implementation for tensors in `device` memory
  /// (`register` is a C++ keyword). A name has at most one per device: a CPU kernel
  /// and a GPU kernel of the same variant live under one name, and a call goes to
  /// the one for its tensors' device (q's); a name with one implementation takes
  /// every call (a GPU kernel stages host tensors; a CPU kernel refuses GPU ones).
  /// Registering a forward function drops the name's backward function for that
  /// device (it belonged to the implementation being replaced).
  void registerFunction(const std::string &name, AttentionFunction fn,
                        Device device = Device::Cpu);
  /// Adds or replaces the backward pass of `name`'s implementation for `device`
  /// (registered with registerFunction first).
  Status registerBackward(const std::string &name, BackwardFunction fn,
                          Device device = Device::Cpu);
  /// `name`'s backward pass, dispatching on the device of the forward call's q as
  /// `get` does (one backward pass takes every call; with several, an error names
  /// a device that has none); an empty function if no implementation has one.
  BackwardFunction getBackward(const std::string &name) const;
  bool contains(const std::string &name) const;
  /// The function registered as `name`; an empty function if there is none.
  AttentionFunction get(const std::string &name) const;
  /// Like `get`, but an unknown name yields a function that fails with an error that
  /// lists the registered names.
  AttentionFunction operator[](const std::string &name) const;
  /// Registered names, sorted.
  std::vector<std::string> keys() const;
  /// The devices `name` has implementations for (empty if none).
  std::vector<Device> devices(const std::string &name) const;

private:
  mutable std::mutex mutex;
  std::map<std::string, std::map<Device, AttentionFunction>> functions;
  std::map<std::string, std::map<Device, BackwardFunction>> backwards;
};

/// The process-wide registry. It is never destroyed: registered functions may own
/// JIT-compiled code whose teardown needs LLVM's own globals, which are gone once
/// static destructors run.
extern AttentionInterface &ALL_ATTENTION_FUNCTIONS;

} // namespace attnc

#endif // ATTNC_RUNTIME_ATTENTIONINTERFACE_H
