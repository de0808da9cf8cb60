#include "lxc/container_exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lxc/lxccontainer.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "base/unique_fd.hpp"
#include "lxc/lxc_container.hpp"

namespace phx {
namespace {

using Clock = std::chrono::steady_clock;

// Reads per pass of the loop, so that writers that keep the pipe full never
// keep it from looking at the deadline and the child.
constexpr std::size_t kReadPerPass = 256 * 1024;
// After the child is gone: what is still in the pipe, at most this much and
// this long (writers that left its process group may keep writing).
constexpr std::size_t kFinalDrain = 64 * 1024;
constexpr Millis kFinalDrainTime{200};
// A SIGKILLed child that does not die (stuck in the kernel, e.g. on a FUSE
// request its server has taken) is left behind after this.
constexpr Millis kKillGrace{5'000};

struct Trampoline {
  lxc_attach_exec_t fn;
  void* payload;
  int keep_fd;
};

void close_from(unsigned first) {
  if (::close_range(first, ~0U, 0) == 0) return;
  struct rlimit rl {};
  const rlim_t last = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 ? std::min<rlim_t>(rl.rlim_cur, 1 << 20) : 1024;
  for (rlim_t fd = first; fd < last; ++fd) ::close(static_cast<int>(fd));
}

// First thing in the attached child, before any of our code or the
// container's runs there:
// - a new session: no controlling terminal, whatever the caller had
//   (liblxc starts one only when stdin is a tty), and its own process group,
//   which a timeout kills as a whole;
// - no descriptor of ours but stdin/stdout/stderr (and keep_fd, moved to 3):
//   the child was forked, not exec'd, so close-on-exec does not help here;
// - not dumpable (inherited from the parent, set again): container root must
//   not ptrace it.
int trampoline_fn(void* arg) {
  const auto* t = static_cast<const Trampoline*>(arg);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (::setsid() < 0 && ::getsid(0) != ::getpid()) {
    (void)std::fprintf(stderr, "setsid: %s\n", std::strerror(errno));
    return 126;
  }
  if (t->keep_fd >= 0) {
    if (t->keep_fd != 3 && ::dup2(t->keep_fd, 3) < 0) return 126;
    close_from(4);
  } else {
    close_from(3);
  }
  return t->fn(t->payload);
}

// liblxc's attached child is a fork of the caller and runs liblxc's code in
// the container (inside its mount namespace, where a path can be made to
// block) before it reaches trampoline_fn: it must not hold our descriptors
// even then. So the attach is made from a launcher process that holds only
// what the child needs: /dev/null, the output pipe, keep_fd and a pipe that
// says the attach happened. The launcher waits for the child and ends the
// way it ended; on SIGUSR1 it kills the child's process group. Nothing the
// child (or whoever takes its descriptors) writes is trusted as a pid.
enum LaunchFd : int { kNull = 0, kOut = 1, kErr = 2, kKeep = 3, kAttached = 4, kFirstFree = 5 };

volatile sig_atomic_t g_child = 0;
volatile sig_atomic_t g_kill = 0;

void kill_child(int) {
  g_kill = 1;
  if (g_child > 0) {
    ::kill(-g_child, SIGKILL);
    ::kill(g_child, SIGKILL);
  }
}

[[noreturn]] void launcher_main(LxcContainer& c, lxc_attach_exec_t fn, void* payload, int devnull, int out, int err,
                                int keep_fd, int attached) {
  struct sigaction sa {};
  sa.sa_handler = kill_child;
  ::sigaction(SIGUSR1, &sa, nullptr);
  // Move what we keep above everything, then down to fixed numbers.
  const int from[5] = {devnull, out, err, keep_fd >= 0 ? keep_fd : devnull, attached};
  int moved[5];
  for (int i = 0; i < 5; ++i) {
    moved[i] = ::fcntl(from[i], F_DUPFD_CLOEXEC, 64);
    if (moved[i] < 0) ::_exit(126);
  }
  for (int i = 0; i < 5; ++i) {
    if (::dup2(moved[i], i) < 0) ::_exit(126);
  }
  close_from(kFirstFree);
  lxc_attach_options_t opts = LXC_ATTACH_OPTIONS_DEFAULT;
  opts.stdin_fd = kNull;
  opts.stdout_fd = kOut;
  opts.stderr_fd = kErr;
  // Nothing of the host's environment goes into the container.
  opts.env_policy = LXC_ATTACH_CLEAR_ENV;
  char path_env[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  char* extra_env[] = {path_env, nullptr};
  opts.extra_env_vars = extra_env;
  Trampoline tramp{fn, payload, keep_fd >= 0 ? kKeep : -1};
  pid_t pid = -1;
  if (!c.attach(trampoline_fn, &tramp, opts, pid)) ::_exit(125);
  g_child = pid;
  if (g_kill) kill_child(0);
  (void)!::write(kAttached, "a", 1);
  for (int fd : {kOut, kErr, kKeep, kAttached}) ::close(fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    (void)::signal(WTERMSIG(status), SIG_DFL);
    (void)::raise(WTERMSIG(status));
    ::_exit(128 + WTERMSIG(status));
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
}

}  // namespace

Result<AttachRun> attach_run(LxcContainer& c, lxc_attach_exec_t fn, void* payload, Millis timeout, bool capture_stderr,
                             std::size_t keep, int keep_fd) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe2", c.name());
  UniqueFd rd(p[0]), wr(p[1]);
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe2", c.name());
  UniqueFd attached_rd(p[0]), attached_wr(p[1]);
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) return sys_error("open", "/dev/null");
  const auto start = Clock::now();
  // Not dumpable from the first instruction of the launcher and the child
  // (both forks of this process): container root must not ptrace them while
  // they still hold host credentials.
  const int was_dumpable = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  const pid_t launcher = ::fork();
  if (launcher == 0) {
    launcher_main(c, fn, payload, devnull.get(), wr.get(), capture_stderr ? wr.get() : devnull.get(), keep_fd,
                  attached_wr.get());
  }
  const int fork_errno = errno;
  if (was_dumpable > 0) ::prctl(PR_SET_DUMPABLE, was_dumpable, 0, 0, 0);
  if (launcher < 0) return Error{"fork", c.name(), fork_errno, "cannot start the attach"};
  wr.reset();
  attached_wr.reset();
  // The launcher's end wakes the loop at once (a pidfd polls readable when
  // the process exits): the check's result is there the moment it is, not at
  // the next tick of a sleep. Kernels before 5.3 have no pidfd_open: a 1 ms
  // tick then.
  UniqueFd launcher_fd(static_cast<int>(::syscall(SYS_pidfd_open, launcher, 0)));
  ::fcntl(rd.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(attached_rd.get(), F_SETFL, O_NONBLOCK);
  AttachRun run;
  auto append = [&](const char* data, std::size_t n) {
    run.output.append(data, n);
    if (run.output.size() > 2 * keep) run.output.erase(0, run.output.size() - keep);
  };
  const auto deadline = start + timeout;
  Clock::time_point killed_at{};
  bool eof = false, reaped = false;
  int status = 0;
  char buf[16384];
  for (;;) {
    if (::waitpid(launcher, &status, WNOHANG) == launcher) {
      reaped = true;
      break;
    }
    const auto now = Clock::now();
    if (now >= deadline && !run.timed_out) {
      run.timed_out = true;
      killed_at = now;
      ::kill(launcher, SIGUSR1);
    }
    if (run.timed_out && now - killed_at >= kKillGrace) {
      // The child did not die: stuck in the kernel. The launcher goes; the
      // child is left to whoever inherits it.
      ::kill(launcher, SIGKILL);
      while (::waitpid(launcher, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    const auto until = run.timed_out ? killed_at + kKillGrace : deadline;
    auto wait_ms = std::chrono::duration_cast<Millis>(until - now).count() + 1;
    wait_ms = std::min<decltype(wait_ms)>(wait_ms, launcher_fd || !eof ? 50 : 1);
    struct pollfd pfd[2] = {{launcher_fd.get(), POLLIN, 0}, {eof ? -1 : rd.get(), POLLIN, 0}};
    ::poll(pfd, 2, static_cast<int>(wait_ms));
    if (eof) continue;
    for (std::size_t got = 0; got < kReadPerPass;) {
      ssize_t n = ::read(rd.get(), buf, sizeof buf);
      if (n > 0) {
        append(buf, static_cast<std::size_t>(n));
        got += static_cast<std::size_t>(n);
        continue;
      }
      if (n == 0) eof = true;
      break;
    }
  }
  char mark = 0;
  if (::read(attached_rd.get(), &mark, 1) != 1 && !run.timed_out) {
    return Error{"attach", c.name(), 0, "liblxc could not attach to the container"};
  }
  // What the child wrote just before it exited; bounded, then the pipe is
  // closed (on return) so that anyone still writing gets EPIPE.
  const auto drain_until = Clock::now() + kFinalDrainTime;
  for (std::size_t got = 0; !eof && got < kFinalDrain && Clock::now() < drain_until;) {
    ssize_t n = ::read(rd.get(), buf, std::min(sizeof buf, kFinalDrain - got));
    if (n <= 0) break;
    append(buf, static_cast<std::size_t>(n));
    got += static_cast<std::size_t>(n);
  }
  if (run.output.size() > keep) run.output.erase(0, run.output.size() - keep);
  run.duration_ms = std::chrono::duration_cast<Millis>(Clock::now() - start).count();
  if (!reaped) {
    run.signal = SIGKILL;
    run.left_behind = true;
    return run;
  }
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  return run;
}

}  // namespace phx
