// Loading kernel modules the way nvidia-modprobe does: through the modprobe
// the kernel itself names in /proc/sys/kernel/modprobe.
#pragma once

#include <chrono>
#include <string>

#include "base/error.hpp"
#include "host/host_root.hpp"

namespace phx {

// PHOENIX_GPU_MODPROBE overrides the program (a simulated host has none of
// its own); it is run as "<program> <module>".
Status load_module(const HostRoot& root, const std::string& module, std::chrono::milliseconds timeout);

}  // namespace phx
