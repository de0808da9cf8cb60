#include "driver_stage.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lxc/lxccontainer.h>

#include <chrono>
#include <cstring>

#include "container_exec.hpp"
#include "file_write.hpp"
#include "logging.hpp"
#include "lxc_container.hpp"
#include "safe_path.hpp"
#include "text.hpp"
#include "unique_fd.hpp"

namespace phx {
namespace {


constexpr const char* kLibDirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu",
                                    "/lib64", "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib"};
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
    std::fprintf(stderr, "create %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::fprintf(stderr, "read the installer: %s\n", std::strerror(errno));
      return false;
    }
    if (n == 0) break;
    if (auto ok = write_all(out.get(), std::string_view(buf, static_cast<std::size_t>(n)), path); !ok) {
      std::fprintf(stderr, "%s\n", ok.error().message().c_str());
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
  std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
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
  return {"--silent",   "--no-kernel-module", "--no-kernel-module-source", "--no-nvidia-modprobe",
          "--no-x-check", "--no-nouveau-check", "--no-dkms", "--no-systemd", "--no-rebuild-initramfs",
          "--no-backup", "--no-check-for-alternate-installs"};
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

void run_driver_stage(LxcContainer& c, const PlanFile& plan, const ContainerPolicy& policy, const HostConfig& cfg,
                      const std::string& state_dir, GpuStatus& status, const std::function<void()>& save) {
  DriverStage& d = status.driver;
  d = DriverStage{};
  d.strategy = policy.driver_install.value_or(cfg.install_strategy);
  d.host_version = plan.plan.driver_version;
  auto finish = [&](DriverState state, const std::string& message, bool warn) {
    d.state = state;
    d.message = message;
    if (warn) {
      spdlog::warn("driver stage: {}", message);
    } else {
      spdlog::info("driver stage: {}", message);
    }
    save();
  };
  if (d.host_version.empty()) return finish(DriverState::Skipped, "the host's driver version is unknown", true);

  auto found = container_userspace_versions(c);
  if (!found) return finish(DriverState::Failed, found.error().message(), true);
  d.container_version = join(*found);
  if (d.strategy == "bind") {
    // The mount hook bound the host's own files: nothing to install; the
    // container must see them.
    if (!found->count(d.host_version)) {
      return finish(DriverState::Failed,
                    "strategy bind: the host's " + d.host_version +
                        " libraries are not visible in the container. Fix: see the mount hook's 'driver bind' lines in the log",
                    true);
    }
    return finish(DriverState::Current,
                  "host driver " + d.host_version + " bound from the host (strategy bind)" +
                      (found->size() > 1 ? "; the container also holds " + d.container_version : ""),
                  found->size() > 1);
  }
  if (found->size() == 1 && found->count(d.host_version)) {
    return finish(DriverState::Current, "container userspace driver " + d.container_version + " matches the host", false);
  }
  const std::string what = found->empty() ? "no NVIDIA userspace driver in the container"
                                          : "container userspace driver " + d.container_version +
                                                " does not match the host's " + d.host_version;
  if (d.strategy == "none") {
    return finish(DriverState::Mismatch,
                  what + " (strategy none: report only). Fix: install the " + d.host_version +
                      " userspace driver in the container, or set PHOENIX_GPU_DRIVER_INSTALL=runfile|command",
                  true);
  }

  // One install at a time per container: a restart during an install must
  // not start a second one.
  const std::string lock_path = state_dir + "/driver.lock";
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!lock) return finish(DriverState::Failed, sys_error("open", lock_path).message(), true);
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    return finish(DriverState::Busy, "another driver install for this container is running; not starting a second", true);
  }

  ExecPayload payload;
  UniqueFd runfile;
  if (d.strategy == "runfile") {
    const std::string src = runfile_path(cfg.installer_dir, d.host_version);
    runfile.reset(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!runfile) {
      return finish(DriverState::NoInstaller,
                    what + "; the installer for " + d.host_version + " is missing: expected " + src + " (" +
                        std::strerror(errno) + "). Fix: download it from NVIDIA into " + cfg.installer_dir,
                    true);
    }
    // The name keeps NVIDIA's (the runfile reads its version from it).
    payload.argv = {"/tmp/phoenix-gpu-" + std::to_string(::getpid()) + "-" + src.substr(src.rfind('/') + 1)};
    payload.copy_from_fd3 = true;
    for (const auto& a : runfile_args()) payload.argv.push_back(a);
  } else {
    if (cfg.install_command.empty()) {
      return finish(DriverState::Failed, "strategy 'command' but [driver_install] command is empty in the host config", true);
    }
    payload.argv = {"/bin/sh", "-c", substitute(cfg.install_command, d.host_version)};
  }
  d.state = DriverState::Installing;
  d.message = what + "; installing " + d.host_version + " (" + d.strategy + ")";
  spdlog::info("driver stage: {}", d.message);
  save();

  auto run = attach_run(c, exec_fn, &payload, cfg.install_timeout, /*capture_stderr=*/true, kOutputTail,
                        runfile ? runfile.get() : -1);
  // Removed by one more attach; not after a kill we did not make (the
  // container stopping): an attach then would leave a process in the cgroup
  // that LXC is removing.
  if (payload.copy_from_fd3 && run && (run->timed_out || run->signal == 0)) {
    std::string copied = payload.argv[0];
    (void)attach_run(c, remove_fn, &copied, Millis(10'000));
  }
  if (!run) return finish(DriverState::Failed, run.error().message(), true);
  d.exit_code = run->exit_code;
  d.duration_ms = run->duration_ms;
  // The container wrote it: escaped, and each logged line marked as its.
  d.output_tail = escape_lines(run->output, "");
  if (!run->output.empty()) {
    spdlog::info("installer output (last {} bytes):\n{}", run->output.size(), escape_lines(run->output, "  | "));
  }
  if (run->timed_out) {
    return finish(DriverState::Timeout,
                  "the installer ran past " + std::to_string(cfg.install_timeout.count() / 1000) +
                      " s and was killed. Fix: run it by hand ('phoenix-gpu install-driver " + c.name() +
                      "') and read its output",
                  true);
  }
  if (run->exit_code != 0) {
    return finish(DriverState::Failed,
                  "the installer exited with " +
                      (run->signal ? "signal " + std::to_string(run->signal) : std::to_string(run->exit_code)) +
                      " after " + std::to_string(run->duration_ms) + " ms; see its output in the log",
                  true);
  }
  auto after = container_userspace_versions(c);
  d.container_version = after ? join(*after) : d.container_version;
  if (!after || !after->count(d.host_version)) {
    return finish(DriverState::Failed, "the installer exited 0 but no " + d.host_version + " libraries appeared", true);
  }
  finish(DriverState::Installed, "installed userspace driver " + d.host_version + " in " + std::to_string(run->duration_ms) + " ms",
         false);
}

}  // namespace phx
