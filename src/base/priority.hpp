// Idle CPU and I/O priority for the worker while a container start is still
// under way: it then runs only on time the start leaves idle, without a
// fixed delay.
#pragma once

#include "base/error.hpp"

namespace phx {

// SCHED_IDLE and the idle I/O class for the calling process (inherited
// across fork and exec).
Status enter_idle_priority();

// Back to SCHED_OTHER, nice 0 and the default I/O class (needs CAP_SYS_NICE
// to leave SCHED_IDLE). A no-op where the process was not idle.
Status leave_idle_priority();

}  // namespace phx
