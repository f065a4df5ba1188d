//===- Status.h - success or a user-facing error message ----------*- C++ -*-===//
//
// The runtime is built without exceptions; functions that can fail on user input
// return a Status (or a Result<T>) carrying the message the command line prints after
// "error: ".
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_STATUS_H
#define ATTNC_RUNTIME_STATUS_H

#include <optional>
#include <string>
#include <utility>

namespace attnc {

class [[nodiscard]] Status {
public:
  static Status ok() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.message_ = std::move(message);
    s.failed_ = true;
    return s;
  }
  bool isOk() const { return !failed_; }
  explicit operator bool() const { return !failed_; }
  const std::string &message() const { return message_; }

private:
  bool failed_ = false;
  std::string message_;
};

template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : value_(std::move(value)) {}
  Result(Status status) : status_(std::move(status)) {}
  bool isOk() const { return value_.has_value(); }
  explicit operator bool() const { return isOk(); }
  T &operator*() { return *value_; }
  T *operator->() { return &*value_; }
  const Status &status() const { return status_; }
  T take() { return std::move(*value_); }

private:
  std::optional<T> value_;
  Status status_;
};

} // namespace attnc

#endif // ATTNC_RUNTIME_STATUS_H
