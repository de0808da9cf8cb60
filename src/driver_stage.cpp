#include "driver_stage.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lxc/lxccontainer.h>

#include <cstring>

#include "logging.hpp"
#include "lxc_container.hpp"
#include "text.hpp"
#include "unique_fd.hpp"

namespace phx {
namespace {

constexpr const char* kLibDirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu",
                                    "/lib64", "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib"};

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

}  // namespace

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
        if (n.starts_with(prefix) && version_like(n.substr(prefix.size()))) {
          versions.emplace(n.substr(prefix.size()));
        }
      }
    }
    ::closedir(d);
  }
  return versions;
}

Result<std::set<std::string>> container_userspace_versions(LxcContainer& c) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe2", c.name());
  UniqueFd rd(p[0]), wr(p[1]);
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  lxc_attach_options_t opts = LXC_ATTACH_OPTIONS_DEFAULT;
  opts.stdin_fd = devnull.get();
  opts.stdout_fd = wr.get();
  opts.stderr_fd = devnull.get();
  opts.env_policy = LXC_ATTACH_CLEAR_ENV;
  pid_t pid = -1;
  if (c.raw()->attach(c.raw(), versions_fn, nullptr, &opts, &pid) < 0 || pid <= 0) {
    return Error{"attach", c.name(), errno, "could not look for the container's driver libraries"};
  }
  wr.reset();
  std::string out;
  char buf[1024];
  for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (out.size() < 65536) out.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::set<std::string> v;
  for (auto line : split_lines(out))
    if (version_like(trim(line))) v.emplace(trim(line));
  return v;
}

void run_driver_stage(LxcContainer& c, const PlanFile& plan, const ContainerPolicy& policy, const HostConfig& cfg,
                      GpuStatus& status, const std::function<void()>& save) {
  DriverStage& d = status.driver;
  d.strategy = policy.driver_install.value_or(cfg.install_strategy);
  d.host_version = plan.plan.driver_version;
  auto found = container_userspace_versions(c);
  if (!found) {
    d.state = "failed";
    d.message = found.error().message();
    spdlog::warn("driver stage: {}", d.message);
    save();
    return;
  }
  std::string joined;
  for (const auto& v : *found) joined += (joined.empty() ? "" : ",") + v;
  d.container_version = joined;
  if (found->count(d.host_version) != 0 && found->size() == 1) {
    d.state = "current";
    d.message = "container userspace driver " + joined + " matches the host";
    spdlog::info("driver stage: {}", d.message);
    save();
    return;
  }
  const std::string what = found->empty() ? "no NVIDIA userspace driver in the container"
                                          : "container userspace driver " + joined + " does not match the host's " +
                                                d.host_version;
  d.state = "mismatch";
  d.message = what + " (strategy '" + d.strategy + "': report only). Fix: install the " + d.host_version +
              " userspace driver in the container, or set [driver_install] strategy";
  spdlog::warn("driver stage: {}", d.message);
  save();
}

}  // namespace phx
