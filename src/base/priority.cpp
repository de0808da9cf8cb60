#include "base/priority.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace phx {
namespace {

// <linux/ioprio.h> is not in every libc's headers; the ABI is stable.
constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassShift = 13;
constexpr int kIoprioClassIdle = 3;

int ioprio_set(int value) { return static_cast<int>(::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, value)); }

}  // namespace

Status enter_idle_priority() {
  struct sched_param p {};
  if (::sched_setscheduler(0, SCHED_IDLE, &p) != 0) return sys_error("sched_setscheduler SCHED_IDLE", "self");
  if (ioprio_set(kIoprioClassIdle << kIoprioClassShift) != 0) return sys_error("ioprio_set idle", "self");
  return {};
}

Status leave_idle_priority() {
  if (::sched_getscheduler(0) == SCHED_IDLE) {
    struct sched_param p {};
    if (::sched_setscheduler(0, SCHED_OTHER, &p) != 0) return sys_error("sched_setscheduler SCHED_OTHER", "self");
    (void)::setpriority(PRIO_PROCESS, 0, 0);
  }
  // Class 0 (none): the I/O priority follows the CPU nice value again.
  if (ioprio_set(0) != 0) return sys_error("ioprio_set none", "self");
  return {};
}

}  // namespace phx
