//===- AttentionInterface.cpp - the registry of attention functions --------===//
#include "runtime/AttentionInterface.h"
#include "runtime/Reference.h"

namespace attnc {

AttentionInterface &ALL_ATTENTION_FUNCTIONS = *new AttentionInterface();

AttentionInterface::AttentionInterface() {
  functions["eager"][Device::Cpu] = [](const AttentionCall &call) {
    return eagerAttention(call);
  };
}

void AttentionInterface::registerFunction(const std::string &name, AttentionFunction fn,
                                          Device device) {
  std::lock_guard<std::mutex> lock(mutex);
  functions[name][device] = std::move(fn);
  if (auto it = backwards.find(name); it != backwards.end()) {
    it->second.erase(device);
    if (it->second.empty())
      backwards.erase(it);
  }
}

Status AttentionInterface::registerBackward(const std::string &name, BackwardFunction fn,
                                            Device device) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = functions.find(name);
  if (it == functions.end() || !it->second.count(device))
    return Status::error("cannot register a backward pass for '" + name + "' on " +
                         deviceName(device) + ": register its forward function first");
  backwards[name][device] = std::move(fn);
  return Status::ok();
}

BackwardFunction AttentionInterface::getBackward(const std::string &name) const {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = backwards.find(name);
  if (it == backwards.end() || it->second.empty())
    return BackwardFunction();
  if (it->second.size() == 1)
    return it->second.begin()->second; // as get(): it takes every call
  std::map<Device, BackwardFunction> byDevice = it->second;
  return [byDevice, name](const BackwardCall &call) -> Status {
    auto fn = byDevice.find(call.forward.q.device);
    if (fn == byDevice.end())
      return Status::error("'" + name + "' has no backward pass for tensors in " +
                           deviceName(call.forward.q.device) + " memory");
    return fn->second(call);
  };
}

bool AttentionInterface::contains(const std::string &name) const {
  std::lock_guard<std::mutex> lock(mutex);
  return functions.count(name) != 0;
}

AttentionFunction AttentionInterface::get(const std::string &name) const {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = functions.find(name);
  if (it == functions.end() || it->second.empty())
    return AttentionFunction();
  if (it->second.size() == 1)
    return it->second.begin()->second;
  // One implementation per device: dispatch on the device of q.
  std::map<Device, AttentionFunction> byDevice = it->second;
  return [byDevice, name](const AttentionCall &call) -> Status {
    auto fn = byDevice.find(call.q.device);
    if (fn == byDevice.end())
      return Status::error("'" + name + "' has no implementation for tensors in " +
                           deviceName(call.q.device) + " memory");
    return fn->second(call);
  };
}

std::vector<Device> AttentionInterface::devices(const std::string &name) const {
  std::lock_guard<std::mutex> lock(mutex);
  std::vector<Device> result;
  if (auto it = functions.find(name); it != functions.end())
    for (const auto &entry : it->second)
      result.push_back(entry.first);
  return result;
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
