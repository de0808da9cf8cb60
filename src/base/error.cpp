#include "base/error.hpp"

#include <cstring>

namespace phx {

std::string errno_name(int err) {
  // strerrorname_np exists since glibc 2.32 (Debian 12 has 2.36).
  if (const char* name = strerrorname_np(err)) return name;
  return "E" + std::to_string(err);
}

std::string Error::message() const {
  std::string out = op;
  if (!path.empty()) out += " '" + path + "'";
  if (err != 0) {
    out += ": " + errno_name(err) + " (" + std::strerror(err) + ")";
  }
  if (!detail.empty()) out += (err != 0 || !path.empty() || !op.empty()) ? ": " + detail : detail;
  return out;
}

Error sys_error(std::string op, std::string path, int err) { return Error{std::move(op), std::move(path), err, {}}; }

Error parse_error(std::string path, std::string detail) {
  return Error{"parse", std::move(path), 0, std::move(detail)};
}

Error make_error(std::string op, std::string detail) { return Error{std::move(op), {}, 0, std::move(detail)}; }

}  // namespace phx
