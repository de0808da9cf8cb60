#include "base/proc_cgroup.hpp"

#include <algorithm>
#include <charconv>

#include "base/text.hpp"

namespace phx {

bool ProcCgroupEntry::has_controller(std::string_view controller) const {
  return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

std::vector<ProcCgroupEntry> parse_proc_cgroup(std::string_view text) {
  std::vector<ProcCgroupEntry> out;
  for (std::string_view line : split_lines(text)) {
    const auto first = line.find(':');
    if (first == std::string_view::npos) continue;
    const auto second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, first);
    ProcCgroupEntry e;
    const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), e.hierarchy_id);
    if (id.empty() || ec != std::errc() || end != id.data() + id.size()) continue;
    const std::string_view ctrls = line.substr(first + 1, second - first - 1);
    if (!ctrls.empty()) e.controllers = split(ctrls, ',');
    e.path = std::string(line.substr(second + 1));
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<std::string> v1_controller_path(const std::vector<ProcCgroupEntry>& entries,
                                              std::string_view controller) {
  for (const auto& e : entries)
    if (!e.is_cgroup2() && e.has_controller(controller)) return e.path;
  return std::nullopt;
}

std::optional<std::string> cgroup2_path(const std::vector<ProcCgroupEntry>& entries) {
  for (const auto& e : entries)
    if (e.is_cgroup2()) return e.path;
  return std::nullopt;
}

}  // namespace phx
