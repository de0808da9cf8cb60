#include "stages/mount_report.hpp"

#include <nlohmann/json.hpp>

#include "base/json_field.hpp"
#include "base/text.hpp"

namespace phx {
namespace {

constexpr std::size_t kMaxReason = 512;

}  // namespace

std::string mount_report_path(const StateDir& sd) { return sd.dir() + "/mount.json"; }

std::string mount_report_to_json(const MountReport& r) {
  nlohmann::json missing = nlohmann::json::array();
  for (const auto& [p, why] : r.missing) missing.push_back({{"path", p}, {"reason", why}});
  nlohmann::json j = {{"format", "phoenix-gpu-mount"}, {"version", 1}, {"mounted", r.mounted}, {"missing", missing}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<MountReport> mount_report_from_json(const std::string& text, const std::string& path) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return parse_error(path, "not valid JSON");
  try {
    if (j.at("format").get<std::string>() != "phoenix-gpu-mount" || json_int<int>(j, "version") != 1) {
      return parse_error(path, "not a version 1 mount report");
    }
    MountReport r;
    r.mounted = j.at("mounted").get<std::vector<std::string>>();
    for (const auto& m : j.at("missing"))
      r.missing.emplace_back(m.at("path").get<std::string>(), m.at("reason").get<std::string>());
    return r;
  } catch (const nlohmann::json::exception& e) {
    return parse_error(path, e.what());
  } catch (const JsonFieldError& e) {
    return parse_error(path, e.what());
  }
}

Result<MountReport> read_mount_report(const std::string& path) {
  // Written by the container's mapped root in an unprivileged container:
  // read with a bound, parsed as outside input.
  auto text = read_small_file(path, 1 << 20);
  if (!text) return text.error();
  return mount_report_from_json(*text, path);
}

void explain_unbound(std::vector<NodeCheck>& checks, const MountReport& report, bool simulated) {
  for (auto& c : checks) {
    if (c.passed(simulated) || c.result == NodeResult::Pending) continue;
    for (const auto& [path, why] : report.missing) {
      if (path != c.path || why.empty()) continue;
      // The file is the container's mapped root's to write: its text is
      // escaped and bounded before it reaches the status and the log.
      const std::string note = "the mount hook did not bind it: " + escape_control(why.substr(0, kMaxReason));
      if (c.detail.find(note) == std::string::npos) c.detail += (c.detail.empty() ? "" : "; ") + note;
      break;
    }
  }
}

}  // namespace phx
