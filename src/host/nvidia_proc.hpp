// Parsers for what the NVIDIA kernel modules publish under /proc. Pure
// functions over text so that fixtures and fuzzers reach them directly.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace phx {

struct DriverVersion {
  std::string version;  // "580.159.04"
  bool open_module = false;
  std::string first_line;
};

// /proc/driver/nvidia/version. Both wordings:
//   NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.129.03  <date>
//   NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build ...
Result<DriverVersion> parse_driver_version(std::string_view text, const std::string& path);

struct GpuInfo {
  std::string model;
  std::string uuid;          // "GPU-fe880471-..."
  std::string bus_location;  // normalised: lower case, 4-digit domain "0000:00:06.0"
  int device_minor = -1;     // /dev/nvidia<minor>
  bool excluded = false;
  int index = -1;  // nvidia-smi order (PCI bus order among non-excluded GPUs)
  bool operator==(const GpuInfo&) const = default;
};

// /proc/driver/nvidia/gpus/<bus>/information.
Result<GpuInfo> parse_gpu_information(std::string_view text, const std::string& path);

// Canonical PCI address ("0000:06:00.0") from 4- or 8-digit domain forms;
// nullopt when malformed.
std::optional<std::string> normalize_pci_address(std::string_view s);

// Character-device majors from /proc/devices, by exact name.
struct CharMajors {
  std::map<std::string, int> by_name;
  std::optional<int> get(const std::string& name) const;
  // "nvidia", or "nvidia-frontend" on drivers before 550.40.
  std::optional<int> nvidia() const;
};
Result<CharMajors> parse_proc_devices(std::string_view text, const std::string& path);

// DeviceFileUID/GID/Mode from /proc/driver/nvidia/params.
struct DeviceFileParams {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0666;
  bool modify = true;  // ModifyDeviceFiles
};
Result<DeviceFileParams> parse_params(std::string_view text, const std::string& path);

// /proc/driver/nvidia-caps/mig-minors: "gpu0/gi1/access 12" lines.
Result<std::map<std::string, int>> parse_mig_minors(std::string_view text, const std::string& path);

// /proc/driver/nvidia/capabilities/**/<file>: DeviceFileMinor, DeviceFileMode.
struct CapFile {
  std::string name;  // "mig/config", "gpu0/mig/gi1/access"
  int minor = -1;
  mode_t mode = 0444;
};
Result<CapFile> parse_cap_file(std::string_view text, const std::string& name, const std::string& path);

// Module names from /proc/modules.
Result<std::set<std::string>> parse_proc_modules(std::string_view text, const std::string& path);

}  // namespace phx
