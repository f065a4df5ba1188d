//===- AttentionInterface.cpp - the registry of attention functions --------===//
#include "runtime/AttentionInterface.h"
#include "runtime/Reference.h"

namespace attnc {

AttentionInterface &ALL_ATTENTION_FUNCTIONS = *new AttentionInterface();

AttentionInterface::AttentionInterface() {
  functions["eager"] = [](const AttentionCall &call) {
    return eagerAttention(call);
  };
}

void AttentionInterface::registerFunction(const std::string &name,
                                          AttentionFunction fn) {
  std::lock_guard<std::mutex> lock(mutex);
  functions[name] = std::move(fn);
}

bool AttentionInterface::contains(const std::string &name) const {
  std::lock_guard<std::mutex> lock(mutex);
  return functions.count(name) != 0;
}

AttentionFunction AttentionInterface::get(const std::string &name) const {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = functions.find(name);
  return it == functions.end() ? AttentionFunction() : it->second;
}

AttentionFunction AttentionInterface::operator[](const std::string &name) const {
  if (AttentionFunction fn = get(name))
    return fn;
  std::string known;
  for (const std::string &key : keys())
    known += (known.empty() ? "" : ", ") + key;
  return [name, known](const AttentionCall &) {
    return Status::error("no attention function named '" + name +
                         "' (registered: " + known + ")");
  };
}

std::vector<std::string> AttentionInterface::keys() const {
  std::lock_guard<std::mutex> lock(mutex);
  std::vector<std::string> names;
  for (const auto &entry : functions)
    names.push_back(entry.first);
  return names;
}

} // namespace attnc
