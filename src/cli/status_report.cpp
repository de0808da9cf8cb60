#include "cli/status_report.hpp"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "plan/plan_file.hpp"
#include "plan/state_dir.hpp"

namespace phx {
namespace {

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n == "." || n == ".." || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)) continue;
    out.push_back(n);
  }
  ::closedir(d);
  return out;
}

bool numeric(const std::string& s) {
  return !s.empty() && s.size() < 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool name_less(const std::string& a, const std::string& b) {
  if (numeric(a) && numeric(b)) return std::stoll(a) < std::stoll(b);
  if (numeric(a) != numeric(b)) return numeric(a);
  return a < b;
}

std::string gpu_list(const ContainerReport& r) {
  if (!r.has_plan) return "-";
  if (r.gpus.empty()) return "none";
  std::string s;
  for (int g : r.gpus) s += (s.empty() ? "" : ",") + std::to_string(g);
  return s;
}

// No plan: no driver stage runs, so no driver state to show.
std::string driver_name(const ContainerReport& r) {
  return r.status && r.status->state != GpuState::NoPlan ? std::string(to_string(r.status->driver.state)) : "-";
}

// Prometheus label values: backslash, double quote and newline escaped.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string ContainerReport::state_name() const { return status ? std::string(to_string(status->state)) : "unknown"; }

std::string ContainerReport::problem() const {
  std::string p = status ? first_problem(*status) : error;
  if (running == false) return "not running; its last start: " + (p.empty() ? state_name() : p);
  return p;
}

namespace {

std::string running_name(const ContainerReport& r) { return r.running ? (*r.running ? "yes" : "no") : "-"; }

}  // namespace

std::vector<ContainerReport> collect_reports(const std::string& state_base) {
  std::vector<ContainerReport> rows;
  for (const auto& esc : subdirs(state_base)) {
    const auto lxcpath = unescape_lxcpath(esc);
    if (!lxcpath) continue;  // not one of ours
    for (const auto& name : subdirs(state_base + "/" + esc)) {
      if (!check_container_name(name)) continue;
      const StateDir sd{state_base, *lxcpath, name};
      ContainerReport r;
      r.name = name;
      r.lxcpath = *lxcpath;
      auto plan = read_plan(sd.plan_path());
      auto st = read_status(sd.status_path());
      if (!plan && !st && plan.error().err == ENOENT && st.error().err == ENOENT) continue;  // no start recorded
      if (plan) {
        r.has_plan = true;
        for (const auto& g : plan->plan.gpus) r.gpus.push_back(g.index);
      }
      if (st) {
        r.status = std::move(*st);
      } else {
        r.error = st.error().err == ENOENT
                      ? "no status.json: the start ended before post-start, or the hooks' post-start did not run"
                      : st.error().message();
      }
      rows.push_back(std::move(r));
    }
  }
  sort_reports(rows);
  return rows;
}

void sort_reports(std::vector<ContainerReport>& rows) {
  std::sort(rows.begin(), rows.end(), [](const ContainerReport& a, const ContainerReport& b) {
    if (a.lxcpath != b.lxcpath) return a.lxcpath < b.lxcpath;
    return name_less(a.name, b.name);
  });
}

std::string report_table(const std::vector<ContainerReport>& rows) {
  if (rows.empty()) return "no container has started with a GPU policy since boot\n";
  std::size_t wname = 9, wpath = 7;
  for (const auto& r : rows) {
    wname = std::max(wname, r.name.size());
    wpath = std::max(wpath, r.lxcpath.size());
  }
  auto line = [&](const std::string& name, const std::string& path, const std::string& state, const std::string& gpus,
                  const std::string& running, const std::string& ms, const std::string& driver,
                  const std::string& problem) {
    char buf[1024];
    (void)std::snprintf(buf, sizeof buf, "%-*s  %-*s  %-9s  %-7s  %-7s  %8s  %-12s  %s", static_cast<int>(wname),
                        name.c_str(), static_cast<int>(wpath), path.c_str(), state.c_str(), gpus.c_str(),
                        running.c_str(), ms.c_str(), driver.c_str(), problem.c_str());
    std::string s = buf;
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  std::string out = line("CONTAINER", "LXCPATH", "STATE", "GPUS", "RUNNING", "VERIFIED", "DRIVER", "PROBLEM");
  std::size_t bad = 0;
  for (const auto& r : rows) {
    if (r.needs_attention()) ++bad;
    const long long ms = r.status ? r.status->ms_to_verified : -1;
    std::string problem = r.problem();
    std::replace(problem.begin(), problem.end(), '\n', ' ');
    if (problem.size() > 100) problem = problem.substr(0, 97) + "...";
    out += line(r.name, r.lxcpath, r.state_name(), gpu_list(r), running_name(r),
                ms >= 0 ? std::to_string(ms) + " ms" : "-", driver_name(r), problem);
  }
  out += std::to_string(rows.size()) + " container(s), " + std::to_string(bad) + " not verified while running\n";
  return out;
}

std::string report_json(const std::vector<ContainerReport>& rows) {
  using nlohmann::json;
  json cts = json::array();
  for (const auto& r : rows) {
    cts.push_back({{"container", r.name},
                   {"lxcpath", r.lxcpath},
                   {"state", r.state_name()},
                   {"verified", r.verified()},
                   {"running", r.running ? json(*r.running) : json(nullptr)},
                   {"gpus", r.gpus},
                   {"has_plan", r.has_plan},
                   {"ms_to_verified", r.status ? r.status->ms_to_verified : -1},
                   {"driver_state", driver_name(r)},
                   {"driver_match", r.status && driver_matches(r.status->driver.state)},
                   {"problem", r.problem()}});
  }
  const bool all = std::none_of(rows.begin(), rows.end(), [](const ContainerReport& r) { return r.needs_attention(); });
  json j = {{"format", "phoenix-gpu-status-all"},
            {"version", kReportFormatVersion},
            {"status_version", kStatusFormatVersion},
            {"all_verified", all},
            {"containers", cts}};
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string report_prometheus(const std::vector<ContainerReport>& rows) {
  std::string out;
  auto ids = [](const ContainerReport& r) {
    return "container=\"" + label(r.name) + "\",lxcpath=\"" + label(r.lxcpath) + "\"";
  };
  out +=
      "# HELP phoenix_gpu_container_state 1 for the state of the container's GPUs at its last start, 0 for the "
      "other states (phoenix-gpu(1) lists them; unknown: no readable status).\n"
      "# TYPE phoenix_gpu_container_state gauge\n";
  for (const auto& r : rows) {
    const std::string now = r.state_name();
    for (GpuState s : kAllGpuStates) {
      out += "phoenix_gpu_container_state{" + ids(r) + ",state=\"" + std::string(to_string(s)) + "\"} " +
             (now == to_string(s) ? "1" : "0") + "\n";
    }
    out += "phoenix_gpu_container_state{" + ids(r) + ",state=\"unknown\"} " + (r.status ? "0" : "1") + "\n";
  }
  out +=
      "# HELP phoenix_gpu_container_verified_seconds Seconds from RUNNING to verified at the container's last "
      "start (only for verified containers).\n"
      "# TYPE phoenix_gpu_container_verified_seconds gauge\n";
  for (const auto& r : rows) {
    if (!r.verified() || r.status->ms_to_verified < 0) continue;
    char v[32];
    (void)std::snprintf(v, sizeof v, "%.3f", static_cast<double>(r.status->ms_to_verified) / 1000.0);
    out += "phoenix_gpu_container_verified_seconds{" + ids(r) + "} " + v + "\n";
  }
  out +=
      "# HELP phoenix_gpu_container_driver_match 1 when the container's userspace driver matches the host's "
      "(driver state current or installed), else 0.\n"
      "# TYPE phoenix_gpu_container_driver_match gauge\n";
  for (const auto& r : rows) {
    out += "phoenix_gpu_container_driver_match{" + ids(r) + "} " +
           (r.status && driver_matches(r.status->driver.state) ? "1" : "0") + "\n";
  }
  out +=
      "# HELP phoenix_gpu_container_running 1 when the container runs now, 0 when it is stopped (its state is "
      "then that of its last start).\n"
      "# TYPE phoenix_gpu_container_running gauge\n";
  for (const auto& r : rows) {
    if (r.running) out += "phoenix_gpu_container_running{" + ids(r) + "} " + (*r.running ? "1" : "0") + "\n";
  }
  std::size_t bad = 0;
  for (const auto& r : rows) bad += r.needs_attention() ? 1 : 0;
  out +=
      "# HELP phoenix_gpu_containers_not_verified Running containers with a GPU policy whose GPUs are not "
      "verified.\n"
      "# TYPE phoenix_gpu_containers_not_verified gauge\n"
      "phoenix_gpu_containers_not_verified " +
      std::to_string(bad) + "\n";
  return out;
}

}  // namespace phx
