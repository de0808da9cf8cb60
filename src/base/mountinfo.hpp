// /proc/<pid>/mountinfo, parsed: where each cgroup hierarchy is mounted.
#pragma once

#include <string>
#include <vector>

#include "base/error.hpp"

namespace phx {

struct MountEntry {
  std::string root;  // the mounted subtree ("/" for a whole hierarchy)
  std::string mount_point;
  std::string fstype;                      // "cgroup", "cgroup2", ...
  std::vector<std::string> super_options;  // for v1 cgroups: the controllers
  bool has_option(const std::string& o) const;
};

std::vector<MountEntry> parse_mountinfo(const std::string& text);
Result<std::vector<MountEntry>> read_mountinfo(const std::string& path = "/proc/self/mountinfo");

}  // namespace phx
