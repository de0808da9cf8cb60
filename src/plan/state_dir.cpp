#include "plan/state_dir.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "base/env_vars.hpp"

namespace phx {

std::string escape_lxcpath(const std::string& lxcpath) {
  std::string p = lxcpath;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  std::string out;
  for (std::size_t i = 0; i < p.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    if (c == '/') {
      if (i != 0) out += '-';
    } else if (std::isalnum(c) || c == '_' || (c == '.' && i != 0 && p[i - 1] != '/')) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      (void)std::snprintf(buf, sizeof buf, "%%%02x", c);
      out += buf;
    }
  }
  return out.empty() ? "%2f" : out;  // "/" itself; no other path escapes to this
}

std::optional<std::string> unescape_lxcpath(const std::string& escaped) {
  if (escaped == "%2f") return "/";
  std::string out = "/";
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    const char c = escaped[i];
    if (c == '-') {
      out += '/';
    } else if (c == '%') {
      if (i + 2 >= escaped.size()) return std::nullopt;
      const std::string hex = escaped.substr(i + 1, 2);
      if (hex.size() != 2 || !std::isxdigit(static_cast<unsigned char>(hex[0])) ||
          !std::isxdigit(static_cast<unsigned char>(hex[1]))) {
        return std::nullopt;
      }
      out += static_cast<char>(std::stoi(hex, nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  if (escape_lxcpath(out) != escaped) return std::nullopt;  // not a name escape_lxcpath makes
  return out;
}

Status check_container_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos || name.find('\n') != std::string::npos) {
    return Error{"check", name, 0, "not a valid container name"};
  }
  return {};
}

std::string StateDir::dir() const { return base + "/" + escape_lxcpath(lxcpath) + "/" + name; }

std::string state_base(const std::string& configured) {
  const char* env = env_value(EnvVar::StateDir);
  if (env != nullptr && *env == '/') return env;
  return configured.empty() ? kDefaultStateDir : configured;
}

}  // namespace phx
