#include "base/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/unique_fd.hpp"

namespace phx {

Result<ProcessResult> run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                  std::size_t output_limit) {
  if (argv.empty() || argv[0].empty() || argv[0].front() != '/') {
    return make_error("spawn", "program path must be absolute");
  }
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return sys_error("pipe2", argv[0]);
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  const auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork", argv[0]);
  if (pid == 0) {
    ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::dup2(wr.get(), STDOUT_FILENO);
    ::dup2(wr.get(), STDERR_FILENO);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  wr.reset();

  ProcessResult res;
  const auto deadline = start + timeout;
  bool eof = false;
  while (!eof) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      res.timed_out = true;
      break;
    }
    struct pollfd p {
      rd.get(), POLLIN, 0
    };
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    char buf[4096];
    ssize_t got = ::read(rd.get(), buf, sizeof buf);
    if (got <= 0) {
      eof = got == 0 || errno != EINTR;
      continue;
    }
    std::size_t room = output_limit - std::min(output_limit, res.output.size());
    res.output.append(buf, std::min(room, static_cast<std::size_t>(got)));
    if (static_cast<std::size_t>(got) > room) res.output_truncated = true;
  }
  if (res.timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!res.timed_out) ::kill(-pid, SIGKILL);  // descendants left holding nothing we wait on
  res.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  if (WIFEXITED(status)) {
    res.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    res.signal = WTERMSIG(status);
  }
  return res;
}

}  // namespace phx
