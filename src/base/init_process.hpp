// The container's init, held by pidfd and by its own /proc directory, never
// by number alone: once init is reaped its number can go to any process (in
// another container, too), while a pidfd and an open /proc/<pid> directory
// keep naming the process they were opened for (the directory's entries fail
// once it is gone).
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace phx {

struct InitProcess {
  pid_t pid = -1;     // in the host's PID namespace; for messages and /proc paths
  UniqueFd pidfd;     // readable once init has exited; setns() target (Linux 5.8)
  UniqueFd proc_dir;  // /proc/<pid> of this very process (O_PATH)

  // True while init has not been reaped: its number is still its own, so
  // whatever was opened by that number before this call was init's.
  bool alive() const;
  // An entry of init's /proc directory ("cgroup", "ns/user"), read through
  // the directory it holds.
  Result<std::string> read(const std::string& entry) const;
};

}  // namespace phx
