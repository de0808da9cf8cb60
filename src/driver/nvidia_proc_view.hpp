// What the container sees of /proc/driver/nvidia, as the container toolkit
// arranges it: `params` with ModifyDeviceFiles: 0 (the userspace driver then
// never tries to create or chmod device nodes in the container), and
// `gpus/` listing only the container's GPUs (a read-only tmpfs over it
// holding a bind of each selected GPU's directory). The kernel does not
// namespace these files: without this every container sees every GPU.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "host/host_root.hpp"
#include "plan/state_dir.hpp"

namespace phx {

// The host's params text with ModifyDeviceFiles set to 0.
std::string params_without_modify(std::string_view host_params);

// <state dir>/nvidia-params.
std::string proc_params_path(const StateDir& sd);

// pre-start: writes proc_params_path() from the host's params (removes it
// when the host has none).
void prepare_proc_view(const StateDir& sd, const HostRoot& host);

struct ProcViewReport {
  bool params = false;            // params replaced
  std::vector<std::string> gpus;  // bus directories left visible
  std::vector<std::string> problems;
};

// mount hook: over <rootfs>/proc/driver/nvidia of the container's procfs
// (LXC mounted it before the mount hooks run). `buses` are the selected
// GPUs' PCI addresses ("0000:00:06.0"). Nothing when the container has no
// procfs at /proc or the driver's directory is absent. require_procfs=false
// is for tests on a plain directory tree.
ProcViewReport mask_proc_view(int rootfs_fd, const std::string& params_file, const std::vector<std::string>& buses,
                              bool require_procfs = true);

}  // namespace phx
