#include "hotplug.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "bind_mount.hpp"
#include "unique_fd.hpp"

namespace phx {
namespace {

bool same_ns(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

[[noreturn]] void child_fail(int fd, const Error& e) {
  const std::string msg = e.message();
  (void)!::write(fd, msg.data(), msg.size());
  ::_exit(1);
}

}  // namespace

Status hotplug_node(pid_t init_pid, const std::string& host_src, const PlannedNode& node) {
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
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe2", host_src);
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
  char buf[512];
  for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    msg.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return Error{"hot-plug", node.container_path, 0, msg.empty() ? "the helper process failed" : msg};
}

}  // namespace phx
