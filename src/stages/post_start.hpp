// post-start (lxc.hook.start-host): host namespaces, every LXC device rule
// applied, init not yet exec'd, the monitor blocked. Applies what can be
// applied synchronously (cgroup v1 rules), starts the worker, returns.
#pragma once

#include <sys/types.h>

#include <string>

#include "stages/hook_runtime.hpp"

namespace phx {

int run_post_start(const HookRuntime& rt);

// Proxmox hookscript form: "<hook> VMID PHASE". Only post-start acts (the
// container is RUNNING then); the other phases return 0.
int run_hookscript(const std::string& vmid, const std::string& phase);

// Starts the detached worker for a container whose plan is in place and
// records it in status.json. With init_pid > 0 (start-host: the container's
// init, not yet exec'd) the worker is launched only once init runs.
Status start_worker(const StateDir& state, const std::string& name, const std::string& lxcpath, pid_t init_pid);

}  // namespace phx
