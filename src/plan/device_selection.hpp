// GPU selection in NVIDIA_VISIBLE_DEVICES syntax and driver capabilities in
// NVIDIA_DRIVER_CAPABILITIES syntax, as the NVIDIA container runtime reads
// them, so CUDA images and LXC's own nvidia hook agree with us.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "host/nvidia_proc.hpp"

namespace phx {

struct GpuSelection {
  enum class Kind {
    Void,  // "void" or empty: no GPU support at all
    None,  // "none": control nodes, no GPU
    All,
    List,
  };
  Kind kind = Kind::Void;
  std::vector<std::string> entries;  // for List: trimmed, non-empty
};

Result<GpuSelection> parse_visible_devices(std::string_view value);

// The GPUs a selection names, in the order the host lists them (PCI bus
// order). Errors name the entry and list the GPUs that exist.
Result<std::vector<GpuInfo>> resolve_selection(const GpuSelection& sel, const std::vector<GpuInfo>& gpus);

struct DriverCapabilities {
  bool compute = false, utility = false, video = false, graphics = false, display = false, compat32 = false;
  std::string str() const;  // "compute,utility"
  bool needs_uvm() const { return compute || video; }
};

inline constexpr std::string_view kDefaultCapabilities = "utility,compute";

// Empty means the default (utility,compute). Unknown names are errors;
// "ngx" is accepted and needs no node.
Result<DriverCapabilities> parse_driver_capabilities(std::string_view value);

// "0 GPU-fe88… 0000:00:06.0 NVIDIA H200 (/dev/nvidia0)" lines for messages.
std::string describe_gpus(const std::vector<GpuInfo>& gpus);

}  // namespace phx
