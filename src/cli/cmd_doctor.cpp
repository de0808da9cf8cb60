#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/doctor.hpp"

namespace phx::cli {

int cmd_doctor(const CommonOptions& common, const std::vector<std::string>& lxcpaths) {
  const HostRoot root = common.host_root.empty() ? HostRoot::from_env() : HostRoot(common.host_root);
  DoctorReport r = run_doctor(root, lxcpaths);
  if (common.json) {
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : r.findings) {
      findings.push_back(
          {{"severity", to_string(f.severity)}, {"topic", f.topic}, {"message", f.message}, {"fix", f.fix}});
    }
    nlohmann::json gpus = nlohmann::json::array();
    for (const auto& g : r.host.gpus) {
      gpus.push_back({{"index", g.index},
                      {"uuid", g.uuid},
                      {"bus_location", g.bus_location},
                      {"device_minor", g.device_minor},
                      {"model", g.model},
                      {"excluded", g.excluded}});
    }
    nlohmann::json j = {{"host_root", root.root()},
                        {"simulated", root.simulated()},
                        {"driver_loaded", r.host.driver_loaded},
                        {"driver_version", r.host.driver ? r.host.driver->version : ""},
                        {"gpus", gpus},
                        {"cgroup_layout", r.cgroup_layout},
                        {"lxc_version", r.lxc_version},
                        {"lxc_environment_subkeys", r.lxc_environment_subkeys},
                        {"worker_via_systemd", r.worker_via_systemd},
                        {"problems", r.has_problems()},
                        {"findings", findings}};
    // /proc/devices lists every driver; keep the NVIDIA ones.
    nlohmann::json majors = nlohmann::json::object();
    for (const auto& [name, m] : r.host.majors.by_name)
      if (name.starts_with("nvidia")) majors[name] = m;
    j["majors"] = majors;
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    if (root.simulated()) std::cout << "host root " << root.root() << " (simulated host)\n";
    for (const auto& f : r.findings) {
      std::cout << "[" << to_string(f.severity) << "] " << f.topic << ": " << f.message << "\n";
      if (!f.fix.empty()) std::cout << "          fix: " << f.fix << "\n";
    }
    std::cout << (r.has_problems() ? "problems found\n" : "no problems found\n");
  }
  return r.has_problems() ? kProblems : kOk;
}

}  // namespace phx::cli
