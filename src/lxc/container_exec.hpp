// Running our own function inside a running container (liblxc attach): its
// namespaces, cgroup and dropped capabilities, with the output captured and
// a hard time limit.
#pragma once

#include <lxc/attach_options.h>

#include <string>

#include "base/error.hpp"
#include "plan/config.hpp"

namespace phx {

class LxcContainer;

struct AttachRun {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string output;  // stdout (and stderr when asked), the last `keep` bytes
  long long duration_ms = 0;
  bool left_behind = false;  // killed but not dead after a grace period; not waited for
};

// fn runs in a child attached to the container, in a session of its own (no
// controlling terminal), not dumpable, holding only stdin (/dev/null),
// stdout/stderr (our pipe) and, when keep_fd >= 0, that descriptor as fd 3.
// A run past `timeout` is killed with its process group; output is read at
// most up to the deadline (plus a short, capped drain) whoever writes it.
Result<AttachRun> attach_run(LxcContainer& c, lxc_attach_exec_t fn, void* payload, Millis timeout,
                             bool capture_stderr = false, std::size_t keep = 1 << 20, int keep_fd = -1);

}  // namespace phx
