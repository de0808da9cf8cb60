#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "base/text.hpp"
#include "cli/commands.hpp"
#include "cli/host_config.hpp"
#include "cli/status_report.hpp"
#include "lxc/container_config.hpp"
#include "lxc/lxc_container.hpp"
#include "plan/config.hpp"
#include "plan/device_selection.hpp"
#include "plan/plan_file.hpp"
#include "plan/policy.hpp"
#include "plan/state_dir.hpp"
#include "plan/status_file.hpp"
#include "stages/driver_stage.hpp"
#include "stages/verify.hpp"

namespace phx::cli {
namespace {

StateDir state_for(const std::string& name, const std::string& lxcpath) {
  return StateDir{state_base(host_config_or_defaults(BrokenConfig::Quiet).state_dir),
                  lxcpath.empty() ? lxc_default_path() : lxcpath, name};
}

void print_checks(const std::vector<NodeCheck>& checks) {
  for (const auto& c : checks) {
    char line[512];
    // status.json and the check's answer carry text from the container:
    // nothing of it may drive the terminal.
    (void)std::snprintf(line, sizeof line, "  %-34s %-10s %s%s\n", printable(c.path).c_str(),
                        std::string(to_string(c.result)).c_str(), printable(c.detail).c_str(),
                        c.hotplugged ? " (hot-plugged)" : "");
    std::cout << line;
  }
}

// The three things verify and install-driver need: the state, the plan and
// a running container. Prints the reason and gives the exit code otherwise.
struct RunningContainer {
  StateDir state;
  PlanFile plan;
  LxcContainer container;
};

Result<RunningContainer> open_running(const std::string& name, const std::string& lxcpath, int& exit_code) {
  exit_code = kFailure;
  if (auto ok = check_container_name(name); !ok) {
    exit_code = kUsage;
    return ok.error();
  }
  StateDir sd = state_for(name, lxcpath);
  auto pf = read_plan(sd.plan_path());
  if (!pf) {
    Error e = pf.error();
    e.detail += (e.detail.empty() ? "" : "; ") + std::string("is the container started with the hooks?");
    return e;
  }
  auto c = LxcContainer::load(name, sd.lxcpath);
  if (!c) return c.error();
  if (!c->is_running()) return Error{"check", name, 0, "the container is not running"};
  return RunningContainer{std::move(sd), std::move(*pf), std::move(*c)};
}

}  // namespace

int cmd_status(const CommonOptions& common, const std::string& name, const std::string& lxcpath) {
  if (auto ok = check_container_name(name); !ok) {
    std::cerr << "error: " << ok.error().message() << "\n";
    return kUsage;
  }
  const StateDir sd = state_for(name, lxcpath);
  auto st = read_status(sd.status_path());
  if (!st) {
    if (common.json) {
      std::cout << nlohmann::json{{"format", "phoenix-gpu-status"},
                                  {"version", kStatusFormatVersion},
                                  {"container", name},
                                  {"state", "unknown"},
                                  {"error", st.error().message()}}
                       .dump(2)
                << "\n";
    } else {
      std::cerr << "no status for " << name << " (" << st.error().message()
                << "): the container has not started with the hooks since boot, or has no GPU policy\n";
    }
    return kFailure;
  }
  const int code = st->state == GpuState::Verified ? kOk : kProblems;
  if (common.json) {
    std::cout << status_to_json(*st);
    return code;
  }
  std::cout << "container     " << st->container << " (" << st->lxcpath << ")\n"
            << "state         " << to_string(st->state) << (st->message.empty() ? "" : ": " + printable(st->message))
            << "\n";
  if (st->ms_to_verified >= 0) std::cout << "verified      " << st->ms_to_verified << " ms after RUNNING\n";
  if (!st->cgroup.empty()) std::cout << "cgroup        " << st->cgroup << "\n";
  if (st->worker_pid > 0) {
    std::cout << "worker pid    " << st->worker_pid;
    if (!is_final(st->state) && ::kill(st->worker_pid, 0) != 0 && errno == ESRCH) {
      std::cout << " (gone: the worker ended before finishing; restart the container or run 'phoenix-gpu verify')";
    }
    std::cout << "\n";
  }
  if (!st->nodes.empty()) {
    std::cout << "nodes\n";
    print_checks(st->nodes);
  }
  if (st->state != GpuState::NoPlan) {
    std::cout << "driver        " << to_string(st->driver.state);
    if (!st->driver.strategy.empty()) std::cout << " (strategy " << st->driver.strategy << ")";
    if (!st->driver.message.empty()) std::cout << ": " << printable(st->driver.message);
    std::cout << "\n";
  }
  if (!st->dev_listing.empty()) std::cout << "container /dev at the timeout:\n" << printable(st->dev_listing);
  return code;
}

namespace {

// Whether each recorded container runs now: its record stays after a stop.
// A failed listing (an lxcpath that is gone) reads as nothing running there.
void mark_running(std::vector<ContainerReport>& rows) {
  std::map<std::string, std::set<std::string>> active;
  for (auto& r : rows) {
    auto it = active.find(r.lxcpath);
    if (it == active.end()) it = active.emplace(r.lxcpath, running_containers(r.lxcpath)).first;
    r.running = it->second.count(r.name) != 0;
  }
}

// Running containers of the LXC paths the host knows that ask for GPUs but
// have no record of their start: the hooks did not run for them.
void add_unrecorded(std::vector<ContainerReport>& rows, const HostConfig& cfg, const std::string& extra_lxcpath) {
  std::set<std::string> paths{"/var/lib/lxc", lxc_default_path()};
  if (!extra_lxcpath.empty()) paths.insert(extra_lxcpath);
  std::set<std::pair<std::string, std::string>> known;
  for (const auto& r : rows) known.emplace(escape_lxcpath(r.lxcpath), r.name);
  for (const auto& path : paths) {
    for (const auto& name : running_containers(path)) {
      if (known.count({escape_lxcpath(path), name}) != 0) continue;
      auto read = read_container_policy(name, path, cfg);
      if (!read) continue;
      const ContainerPolicy& policy = *read;
      auto sel = parse_visible_devices(policy.visible_devices);
      if (sel && sel->kind == GpuSelection::Kind::Void) continue;
      ContainerReport r;
      r.name = name;
      r.lxcpath = path;
      r.running = true;
      r.error =
          "running with a GPU policy, but no record of its start: the hooks did not run for it (is the "
          "phoenix-gpu-hooks snippet included in its config?)";
      rows.push_back(std::move(r));
    }
  }
  sort_reports(rows);
}

}  // namespace

int cmd_status_all(const std::string& format, const std::string& lxcpath) {
  const HostConfig cfg = host_config_or_defaults(BrokenConfig::Quiet);
  auto rows = collect_reports(state_base(cfg.state_dir));
  mark_running(rows);
  add_unrecorded(rows, cfg, lxcpath);
  if (format == "json") {
    std::cout << report_json(rows);
  } else if (format == "prometheus") {
    std::cout << report_prometheus(rows);
  } else {
    std::cout << report_table(rows);
  }
  return std::none_of(rows.begin(), rows.end(), [](const ContainerReport& r) { return r.needs_attention(); })
             ? kOk
             : kProblems;
}

int cmd_verify(const CommonOptions& common, const std::string& name, const std::string& lxcpath) {
  int code = kFailure;
  auto rc = open_running(name, lxcpath, code);
  if (!rc) {
    std::cerr << "error: " << rc.error().message() << "\n";
    return code;
  }
  auto* c = &rc->container;
  const PlanFile* pf = &rc->plan;
  const HostRoot root(pf->host_root);
  auto checks = verify_plan(*c, pf->plan.nodes, root);
  if (!checks) {
    std::cerr << "error: " << checks.error().message() << "\n";
    return kFailure;
  }
  const bool simulated = root.simulated();
  bool ok = true;
  for (const auto& k : *checks) ok = ok && k.passed(simulated);
  if (common.json) {
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& k : *checks)
      nodes.push_back({{"path", k.path}, {"result", to_string(k.result)}, {"detail", k.detail}});
    std::cout << nlohmann::json{{"container", name}, {"ok", ok}, {"simulated_host", simulated}, {"nodes", nodes}}.dump(
                     2)
              << "\n";
  } else {
    print_checks(*checks);
    std::cout << (ok ? "all planned nodes usable" : "some planned nodes are NOT usable") << "\n";
    if (!ok)
      for (const auto& k : *checks)
        if (!k.passed(simulated)) std::cout << "  fix: " << explain(k) << "\n";
  }
  return ok ? kOk : kProblems;
}

}  // namespace phx::cli

namespace phx::cli {

int cmd_install_driver(const CommonOptions& common, const std::string& name, const std::string& lxcpath) {
  int code = kFailure;
  auto rc = open_running(name, lxcpath, code);
  if (!rc) {
    std::cerr << "error: " << rc.error().message() << "\n";
    return code;
  }
  const HostConfig config = host_config_or_defaults(BrokenConfig::Warn);
  const StateDir& sd = rc->state;
  auto* c = &rc->container;
  const PlanFile* pf = &rc->plan;
  ContainerPolicy policy;
  if (auto p = read_container_policy(name, lxcpath, config)) policy = std::move(*p);
  GpuStatus st;
  if (auto old = read_status(sd.status_path())) st = *old;
  run_driver_stage(*c, *pf, policy, config, sd.dir(), st, [&] {
    if (auto ok = write_status(sd.status_path(), st); !ok) std::cerr << "warning: " << ok.error().message() << "\n";
    return true;
  });
  const DriverStage& d = st.driver;
  if (common.json) {
    std::cout << nlohmann::json{{"container", name},
                                {"state", to_string(d.state)},
                                {"strategy", d.strategy},
                                {"host_version", d.host_version},
                                {"container_version", d.container_version},
                                {"exit_code", d.exit_code},
                                {"duration_ms", d.duration_ms},
                                {"message", d.message}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "driver " << to_string(d.state) << ": " << d.message << "\n";
    if (!d.output_tail.empty() && d.state != DriverState::Current) {
      std::cout << "installer output (tail):\n" << printable(d.output_tail);
    }
  }
  return driver_matches(d.state) ? kOk : kProblems;
}

}  // namespace phx::cli
