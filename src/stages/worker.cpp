#include "stages/worker.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>

#include "base/capabilities.hpp"
#include "base/clock.hpp"
#include "base/env_vars.hpp"
#include "base/logging.hpp"
#include "base/priority.hpp"
#include "base/proc_cgroup.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "fs/device_cgroup.hpp"
#include "fs/host_nodes.hpp"
#include "fs/hotplug.hpp"
#include "lxc/cgroup_v2.hpp"
#include "lxc/container_config.hpp"
#include "lxc/container_init.hpp"
#include "lxc/lxc_container.hpp"
#include "plan/config.hpp"
#include "plan/host_check.hpp"
#include "plan/plan_file.hpp"
#include "plan/policy.hpp"
#include "plan/state_dir.hpp"
#include "plan/status_file.hpp"
#include "stages/driver_stage.hpp"
#include "stages/hook_runtime.hpp"
#include "stages/mount_report.hpp"
#include "stages/verify.hpp"
#include "stages/worker_decisions.hpp"

namespace phx {
namespace {

using Clock = std::chrono::steady_clock;

// Watches the host directories the planned nodes live in, so a node that
// appears is acted on at once rather than at the next poll.
UniqueFd watch_host_dirs(const HostRoot& root, const std::vector<PlannedNode>& nodes) {
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd) return fd;
  std::set<std::string> dirs;
  for (const auto& n : nodes) {
    std::string p = root.path(n.host_path);
    dirs.insert(p.substr(0, p.rfind('/')));
  }
  dirs.insert(root.path("/dev"));
  for (const auto& d : dirs) ::inotify_add_watch(fd.get(), d.c_str(), IN_CREATE | IN_ATTRIB | IN_MOVED_TO);
  return fd;
}

// The first failing node in one line, for the status message.
std::string first_failing(const std::vector<NodeCheck>& checks, bool simulated) {
  if (checks.empty()) return "the nodes could not be checked inside the container";
  for (const auto& k : checks)
    if (!k.passed(simulated))
      return k.path + " " + std::string(to_string(k.result)) + (k.detail.empty() ? "" : ": " + k.detail);
  return "";
}

void drain(int fd) {
  char buf[4096];
  while (::read(fd, buf, sizeof buf) > 0) {
  }
}

class Worker {
 public:
  Worker(std::string name, std::string lxcpath, HostConfig cfg)
      : name_(std::move(name)),
        lxcpath_(std::move(lxcpath)),
        cfg_(std::move(cfg)),
        state_{state_base(cfg_.state_dir), lxcpath_, name_} {}

  int run();

 private:
  // A newer start wrote a newer plan: this worker's run is over, and its
  // status must not overwrite the new one.
  bool superseded() const {
    auto now = read_plan(state_.plan_path());
    return !now || now->created_unix_ms != plan_.created_unix_ms;
  }
  // Writes status.json; false (and nothing written) once a newer start has
  // taken over: the caller ends the run.
  bool save() {
    if (superseded_ || superseded()) {
      if (!superseded_) spdlog::info("a newer start of {} took over; worker exits", name_);
      superseded_ = true;
      return false;
    }
    if (auto ok = write_status(state_.status_path(), status_); !ok) spdlog::warn("{}", ok.error().message());
    return true;
  }
  enum class VerifyEnd { Verified, Timeout, Stopped };

  // The run's steps, in order.
  void begin_status();
  bool load_plan();
  bool wait_running(LxcContainer& c, Millis budget);
  std::unique_ptr<DeviceCgroup> open_device_cgroup(LxcContainer& c, const InitProcess& init);
  VerifyEnd verify_until(LxcContainer& c, const InitProcess& init, DeviceCgroup* cgroup, Clock::time_point deadline,
                         std::vector<NodeCheck>& checks);
  // False when the run is over (stopped, or a newer start took over).
  bool record_verification(LxcContainer& c, VerifyEnd how, std::vector<NodeCheck> checks, Clock::time_point running_at);
  // Records a final state with its message and logs that the worker exits.
  void end(GpuState state, std::string message);
  // Makes pending nodes whose module has come (major known now): the host
  // node where creation is allowed. Hot-plug and the cgroup rule (only where
  // the cgroup lacks one) follow through fix_checks. True when one was.
  bool resolve_pending_nodes();
  // True when it changed something worth re-checking at once.
  bool fix_checks(std::vector<NodeCheck>& checks, DeviceCgroup* cg, const InitProcess& init);
  void warn_timeout(LxcContainer& c, const std::vector<NodeCheck>& checks);

  std::string name_, lxcpath_;
  HostConfig cfg_;
  StateDir state_;
  PlanFile plan_;
  GpuStatus status_;
  HostRoot root_{"/"};
  bool create_nodes_ = true;
  std::set<std::string> hotplugged_;
  std::map<std::string, std::string> hotplug_errors_;
  bool hotplug_stalled_ = false;
  bool superseded_ = false;
  UniqueFd host_watch_;  // inotify on the host directories of the planned nodes
};

bool Worker::wait_running(LxcContainer& c, Millis budget) {
  // The monitor answers commands once the container is RUNNING. wait() does
  // not return when the container stops instead (it polls until its
  // timeout), so wait in one-second steps and give up once it is STOPPED:
  // started by this start's hook, the container was at least STARTING, and
  // STOPPED means that start is over (a unit stopped mid-start, a failure).
  const auto deadline = Clock::now() + budget;
  do {
    const std::string st = c.state();
    if (st == "RUNNING") return true;
    if (st == "STOPPED") return false;
    if (c.wait("RUNNING", 1)) return true;
  } while (Clock::now() < deadline);
  return false;
}

bool Worker::resolve_pending_nodes() {
  auto& nodes = plan_.plan.nodes;
  if (std::none_of(nodes.begin(), nodes.end(), [](const PlannedNode& n) { return !n.pending.empty(); })) return false;
  const HostSnapshot host = discover_host(root_, DiscoverScope::Planning);
  const bool modify_allowed = !host.params || host.params->modify;
  bool resolved = false;
  for (auto& node : nodes) {
    if (node.pending.empty() || !resolve_pending(node, host)) continue;
    resolved = true;
    spdlog::info("{} is no longer pending ({}:{})", node.container_path, node.major, node.minor);
    const CgroupRule rule = rule_for(node);
    if (std::find(plan_.plan.rules.begin(), plan_.plan.rules.end(), rule) == plan_.plan.rules.end()) {
      plan_.plan.rules.push_back(rule);
    }
    if (create_nodes_ && (modify_allowed || node.major != host.majors.nvidia().value_or(-1))) {
      NodeOutcome out = ensure_host_node(root_, node);
      if (out.action == NodeAction::Failed) {
        spdlog::warn("cannot create {}: {}", node.host_path, out.detail);
      } else if (out.action != NodeAction::Present) {
        spdlog::info("{} {} ({}:{})", to_string(out.action), root_.path(node.host_path), node.major, node.minor);
      }
    }
  }
  // The plan on disk says what the container has now (phoenix-gpu verify
  // and plan read it); a newer start's plan is never overwritten.
  if (resolved && !superseded()) {
    if (auto ok = write_plan(state_.plan_path(), plan_); !ok) spdlog::warn("{}", ok.error().message());
  }
  return resolved;
}

bool Worker::fix_checks(std::vector<NodeCheck>& checks, DeviceCgroup* cg, const InitProcess& init) {
  bool changed = false;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const NodeCheck& chk = checks[i];
    const PlannedNode& node = plan_.plan.nodes[i];
    const std::string src = root_.path(node.host_path);
    const FixAction action = decide_fix(chk, node, stat_node(src), hotplug_stalled_, cg != nullptr);
    if (action == FixAction::HotPlug) {
      if (auto ok = hotplug_node(init, src, node); !ok) {
        hotplug_stalled_ = ok.error().err == ETIMEDOUT;
        // Retried at every poll; said once per distinct reason.
        const std::string msg = ok.error().message();
        if (hotplug_errors_[node.container_path] != msg) {
          spdlog::warn("hot-plug of {} failed: {}", node.container_path, msg);
          hotplug_errors_[node.container_path] = msg;
        }
        continue;
      }
      // A rule only where the cgroup lacks one (allow_missing: cgroup v1);
      // on cgroup2 the re-check that follows finds the node denied if it is.
      if (cg != nullptr) allow_missing_logged(*cg, {rule_for(node)});
      changed = true;
      if (hotplugged_.insert(node.container_path).second) {
        spdlog::info("hot-plugged {} (appeared on the host after the start)", node.container_path);
        status_.hotplugged.push_back(node.container_path);
      }
    } else if (action == FixAction::AllowRule) {
      if (auto ok = cg->allow(rule_for(node)); !ok) {
        spdlog::warn("cannot allow {} in the device cgroup: {}", node.container_path, ok.error().message());
      } else {
        changed = true;
        spdlog::info("allowed {} ({}:{}) in {}", node.container_path, node.major, node.minor, cg->describe());
      }
    }
  }
  return changed;
}

void Worker::warn_timeout(LxcContainer& c, const std::vector<NodeCheck>& checks) {
  const bool simulated = HostRoot(plan_.host_root).simulated();
  std::string lines;
  for (const auto& chk : checks) {
    if (!chk.passed(simulated)) lines += "\n  - " + explain(chk);
  }
  auto listing = list_dev_in_container(c);
  status_.dev_listing = listing ? *listing : "(no listing: " + listing.error().message() + ")";
  spdlog::warn(
      "WARNING: GPU devices NOT ready in container {} after {} s; it keeps running without them (fail later). "
      "Failing nodes:{}\nThe container's /dev:\n{}",
      name_, status_.finished_unix_ms > 0 ? (status_.finished_unix_ms - status_.running_unix_ms) / 1000 : 0, lines,
      status_.dev_listing);
}

void Worker::begin_status() {
  status_.container = name_;
  status_.lxcpath = lxcpath_;
  status_.worker_pid = static_cast<int>(::getpid());
  if (const char* cg = env_value(EnvVar::WorkerCgroup)) {
    status_.cgroup = cg;
  } else if (auto own = read_small_file("/proc/self/cgroup", 65536)) {
    // Started by systemd: its transient unit's cgroup (the cgroup2 line).
    if (auto path = cgroup2_path(parse_proc_cgroup(*own))) status_.cgroup = *path;
  }
  if (const char* note = env_value(EnvVar::SpawnNote)) spdlog::warn("{}", note);
  auto old = read_status(state_.status_path());
  status_.started_unix_ms = old ? old->started_unix_ms : unix_ms();
}

bool Worker::load_plan() {
  auto pf = read_plan(state_.plan_path());
  if (!pf) {
    // Not "starting" forever: say why nothing was verified.
    spdlog::warn("{}; nothing to verify", pf.error().message());
    status_.state = GpuState::Failed;
    status_.message = "no readable plan for this start: " + pf.error().message();
    status_.finished_unix_ms = unix_ms();
    if (auto ok = write_status(state_.status_path(), status_); !ok) spdlog::warn("{}", ok.error().message());
    return false;
  }
  plan_ = std::move(*pf);
  root_ = HostRoot(plan_.host_root);
  return true;
}

void Worker::end(GpuState state, std::string message) {
  status_.state = state;
  status_.message = std::move(message);
  if (status_.finished_unix_ms == 0) status_.finished_unix_ms = unix_ms();
  if (save()) spdlog::info("{}; worker exits", status_.message);
}

std::unique_ptr<DeviceCgroup> Worker::open_device_cgroup(LxcContainer& c, const InitProcess& init) {
  auto proc_cgroup = init.read("cgroup");
  auto cg =
      proc_cgroup ? detect_device_cgroup(*proc_cgroup) : Result<std::unique_ptr<DeviceCgroup>>(proc_cgroup.error());
  if (!cg) {
    spdlog::warn("device cgroup: {}", cg.error().message());
    return nullptr;
  }
  if (*cg == nullptr) *cg = make_cgroup_v2(c);
  status_.cgroup = (*cg)->describe();
  // cgroup v1: the planned rules the cgroup lacks, before the first check.
  // cgroup2 adds nothing here (see allow_missing).
  allow_missing_logged(**cg, plan_.plan.rules);
  return std::move(*cg);
}

Worker::VerifyEnd Worker::verify_until(LxcContainer& c, const InitProcess& init, DeviceCgroup* cgroup,
                                       Clock::time_point deadline, std::vector<NodeCheck>& checks) {
  // Kept until the worker exits: closing an inotify instance waits for an
  // RCU grace period (10-20 ms), which must not fall between the last check
  // and recording "verified".
  host_watch_ = watch_host_dirs(root_, plan_.plan.nodes);
  const int inotify = host_watch_.get();
  const bool simulated = root_.simulated();
  auto interval = std::max(cfg_.poll_interval, Millis(1));
  RecheckBudget quick;
  auto host_node = [&](const PlannedNode& n) { return stat_node(root_.path(n.host_path)); };
  bool check_now = true;
  for (;;) {
    if (resolve_pending_nodes()) check_now = true;
    if (check_now) {
      auto res = verify_plan(c, plan_.plan.nodes, root_);
      if (res) {
        checks = std::move(*res);
        const auto passed = static_cast<std::size_t>(
            std::count_if(checks.begin(), checks.end(), [&](const NodeCheck& k) { return k.passed(simulated); }));
        if (passed == checks.size()) return VerifyEnd::Verified;
        if (fix_checks(checks, cgroup, init) && quick.another(passed)) continue;
      } else {
        checks.clear();
        spdlog::debug("verification attempt: {}", res.error().message());
      }
    }
    if (Clock::now() >= deadline) return VerifyEnd::Timeout;
    struct pollfd fds[2] = {{init.pidfd.get(), POLLIN, 0}, {inotify, POLLIN, 0}};
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    int n = ::poll(fds, 2, static_cast<int>(std::min(interval, left).count()));
    if (n > 0 && (fds[0].revents & POLLIN)) return VerifyEnd::Stopped;
    if (n > 0 && (fds[1].revents & POLLIN)) {
      drain(inotify);
    } else {
      interval = std::min(interval * 3 / 2 + Millis(1), Millis(500));
    }
    // After a stalled hot-plug helper the container's /dev does not answer:
    // a check would block in it too (10 s, then 5 s to give up on the stuck
    // child) and push the timeout and its warning past their bound. The run
    // waits for its deadline (or the container's end) instead.
    check_now = !hotplug_stalled_ && !waiting_only_for_host(checks, plan_.plan.nodes, host_node, simulated);
  }
}

bool Worker::record_verification(LxcContainer& c, VerifyEnd how, std::vector<NodeCheck> checks,
                                 Clock::time_point running_at) {
  const bool simulated = root_.simulated();
  for (auto& k : checks) k.hotplugged = hotplugged_.count(k.path) != 0;
  status_.nodes = std::move(checks);
  status_.finished_unix_ms = unix_ms();
  switch (how) {
    case VerifyEnd::Stopped:
      end(GpuState::Stopped, "the container stopped during verification");
      return false;
    case VerifyEnd::Verified:
      status_.state = GpuState::Verified;
      // Verified what was planned; say what could not be planned (no uvm
      // nodes because nvidia_uvm did not load, say).
      for (const auto& w : plan_.plan.warnings) status_.message += (status_.message.empty() ? "" : "; ") + w;
      status_.ms_to_verified = std::chrono::duration_cast<Millis>(Clock::now() - running_at).count();
      spdlog::info("GPU devices verified in container {}: {} node(s) in {} ms from RUNNING{}", name_,
                   status_.nodes.size(), status_.ms_to_verified,
                   simulated ? " (simulated host: allowed, no driver behind them)" : "");
      break;
    case VerifyEnd::Timeout:
      status_.state = GpuState::Timeout;
      // A node the mount hook refused (the container's own file or symlink
      // where it goes) says so, read only now: off the start's path.
      if (auto report = read_mount_report(mount_report_path(state_))) {
        explain_unbound(status_.nodes, *report, simulated);
      }
      status_.message = first_failing(status_.nodes, simulated);
      warn_timeout(c, status_.nodes);
      break;
  }
  return save();
}

int Worker::run() {
  begin_status();
  if (!load_plan()) return 0;
  status_.state = GpuState::Waiting;
  if (!save()) return 0;

  auto c = LxcContainer::load(name_, lxcpath_);
  if (!c) {
    spdlog::warn("{}", c.error().message());
    end(GpuState::Failed, c.error().message());
    return 0;
  }
  ContainerPolicy policy;
  if (auto p = read_container_policy(name_, lxcpath_, cfg_)) {
    policy = std::move(*p);
  } else {
    spdlog::warn("{}; the host defaults apply", p.error().message());
  }
  const Millis timeout = policy.verify_timeout.value_or(cfg_.verify_timeout);
  create_nodes_ = cfg_.create_nodes && policy.create_nodes.value_or(true);
  const auto deadline = Clock::now() + timeout;

  const auto waited_from = Clock::now();
  if (!wait_running(*c, timeout)) {
    // wait() also returns early when the start fails and the container stops.
    end(GpuState::Stopped,
        Clock::now() - waited_from < timeout - std::chrono::seconds(1)
            ? std::string("the container stopped before it was RUNNING (its start failed?)")
            : "the container did not reach RUNNING within " + std::to_string(timeout.count() / 1000) + " s");
    return 0;
  }
  status_.running_unix_ms = unix_ms();
  // The start is over: verification now runs at normal priority.
  if (auto ok = leave_idle_priority(); !ok) spdlog::debug("{}", ok.error().message());
  const auto running_at = Clock::now();
  // From here on init is named by its pidfd and its /proc directory only:
  // its number may belong to another process once it has exited.
  auto init = open_init_process(*c);
  if (!init) {
    end(GpuState::Stopped, "the container stopped as it reached RUNNING (" + init.error().message() + ")");
    return 0;
  }
  auto cgroup = open_device_cgroup(*c, *init);
  status_.state = GpuState::Verifying;
  if (!save()) return 0;

  std::vector<NodeCheck> checks;
  const VerifyEnd how = verify_until(*c, *init, cgroup.get(), deadline, checks);
  if (!record_verification(*c, how, std::move(checks), running_at)) return 0;

  if (hotplug_stalled_) {
    // Every step of the driver stage enters the container, whose /dev does
    // not answer: each would block to its bound. The worker ends here.
    status_.driver.state = DriverState::Skipped;
    status_.driver.message = "not run: the container's /dev did not answer a hot-plug (see the log)";
    save();
    return 0;
  }
  run_driver_stage(*c, plan_, policy, cfg_, state_.dir(), status_, [this] { return save(); });
  save();
  return 0;
}

}  // namespace

int run_worker(const std::string& name, const std::string& lxcpath) {
  const HostConfig config = start_program("worker", name, /*to_stderr=*/false);  // detached: stderr is /dev/null
  if (auto ok = check_container_name(name); !ok) {
    spdlog::error("{}", ok.error().message());
    return 2;
  }
  // What the worker needs: namespaces and mounts (SYS_ADMIN), other users'
  // namespaces (SYS_PTRACE: setns through a pidfd, /proc/<pid>), the state
  // files, and what liblxc attach and the driver installer use (attaching to an id-mapped container fails with
  // EPERM without SETFCAP), and leaving the idle priority it was started at
  // (SYS_NICE). Module loading, raw I/O, the network: dropped.
  if (auto ok =
          keep_only_capabilities({CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
                                  CAP_CHOWN, CAP_SETUID, CAP_SETGID, CAP_SETPCAP, CAP_SYS_CHROOT, CAP_KILL,
                                  CAP_SYS_RESOURCE, CAP_MKNOD, CAP_AUDIT_WRITE, CAP_SETFCAP, CAP_SYS_NICE});
      !ok) {
    spdlog::warn("capability drop failed, the worker keeps its capabilities: {}", ok.error().message());
  }
  Worker w(name, lxcpath, config);
  return w.run();
}

}  // namespace phx
