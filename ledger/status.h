// Errors as values on the storage path: Status (ok or a code with a message) and Result<T>.
// No exception crosses a module boundary; every fallible storage function returns one of these.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace refah {

class [[nodiscard]] Status {
 public:
  enum class Code { kOk, kIoError, kCorruption, kInvalidArgument, kNotFound, kFailed };

  Status() = default;
  static Status ok() { return Status(); }
  static Status io_error(std::string m) { return Status(Code::kIoError, std::move(m)); }
  static Status corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status invalid_argument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status not_found(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status failed(std::string m) { return Status(Code::kFailed, std::move(m)); }

  bool is_ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;
  // The same code, its message after `context` (for example "checkpoint not signed: ").
  Status with_context(const std::string& context) const { return Status(code_, context + message_); }

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: must not be ok
  bool is_ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  // Only on a Result that holds a value (is_ok()): reading an error's value is a bug.
  T& value() & {
    assert(value_.has_value());
    return *value_;
  }
  const T& value() const& {
    assert(value_.has_value());
    return *value_;
  }
  T&& value() && {
    assert(value_.has_value());
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace refah
