// A container's device cgroup, behind one interface chosen once by
// detection: cgroup v1 (the devices controller's files, writable from a
// start-host hook, here) or cgroup2 (LXC's BPF program, which only the
// monitor can widen, through liblxc once the container is RUNNING:
// lxc/cgroup_v2.hpp).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "plan/device_plan.hpp"

namespace phx {

struct RuleChanges {
  std::vector<CgroupRule> added;
  std::vector<Error> failed;
};

class DeviceCgroup {
 public:
  virtual ~DeviceCgroup() = default;
  virtual std::string describe() const = 0;
  // Adds the rules of `wanted` the cgroup lacks; returns what was added and
  // what failed. Only where the rules can be read back: cgroup v1 (from a
  // start-host hook, before init runs). cgroup2 adds nothing here: its
  // rules cannot be read, and an allow rule in a cgroup2 container that
  // allows every device would make it an allow-list of just that rule; a
  // node is allowed there when a check inside finds it denied (allow()).
  virtual Result<RuleChanges> allow_missing(const std::vector<CgroupRule>& wanted) = 0;
  virtual Status allow(const CgroupRule& rule) = 0;
};

// allow_missing, each added rule and each failure logged (info, warning).
void allow_missing_logged(DeviceCgroup& cg, const std::vector<CgroupRule>& wanted);

// cgroup v1: the container's devices cgroup from /proc/<pid>/cgroup. With
// Proxmox's layout (lxc.cgroup.dir.container.inner = ns) the outer cgroup
// gets each rule first: v1 never lets a child exceed its parent.
std::unique_ptr<DeviceCgroup> make_cgroup_v1(const std::string& mountpoint, const std::string& rel_path);

// The cgroup v1 devices cgroup of the process `pid` (the container's init)
// from /proc/<pid>/cgroup and /proc/self/mountinfo; null when the process
// is under cgroup2, whose rules only the monitor can add (lxc/cgroup_v2.hpp).
Result<std::unique_ptr<DeviceCgroup>> detect_device_cgroup(pid_t pid);
// The same from the text of that /proc/<pid>/cgroup: the worker reads it
// through init's own /proc directory, not by number.
Result<std::unique_ptr<DeviceCgroup>> detect_device_cgroup(const std::string& proc_cgroup);

// v1 devices.list matching: does an entry ("c 195:* rwm", "a *:* rwm")
// cover the rule?
bool v1_list_covers(const std::string& devices_list, const CgroupRule& rule);

}  // namespace phx
