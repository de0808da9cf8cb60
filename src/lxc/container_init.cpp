#include "lxc/container_init.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <optional>

#include "base/text.hpp"
#include "lxc/lxc_container.hpp"

namespace phx {
namespace {

int sys_pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// The PID a pidfd names, from its fdinfo: -1 once the process
// has exited; nullopt where the kernel does not say.
std::optional<pid_t> pidfd_pid(int pidfd) {
  auto info = read_small_file("/proc/self/fdinfo/" + std::to_string(pidfd), 65536);
  if (!info) return std::nullopt;
  for (auto line : split_lines(*info)) {
    if (line.rfind("Pid:", 0) != 0) continue;
    auto v = parse_int(trim(line.substr(4)));
    if (v) return static_cast<pid_t>(*v);
  }
  return std::nullopt;
}

}  // namespace

Result<InitProcess> open_init_process(LxcContainer& c) {
  InitProcess init;
  const auto gone = [&](const std::string& why) { return Error{"container init", c.name(), ESRCH, why}; };
  // The monitor cloned init with CLONE_PIDFD: its pidfd can name no other
  // process, whenever we ask. A pidfd_open(init_pid) names whoever holds the
  // number by the time it runs.
  init.pidfd = c.init_pidfd();
  std::optional<pid_t> pid;
  if (init.pidfd) pid = pidfd_pid(init.pidfd.get());
  if (pid) {
    init.pid = *pid;
    if (init.pid <= 0) return gone("init has exited (the container stopped)");
  } else {
    // No pidfd from the monitor (liblxc before 4.0), or none whose PID the
    // kernel tells: by number, good only if the monitor still names that
    // number as init once the pidfd is open.
    init.pid = c.init_pid();
    if (init.pid <= 0) return gone("the container is not running");
    init.pidfd.reset(sys_pidfd_open(init.pid));
    if (!init.pidfd) return sys_error("pidfd_open", "/proc/" + std::to_string(init.pid));
    if (c.init_pid() != init.pid) return gone("init changed while it was opened (the container stopped)");
  }
  const std::string dir = "/proc/" + std::to_string(init.pid);
  init.proc_dir.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!init.proc_dir) return sys_error("open", dir);
  // Opened by number: init's own if init still holds the number now.
  if (!init.alive()) return gone("init has exited (the container stopped)");
  return init;
}

}  // namespace phx
