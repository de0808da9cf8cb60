#include "host/host_root.hpp"

#include <cstdlib>
#include <filesystem>

#include "base/env_vars.hpp"

namespace phx {

HostRoot::HostRoot(const std::string& root) {
  const std::filesystem::path given = root.empty() ? std::filesystem::path("/") : std::filesystem::path(root);
  std::filesystem::path p = std::filesystem::absolute(given).lexically_normal();
  root_ = p.string();
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

HostRoot HostRoot::from_env() {
  const char* env = env_value(EnvVar::HostRoot);
  return HostRoot(env != nullptr && *env != '\0' ? env : "/");
}

std::string HostRoot::path(std::string_view absolute) const {
  if (root_ == "/") return std::string(absolute);
  std::string out = root_;
  if (absolute.empty() || absolute.front() != '/') out += '/';
  out += absolute;
  return out;
}

}  // namespace phx
