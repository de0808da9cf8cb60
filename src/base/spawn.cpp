#include "base/spawn.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <algorithm>

#include "base/env_vars.hpp"
#include "base/file_write.hpp"
#include "base/mountinfo.hpp"
#include "base/priority.hpp"
#include "base/proc_cgroup.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"

namespace phx {
namespace {

constexpr const char* kOwnCgroup = "phoenix-gpu-hooks";

bool systemd_running() {
  struct stat st {};
  return ::stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode) &&
         ::access("/usr/bin/systemd-run", X_OK) == 0 && env_value(EnvVar::NoSystemd) == nullptr;
}

Status write_value(const std::string& path, const std::string& value) { return write_existing_file(path, value); }

// A new v1 cpuset cgroup starts with no CPUs and refuses tasks; copy the
// parent's unless clone_children did.
void init_cpuset(const std::string& mnt, const std::string& dir) {
  for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
    auto cur = read_small_file(dir + "/" + f, 65536);
    if (cur && !trim(*cur).empty()) continue;
    if (auto parent = read_small_file(mnt + "/" + f, 65536))
      (void)write_value(dir + "/" + f, std::string(trim(*parent)));
  }
}

pid_t parent_pid(pid_t pid) {
  // The fourth field of /proc/PID/stat, after the parenthesised command name
  // (which may itself hold ") ").
  auto st = read_small_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!st) return 0;
  auto close = st->rfind(')');
  if (close == std::string::npos) return 0;
  auto f = split(std::string_view(*st).substr(close + 1), ' ');
  // f[0] is empty (the space after ')'), f[1] the state, f[2] the ppid.
  if (f.size() < 3) return 0;
  auto v = parse_int(f[2]);
  return v ? static_cast<pid_t>(*v) : 0;
}

// The product's own cgroup where the host runs cgroup2 alone, opened for
// clone3's CLONE_INTO_CGROUP: the worker is born there, and no process ever
// migrates (a migration write-locks the kernel's threadgroup lock and waits
// out an RCU grace period, which stalls the cgroup work of the start going
// on beside it). Invalid where /sys/fs/cgroup is not cgroup2.
UniqueFd own_cgroup2_dir() {
  constexpr const char* kRoot = "/sys/fs/cgroup";
  struct statfs sfs {};
  // LXC's own test for the unified layout: then it uses no v1 hierarchy, and
  // neither need we (v1 ones the kernel still has are not mounted here).
  if (::statfs(kRoot, &sfs) != 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) return {};
  const std::string dir = std::string(kRoot) + "/" + kOwnCgroup;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return {};
  return UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

// fork(), or clone3 into `cgroup_fd` when that is valid; -1 and errno when
// neither worked. *into_cgroup says which happened.
pid_t fork_maybe_into(const UniqueFd& cgroup_fd, bool* into_cgroup) {
  *into_cgroup = false;
  if (cgroup_fd) {
    struct clone_args args {};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<__u64>(cgroup_fd.get());
    long pid = ::syscall(SYS_clone3, &args, sizeof(args));
    if (pid >= 0) {
      *into_cgroup = true;
      return static_cast<pid_t>(pid);
    }
    // ENOSYS (before 5.7), EBUSY/EOPNOTSUPP (a threaded or populated-parent
    // cgroup): fork, then migrate as on v1.
  }
  return ::fork();
}

// Runs systemd-run (argv) and waits for it: with --no-block it returns once
// the manager has accepted the unit. "" on success, else why not (its exit
// status and the first line it printed).
std::string run_systemd_run(const std::vector<char*>& argv) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
  UniqueFd rd(p[0]), wr(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    ::dup2(wr.get(), STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  wr.reset();
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (out.size() < 4096) out.append(buf, static_cast<std::size_t>(n));
  }
  int wst = 0;
  while (::waitpid(pid, &wst, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(wst) && WEXITSTATUS(wst) == 0) return "";
  std::string why =
      WIFEXITED(wst) ? "exit " + std::to_string(WEXITSTATUS(wst)) : "signal " + std::to_string(WTERMSIG(wst));
  const std::string first = out.substr(0, out.find('\n'));
  auto line = trim(first);
  if (!line.empty()) why += ": " + std::string(line);
  return why;
}

}  // namespace

bool worker_via_systemd() { return systemd_running(); }

ExecWait wait_exec_or_exit(pid_t pid, std::chrono::milliseconds limit) {
  using Clock = std::chrono::steady_clock;
  const std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  // The executable's identity, not its name: stat follows the magic link to
  // the file itself, whichever mount namespace it lives in.
  struct stat first {};
  if (pid <= 0) return ExecWait::NotWaited;
  if (::stat(exe.c_str(), &first) != 0)
    return errno == ENOENT ? ExecWait::Exit : ExecWait::NotWaited;  // ENOENT: gone, or a zombie
  // Not yet exec'd means still running its parent's program (LXC's child
  // before it execs init is a clone of the monitor). A process that already
  // runs its own program will not exec again: nothing to wait for.
  auto parent = parent_pid(pid);
  struct stat pst {};
  const std::string pexe = "/proc/" + std::to_string(parent) + "/exe";
  if (parent <= 0 || ::stat(pexe.c_str(), &pst) != 0 || pst.st_dev != first.st_dev || pst.st_ino != first.st_ino) {
    return ExecWait::NotWaited;
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  const auto deadline = Clock::now() + limit;
  auto step = std::chrono::microseconds(500);
  while (Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
    auto nap = std::min(step, left);
    struct timespec ts {
      static_cast<time_t>(nap.count() / 1'000'000), static_cast<long>(nap.count() % 1'000'000) * 1000
    };
    if (pidfd) {
      struct pollfd p {
        pidfd.get(), POLLIN, 0
      };
      if (::ppoll(&p, 1, &ts, nullptr) > 0) return ExecWait::Exit;  // readable: it exited
    } else {
      ::nanosleep(&ts, nullptr);
      if (::kill(pid, 0) != 0 && errno == ESRCH) return ExecWait::Exit;
    }
    struct stat now {};
    if (::stat(exe.c_str(), &now) != 0) return ExecWait::Exit;
    if (now.st_dev != first.st_dev || now.st_ino != first.st_ino) return ExecWait::Exec;
    step = std::min(step * 2, std::chrono::microseconds(2'000));
  }
  return ExecWait::Timeout;
}

Result<std::string> move_to_own_cgroup() {
  auto mounts = read_mountinfo();
  if (!mounts) return mounts.error();
  auto cg = read_small_file("/proc/self/cgroup");
  if (!cg) return cg.error();
  const std::string pid = std::to_string(::getpid());
  std::string used, first_error;
  for (const auto& entry : parse_proc_cgroup(*cg)) {
    // Find the mount of this hierarchy: cgroup2 for "0::", else the v1 mount
    // whose options name all its controllers (or name=...).
    const auto& ctrls = entry.controllers;
    std::string mnt;
    for (const auto& m : *mounts) {
      if (m.root != "/") continue;
      bool match = false;
      if (entry.is_cgroup2()) {
        match = m.fstype == "cgroup2";
      } else if (m.fstype == "cgroup" && !ctrls.empty()) {
        match = std::all_of(ctrls.begin(), ctrls.end(), [&](const std::string& c) { return m.has_option(c); });
      }
      if (match) {
        mnt = m.mount_point;
        break;
      }
    }
    if (mnt.empty()) continue;
    const std::string dir = mnt + "/" + kOwnCgroup;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      if (first_error.empty()) first_error = sys_error("mkdir", dir).message();
      continue;
    }
    if (entry.has_controller("cpuset")) init_cpuset(mnt, dir);
    if (auto ok = write_value(dir + "/cgroup.procs", pid); !ok) {
      if (first_error.empty()) first_error = ok.error().message();
      continue;
    }
    if (used.empty() || entry.is_cgroup2()) used = dir;
  }
  if (used.empty())
    return make_error("move to own cgroup", first_error.empty() ? "no cgroup hierarchy found" : first_error);
  return used;
}

Result<SpawnResult> spawn_detached(const std::vector<std::string>& argv, const std::string& unit_name,
                                   const SpawnOptions& opts) {
  if (argv.empty() || argv[0].empty() || argv[0].front() != '/')
    return make_error("spawn", "program path must be absolute");
  std::vector<std::string> args = argv;
  SpawnResult result;
  const bool use_systemd = systemd_running();
  if (use_systemd) {
    args = {"/usr/bin/systemd-run", "--quiet", "--collect", "--no-block", "--unit=" + unit_name};
    // A transient unit does not inherit the hook's environment: these let
    // it see the same host as the hook.
    for (const char* k : worker_env_names()) {
      if (const char* v = std::getenv(k)) args.push_back(std::string("--setenv=") + k + "=" + v);
    }
    args.insert(args.end(), argv.begin(), argv.end());
    result.how = "systemd unit " + unit_name;
  }
  std::vector<char*> cargv;
  cargv.reserve(args.size() + 1);
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  // One fork: the hook exits at once, so the child is orphaned (and adopted
  // by init or a subreaper) right away, as a double fork would have it,
  // without the hook waiting for an intermediate process.
  UniqueFd cgroup_fd = use_systemd ? UniqueFd() : own_cgroup2_dir();
  bool into_cgroup = false;
  pid_t child = fork_maybe_into(cgroup_fd, &into_cgroup);
  if (child < 0) return sys_error("fork", argv[0]);
  if (child == 0) {
    ::setsid();
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(devnull, STDOUT_FILENO);
    ::dup2(devnull, STDERR_FILENO);
    // Nothing of the hook's (its output pipe above all) may stay open: LXC
    // reads the hook's output to EOF before it goes on with the start.
    ::close_range(3, ~0U, 0);
    // Until the worker has seen the container RUNNING it takes only CPU and
    // I/O time the start leaves idle (it leaves this priority then).
    if (opts.idle_priority) (void)enter_idle_priority();
    std::string cgroup_note;
    if (into_cgroup) {
      cgroup_note = std::string("/sys/fs/cgroup/") + kOwnCgroup;
    } else {
      // Still in the monitor's cgroups: a migration now would compete with
      // LXC's own cgroup work, so it waits until init has exec'd.
      if (opts.defer_until_exec_of > 0) (void)wait_exec_or_exit(opts.defer_until_exec_of, opts.defer_limit);
      if (!use_systemd) {
        auto moved = move_to_own_cgroup();
        cgroup_note = moved ? *moved : "";
      }
    }
    if (use_systemd) {
      std::string why = run_systemd_run(cargv);
      if (why.empty()) ::_exit(0);
      // No unit (a name left from an earlier start, no manager): the worker
      // still runs, the old way, and says why in its log.
      ::setenv(env_name(EnvVar::SpawnNote),
               ("systemd-run failed (" + why + "); started in the own cgroup instead").c_str(), 1);
      cargv.clear();
      for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
      cargv.push_back(nullptr);
      if (!into_cgroup) {
        auto moved = move_to_own_cgroup();
        cgroup_note = moved ? *moved : "";
      }
    }
    if (!cgroup_note.empty()) ::setenv(env_name(EnvVar::WorkerCgroup), cgroup_note.c_str(), 1);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  if (!use_systemd) {
    result.pid = child;
    result.how = std::string(into_cgroup ? "born in own cgroup " : "own cgroup ") + kOwnCgroup;
  }
  return result;
}

}  // namespace phx
