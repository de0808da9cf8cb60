// cgroup2's device rules: LXC's BPF program, which only the monitor can
// widen, through liblxc, once the container is RUNNING.
#pragma once

#include <memory>

#include "fs/device_cgroup.hpp"

namespace phx {

class LxcContainer;

// Rules go through the monitor (set_cgroup_item). Only for a RUNNING
// container; never from a hook.
std::unique_ptr<DeviceCgroup> make_cgroup_v2(LxcContainer& c);

}  // namespace phx
