#include "fs/hotplug.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "base/init_process.hpp"
#include "base/unique_fd.hpp"
#include "fs/bind_mount.hpp"

namespace phx {
namespace {

using Clock = std::chrono::steady_clock;
// open_tree, setns and move_mount take milliseconds; only a path in the
// container that does not answer takes longer.
constexpr std::chrono::seconds kHelperTimeout{5};

int sys_pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Waits for the helper's message and exit until the deadline; then kills
// it. One that does not die even then (stuck in the kernel on a request a
// FUSE server in the container never answers) is left, not waited for.
bool await_child(pid_t pid, int msg_fd, Clock::time_point deadline, std::string& msg, int& status) {
  UniqueFd pidfd(sys_pidfd_open(pid));
  bool eof = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    struct pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {eof ? -1 : msg_fd, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(left)) < 0 && errno != EINTR) break;
    if (fds[1].revents != 0) {
      char buf[512];
      ssize_t n = ::read(msg_fd, buf, sizeof buf);
      if (n > 0 && msg.size() < 4096) msg.append(buf, static_cast<std::size_t>(n));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) eof = true;
    }
    if ((fds[0].revents & POLLIN) || !pidfd) {
      if (::waitpid(pid, &status, pidfd ? WNOHANG : 0) == pid) return true;
    }
  }
  ::kill(pid, SIGKILL);
  struct pollfd fd {
    pidfd.get(), POLLIN, 0
  };
  ::poll(&fd, 1, 1000);
  (void)::waitpid(pid, &status, WNOHANG);
  return false;
}

[[noreturn]] void child_fail(int fd, const Error& e) {
  const std::string msg = e.message();
  (void)!::write(fd, msg.data(), msg.size());
  ::_exit(1);
}

}  // namespace

Status hotplug_node(const InitProcess& init, const std::string& host_src, const PlannedNode& node) {
  struct stat st {};
  if (::lstat(host_src.c_str(), &st) != 0) return sys_error("stat", host_src);
  const dev_t want = node.rdev();
  if (!S_ISCHR(st.st_mode) || st.st_rdev != want) {
    return Error{"hot-plug", host_src, 0, "not the planned character device"};
  }
  if (!new_mount_api_available()) {
    return Error{"hot-plug", host_src, ENOSYS, "needs open_tree/move_mount (Linux 5.2 or later)"};
  }
  auto tree = clone_tree(host_src);
  if (!tree) return tree.error();

  const std::string proc = "/proc/" + std::to_string(init.pid);
  if (!init.alive()) return Error{"hot-plug", proc, ESRCH, "the container's init has exited (the container stopped)"};
  // Unprivileged container: create the target as its root, so the file is
  // owned inside and the mount lands in a namespace that userns owns. Read
  // through init's own /proc directory: fails once init is gone.
  struct stat theirs {
  }, ours{};
  if (::fstatat(init.proc_dir.get(), "ns/user", &theirs, 0) != 0) return sys_error("stat", proc + "/ns/user");
  if (::stat("/proc/self/ns/user", &ours) != 0) return sys_error("stat", "/proc/self/ns/user");
  const bool enter_user = theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev;
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return sys_error("pipe2", host_src);
  UniqueFd rd(p[0]), wr(p[1]);

  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork", host_src);
  if (pid == 0) {
    rd.reset();
    // Through the pidfd (Linux 5.8): the namespaces of the process it names,
    // entered together, or ESRCH once that process has exited, whoever holds
    // its number by now.
    if (::setns(init.pidfd.get(), CLONE_NEWNS | (enter_user ? CLONE_NEWUSER : 0)) != 0) {
      const int e = errno;
      child_fail(wr.get(), Error{"setns", proc, e,
                                 e == ESRCH    ? "the container's init has exited (the container stopped)"
                                 : e == EINVAL ? "through init's pidfd (needs Linux 5.8 or later)"
                                               : "into the container's init"});
    }
    if (enter_user) {
      // Host root is unmapped in the container's namespace (files it made
      // there fail with EOVERFLOW); become the container's root.
      if (::setgroups(0, nullptr) != 0 || ::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) {
        child_fail(wr.get(), sys_error("become container root", proc));
      }
    }
    // setns(CLONE_NEWNS) made the container's root our root and cwd.
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) child_fail(wr.get(), sys_error("open", "/ in the container"));
    auto target = prepare_mount_target(root.get(), node.container_path.substr(1), want);
    if (!target) child_fail(wr.get(), target.error());
    if (!target->valid()) ::_exit(0);  // already there
    if (auto ok = attach_tree(tree->get(), target->get(), node.container_path); !ok) child_fail(wr.get(), ok.error());
    ::_exit(0);
  }
  wr.reset();
  std::string msg;
  int status = 0;
  if (!await_child(pid, rd.get(), Clock::now() + kHelperTimeout, msg, status)) {
    return Error{"hot-plug", node.container_path, ETIMEDOUT,
                 "the helper resolving the path in the container did not finish in " +
                     std::to_string(kHelperTimeout.count()) + " s (a mount there that does not answer?); killed"};
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return Error{"hot-plug", node.container_path, 0, msg.empty() ? "the helper process failed" : msg};
}

}  // namespace phx
