#include "driver/nvidia_proc_view.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "base/atomic_file.hpp"
#include "base/logging.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "fs/safe_path.hpp"
#include "host/nvidia_proc.hpp"

namespace phx {
namespace {

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// A bind of source onto target (both fds), then read-only, nosuid, nodev.
// The sources are fds opened in the container's own procfs before the tmpfs
// hides them; classic mount(2) through /proc/self/fd takes them as they are.
Status bind_ro(int src_fd, int target_parent_fd, const std::string& leaf, const std::string& shown) {
  UniqueFd target(::openat(target_parent_fd, leaf.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!target) return sys_error("open", shown);
  if (::mount(fd_path(src_fd).c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return sys_error("mount --bind", shown);
  }
  UniqueFd mounted(::openat(target_parent_fd, leaf.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!mounted || ::mount(nullptr, fd_path(mounted.get()).c_str(), nullptr,
                          MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0) {
    auto e = sys_error("remount read-only", shown);
    if (mounted) ::umount2(fd_path(mounted.get()).c_str(), MNT_DETACH);
    return e;
  }
  return {};
}

std::vector<std::string> list_dir(int dir_fd) {
  std::vector<std::string> out;
  UniqueFd fd(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(fd.get()), ::closedir);
  if (!d) return out;
  (void)fd.release();
  while (auto* e = ::readdir(d.get())) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string params_without_modify(std::string_view host_params) {
  std::string out;
  bool seen = false;
  for (auto line : split_lines(host_params)) {
    if (trim(line).starts_with("ModifyDeviceFiles:")) {
      out += "ModifyDeviceFiles: 0\n";
      seen = true;
    } else {
      out += std::string(line) + "\n";
    }
  }
  if (!seen) out += "ModifyDeviceFiles: 0\n";
  return out;
}

std::string proc_params_path(const StateDir& sd) { return sd.dir() + "/nvidia-params"; }

void prepare_proc_view(const StateDir& sd, const HostRoot& host) {
  const std::string path = proc_params_path(sd);
  ::unlink(path.c_str());
  auto text = read_small_file(host.path("/proc/driver/nvidia/params"));
  if (!text) {
    spdlog::debug("{}; the container's /proc/driver/nvidia/params is left as it is", text.error().message());
    return;
  }
  if (auto ok = write_file_atomic(path, params_without_modify(*text), 0444); !ok) {
    spdlog::warn("{}; the container sees the host's /proc/driver/nvidia/params", ok.error().message());
  }
}

ProcViewReport mask_proc_view(int rootfs_fd, const std::string& params_file, const std::vector<std::string>& buses,
                              bool require_procfs) {
  ProcViewReport r;
  auto proc = open_beneath(rootfs_fd, "proc", O_PATH | O_DIRECTORY);
  if (!proc) return r;
  if (require_procfs) {
    struct statfs sf {};
    if (::fstatfs(proc->get(), &sf) != 0 || sf.f_type != PROC_SUPER_MAGIC) {
      spdlog::debug("no procfs at the container's /proc: its /proc/driver/nvidia is not masked");
      return r;
    }
  }
  auto nv = open_beneath(proc->get(), "driver/nvidia", O_PATH | O_DIRECTORY, Xdev::Refuse);
  if (!nv) return r;  // no driver: nothing to hide

  if (!params_file.empty()) {
    UniqueFd src(::open(params_file.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (src && ::fstat(src.get(), &st) == 0 && S_ISREG(st.st_mode) &&
        open_beneath(nv->get(), "params", O_PATH, Xdev::Refuse)) {
      if (auto ok = bind_ro(src.get(), nv->get(), "params", "/proc/driver/nvidia/params"); ok) {
        r.params = true;
      } else {
        r.problems.push_back(ok.error().message());
      }
    }
  }

  auto gpus = open_beneath(nv->get(), "gpus", O_PATH | O_DIRECTORY, Xdev::Refuse);
  if (!gpus) return r;
  // Sources first: once the tmpfs covers gpus/ they are out of reach.
  std::map<std::string, UniqueFd> keep;  // directory name -> O_PATH fd
  for (const auto& name : list_dir(gpus->get())) {
    auto norm = normalize_pci_address(name);
    if (!norm || std::find(buses.begin(), buses.end(), *norm) == buses.end()) continue;
    auto fd = open_beneath(gpus->get(), name, O_PATH | O_DIRECTORY, Xdev::Refuse);
    if (!fd) {
      r.problems.push_back(fd.error().message());
      continue;
    }
    keep.emplace(name, std::move(*fd));
  }
  if (::mount("tmpfs", fd_path(gpus->get()).c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555,size=64k") !=
      0) {
    r.problems.push_back(sys_error("mount tmpfs", "/proc/driver/nvidia/gpus").message());
    return r;
  }
  UniqueFd t(::openat(nv->get(), "gpus", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!t) {
    r.problems.push_back(sys_error("open", "/proc/driver/nvidia/gpus").message());
    return r;
  }
  for (const auto& [name, src] : keep) {
    const std::string shown = "/proc/driver/nvidia/gpus/" + name;
    if (::mkdirat(t.get(), name.c_str(), 0555) != 0) {
      r.problems.push_back(sys_error("mkdir", shown).message());
      continue;
    }
    if (auto ok = bind_ro(src.get(), t.get(), name, shown); !ok) {
      r.problems.push_back(ok.error().message());
      continue;
    }
    r.gpus.push_back(name);
  }
  if (::mount(nullptr, fd_path(t.get()).c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0555,size=64k") != 0) {
    r.problems.push_back(sys_error("remount read-only", "/proc/driver/nvidia/gpus").message());
  }
  return r;
}

}  // namespace phx
