#include "base/env_vars.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace phx {
namespace {

using A = EnvAudience;

constexpr EnvVarInfo kEnvVars[] = {
    {EnvVar::Config, "PHOENIX_GPU_CONFIG", "the config file instead of /etc/phoenix-gpu-hooks/config.toml", A::User,
     true},
    {EnvVar::HostRoot, "PHOENIX_GPU_HOST_ROOT",
     "read /proc, /sys, /dev below this directory: a simulated host (--host-root in phoenix-gpu)", A::User, true},
    {EnvVar::StateDir, "PHOENIX_GPU_STATE_DIR", "overrides [state] dir (an absolute path)", A::User, true},
    {EnvVar::LogDir, "PHOENIX_GPU_LOG_DIR", "overrides [log] dir (an absolute path)", A::User, true},
    {EnvVar::Modprobe, "PHOENIX_GPU_MODPROBE",
     "the program that loads modules (an absolute path); default /proc/sys/kernel/modprobe", A::User, true},
    {EnvVar::NoSystemd, "PHOENIX_GPU_NO_SYSTEMD",
     "set: the worker starts in the cgroup phoenix-gpu-hooks, never as a transient systemd unit", A::User, false},
    {EnvVar::NoMountApi, "PHOENIX_GPU_NO_MOUNT_API", "1: binds with mount(2), as where the new mount API is missing",
     A::Test, true},
    {EnvVar::NoOpenat2, "PHOENIX_GPU_NO_OPENAT2", "1: paths resolved step by step, as where openat2 is missing",
     A::Test, true},
    {EnvVar::SpawnNote, "PHOENIX_GPU_SPAWN_NOTE", "why the worker did not start as a systemd unit (it logs it)",
     A::Internal, false},
    {EnvVar::WorkerCgroup, "PHOENIX_GPU_WORKER_CGROUP", "the cgroup the worker was started in (its status says it)",
     A::Internal, false},
};

constexpr bool table_in_enum_order() {
  for (std::size_t i = 0; i < std::size(kEnvVars); ++i)
    if (static_cast<std::size_t>(kEnvVars[i].var) != i) return false;
  return static_cast<std::size_t>(EnvVar::WorkerCgroup) + 1 == std::size(kEnvVars);
}
static_assert(table_in_enum_order(), "kEnvVars: one row per EnvVar, in its order");

}  // namespace

std::span<const EnvVarInfo> env_vars() { return kEnvVars; }

const EnvVarInfo& env_var_info(EnvVar var) { return kEnvVars[static_cast<std::size_t>(var)]; }

const char* env_name(EnvVar var) { return env_var_info(var).name; }

const char* env_value(EnvVar var) { return std::getenv(env_name(var)); }

std::vector<const char*> worker_env_names() {
  std::vector<const char*> out;
  for (const auto& v : kEnvVars)
    if (v.worker_inherits) out.push_back(v.name);
  return out;
}

std::string user_env_help() {
  std::size_t width = 0;
  for (const auto& v : kEnvVars)
    if (v.audience == EnvAudience::User) width = std::max(width, std::strlen(v.name));
  std::string out;
  for (const auto& v : kEnvVars) {
    if (v.audience != EnvAudience::User) continue;
    out += "  ";
    out += v.name;
    out.append(width - std::strlen(v.name) + 2, ' ');
    out += v.meaning;
    out += "\n";
  }
  return out;
}

}  // namespace phx
