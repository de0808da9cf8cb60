#include "init_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lxc/lxccontainer.h>

#include <optional>

#include "lxc_container.hpp"
#include "text.hpp"

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

bool InitProcess::alive() const {
  return pidfd && ::syscall(SYS_pidfd_send_signal, pidfd.get(), 0, nullptr, 0) == 0;
}

Result<std::string> InitProcess::read(const std::string& entry) const {
  const std::string shown = "/proc/" + std::to_string(pid) + "/" + entry;
  UniqueFd fd(::openat(proc_dir.get(), entry.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return sys_error("open", shown);
  return read_small_fd(fd.get(), shown);
}

Result<InitProcess> open_init_process(LxcContainer& c) {
  InitProcess init;
  auto* raw = c.raw();
  const auto gone = [&](const std::string& why) { return Error{"container init", c.name(), ESRCH, why}; };
  // The monitor cloned init with CLONE_PIDFD: its pidfd can name no other
  // process, whenever we ask. A pidfd_open(init_pid) names whoever holds the
  // number by the time it runs.
  init.pidfd.reset(raw->init_pidfd(raw));
  std::optional<pid_t> pid;
  if (init.pidfd) pid = pidfd_pid(init.pidfd.get());
  if (pid) {
    init.pid = *pid;
    if (init.pid <= 0) return gone("init has exited (the container stopped)");
  } else {
    // No pidfd from the monitor (liblxc before 4.0), or none whose PID the
    // kernel tells: by number, good only if the monitor still names that
    // number as init once the pidfd is open.
    init.pid = raw->init_pid(raw);
    if (init.pid <= 0) return gone("the container is not running");
    init.pidfd.reset(sys_pidfd_open(init.pid));
    if (!init.pidfd) return sys_error("pidfd_open", "/proc/" + std::to_string(init.pid));
    if (raw->init_pid(raw) != init.pid) return gone("init changed while it was opened (the container stopped)");
  }
  const std::string dir = "/proc/" + std::to_string(init.pid);
  init.proc_dir.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!init.proc_dir) return sys_error("open", dir);
  // Opened by number: init's own if init still holds the number now.
  if (!init.alive()) return gone("init has exited (the container stopped)");
  return init;
}

}  // namespace phx
