#include "driver/driver_bind.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <set>

#include "base/atomic_file.hpp"
#include "base/logging.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "fs/bind_mount.hpp"
#include "fs/safe_path.hpp"

namespace phx {
namespace {

// <linux/mount.h> clashes with glibc 2.36's <sys/mount.h>.
struct MountAttr {
  std::uint64_t attr_set;
  std::uint64_t attr_clr;
  std::uint64_t propagation;
  std::uint64_t userns_fd;
};
constexpr std::uint64_t kAttrRdonly = 0x1, kAttrNosuid = 0x2, kAttrNodev = 0x4;

using Kind = DriverFile::Kind;

bool is_dir_beneath(int rootfs_fd, const std::string& rel) {
  return static_cast<bool>(open_beneath(rootfs_fd, rel, O_PATH | O_DIRECTORY, Xdev::Refuse));
}

// The mount point: an empty regular file made by us, or a regular file of
// the container's (its own copy of the same name, hidden for this run).
Result<UniqueFd> file_target(int dir_fd, const std::string& leaf, const std::string& shown) {
  struct stat st {};
  if (::fstatat(dir_fd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISREG(st.st_mode)) {
      const char* what = S_ISLNK(st.st_mode) ? "a symlink" : S_ISDIR(st.st_mode) ? "a directory" : "a special file";
      return Error{"bind", shown, 0, std::string("target is ") + what + " in the container; not touched"};
    }
  } else if (errno == ENOENT) {
    UniqueFd f(::openat(dir_fd, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!f && errno != EEXIST) return sys_error("create", shown);
  } else {
    return sys_error("stat", shown);
  }
  auto t = open_beneath(dir_fd, leaf, O_PATH, Xdev::Refuse);
  if (!t) return sys_error("open", shown, t.error().err);
  struct stat fst {};
  if (::fstat(t->get(), &fst) != 0) return sys_error("fstat", shown);
  if (!S_ISREG(fst.st_mode)) return Error{"bind", shown, 0, "target changed type"};
  return std::move(*t);
}

// Flags the source's mount has that a remount in a user namespace must keep.
unsigned long locked_flags(const std::string& src) {
  struct statvfs sv {};
  if (::statvfs(src.c_str(), &sv) != 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

Status bind_read_only(const std::string& src, int dir_fd, const std::string& leaf, const std::string& shown) {
  auto target = file_target(dir_fd, leaf, shown);
  if (!target) return target.error();
  if (new_mount_api_available()) {
    auto tree = clone_tree(src);
    if (!tree) return tree.error();
    MountAttr attr{kAttrRdonly | kAttrNosuid | kAttrNodev, 0, 0, 0};
    if (::syscall(SYS_mount_setattr, tree->get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
      return sys_error("mount_setattr", shown);
    }
    return attach_tree(tree->get(), target->get(), shown);
  }
  const std::string proc_target = "/proc/self/fd/" + std::to_string(target->get());
  if (::mount(src.c_str(), proc_target.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return sys_error("mount --bind", shown);
  // The fd still names the file below the new mount: open the mount itself
  // to make it read-only.
  UniqueFd mounted(::openat(dir_fd, leaf.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!mounted) return sys_error("open", shown);
  const std::string proc_mounted = "/proc/self/fd/" + std::to_string(mounted.get());
  if (::mount(nullptr, proc_mounted.c_str(), nullptr,
              MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | locked_flags(src), nullptr) != 0) {
    auto e = sys_error("remount read-only", shown);
    ::umount2(proc_mounted.c_str(), MNT_DETACH);
    return e;
  }
  return {};
}

// name -> target in dir_fd: made, kept when it already says so, replaced
// atomically when it is a link to something else; anything that is not a
// link is the container's and left alone.
Result<bool> make_link(int dir_fd, const std::string& name, const std::string& target, const std::string& shown) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISLNK(st.st_mode)) return Error{"link", shown, 0, "a file of the container's own is there; left alone"};
    char buf[4096];
    const ssize_t len = ::readlinkat(dir_fd, name.c_str(), buf, sizeof buf - 1);
    if (len >= 0 && std::string(buf, static_cast<std::size_t>(len)) == target) return false;
    const std::string tmp = "." + name + ".phx-new";
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    if (::symlinkat(target.c_str(), dir_fd, tmp.c_str()) != 0) return sys_error("symlink", shown);
    if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) {
      auto e = sys_error("rename", shown);
      ::unlinkat(dir_fd, tmp.c_str(), 0);
      return e;
    }
    return true;
  }
  if (errno != ENOENT) return sys_error("stat", shown);
  if (::symlinkat(target.c_str(), dir_fd, name.c_str()) != 0) return sys_error("symlink", shown);
  return true;
}

// "<prefix>.so.<digits and dots>" with a driver library's prefix: the shape
// of the mount points earlier starts left.
bool other_version_mount_point(const std::string& name, const std::string& version, std::string& prefix) {
  const auto pos = name.find(".so.");
  if (pos == std::string::npos) return false;
  prefix = name.substr(0, pos);
  const std::string ver = name.substr(pos + 4);
  if (ver == version || ver.find('.') == std::string::npos) return false;
  for (char c : ver)
    if (!(c == '.' || (c >= '0' && c <= '9'))) return false;
  return is_driver_library(prefix);
}

void remove_stale(int dir_fd, const std::string& dir_rel, const std::string& version, DriverBindReport& r) {
  UniqueFd dup(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dup) return;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(dup.get()), ::closedir);
  if (!d) return;
  (void)dup.release();
  std::vector<std::string> stale;
  while (auto* ent = ::readdir(d.get())) {
    std::string prefix;
    const std::string n = ent->d_name;
    if (!other_version_mount_point(n, version, prefix)) continue;
    struct stat st {};
    // Only what we left: an empty regular file, not the container's own
    // (installed) library of that version.
    if (::fstatat(dir_fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_size == 0 &&
        st.st_nlink == 1) {
      stale.push_back(n);
    }
  }
  for (const auto& n : stale) {
    if (::unlinkat(dir_fd, n.c_str(), 0) == 0) r.removed.push_back("/" + dir_rel + "/" + n);
  }
}

}  // namespace

std::string driver_files_path(const StateDir& sd) { return sd.dir() + "/driver-files.json"; }

LibDirs container_lib_dirs(int rootfs_fd) {
  // libnvidia-container: Debian-like (multiarch) else lib64; lib for the rest.
  if (is_dir_beneath(rootfs_fd, "usr/lib/x86_64-linux-gnu"))
    return {"usr/lib/x86_64-linux-gnu", "usr/lib/i386-linux-gnu"};
  if (is_dir_beneath(rootfs_fd, "usr/lib64")) return {"usr/lib64", "usr/lib"};
  return {"usr/lib", ""};
}

DriverBindReport bind_driver_files(const DriverFileSet& set, const HostRoot& host, int rootfs_fd) {
  DriverBindReport r;
  const LibDirs dirs = container_lib_dirs(rootfs_fd);
  std::set<std::string> lib_dirs_used;
  for (const auto& f : set.files) {
    std::string dir_rel, leaf;
    switch (f.kind) {
      case Kind::Library:
        dir_rel = f.abi == LibAbi::I386 ? dirs.lib32 : dirs.lib64;
        leaf = std::filesystem::path(f.host_path).filename().string();
        break;
      case Kind::Binary:
        dir_rel = "usr/bin";
        leaf = f.target;
        break;
      case Kind::Socket:
      case Kind::Config: {
        const std::filesystem::path t(f.target);
        dir_rel = t.parent_path().string().substr(1);
        leaf = t.filename().string();
        break;
      }
    }
    const std::string shown = "/" + dir_rel + "/" + leaf;
    if (dir_rel.empty()) {
      r.skipped.emplace_back(f.host_path, "no 32-bit library directory in this container's layout");
      continue;
    }
    const std::string src = host.path(f.host_path);
    struct stat sst {};
    if (::lstat(src.c_str(), &sst) != 0) {
      r.skipped.emplace_back(shown, sys_error("stat", src).message() + " (host driver changed since pre-start?)");
      continue;
    }
    if (f.kind == Kind::Socket ? !S_ISSOCK(sst.st_mode) : !S_ISREG(sst.st_mode)) {
      r.skipped.emplace_back(shown,
                             "source " + src + " is not a " + (f.kind == Kind::Socket ? "socket" : "regular file"));
      continue;
    }
    auto dir = make_dirs_beneath(rootfs_fd, dir_rel, 0755, Xdev::Refuse);
    if (!dir) {
      r.skipped.emplace_back(shown, dir.error().err == EXDEV
                                        ? "a directory on the way is another mount (bound from the host?); not touched"
                                        : dir.error().message());
      continue;
    }
    // A real directory fd for the *at calls below (O_PATH cannot list or create).
    UniqueFd dfd(::openat(dir->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd) {
      r.skipped.emplace_back(shown, sys_error("open", "/" + dir_rel).message());
      continue;
    }
    if (f.kind == Kind::Library && !lib_dirs_used.count(dir_rel)) {
      remove_stale(dfd.get(), dir_rel, set.version, r);
      lib_dirs_used.insert(dir_rel);
    }
    if (auto ok = bind_read_only(src, dfd.get(), leaf, shown); !ok) {
      r.skipped.emplace_back(shown, ok.error().message());
      continue;
    }
    r.bound.push_back(shown);
    if (f.kind != Kind::Library) continue;
    auto link = [&](const std::string& name, const std::string& target) {
      const std::string lshown = "/" + dir_rel + "/" + name;
      auto made = make_link(dfd.get(), name, target, lshown);
      if (!made) {
        r.skipped.emplace_back(lshown, made.error().message());
      } else if (*made) {
        r.links.push_back(lshown);
      }
    };
    if (!f.soname.empty()) link(f.soname, leaf);
    if (!f.dev_link.empty()) link(f.dev_link, f.soname.empty() ? leaf : f.soname);
  }
  return r;
}

void prepare_driver_bind(const StateDir& sd, const HostRoot& host, const std::string& strategy,
                         const std::string& driver_version, const std::string& capabilities) {
  const std::string path = driver_files_path(sd);
  ::unlink(path.c_str());
  if (strategy != "bind") return;
  auto caps = parse_driver_capabilities(capabilities);
  if (!caps || driver_version.empty()) {
    spdlog::warn("driver bind: no driver version or capabilities; no driver files are bound");
    return;
  }
  DriverFileSet set = discover_driver_files(host, driver_version, *caps);
  for (const auto& w : set.warnings) spdlog::warn("driver bind: {}", w);
  if (auto ok = write_file_atomic(path, driver_files_to_json(set)); !ok) {
    spdlog::warn("driver bind: {}; no driver files are bound", ok.error().message());
    return;
  }
  spdlog::info("driver bind: {} file(s) of driver {} from {}", set.files.size(), driver_version, set.source);
}

void run_driver_bind(const StateDir& sd, const HostRoot& host, int rootfs_fd) {
  const std::string path = driver_files_path(sd);
  auto text = read_small_file(path, 4u << 20);
  if (!text) {
    if (text.error().err != ENOENT) spdlog::warn("driver bind: {}", text.error().message());
    return;
  }
  auto set = driver_files_from_json(*text, path);
  if (!set) {
    spdlog::warn("driver bind: {}; no driver files are bound. Fix: restart the container", set.error().message());
    return;
  }
  DriverBindReport r = bind_driver_files(*set, host, rootfs_fd);
  for (const auto& [p, why] : r.skipped) spdlog::warn("driver bind: {}: {}", p, why);
  for (const auto& p : r.removed) spdlog::info("driver bind: removed {} (an earlier driver version's)", p);
  spdlog::info("driver bind: {} of {} file(s) of driver {} bound read-only, {} link(s) made{}", r.bound.size(),
               set->files.size(), set->version, r.links.size(),
               r.skipped.empty() ? "" : ", " + std::to_string(r.skipped.size()) + " skipped");
}

}  // namespace phx
