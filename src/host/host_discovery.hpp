// What the host has: driver, GPUs, majors, node parameters, modules and the
// NVIDIA nodes present in /dev. Read fresh on every call; nothing is cached
// across the boot race it exists to survive.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "host/host_root.hpp"
#include "host/nvidia_proc.hpp"

namespace phx {

struct NodeState {
  enum class Kind { Missing, CharDevice, Other };
  Kind kind = Kind::Missing;
  dev_t rdev = 0;
  mode_t mode = 0;  // permission bits
  uid_t uid = 0;
  gid_t gid = 0;
  int err = 0;  // errno of lstat when it failed for another reason than ENOENT
};

// lstat, never following a symlink (a symlink is Kind::Other).
NodeState stat_node(const std::string& path);

struct HostSnapshot {
  bool driver_loaded = false;
  std::optional<DriverVersion> driver;
  std::vector<GpuInfo> gpus;  // PCI bus order; index set for non-excluded GPUs
  CharMajors majors;
  std::optional<DeviceFileParams> params;
  std::map<std::string, int> mig_minors;  // empty when the file is absent or not read
  std::vector<CapFile> caps;              // /proc/driver/nvidia/capabilities
  std::set<std::string> modules;
  bool modules_known = false;
  // Non-fatal findings: files that exist but do not parse. A GPU whose
  // information file is unreadable is listed here, and planning refuses to
  // guess indices while any is.
  std::vector<Error> problems;
  std::vector<Error> gpu_problems;
};

// What to read. Planning needs no mig-minors table (the capability nodes'
// minors come from /proc/driver/nvidia/capabilities), and the table runs to
// thousands of lines that pre-start would parse on every container start.
enum class DiscoverScope { Full, Planning };

HostSnapshot discover_host(const HostRoot& root, DiscoverScope scope = DiscoverScope::Full);

// Pieces of discover_host, each testable alone.
// One GPU from <gpu_dir>/information (gpu_dir: /proc/driver/nvidia/gpus/<bus>).
Result<GpuInfo> read_gpu(const std::string& gpu_dir);
// Sorts GPUs into PCI bus order and numbers the non-excluded ones; returns a
// problem (naming gpus_dir) for every shared bus location or Device Minor,
// since an index or a /dev/nvidia<minor> would then mean two GPUs.
std::vector<Error> order_gpus(std::vector<GpuInfo>& gpus, const std::string& gpus_dir);

// True when /sys/module/<name>/initstate says "live" (how nvidia-modprobe
// checks), falling back to /proc/modules.
bool module_loaded(const HostRoot& root, const HostSnapshot& snap, const std::string& name);

}  // namespace phx
