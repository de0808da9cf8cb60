#include "stages/pre_start.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <optional>
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
#include "stages/pre_start_decisions.hpp"

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

namespace {

// One start's pre-start, as named steps. A step that ends the start without
// GPUs returns the reason (record it and fail with fail()); the others log
// what they did.
class PreStart {
 public:
  explicit PreStart(const HookRuntime& rt) : rt_(rt), t0_(Clock::now()), laps_(t0_) {}
  int run();

 private:
  // The run's steps, in order.
  bool read_policy();
  bool prepare_state_dir();
  std::optional<std::string> wait_for_host();
  std::optional<std::string> plan_devices();
  void warn_pending() const;
  HostNodeTally make_host_nodes();
  std::optional<std::string> write_state_files();
  void log_summary(const HostNodeTally& tally) const;

  int fail_code() const { return policy_.required ? 1 : 0; }
  // Records why the container gets no GPUs and returns the hook's exit code.
  int fail(const std::string& reason) const;

  const HookRuntime& rt_;
  const Clock::time_point t0_;
  Laps laps_;
  ContainerConfigItems config_;
  ContainerPolicy policy_;
  HostSnapshot host_;
  DevicePlan plan_;
};

int PreStart::run() {
  if (!read_policy()) return 0;
  if (!prepare_state_dir()) return fail_code();
  remove_state(rt_.state);
  if (!has_gpu_selection(parse_visible_devices(policy_.visible_devices))) {
    spdlog::debug("no GPU policy (NVIDIA_VISIBLE_DEVICES unset, empty or void): nothing to do");
    return 0;
  }
  set_deadline_exit_code(fail_code());
  if (auto why = wait_for_host()) return fail(*why);
  if (auto why = plan_devices()) return fail(*why);
  warn_pending();
  const HostNodeTally tally = make_host_nodes();
  if (auto why = write_state_files()) return fail(*why);
  if (tally.failed > 0 && policy_.required) {
    return fail(std::to_string(tally.failed) + " host node(s) could not be created");
  }
  log_summary(tally);
  return 0;
}

int PreStart::fail(const std::string& reason) const {
  record_no_plan(rt_, reason);
  if (policy_.required) {
    spdlog::error("{}. PHOENIX_GPU_REQUIRED=1: failing the start", reason);
  } else {
    spdlog::warn("{}. The container starts WITHOUT its GPUs", reason);
  }
  return fail_code();
}

bool PreStart::read_policy() {
  const auto& ctx = rt_.ctx;
  auto items = read_container_config(ctx.name, ctx.lxcpath, ctx.config_file);
  if (!items) {
    spdlog::warn("cannot read the container's config ({}); it starts without GPUs", items.error().message());
    return false;
  }
  config_ = std::move(*items);
  if (config_.via_liblxc) spdlog::debug("config read through liblxc: {}", config_.why_liblxc);
  policy_ = parse_policy(environment_keys(config_.values), rt_.cfg);
  for (const auto& w : policy_.warnings) spdlog::warn("{}", w);
  if (!policy_.visible_devices_key.empty()) {
    spdlog::debug("NVIDIA_VISIBLE_DEVICES from {}", policy_.visible_devices_key);
  }
  laps_.lap("config");
  return true;
}

bool PreStart::prepare_state_dir() {
  if (auto ok = make_dirs(rt_.state.dir(), 0755); !ok) {
    spdlog::warn("{}; the container starts without GPUs. Fix: make {} writable for root", ok.error().message(),
                 rt_.state.base);
    return false;
  }
  return true;
}

std::optional<std::string> PreStart::wait_for_host() {
  host_ = wait_for_driver(rt_.root, rt_.cfg.driver_wait, rt_.cfg.load_modules);
  if (!host_.driver_loaded) {
    return "the NVIDIA driver is not loaded (no " + rt_.root.path("/proc/driver/nvidia/version") + " after " +
           std::to_string(rt_.cfg.driver_wait.count() / 1000) +
           " s). Fix: install the driver or 'modprobe nvidia', then check 'dmesg | grep -i nvrm'";
  }
  if (should_load_uvm(parse_driver_capabilities(policy_.capabilities), host_, rt_.cfg.load_modules)) {
    if (auto ok = load_module(rt_.root, "nvidia_uvm", std::chrono::seconds(10)); !ok) {
      spdlog::warn("could not load nvidia_uvm: {}. Fix: 'modprobe nvidia_uvm' on the host", ok.error().message());
    } else {
      spdlog::info("loaded nvidia_uvm");
      host_ = discover_host(rt_.root, DiscoverScope::Planning);
    }
  }
  for (const auto& p : host_.problems) spdlog::warn("{}", p.message());
  laps_.lap("host");
  return std::nullopt;
}

std::optional<std::string> PreStart::plan_devices() {
  auto plan = make_plan(host_, policy_.plan_request());
  if (!plan) return "no GPU plan: " + plan.error().message();
  plan_ = std::move(*plan);
  for (const auto& w : plan_.warnings) spdlog::warn("{}", w);
  if (auto unmet = check_requirements(rt_.root, policy_.nvidia_items, plan_); !unmet.empty()) {
    if (policy_.required) return "requirement not met: " + unmet_requirements(unmet);
    spdlog::warn(
        "requirement not met: {}. Starting anyway (PHOENIX_GPU_REQUIRED=1 fails the start instead; "
        "NVIDIA_DISABLE_REQUIRE=1 skips the check)",
        unmet_requirements(unmet));
  }
  // The host config's problems (a broken file: built-in defaults in use)
  // travel with the plan into the status.
  for (const auto& w : rt_.cfg.warnings) plan_.warnings.push_back("host config: " + w);
  // So do the container config's (a PHOENIX_GPU_* in lxc.environment.runtime).
  for (const auto& w : policy_.warnings) plan_.warnings.push_back("container config: " + w);
  laps_.lap("plan");
  return std::nullopt;
}

void PreStart::warn_pending() const {
  for (const auto& n : plan_.nodes) {
    if (n.pending.empty()) continue;
    spdlog::warn(
        "{} is pending: {}; the container is not verified until it works (the worker waits for it up to "
        "the verify timeout)",
        n.container_path, n.pending);
  }
}

HostNodeTally PreStart::make_host_nodes() {
  const bool create = rt_.cfg.create_nodes && policy_.create_nodes.value_or(true);
  const bool modify_allowed = !host_.params || host_.params->modify;
  HostNodeTally tally;
  for (const auto& node : plan_.nodes) {
    switch (decide_host_node(node, create, modify_allowed, host_.majors.nvidia())) {
      case HostNodeStep::Skip:
        continue;
      case HostNodeStep::CheckOnly:
        if (stat_node(rt_.root.path(node.host_path)).kind != NodeState::Kind::CharDevice) {
          ++tally.missing;
          spdlog::info("{} is missing on the host and node creation is off; it is bound when it appears",
                       node.host_path);
        }
        continue;
      case HostNodeStep::Ensure:
        break;
    }
    NodeOutcome out = ensure_host_node(rt_.root, node);
    switch (out.action) {
      case NodeAction::Present:
        break;
      case NodeAction::Created:
        spdlog::info("created {} ({}:{})", rt_.root.path(node.host_path), node.major, node.minor);
        break;
      case NodeAction::Repaired:
        spdlog::info("repaired {} ({}; now {}:{})", rt_.root.path(node.host_path), out.detail, node.major, node.minor);
        break;
      case NodeAction::Failed:
        ++tally.failed;
        spdlog::warn("cannot create {}: {}", node.host_path, out.detail);
        break;
    }
  }
  laps_.lap("host nodes");
  return tally;
}

std::optional<std::string> PreStart::write_state_files() {
  PlanFile pf;
  pf.container = rt_.ctx.name;
  pf.lxcpath = rt_.ctx.lxcpath;
  pf.host_root = rt_.root.root();
  pf.required = policy_.required;
  pf.created_unix_ms = unix_ms();
  pf.plan = plan_;
  if (auto ok = write_plan(rt_.state.plan_path(), pf); !ok) return "cannot write the plan: " + ok.error().message();
  prepare_mount_report(rt_.state, mapped_root_uid_of(config_.values.list(ListKey::Idmap)));
  prepare_driver_bind(rt_.state, rt_.root, policy_.driver_install.value_or(rt_.cfg.install_strategy),
                      plan_.driver_version, plan_.capabilities);
  prepare_proc_view(rt_.state, rt_.root);
  laps_.lap("state files");
  spdlog::debug("pre-start steps (ms): {}", laps_.text());
  return std::nullopt;
}

void PreStart::log_summary(const HostNodeTally& tally) const {
  spdlog::info("{}", plan_summary(plan_, tally, std::chrono::duration<double, std::milli>(Clock::now() - t0_).count()));
}

}  // namespace

int run_pre_start(const HookRuntime& rt) { return PreStart(rt).run(); }

}  // namespace phx
