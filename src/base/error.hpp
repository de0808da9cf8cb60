// Errors as values: every failure carries the operation, the path and errno,
// and is logged once where a decision is made.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace phx {

struct Error {
  std::string op;      // what was attempted: "open", "parse", "mknod", ...
  std::string path;    // the file or object it concerned; may be empty
  int err = 0;         // errno, 0 when the failure is not a system call's
  std::string detail;  // what was wrong, for parse and policy errors

  // "open '/dev/nvidia0': ENOENT (No such file or directory): detail"
  std::string message() const;
};

// "EPERM", "ENOENT", ...; "E<number>" for the rare ones.
std::string errno_name(int err);

Error sys_error(std::string op, std::string path, int err = errno);
Error parse_error(std::string path, std::string detail);
Error make_error(std::string op, std::string detail);

// A small expected<T, Error>: C++20 has no std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }
  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace phx
