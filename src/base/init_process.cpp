#include "base/init_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/text.hpp"

namespace phx {

bool InitProcess::alive() const { return pidfd && ::syscall(SYS_pidfd_send_signal, pidfd.get(), 0, nullptr, 0) == 0; }

Result<std::string> InitProcess::read(const std::string& entry) const {
  const std::string shown = "/proc/" + std::to_string(pid) + "/" + entry;
  UniqueFd fd(::openat(proc_dir.get(), entry.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return sys_error("open", shown);
  return read_small_fd(fd.get(), shown);
}

}  // namespace phx
