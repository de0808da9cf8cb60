#include "container_exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lxc/lxccontainer.h>

#include <chrono>

#include "lxc_container.hpp"
#include "unique_fd.hpp"

namespace phx {

Result<AttachRun> attach_run(LxcContainer& c, lxc_attach_exec_t fn, void* payload, Millis timeout,
                             bool capture_stderr, std::size_t keep) {
  using Clock = std::chrono::steady_clock;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe2", c.name());
  UniqueFd rd(p[0]), wr(p[1]);
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  lxc_attach_options_t opts = LXC_ATTACH_OPTIONS_DEFAULT;
  opts.stdin_fd = devnull.get();
  opts.stdout_fd = wr.get();
  opts.stderr_fd = capture_stderr ? wr.get() : devnull.get();
  // Nothing of the host's environment goes into the container.
  opts.env_policy = LXC_ATTACH_CLEAR_ENV;
  char path_env[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  char* extra_env[] = {path_env, nullptr};
  opts.extra_env_vars = extra_env;
  pid_t pid = -1;
  const auto start = Clock::now();
  if (c.raw()->attach(c.raw(), fn, payload, &opts, &pid) < 0 || pid <= 0) {
    return Error{"attach", c.name(), errno, "liblxc could not attach to the container"};
  }
  wr.reset();
  ::fcntl(rd.get(), F_SETFL, O_NONBLOCK);
  AttachRun run;
  const auto deadline = start + timeout;
  bool eof = false;
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    if (Clock::now() >= deadline && !run.timed_out) {
      run.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
    if (eof) {
      ::usleep(10'000);
      continue;
    }
    struct pollfd pfd {rd.get(), POLLIN, 0};
    ::poll(&pfd, 1, 50);
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(rd.get(), buf, sizeof buf);
      if (n > 0) {
        run.output.append(buf, static_cast<std::size_t>(n));
        if (run.output.size() > 2 * keep) run.output.erase(0, run.output.size() - keep);
        continue;
      }
      if (n == 0) eof = true;
      break;
    }
  }
  // What the child wrote just before it exited.
  char buf[4096];
  for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) > 0;) run.output.append(buf, static_cast<std::size_t>(n));
  if (run.output.size() > keep) run.output.erase(0, run.output.size() - keep);
  run.duration_ms = std::chrono::duration_cast<Millis>(Clock::now() - start).count();
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  return run;
}

}  // namespace phx
