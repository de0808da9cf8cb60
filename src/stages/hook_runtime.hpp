// What every hook does first: read its context and the host config, set up
// logging, and bound its own run time (LXC has no hook timeout).
#pragma once

#include <string>

#include "base/error.hpp"
#include "host/host_root.hpp"
#include "plan/config.hpp"
#include "plan/state_dir.hpp"
#include "stages/hook_context.hpp"

namespace phx {

struct HookRuntime {
  HookContext ctx;
  HostConfig cfg;
  HostRoot root;
  StateDir state;
};

// Problems with the host config are logged and the defaults used. A context
// error (a hook line run without LXC's variables) is logged and returned;
// the hook then exits 0 (a misconfigured hook line must not stop a
// container).
Result<HookRuntime> start_hook(const std::string& type, int argc, char** argv);

// Loads the host config (the defaults when it is broken, which is logged)
// and sets up logging for one program and container.
HostConfig start_program(const std::string& program, const std::string& container, bool to_stderr = true);

// After `budget`, write `message` to stderr and _exit(exit_code).
void arm_deadline(Millis budget, int exit_code);
void set_deadline_exit_code(int exit_code);

}  // namespace phx
