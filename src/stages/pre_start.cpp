#include "stages/pre_start.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/atomic_file.hpp"
#include "base/clock.hpp"
#include "base/logging.hpp"
#include "base/unique_fd.hpp"
#include "driver/driver_bind.hpp"
#include "driver/host_facts.hpp"
#include "driver/nvidia_proc_view.hpp"
#include "fs/host_nodes.hpp"
#include "host/modules.hpp"
#include "lxc/container_config.hpp"
#include "plan/plan_file.hpp"
#include "plan/policy.hpp"
#include "plan/status_file.hpp"
#include "stages/mount_report.hpp"

namespace phx {
namespace {

using Clock = std::chrono::steady_clock;

void remove_state(const StateDir& sd) {
  ::unlink(sd.plan_path().c_str());
  ::unlink(sd.status_path().c_str());
  ::unlink(mount_report_path(sd).c_str());
  ::unlink(proc_params_path(sd).c_str());
}

// The mount hook of an unprivileged container runs as the container's mapped
// root and cannot create files in the state directory; give it one file it
// owns to report into.
void prepare_mount_report(const StateDir& sd, unsigned mapped_uid) {
  const std::string path = mount_report_path(sd);
  ::unlink(path.c_str());
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) {
    spdlog::debug("{}", sys_error("create", path).message());
    return;
  }
  if (mapped_uid != 0 && ::fchown(fd.get(), mapped_uid, static_cast<gid_t>(-1)) != 0) {
    spdlog::debug("{}", sys_error("chown", path).message());
  }
}

// A start with a GPU policy always leaves a status: when no plan can be
// made, the reason, so 'phoenix-gpu status' does not claim the container
// never started or has no policy.
void record_no_plan(const HookRuntime& rt, const std::string& reason) {
  GpuStatus st;
  st.container = rt.ctx.name;
  st.lxcpath = rt.ctx.lxcpath;
  st.state = GpuState::NoPlan;
  st.message = reason;
  st.started_unix_ms = unix_ms();
  st.finished_unix_ms = st.started_unix_ms;
  if (auto ok = write_status(rt.state.status_path(), st); !ok) spdlog::warn("{}", ok.error().message());
}

// Where a pre-start's time goes, step by step, for the debug log: the hook
// runs in every container start, and its cost is measured against that.
class Laps {
 public:
  explicit Laps(Clock::time_point t0) : last_(t0) {}
  void lap(const char* step) {
    const auto now = Clock::now();
    text_ += (text_.empty() ? "" : ", ") + std::string(step) + " " +
             fmt::format("{:.2f}", std::chrono::duration<double, std::milli>(now - last_).count());
    last_ = now;
  }
  const std::string& text() const { return text_; }

 private:
  Clock::time_point last_;
  std::string text_;
};

}  // namespace

HostSnapshot wait_for_driver(const HostRoot& root, Millis wait, bool try_load) {
  const auto deadline = Clock::now() + wait;
  HostSnapshot snap = discover_host(root, DiscoverScope::Planning);
  if (snap.driver_loaded) return snap;
  if (try_load && !root.simulated()) {
    if (auto ok = load_module(root, "nvidia", std::chrono::milliseconds(std::min<long long>(wait.count(), 10'000)));
        !ok) {
      spdlog::debug("{}", ok.error().message());
    }
  }
  auto step = std::chrono::milliseconds(5);
  while (!(snap = discover_host(root, DiscoverScope::Planning)).driver_loaded && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::min<Clock::duration>(step, deadline - Clock::now()));
    step = std::min(step * 2, std::chrono::milliseconds(100));
  }
  return snap;
}

int run_pre_start(const HookRuntime& rt) {
  const auto t0 = Clock::now();
  const auto& ctx = rt.ctx;
  auto items = read_container_config(ctx.name, ctx.lxcpath, ctx.config_file);
  if (!items) {
    spdlog::warn("cannot read the container's config ({}); it starts without GPUs", items.error().message());
    return 0;
  }
  if (items->via_liblxc) spdlog::debug("config read through liblxc: {}", items->why_liblxc);
  const ContainerPolicy policy = parse_policy(environment_keys(items->values), rt.cfg);
  for (const auto& w : policy.warnings) spdlog::warn("{}", w);
  if (!policy.visible_devices_key.empty()) {
    spdlog::debug("NVIDIA_VISIBLE_DEVICES from {}", policy.visible_devices_key);
  }
  Laps laps(t0);
  laps.lap("config");

  if (auto ok = make_dirs(rt.state.dir(), 0755); !ok) {
    spdlog::warn("{}; the container starts without GPUs. Fix: make {} writable for root", ok.error().message(),
                 rt.state.base);
    return policy.required ? 1 : 0;
  }
  remove_state(rt.state);
  auto sel = parse_visible_devices(policy.visible_devices);
  if (sel && sel->kind == GpuSelection::Kind::Void) {
    spdlog::debug("no GPU policy (NVIDIA_VISIBLE_DEVICES unset, empty or void): nothing to do");
    return 0;
  }
  const int fail_code = policy.required ? 1 : 0;
  set_deadline_exit_code(fail_code);
  auto fail = [&](const std::string& reason) {
    record_no_plan(rt, reason);
    if (policy.required) {
      spdlog::error("{}. PHOENIX_GPU_REQUIRED=1: failing the start", reason);
    } else {
      spdlog::warn("{}. The container starts WITHOUT its GPUs", reason);
    }
    return fail_code;
  };

  auto caps = parse_driver_capabilities(policy.capabilities);
  HostSnapshot host = wait_for_driver(rt.root, rt.cfg.driver_wait, rt.cfg.load_modules);
  if (!host.driver_loaded) {
    return fail("the NVIDIA driver is not loaded (no " + rt.root.path("/proc/driver/nvidia/version") + " after " +
                std::to_string(rt.cfg.driver_wait.count() / 1000) +
                " s). Fix: install the driver or 'modprobe nvidia', then check 'dmesg | grep -i nvrm'");
  }
  if (caps && caps->needs_uvm() && !host.majors.get("nvidia-uvm") && rt.cfg.load_modules) {
    if (auto ok = load_module(rt.root, "nvidia_uvm", std::chrono::seconds(10)); !ok) {
      spdlog::warn("could not load nvidia_uvm: {}. Fix: 'modprobe nvidia_uvm' on the host", ok.error().message());
    } else {
      spdlog::info("loaded nvidia_uvm");
      host = discover_host(rt.root, DiscoverScope::Planning);
    }
  }
  for (const auto& p : host.problems) spdlog::warn("{}", p.message());
  laps.lap("host");

  auto plan = make_plan(host, policy.plan_request());
  if (!plan) return fail("no GPU plan: " + plan.error().message());
  for (const auto& w : plan->warnings) spdlog::warn("{}", w);
  if (auto unmet = check_requirements(rt.root, policy.nvidia_items, *plan); !unmet.empty()) {
    std::string all;
    for (const auto& u : unmet) all += (all.empty() ? "" : "; ") + u;
    if (policy.required) return fail("requirement not met: " + all);
    spdlog::warn(
        "requirement not met: {}. Starting anyway (PHOENIX_GPU_REQUIRED=1 fails the start instead; "
        "NVIDIA_DISABLE_REQUIRE=1 skips the check)",
        all);
  }
  // The host config's problems (a broken file: built-in defaults in use)
  // travel with the plan into the status.
  for (const auto& w : rt.cfg.warnings) plan->warnings.push_back("host config: " + w);
  // So do the container config's (a PHOENIX_GPU_* in lxc.environment.runtime).
  for (const auto& w : policy.warnings) plan->warnings.push_back("container config: " + w);
  laps.lap("plan");
  int pending = 0;
  for (const auto& n : plan->nodes) {
    if (n.pending.empty()) continue;
    ++pending;
    spdlog::warn(
        "{} is pending: {}; the container is not verified until it works (the worker waits for it up to "
        "the verify timeout)",
        n.container_path, n.pending);
  }

  const bool create = rt.cfg.create_nodes && policy.create_nodes.value_or(true);
  const bool modify_allowed = !host.params || host.params->modify;
  int failed = 0, missing = 0;
  for (const auto& node : plan->nodes) {
    if (node.major == 0) continue;  // pending: its major is not known yet
    if (!create || (!modify_allowed && node.major == host.majors.nvidia().value_or(-1))) {
      if (stat_node(rt.root.path(node.host_path)).kind != NodeState::Kind::CharDevice) {
        ++missing;
        spdlog::info("{} is missing on the host and node creation is off; it is bound when it appears", node.host_path);
      }
      continue;
    }
    NodeOutcome out = ensure_host_node(rt.root, node);
    switch (out.action) {
      case NodeAction::Present:
        break;
      case NodeAction::Created:
        spdlog::info("created {} ({}:{})", rt.root.path(node.host_path), node.major, node.minor);
        break;
      case NodeAction::Repaired:
        spdlog::info("repaired {} ({}; now {}:{})", rt.root.path(node.host_path), out.detail, node.major, node.minor);
        break;
      case NodeAction::Failed:
        ++failed;
        spdlog::warn("cannot create {}: {}", node.host_path, out.detail);
        break;
    }
  }

  laps.lap("host nodes");
  PlanFile pf;
  pf.container = ctx.name;
  pf.lxcpath = ctx.lxcpath;
  pf.host_root = rt.root.root();
  pf.required = policy.required;
  pf.created_unix_ms = unix_ms();
  pf.plan = *plan;
  if (auto ok = write_plan(rt.state.plan_path(), pf); !ok) {
    return fail("cannot write the plan: " + ok.error().message());
  }
  prepare_mount_report(rt.state, mapped_root_uid_of(items->values.list(ListKey::Idmap)));
  prepare_driver_bind(rt.state, rt.root, policy.driver_install.value_or(rt.cfg.install_strategy), plan->driver_version,
                      plan->capabilities);
  prepare_proc_view(rt.state, rt.root);
  laps.lap("state files");
  spdlog::debug("pre-start steps (ms): {}", laps.text());
  if (failed > 0 && policy.required) return fail(std::to_string(failed) + " host node(s) could not be created");

  std::string names;
  for (const auto& n : plan->nodes) names += (names.empty() ? "" : " ") + n.container_path.substr(5);
  const auto ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  spdlog::info("plan: {} GPU(s), {} node(s) [{}], driver {}{}{} in {:.1f} ms", plan->gpus.size(), plan->nodes.size(),
               names, plan->driver_version,
               (missing ? ", " + std::to_string(missing) + " missing" : "") +
                   (pending ? ", " + std::to_string(pending) + " pending" : ""),
               failed ? ", " + std::to_string(failed) + " failed" : "", ms);
  return 0;
}

}  // namespace phx
