// The lines of /proc/<pid>/cgroup: "hierarchy-ID:controller-list:path" (see
// cgroups(7)). A v1 hierarchy lists its controllers ("4:cpu,cpuacct:/x",
// "1:name=systemd:/x"); the cgroup2 hierarchy is "0::/x". The path is the
// rest of the line, ':' included.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phx {

struct ProcCgroupEntry {
  unsigned hierarchy_id = 0;
  std::vector<std::string> controllers;  // empty for cgroup2
  std::string path;

  bool is_cgroup2() const { return hierarchy_id == 0 && controllers.empty(); }
  bool has_controller(std::string_view controller) const;
};

// The well-formed entries of that text, in order; a line without two ':' or
// with a hierarchy ID that is not a number is left out.
std::vector<ProcCgroupEntry> parse_proc_cgroup(std::string_view text);

// The path in the v1 hierarchy that carries `controller` ("devices",
// "name=systemd"); nullopt when no v1 hierarchy does.
std::optional<std::string> v1_controller_path(const std::vector<ProcCgroupEntry>& entries, std::string_view controller);

// The path in the cgroup2 hierarchy; nullopt when the process has none.
std::optional<std::string> cgroup2_path(const std::vector<ProcCgroupEntry>& entries);

}  // namespace phx
