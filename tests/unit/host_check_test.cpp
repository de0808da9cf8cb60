#include "plan/host_check.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixture_host.hpp"
#include "plan/device_plan.hpp"
#include "stages/verify.hpp"

namespace phx {
namespace {

using test::FixtureHost;
using ::testing::HasSubstr;

// The plan for `caps` on the H200 host as it is now.
DevicePlan plan_now(const FixtureHost& h, const std::string& caps = "compute,utility") {
  auto p = make_plan(h.discover(), PlanRequest{"all", caps, false, false});
  EXPECT_TRUE(p) << p.error().message();
  return p ? *p : DevicePlan{};
}

const PlannedNode& node(const DevicePlan& p, const std::string& path) {
  for (const auto& n : p.nodes)
    if (n.container_path == path) return n;
  ADD_FAILURE() << "no " << path;
  static PlannedNode none;
  return none;
}

TEST(HostCheck, PendingUvmResolvesOnceTheModuleRegistersItsMajor) {
  FixtureHost h;
  FixtureHost::h200(h);
  h.write("proc/devices", test::proc_devices({{195, "nvidia"}, {241, "nvidia-caps"}}));
  DevicePlan p = plan_now(h);
  PlannedNode uvm = node(p, "/dev/nvidia-uvm-tools");
  ASSERT_FALSE(uvm.pending.empty());
  EXPECT_FALSE(resolve_pending(uvm, h.discover()));
  EXPECT_FALSE(uvm.pending.empty());

  // modprobe nvidia_uvm, with a major other than the usual 238.
  h.write("proc/devices", test::proc_devices({{195, "nvidia"}, {241, "nvidia-caps"}, {509, "nvidia-uvm"}}));
  EXPECT_TRUE(resolve_pending(uvm, h.discover()));
  EXPECT_TRUE(uvm.pending.empty());
  EXPECT_EQ(uvm.major, 509);
  EXPECT_EQ(uvm.minor, 1);
  EXPECT_EQ(host_node_problem(uvm, h.discover()), "");
}

TEST(HostCheck, PendingModesetResolvesWhenTheModuleIsLive) {
  FixtureHost h;
  FixtureHost::h200(h);
  DevicePlan p = plan_now(h, "utility,display");
  PlannedNode ms = node(p, "/dev/nvidia-modeset");
  EXPECT_FALSE(resolve_pending(ms, h.discover()));
  h.write("proc/modules", "nvidia_modeset 1 0 - Live 0x0 (OE)\nnvidia 14381056 1 nvidia_modeset, Live 0x0 (OE)\n");
  EXPECT_TRUE(resolve_pending(ms, h.discover()));
  EXPECT_EQ(ms.major, 195);
  EXPECT_EQ(host_node_problem(ms, h.discover()), "");
  // Unloaded again after the plan: the node is no longer backed.
  h.write("proc/modules", "nvidia 14381056 0 - Live 0x0 (OE)\n");
  EXPECT_THAT(host_node_problem(ms, h.discover()), HasSubstr("nvidia_modeset module is no longer loaded"));
}

TEST(HostCheck, EveryNodeBackedOnAnUnchangedHost) {
  FixtureHost h;
  FixtureHost::h200(h);
  DevicePlan p = plan_now(h);
  ASSERT_EQ(p.nodes.size(), 4u);
  for (const auto& n : p.nodes) EXPECT_EQ(host_node_problem(n, h.discover()), "") << n.container_path;
}

TEST(HostCheck, GpuFallenOffTheBus) {
  FixtureHost h;
  FixtureHost::multi_gpu(h);
  DevicePlan p = plan_now(h);
  const PlannedNode gpu = node(p, "/dev/nvidia0");  // index 1, bus 0000:41:00.0
  h.remove("proc/driver/nvidia/gpus/0000:41:00.0");
  const HostSnapshot now = h.discover();
  EXPECT_THAT(host_node_problem(gpu, now),
              HasSubstr("GPU " + std::string(test::kMultiUuids[1]) + " is no longer on the host"));
  EXPECT_EQ(host_node_problem(node(p, "/dev/nvidia2"), now), "");  // the others are still there
  EXPECT_EQ(host_node_problem(node(p, "/dev/nvidiactl"), now), "");
}

TEST(HostCheck, MajorChangedOrUnregistered) {
  FixtureHost h;
  FixtureHost::h200(h);
  DevicePlan p = plan_now(h);
  // nvidia_uvm reloaded with another major.
  h.write("proc/devices", test::proc_devices({{195, "nvidia"}, {241, "nvidia-caps"}, {240, "nvidia-uvm"}}));
  EXPECT_THAT(host_node_problem(node(p, "/dev/nvidia-uvm"), h.discover()),
              HasSubstr("'nvidia-uvm' now has major 240, the node was planned as 238:0"));
  EXPECT_EQ(host_node_problem(node(p, "/dev/nvidia0"), h.discover()), "");
  // Unloaded.
  h.write("proc/devices", test::proc_devices({{195, "nvidia"}, {241, "nvidia-caps"}}));
  EXPECT_THAT(host_node_problem(node(p, "/dev/nvidia-uvm"), h.discover()),
              HasSubstr("'nvidia-uvm' is no longer registered in /proc/devices"));
  // The whole driver gone.
  h.remove("proc/driver/nvidia/version");
  EXPECT_THAT(host_node_problem(node(p, "/dev/nvidia0"), h.discover()), HasSubstr("no longer loaded"));
}

TEST(MergeChecks, PendingAndHostChangedNeverPass) {
  FixtureHost h;
  FixtureHost::multi_gpu(h);
  DevicePlan p = plan_now(h);  // nvidiactl, nvidia2, nvidia0, nvidia1, uvm, uvm-tools
  ASSERT_EQ(p.nodes.size(), 6u);
  p.nodes[4].pending = "waiting";
  p.nodes[4].major = 0;
  std::vector<NodeCheck> inside;
  for (const auto& n : p.nodes)
    if (n.pending.empty()) inside.push_back(NodeCheck{n.container_path, NodeResult::NoDriver, 6, "ENXIO", false});
  h.remove("proc/driver/nvidia/gpus/0000:81:00.0");  // index 2: /dev/nvidia1
  auto checks = merge_checks(p.nodes, inside, h.discover());
  ASSERT_EQ(checks.size(), 6u);
  for (std::size_t i = 0; i < checks.size(); ++i) EXPECT_EQ(checks[i].path, p.nodes[i].container_path);
  EXPECT_EQ(checks[0].result, NodeResult::NoDriver);
  EXPECT_EQ(checks[1].result, NodeResult::NoDriver);
  EXPECT_EQ(checks[3].result, NodeResult::HostChanged);
  EXPECT_THAT(checks[3].detail, HasSubstr("no longer on the host"));
  EXPECT_EQ(checks[4].result, NodeResult::Pending);
  EXPECT_EQ(checks[4].detail, "waiting");
  EXPECT_EQ(checks[5].result, NodeResult::NoDriver);
  EXPECT_FALSE(checks[3].passed(/*simulated_host=*/true));
  EXPECT_FALSE(checks[4].passed(true));
  EXPECT_THAT(explain(checks[4]), HasSubstr("/dev/nvidia-uvm is pending: waiting"));

  // A failing check inside stays what it is (the host check does not hide it).
  inside[0].result = NodeResult::Denied;
  EXPECT_EQ(merge_checks(p.nodes, inside, h.discover())[0].result, NodeResult::Denied);
}

}  // namespace
}  // namespace phx
