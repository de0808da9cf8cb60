#include "stages/pre_start_decisions.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixture_host.hpp"

namespace phx {
namespace {

using test::FixtureHost;

TEST(HasGpuSelection, VoidMeansNothingToDoAndABadSelectionIsAPolicy) {
  EXPECT_FALSE(has_gpu_selection(parse_visible_devices("")));
  EXPECT_FALSE(has_gpu_selection(parse_visible_devices("void")));
  EXPECT_TRUE(has_gpu_selection(parse_visible_devices("all")));
  EXPECT_TRUE(has_gpu_selection(parse_visible_devices("0,1")));
  // Planning says what is wrong with it.
  auto bad = parse_visible_devices("all,0");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(has_gpu_selection(bad));
}

TEST(ShouldLoadUvm, OnlyForComputeOrVideoWhenMissingAndLoadingIsOn) {
  FixtureHost with_uvm, without_uvm;
  FixtureHost::h200(with_uvm);
  FixtureHost::h200(without_uvm);
  without_uvm.write("proc/devices", test::proc_devices({{195, "nvidia"}}));
  const HostSnapshot has = with_uvm.discover(), lacks = without_uvm.discover();
  ASSERT_TRUE(has.majors.get("nvidia-uvm"));
  ASSERT_FALSE(lacks.majors.get("nvidia-uvm"));

  EXPECT_TRUE(should_load_uvm(parse_driver_capabilities("compute,utility"), lacks, true));
  EXPECT_TRUE(should_load_uvm(parse_driver_capabilities("video"), lacks, true));
  EXPECT_FALSE(should_load_uvm(parse_driver_capabilities("compute"), lacks, false));
  EXPECT_FALSE(should_load_uvm(parse_driver_capabilities("compute"), has, true));
  EXPECT_FALSE(should_load_uvm(parse_driver_capabilities("utility"), lacks, true));
  EXPECT_FALSE(should_load_uvm(parse_driver_capabilities("nonsense"), lacks, true));
}

PlannedNode node(int major, int minor, const std::string& pending = "") {
  PlannedNode n;
  n.host_path = n.container_path = "/dev/nvidia" + std::to_string(minor);
  n.major = major;
  n.minor = minor;
  n.pending = pending;
  return n;
}

TEST(DecideHostNode, PendingNodesAreSkipped) {
  EXPECT_EQ(decide_host_node(node(0, 0, kUvmPending), true, true, 195), HostNodeStep::Skip);
  EXPECT_EQ(decide_host_node(node(0, 0, kUvmPending), false, false, 195), HostNodeStep::Skip);
}

TEST(DecideHostNode, CreationOffOnlyChecks) {
  EXPECT_EQ(decide_host_node(node(195, 0), false, true, 195), HostNodeStep::CheckOnly);
  EXPECT_EQ(decide_host_node(node(238, 0), false, true, 195), HostNodeStep::CheckOnly);
}

TEST(DecideHostNode, TheDriverKeepsItsOwnMajorsNodesWhenItForbidsModifying) {
  // ModifyDeviceFiles=0: the nvidia major's nodes are the driver's to make.
  EXPECT_EQ(decide_host_node(node(195, 0), true, false, 195), HostNodeStep::CheckOnly);
  // Other majors (nvidia-uvm, nvidia-caps) are still ours.
  EXPECT_EQ(decide_host_node(node(238, 0), true, false, 195), HostNodeStep::Ensure);
  // No nvidia major known: nothing is the driver's.
  EXPECT_EQ(decide_host_node(node(195, 0), true, false, std::nullopt), HostNodeStep::Ensure);
  EXPECT_EQ(decide_host_node(node(195, 0), true, true, 195), HostNodeStep::Ensure);
}

TEST(UnmetRequirements, OneLine) {
  EXPECT_EQ(unmet_requirements({}), "");
  EXPECT_EQ(unmet_requirements({"cuda>=12.4", "arch=9.0"}), "cuda>=12.4; arch=9.0");
}

TEST(PlanSummary, NamesNodesAndCountsWhatIsMissingPendingAndFailed) {
  DevicePlan plan;
  plan.gpus = {test::gpu(0, test::kH200Uuid, "0000:00:06.0", 0)};
  plan.nodes = {node(195, 255), node(195, 0), node(0, 1, kUvmPending)};
  plan.nodes[0].container_path = "/dev/nvidiactl";
  plan.nodes[2].container_path = "/dev/nvidia-uvm";
  plan.driver_version = "580.159.04";
  EXPECT_EQ(plan_summary(plan, {}, 2.04),
            "plan: 1 GPU(s), 3 node(s) [nvidiactl nvidia0 nvidia-uvm], driver 580.159.04, 1 pending in 2.0 ms");
  EXPECT_EQ(plan_summary(plan, {2, 1}, 12.34),
            "plan: 1 GPU(s), 3 node(s) [nvidiactl nvidia0 nvidia-uvm], driver 580.159.04, 2 missing, 1 pending, "
            "1 failed in 12.3 ms");
  plan.nodes.pop_back();
  EXPECT_EQ(plan_summary(plan, {}, 0.5), "plan: 1 GPU(s), 2 node(s) [nvidiactl nvidia0], driver 580.159.04 in 0.5 ms");
}

}  // namespace
}  // namespace phx
