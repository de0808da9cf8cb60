// libFuzzer target: NVIDIA_VISIBLE_DEVICES / NVIDIA_DRIVER_CAPABILITIES and
// the plan made from them on a fixed three-GPU host.
#include <cstddef>
#include <cstdint>
#include <string>

#include "plan/device_plan.hpp"

namespace {

phx::HostSnapshot host() {
  phx::HostSnapshot h;
  h.driver_loaded = true;
  h.driver = phx::DriverVersion{"580.159.04", true, ""};
  h.majors.by_name = {{"nvidia", 195}, {"nvidia-uvm", 238}, {"nvidia-caps", 241}};
  h.gpus = {{"A", "GPU-11111111-0000-0000-0000-000000000001", "0000:01:00.0", 2, false, 0},
            {"B", "GPU-11112222-0000-0000-0000-000000000002", "0000:41:00.0", 0, false, 1},
            {"C", "GPU-33333333-0000-0000-0000-000000000003", "0000:81:00.0", 1, true, -1}};
  h.caps = {{"mig/config", 1, 0400}, {"gpu2/mig/gi1/access", 12, 0444}};
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const phx::HostSnapshot h = host();
  const std::string in(reinterpret_cast<const char*>(data), size);
  const auto split = in.find('\n');
  phx::PlanRequest req{in.substr(0, split), split == std::string::npos ? "" : in.substr(split + 1), size % 2 == 0,
                       size % 3 == 0};
  auto plan = phx::make_plan(h, req);
  if (plan) {
    for (const auto& n : plan->nodes) {
      if (n.major <= 0 || n.minor < 0) __builtin_trap();
    }
  }
  return 0;
}
