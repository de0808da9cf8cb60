// The running container's init, as its monitor names it.
#pragma once

#include "base/error.hpp"
#include "base/init_process.hpp"

namespace phx {

class LxcContainer;

// Asks the container's monitor for init: the pidfd the monitor took when it
// cloned init (liblxc 4.0 or later), its PID from that pidfd, and init's
// /proc directory. Fails when the container is no longer running.
Result<InitProcess> open_init_process(LxcContainer& c);

}  // namespace phx
