// The process environment variables that configure the hooks, the worker
// and phoenix-gpu: one table of names, meanings, who they are for and which
// the worker is handed. Every read goes through it. (The container's policy
// keys, PHOENIX_GPU_* in lxc.environment, are not these: plan/policy.hpp.)
#pragma once

#include <span>
#include <string>
#include <vector>

namespace phx {

enum class EnvVar {
  Config,
  HostRoot,
  StateDir,
  LogDir,
  Modprobe,
  NoSystemd,
  NoMountApi,
  NoOpenat2,
  SpawnNote,
  WorkerCgroup,
};

enum class EnvAudience {
  User,      // documented: README, phoenix-gpu-hooks(7), phoenix-gpu(1), --help
  Test,      // forces a fallback path so tests reach it
  Internal,  // set by the hook for the worker it starts
};

struct EnvVarInfo {
  EnvVar var;
  const char* name;
  const char* meaning;  // one line
  EnvAudience audience;
  // Handed to the worker where it runs as a transient systemd unit, which
  // does not inherit the hook's environment (started directly, it inherits
  // all of it).
  bool worker_inherits;
};

std::span<const EnvVarInfo> env_vars();
const EnvVarInfo& env_var_info(EnvVar var);
const char* env_name(EnvVar var);

// The variable's value; nullptr when it is unset.
const char* env_value(EnvVar var);

// The names the worker is handed (worker_inherits).
std::vector<const char*> worker_env_names();

// The user-facing variables, "  NAME  meaning" a line (meanings aligned), for
// --help.
std::string user_env_help();

}  // namespace phx
