#include "stages/driver_stage.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <variant>

#include "base/file_write.hpp"
#include "base/logging.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "fs/safe_path.hpp"
#include "lxc/container_exec.hpp"
#include "lxc/lxc_container.hpp"

namespace phx {
namespace {

constexpr const char* kLibDirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib",
                                    "/lib/x86_64-linux-gnu",     "/lib64",     "/usr/local/nvidia/lib64",
                                    "/usr/local/nvidia/lib"};
constexpr std::size_t kOutputTail = 16 * 1024;

bool version_like(std::string_view v) {
  int dots = 0;
  if (v.empty() || v.front() == '.' || v.back() == '.') return false;
  for (char c : v) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots >= 1;  // "1" is the SONAME link, not a driver version
}

int versions_fn(void*) {
  std::string out;
  for (const auto& v : find_userspace_versions("/")) out += v + "\n";
  (void)!::write(STDOUT_FILENO, out.data(), out.size());
  return 0;
}

struct ExecPayload {
  std::vector<std::string> argv;
  // Set for the runfile: argv[0] is made in the container's /tmp from the
  // host file open as fd 3 before it runs.
  bool copy_from_fd3 = false;
};

// Writes the installer where argv[0] says, as the container's root and in
// its mount namespace: the container's permissions decide what may be
// written where, whatever its /tmp is (a bind mount of a host directory, a
// symlink, FUSE); the host file is only read, through a read-only fd.
bool copy_fd3_to(const std::string& path) {
  UniqueFd in(3);
  UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700));
  if (!out) {
    (void)std::fprintf(stderr, "create %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      (void)std::fprintf(stderr, "read the installer: %s\n", std::strerror(errno));
      return false;
    }
    if (n == 0) break;
    if (auto ok = write_all(out.get(), std::string_view(buf, static_cast<std::size_t>(n)), path); !ok) {
      (void)std::fprintf(stderr, "%s\n", ok.error().message().c_str());
      return false;
    }
  }
  if (::fchmod(out.get(), 0700) != 0) return false;
  return true;
}

// Runs in the container (attach_run gave it a session and process group of
// its own, so a timeout kills everything the installer started), then exec.
int exec_fn(void* payload) {
  auto* p = static_cast<ExecPayload*>(payload);
  if (p->copy_from_fd3 && !copy_fd3_to(p->argv[0])) return 125;
  std::vector<char*> argv;
  for (auto& a : p->argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  (void)std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
  return 127;
}

int remove_fn(void* payload) {
  const auto* path = static_cast<const std::string*>(payload);
  return ::unlink(path->c_str()) == 0 || errno == ENOENT ? 0 : 1;
}

std::string join(const std::set<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string substitute(std::string cmd, const std::string& version) {
  for (std::size_t pos; (pos = cmd.find("{version}")) != std::string::npos;) cmd.replace(pos, 9, version);
  return cmd;
}

}  // namespace

std::string runfile_path(const std::string& installer_dir, const std::string& version) {
  return installer_dir + "/NVIDIA-Linux-x86_64-" + version + ".run";
}

std::vector<std::string> runfile_args() {
  return {"--silent",
          "--no-kernel-module",
          "--no-kernel-module-source",
          "--no-nvidia-modprobe",
          "--no-x-check",
          "--no-nouveau-check",
          "--no-dkms",
          "--no-systemd",
          "--no-rebuild-initramfs",
          "--no-backup",
          "--no-check-for-alternate-installs"};
}

std::set<std::string> find_userspace_versions(const std::string& root) {
  std::set<std::string> versions;
  for (const char* dir : kLibDirs) {
    const std::string path = (root == "/" ? "" : root) + dir;
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) continue;
    int seen = 0;
    while (struct dirent* e = ::readdir(d)) {
      if (++seen > 20000) break;
      std::string_view n = e->d_name;
      for (std::string_view prefix : {"libnvidia-ml.so.", "libcuda.so."}) {
        if (n.starts_with(prefix) && version_like(n.substr(prefix.size()))) versions.emplace(n.substr(prefix.size()));
      }
    }
    ::closedir(d);
  }
  return versions;
}

Result<std::set<std::string>> container_userspace_versions(LxcContainer& c) {
  auto run = attach_run(c, versions_fn, nullptr, Millis(10'000));
  if (!run) return run.error();
  if (run->exit_code != 0) return Error{"find driver libraries", c.name(), 0, "the lookup inside the container failed"};
  std::set<std::string> v;
  for (auto line : split_lines(run->output))
    if (version_like(trim(line))) v.emplace(trim(line));
  return v;
}

namespace {

StageOutcome done(DriverState state, std::string message, bool warn) { return {state, std::move(message), warn}; }

// The lock that keeps a restart during an install from starting a second.
Result<UniqueFd> take_install_lock(const std::string& state_dir) {
  const std::string path = state_dir + "/driver.lock";
  UniqueFd lock(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!lock) return sys_error("open", path);
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) return sys_error("flock", path);
  return lock;
}

// What runs inside: the runfile (copied in from a host fd) or the host
// config's command. An outcome instead when there is nothing to run.
struct Installer {
  ExecPayload payload;
  UniqueFd runfile;
};

std::variant<Installer, StageOutcome> prepare_installer(const DriverStage& d, const HostConfig& cfg,
                                                        const std::string& what) {
  Installer in;
  if (d.strategy == "runfile") {
    const std::string src = runfile_path(cfg.installer_dir, d.host_version);
    in.runfile.reset(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!in.runfile) {
      return done(DriverState::NoInstaller,
                  what + "; the installer for " + d.host_version + " is missing: expected " + src + " (" +
                      std::strerror(errno) + "). Fix: download it from NVIDIA into " + cfg.installer_dir,
                  true);
    }
    // The name keeps NVIDIA's (the runfile reads its version from it).
    in.payload.argv = {"/tmp/phoenix-gpu-" + std::to_string(::getpid()) + "-" + src.substr(src.rfind('/') + 1)};
    in.payload.copy_from_fd3 = true;
    for (const auto& a : runfile_args()) in.payload.argv.push_back(a);
    return in;
  }
  if (cfg.install_command.empty()) {
    return done(DriverState::Failed, "strategy 'command' but [driver_install] command is empty in the host config",
                true);
  }
  in.payload.argv = {"/bin/sh", "-c", substitute(cfg.install_command, d.host_version)};
  return in;
}

// Runs the installer inside and removes a copied runfile afterwards.
Result<AttachRun> run_installer(LxcContainer& c, Installer& in, const HostConfig& cfg) {
  auto run = attach_run(c, exec_fn, &in.payload, cfg.install_timeout, /*capture_stderr=*/true, kOutputTail,
                        in.runfile ? in.runfile.get() : -1);
  // Removed by one more attach; not after a kill we did not make (the
  // container stopping): an attach then would leave a process in the cgroup
  // that LXC is removing.
  if (in.payload.copy_from_fd3 && run && (run->timed_out || run->signal == 0)) {
    std::string copied = in.payload.argv[0];
    (void)attach_run(c, remove_fn, &copied, Millis(10'000));
  }
  return run;
}

}  // namespace

std::optional<StageOutcome> outcome_before_install(const std::set<std::string>& found, const std::string& strategy,
                                                   const std::string& host_version, std::string* what) {
  const std::string have = join(found);
  if (strategy == "bind") {
    // The mount hook bound the host's own files: nothing to install; the
    // container must see them.
    if (!found.count(host_version)) {
      return done(
          DriverState::Failed,
          "strategy bind: the host's " + host_version +
              " libraries are not visible in the container. Fix: see the mount hook's 'driver bind' lines in the log",
          true);
    }
    return done(DriverState::Current,
                "host driver " + host_version + " bound from the host (strategy bind)" +
                    (found.size() > 1 ? "; the container also holds " + have : ""),
                found.size() > 1);
  }
  if (found.size() == 1 && found.count(host_version)) {
    return done(DriverState::Current, "container userspace driver " + have + " matches the host", false);
  }
  *what = found.empty() ? "no NVIDIA userspace driver in the container"
                        : "container userspace driver " + have + " does not match the host's " + host_version;
  if (strategy == "none") {
    return done(DriverState::Mismatch,
                *what + " (strategy none: report only). Fix: install the " + host_version +
                    " userspace driver in the container, or set PHOENIX_GPU_DRIVER_INSTALL=runfile|command",
                true);
  }
  return std::nullopt;
}

StageOutcome outcome_of_install(const AttachRun& run, const Result<std::set<std::string>>& after,
                                const std::string& host_version, Millis timeout, const std::string& container) {
  if (run.timed_out) {
    return done(DriverState::Timeout,
                "the installer ran past " + std::to_string(timeout.count() / 1000) +
                    " s and was killed. Fix: run it by hand ('phoenix-gpu install-driver " + container +
                    "') and read its output",
                true);
  }
  if (run.exit_code != 0) {
    return done(DriverState::Failed,
                "the installer exited with " +
                    (run.signal ? "signal " + std::to_string(run.signal) : std::to_string(run.exit_code)) + " after " +
                    std::to_string(run.duration_ms) + " ms; see its output in the log",
                true);
  }
  if (!after || !after->count(host_version)) {
    return done(DriverState::Failed, "the installer exited 0 but no " + host_version + " libraries appeared", true);
  }
  return done(DriverState::Installed,
              "installed userspace driver " + host_version + " in " + std::to_string(run.duration_ms) + " ms", false);
}

void run_driver_stage(LxcContainer& c, const PlanFile& plan, const ContainerPolicy& policy, const HostConfig& cfg,
                      const std::string& state_dir, GpuStatus& status, const std::function<bool()>& save) {
  DriverStage& d = status.driver;
  d = DriverStage{};
  d.strategy = policy.driver_install.value_or(cfg.install_strategy);
  d.host_version = plan.plan.driver_version;
  auto finish = [&](const StageOutcome& o) {
    d.state = o.state;
    d.message = o.message;
    if (o.warn) {
      spdlog::warn("driver stage: {}", o.message);
    } else {
      spdlog::info("driver stage: {}", o.message);
    }
    (void)save();
  };
  if (d.host_version.empty()) return finish(done(DriverState::Skipped, "the host's driver version is unknown", true));

  auto found = container_userspace_versions(c);
  if (!found) return finish(done(DriverState::Failed, found.error().message(), true));
  d.container_version = join(*found);
  std::string what;
  if (auto o = outcome_before_install(*found, d.strategy, d.host_version, &what)) return finish(*o);

  auto lock = take_install_lock(state_dir);
  if (!lock) {
    return finish(lock.error().err == EWOULDBLOCK
                      ? done(DriverState::Busy,
                             "another driver install for this container is running; not starting a second", true)
                      : done(DriverState::Failed, lock.error().message(), true));
  }
  auto prepared = prepare_installer(d, cfg, what);
  if (auto* o = std::get_if<StageOutcome>(&prepared)) return finish(*o);
  auto& installer = std::get<Installer>(prepared);

  d.state = DriverState::Installing;
  d.message = what + "; installing " + d.host_version + " (" + d.strategy + ")";
  spdlog::info("driver stage: {}", d.message);
  if (!save()) return;
  auto run = run_installer(c, installer, cfg);
  if (!run) return finish(done(DriverState::Failed, run.error().message(), true));
  d.exit_code = run->exit_code;
  d.duration_ms = run->duration_ms;
  // The container wrote it: escaped, and each logged line marked as its.
  d.output_tail = escape_lines(run->output, "");
  if (!run->output.empty()) {
    spdlog::info("installer output (last {} bytes):\n{}", run->output.size(), escape_lines(run->output, "  | "));
  }
  Result<std::set<std::string>> after = std::set<std::string>{};
  if (!run->timed_out && run->exit_code == 0) {
    after = container_userspace_versions(c);
    if (after) d.container_version = join(*after);
  }
  finish(outcome_of_install(*run, after, d.host_version, cfg.install_timeout, c.name()));
}

}  // namespace phx
