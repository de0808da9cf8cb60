#include "fs/device_cgroup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "base/file_write.hpp"
#include "base/logging.hpp"
#include "base/mountinfo.hpp"
#include "base/proc_cgroup.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"

namespace phx {
namespace {

class CgroupV1 final : public DeviceCgroup {
 public:
  CgroupV1(std::string mnt, std::string rel) : mnt_(std::move(mnt)), rel_(std::move(rel)) {}
  std::string describe() const override { return "cgroup v1 " + mnt_ + rel_; }

  Result<RuleChanges> allow_missing(const std::vector<CgroupRule>& wanted) override {
    const std::string path = mnt_ + rel_ + "/devices.list";
    auto list = read_small_file(path);
    if (!list) return list.error();
    RuleChanges changes;
    for (const auto& r : wanted) {
      if (v1_list_covers(*list, r)) continue;
      if (auto ok = allow(r); !ok) {
        changes.failed.push_back(ok.error());
      } else {
        changes.added.push_back(r);
      }
    }
    return changes;
  }

  Status allow(const CgroupRule& rule) override {
    // Proxmox: /lxc/<id>/ns is the container, /lxc/<id> its outer cgroup.
    const auto slash = rel_.rfind('/');
    if (slash != std::string::npos && slash > 0 && rel_.substr(slash + 1) == "ns") {
      if (auto ok = write_existing_file(mnt_ + rel_.substr(0, slash) + "/devices.allow", rule.str()); !ok) return ok;
    }
    return write_existing_file(mnt_ + rel_ + "/devices.allow", rule.str());
  }

 private:
  std::string mnt_, rel_;
};

}  // namespace

void allow_missing_logged(DeviceCgroup& cg, const std::vector<CgroupRule>& wanted) {
  auto changes = cg.allow_missing(wanted);
  if (!changes) {
    spdlog::warn("{}", changes.error().message());
    return;
  }
  for (const auto& r : changes->added) spdlog::info("allowed {} in {}", r.str(), cg.describe());
  for (const auto& e : changes->failed) spdlog::warn("{}", e.message());
}

bool v1_list_covers(const std::string& devices_list, const CgroupRule& rule) {
  for (auto line : split_lines(devices_list)) {
    auto f = split(trim(line), ' ');
    if (f.size() != 3) continue;
    if (f[0] == "a") return true;  // "a *:* rwm": everything allowed
    if (f[0].size() != 1 || f[0][0] != rule.type) continue;
    auto mm = split(f[1], ':');
    if (mm.size() != 2) continue;
    const bool major_ok = mm[0] == "*" || parse_int(mm[0]) == rule.major;
    const bool minor_ok = mm[1] == "*" || (rule.minor >= 0 && parse_int(mm[1]) == rule.minor);
    bool access_ok = true;
    for (char a : rule.access) access_ok = access_ok && f[2].find(a) != std::string::npos;
    if (major_ok && minor_ok && access_ok) return true;
  }
  return false;
}

std::unique_ptr<DeviceCgroup> make_cgroup_v1(const std::string& mountpoint, const std::string& rel_path) {
  return std::make_unique<CgroupV1>(mountpoint, rel_path);
}

Result<std::unique_ptr<DeviceCgroup>> detect_device_cgroup(pid_t pid) {
  const std::string cg_path = "/proc/" + std::to_string(pid) + "/cgroup";
  auto cg = read_small_file(cg_path);
  if (!cg) return cg.error();
  return detect_device_cgroup(*cg);
}

Result<std::unique_ptr<DeviceCgroup>> detect_device_cgroup(const std::string& proc_cgroup) {
  // "5:devices:/lxc.payload.c1"
  const std::string v1_rel = v1_controller_path(parse_proc_cgroup(proc_cgroup), "devices").value_or("");
  if (!v1_rel.empty()) {
    auto mounts = read_mountinfo();
    if (!mounts) return mounts.error();
    for (const auto& m : *mounts) {
      // Only a mount of the hierarchy's root maps rel paths directly.
      if (m.fstype == "cgroup" && m.has_option("devices") && m.root == "/") {
        return make_cgroup_v1(m.mount_point, v1_rel == "/" ? "" : v1_rel);
      }
    }
    // The kernel still lists a v1 devices hierarchy that this mount
    // namespace does not mount (a pure-cgroup2 view of a hybrid host): LXC
    // then uses cgroup2, and so do we.
  }
  return std::unique_ptr<DeviceCgroup>();
}

}  // namespace phx
