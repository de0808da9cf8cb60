#include "state_dir.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>

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
      std::snprintf(buf, sizeof buf, "%%%02x", c);
      out += buf;
    }
  }
  return out.empty() ? "%2f" : out;  // "/" itself; no other path escapes to this
}

Status check_container_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == ".." ||
      name.find('/') != std::string::npos || name.find('\0') != std::string::npos ||
      name.find('\n') != std::string::npos) {
    return Error{"check", name, 0, "not a valid container name"};
  }
  return {};
}

std::string StateDir::dir() const { return base + "/" + escape_lxcpath(lxcpath) + "/" + name; }

std::string state_base(const std::string& configured) {
  const char* env = std::getenv(kStateDirEnv);
  if (env != nullptr && *env == '/') return env;
  return configured.empty() ? kDefaultStateDir : configured;
}

}  // namespace phx
