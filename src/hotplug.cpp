#include "hotplug.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "bind_mount.hpp"
#include "unique_fd.hpp"

namespace phx {
namespace {

bool same_ns(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

using Clock = std::chrono::steady_clock;
// open_tree, setns and move_mount take milliseconds; only a path in the
// container that does not answer takes longer.
constexpr std::chrono::seconds kHelperTimeout{5};

int sys_pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int sys_pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

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
  struct pollfd fd {pidfd.get(), POLLIN, 0};
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

Status hotplug_node(int init_pidfd, pid_t init_pid, const std::string& host_src, const PlannedNode& node) {
  struct stat st {};
  if (::lstat(host_src.c_str(), &st) != 0) return sys_error("stat", host_src);
  const dev_t want = makedev(static_cast<unsigned>(node.major), static_cast<unsigned>(node.minor));
  if (!S_ISCHR(st.st_mode) || st.st_rdev != want) {
    return Error{"hot-plug", host_src, 0, "not the planned character device"};
  }
  if (!new_mount_api_available()) {
    return Error{"hot-plug", host_src, ENOSYS, "needs open_tree/move_mount (Linux 5.2 or later)"};
  }
  auto tree = clone_tree(host_src);
  if (!tree) return tree.error();

  const std::string proc = "/proc/" + std::to_string(init_pid);
  UniqueFd mntns(::open((proc + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
  if (!mntns) return sys_error("open", proc + "/ns/mnt");
  UniqueFd userns;
  // Unprivileged container: create the target as its root, so the file is
  // owned inside and the mount lands in a namespace that userns owns.
  if (!same_ns(proc + "/ns/user", "/proc/self/ns/user")) {
    userns.reset(::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
    if (!userns) return sys_error("open", proc + "/ns/user");
  }
  // init_pid is a number: if init died and the number went to another
  // process, what was opened above is that process's. The pidfd still names
  // the container's init; alive now means it was alive when they were opened.
  if (sys_pidfd_send_signal(init_pidfd, 0) != 0) {
    return sys_error("hot-plug: check that the container's init is alive", proc);
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return sys_error("pipe2", host_src);
  UniqueFd rd(p[0]), wr(p[1]);

  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork", host_src);
  if (pid == 0) {
    rd.reset();
    if (userns) {
      if (::setns(userns.get(), CLONE_NEWUSER) != 0) child_fail(wr.get(), sys_error("setns user", proc));
      // Host root is unmapped in the container's namespace (files it made
      // there fail with EOVERFLOW); become the container's root.
      if (::setgroups(0, nullptr) != 0 || ::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) {
        child_fail(wr.get(), sys_error("become container root", proc));
      }
    }
    if (::setns(mntns.get(), CLONE_NEWNS) != 0) child_fail(wr.get(), sys_error("setns mnt", proc));
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
