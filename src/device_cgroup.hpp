// A container's device cgroup, behind one interface chosen once by
// detection: cgroup v1 (the devices controller's files, writable from a
// start-host hook) or cgroup2 (LXC's BPF program, which only the monitor can
// widen, through liblxc once the container is RUNNING).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "device_plan.hpp"
#include "error.hpp"

namespace phx {

class LxcContainer;

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
// cgroup2: rules go through the monitor (set_cgroup_item). Only for a
// RUNNING container; never from a hook.
std::unique_ptr<DeviceCgroup> make_cgroup_v2(LxcContainer& c);

// Picks the implementation for the process `pid` (the container's init)
// from /proc/<pid>/cgroup and /proc/self/mountinfo. `c` may be null where
// only v1 can be served (start-host).
Result<std::unique_ptr<DeviceCgroup>> detect_device_cgroup(pid_t pid, LxcContainer* c);
// The same from the text of that /proc/<pid>/cgroup (cg_path names it): the
// worker reads it through init's own /proc directory, not by number.
Result<std::unique_ptr<DeviceCgroup>> detect_device_cgroup(const std::string& proc_cgroup, const std::string& cg_path,
                                                            LxcContainer* c);

// v1 devices.list matching: does an entry ("c 195:* rwm", "a *:* rwm")
// cover the rule?
bool v1_list_covers(const std::string& devices_list, const CgroupRule& rule);

}  // namespace phx
