// libFuzzer target: the files the programs read back: plan.json,
// status.json, mount.json, config.toml, lxc.environment, devices.list.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fs/device_cgroup.hpp"
#include "plan/config.hpp"
#include "plan/plan_file.hpp"
#include "plan/policy.hpp"
#include "plan/status_file.hpp"
#include "stages/mount_report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0: {
      auto pf = phx::plan_from_json(text, "plan.json");
      // What parses must survive a round trip unchanged.
      if (pf) {
        auto again = phx::plan_from_json(phx::plan_to_json(*pf), "plan.json");
        if (!again || !(again->plan == pf->plan)) __builtin_trap();
      }
      break;
    }
    case 1:
      (void)phx::status_from_json(text, "status.json");
      break;
    case 2:
      (void)phx::mount_report_from_json(text, "mount.json");
      break;
    case 3:
      (void)phx::parse_host_config(text, "config.toml");
      break;
    case 4:
      (void)phx::parse_policy(text, phx::HostConfig{});
      break;
    case 5:
      (void)phx::v1_list_covers(text, phx::CgroupRule{'c', 195, 0, "rwm"});
      break;
  }
  return 0;
}
