// The world the programs read (/proc, /sys, /dev) sits below one root, so a
// simulated host (a fixture tree) is a first-class input.
#pragma once

#include <string>
#include <string_view>

namespace phx {

class HostRoot {
 public:
  explicit HostRoot(const std::string& root = "/");
  // PHOENIX_GPU_HOST_ROOT, else "/".
  static HostRoot from_env();

  // "/proc/devices" -> "<root>/proc/devices".
  std::string path(std::string_view absolute) const;
  const std::string& root() const { return root_; }
  bool simulated() const { return root_ != "/"; }

 private:
  std::string root_;  // normalised: "/" or an absolute path without trailing '/'
};

}  // namespace phx
