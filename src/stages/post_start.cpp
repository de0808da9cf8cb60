#include "stages/post_start.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "base/clock.hpp"
#include "base/logging.hpp"
#include "base/spawn.hpp"
#include "fs/device_cgroup.hpp"
#include "plan/plan_file.hpp"
#include "plan/status_file.hpp"

namespace phx {
namespace {

std::string worker_path() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (ec ? std::filesystem::path("/usr/libexec/phoenix-gpu-hooks") : self.parent_path()).string() + "/worker";
}

std::string unit_name(const std::string& name) {
  std::string out = "phoenix-gpu-worker-";
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  return out + "-" + std::to_string(::getpid());
}

// No worker, no verification: the status must not stay "starting".
void record_no_worker(const StateDir& state, const std::string& name, const std::string& lxcpath, const Error& why) {
  GpuStatus st;
  st.container = name;
  st.lxcpath = lxcpath;
  st.state = GpuState::Failed;
  st.message = "the verification worker could not be started: " + why.message();
  st.started_unix_ms = unix_ms();
  st.finished_unix_ms = st.started_unix_ms;
  if (auto ok = write_status(state.status_path(), st); !ok) spdlog::debug("{}", ok.error().message());
}

}  // namespace

Status start_worker(const StateDir& state, const std::string& name, const std::string& lxcpath, pid_t init_pid) {
  GpuStatus st;
  st.container = name;
  st.lxcpath = lxcpath;
  st.state = GpuState::Starting;
  st.started_unix_ms = unix_ms();
  if (auto ok = write_status(state.status_path(), st); !ok) return ok;
  SpawnOptions opts;
  opts.defer_until_exec_of = init_pid;
  auto spawned = spawn_detached({worker_path(), name, lxcpath}, unit_name(name), opts);
  if (!spawned) return spawned.error();
  spdlog::debug("worker started ({}{})", spawned->how, spawned->pid ? ", pid " + std::to_string(spawned->pid) : "");
  return {};
}

int run_post_start(const HookRuntime& rt) {
  auto pf = read_plan(rt.state.plan_path());
  if (!pf) {
    if (pf.error().err != ENOENT) spdlog::warn("{}; GPU devices are not verified", pf.error().message());
    return 0;
  }
  if (!pf->plan.enabled) return 0;
  if (rt.ctx.pid > 0) {
    auto cg = detect_device_cgroup(rt.ctx.pid);
    if (!cg) {
      spdlog::debug("{}", cg.error().message());
    } else if (*cg == nullptr) {
      spdlog::debug("cgroup2: rules can only be added once RUNNING");
    } else {
      allow_missing_logged(**cg, pf->plan.rules);
    }
  }
  if (auto ok = start_worker(rt.state, rt.ctx.name, rt.ctx.lxcpath, rt.ctx.pid); !ok) {
    spdlog::warn("cannot start the verification worker: {}; GPU devices are not verified", ok.error().message());
    record_no_worker(rt.state, rt.ctx.name, rt.ctx.lxcpath, ok.error());
  }
  return 0;
}

int run_hookscript(const std::string& vmid, const std::string& phase) {
  if (phase != "post-start") return 0;
  const HostConfig config = start_program("post-start", vmid);
  if (auto ok = check_container_name(vmid); !ok) {
    spdlog::error("{}", ok.error().message());
    return 0;
  }
  const std::string lxcpath = "/var/lib/lxc";  // Proxmox's
  StateDir state{state_base(config.state_dir), lxcpath, vmid};
  auto pf = read_plan(state.plan_path());
  if (!pf || !pf->plan.enabled) return 0;
  if (auto st = read_status(state.status_path());
      st && st->state != GpuState::Starting && st->started_unix_ms >= pf->created_unix_ms) {
    return 0;  // the start-host hook already ran a worker for this start
  }
  if (auto ok = start_worker(state, vmid, lxcpath, 0); !ok) {
    spdlog::warn("{}", ok.error().message());
    record_no_worker(state, vmid, lxcpath, ok.error());
  }
  return 0;
}

}  // namespace phx
