#include "plan/device_plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixture_host.hpp"

namespace phx {
namespace {

using test::FixtureHost;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// "/dev/nvidia0 195:0 0666 0:0" per node: what the plan gives, in order.
std::vector<std::string> nodes(const DevicePlan& p) {
  std::vector<std::string> out;
  for (const auto& n : p.nodes) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(n.mode));
    EXPECT_EQ(n.host_path, n.container_path);
    out.push_back(n.host_path + " " + std::to_string(n.major) + ":" + std::to_string(n.minor) + " " + mode + " " +
                  std::to_string(n.uid) + ":" + std::to_string(n.gid));
  }
  return out;
}

std::vector<std::string> rules(const DevicePlan& p) {
  std::vector<std::string> out;
  for (const auto& r : p.rules) out.push_back(r.str());
  return out;
}

Result<DevicePlan> plan_for(const FixtureHost& h, const std::string& visible, const std::string& caps = "",
                            bool mig_config = false, bool mig_monitor = false) {
  return make_plan(h.discover(), PlanRequest{visible, caps, mig_config, mig_monitor});
}

TEST(DevicePlan, H200All) {
  FixtureHost h;
  FixtureHost::h200(h);
  auto p = plan_for(h, "all");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_TRUE(p->enabled);
  EXPECT_EQ(p->driver_version, "580.159.04");
  EXPECT_EQ(p->capabilities, "compute,utility");
  EXPECT_THAT(nodes(*p), ElementsAre("/dev/nvidiactl 195:255 0666 0:0", "/dev/nvidia0 195:0 0666 0:0",
                                     "/dev/nvidia-uvm 238:0 0666 0:0", "/dev/nvidia-uvm-tools 238:1 0666 0:0"));
  EXPECT_THAT(rules(*p), ElementsAre("c 195:255 rw", "c 195:0 rw", "c 238:0 rw", "c 238:1 rw"));
  EXPECT_EQ(p->nodes[1].role, "gpu");
  EXPECT_EQ(p->nodes[1].gpu_uuid, test::kH200Uuid);
  ASSERT_EQ(p->gpus.size(), 1u);
  EXPECT_TRUE(p->warnings.empty());
}

TEST(DevicePlan, ModeAndOwnerFromParams) {
  FixtureHost h;
  FixtureHost::h200(h);
  h.set_params(0, 44, 432);
  auto p = plan_for(h, "all");
  ASSERT_TRUE(p) << p.error().message();
  // nvidia-modprobe applies the parameters to the nvidia nodes, not to uvm.
  EXPECT_THAT(nodes(*p), ElementsAre("/dev/nvidiactl 195:255 0660 0:44", "/dev/nvidia0 195:0 0660 0:44",
                                     "/dev/nvidia-uvm 238:0 0666 0:0", "/dev/nvidia-uvm-tools 238:1 0666 0:0"));
}

TEST(DevicePlan, NoneGivesControlNodesOnly) {
  FixtureHost h;
  FixtureHost::h200(h);
  auto p = plan_for(h, "none", "utility");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_TRUE(p->enabled);
  EXPECT_TRUE(p->gpus.empty());
  EXPECT_THAT(nodes(*p), ElementsAre("/dev/nvidiactl 195:255 0666 0:0"));
}

TEST(DevicePlan, VoidIsDisabled) {
  FixtureHost h;
  FixtureHost::h200(h);
  for (const char* v : {"void", ""}) {
    auto p = plan_for(h, v);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_FALSE(p->enabled);
    EXPECT_TRUE(p->nodes.empty());
    EXPECT_TRUE(p->rules.empty());
  }
}

TEST(DevicePlan, VoidNeedsNoDriver) {
  FixtureHost h;
  FixtureHost::no_driver(h);
  auto p = plan_for(h, "void");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_FALSE(p->enabled);
}

TEST(DevicePlan, UtilityOnlyHasNoUvm) {
  FixtureHost h;
  FixtureHost::h200(h);
  auto p = plan_for(h, "all", "utility");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_THAT(nodes(*p), ElementsAre("/dev/nvidiactl 195:255 0666 0:0", "/dev/nvidia0 195:0 0666 0:0"));
}

TEST(DevicePlan, DisplayAddsModeset) {
  FixtureHost h;
  FixtureHost::h200(h);
  auto p = plan_for(h, "all", "utility,display");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_THAT(nodes(*p), ElementsAre("/dev/nvidiactl 195:255 0666 0:0", "/dev/nvidia0 195:0 0666 0:0",
                                     "/dev/nvidia-modeset 195:254 0666 0:0"));
  EXPECT_EQ(p->nodes.back().role, "modeset");
}

TEST(DevicePlan, UvmNotLoadedIsPendingNotDropped) {
  FixtureHost h;
  FixtureHost::h200(h);
  h.write("proc/devices", test::proc_devices({{195, "nvidia"}, {241, "nvidia-caps"}}));
  auto p = plan_for(h, "all");
  ASSERT_TRUE(p) << p.error().message();
  // Major 0 until the module registers one; no rule can be written for it yet.
  EXPECT_THAT(nodes(*p), ElementsAre("/dev/nvidiactl 195:255 0666 0:0", "/dev/nvidia0 195:0 0666 0:0",
                                     "/dev/nvidia-uvm 0:0 0666 0:0", "/dev/nvidia-uvm-tools 0:1 0666 0:0"));
  EXPECT_THAT(rules(*p), ElementsAre("c 195:255 rw", "c 195:0 rw"));
  EXPECT_TRUE(p->nodes[0].pending.empty());
  EXPECT_THAT(p->nodes[2].pending, HasSubstr("modprobe nvidia_uvm"));
  EXPECT_THAT(p->nodes[3].pending, HasSubstr("modprobe nvidia_uvm"));
  EXPECT_TRUE(p->warnings.empty());

  // Utility only asks for no uvm: nothing pending.
  auto util = plan_for(h, "all", "utility");
  ASSERT_TRUE(util) << util.error().message();
  for (const auto& n : util->nodes) EXPECT_TRUE(n.pending.empty()) << n.container_path;
}

TEST(DevicePlan, DisplayWithoutModesetModuleIsPending) {
  FixtureHost h;
  FixtureHost::h200(h);  // its /proc/modules has no nvidia_modeset
  auto p = plan_for(h, "all", "utility,display");
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_EQ(p->nodes.back().container_path, "/dev/nvidia-modeset");
  EXPECT_EQ(p->nodes.back().major, 195);
  EXPECT_THAT(p->nodes.back().pending, HasSubstr("modprobe nvidia_modeset"));

  h.write("proc/modules", "nvidia_modeset 1 0 - Live 0x0 (OE)\nnvidia 14381056 1 nvidia_modeset, Live 0x0 (OE)\n");
  auto loaded = plan_for(h, "all", "utility,display");
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_TRUE(loaded->nodes.back().pending.empty());
}

TEST(DevicePlan, NoDriverIsAnError) {
  FixtureHost h;
  FixtureHost::no_driver(h);
  auto p = plan_for(h, "all");
  ASSERT_FALSE(p);
  EXPECT_THAT(p.error().message(), HasSubstr("/proc/driver/nvidia/version"));
  EXPECT_THAT(p.error().message(), HasSubstr("modprobe nvidia"));
}

TEST(DevicePlan, Pre550FrontendMajor) {
  FixtureHost h;
  FixtureHost::pre550(h);
  auto p = plan_for(h, "all");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->driver_version, "535.129.03");
  EXPECT_THAT(nodes(*p), ElementsAre("/dev/nvidiactl 195:255 0666 0:0", "/dev/nvidia0 195:0 0666 0:0",
                                     "/dev/nvidia-uvm 236:0 0666 0:0", "/dev/nvidia-uvm-tools 236:1 0666 0:0"));
}

TEST(DevicePlan, NoNvidiaMajorIsAnError) {
  FixtureHost h;
  FixtureHost::h200(h);
  h.write("proc/devices", test::proc_devices({{238, "nvidia-uvm"}}));
  auto p = plan_for(h, "all");
  ASSERT_FALSE(p);
  EXPECT_THAT(p.error().message(), HasSubstr("no 'nvidia' (or 'nvidia-frontend') character device"));
}

TEST(DevicePlan, GpuProblemsRefuseToGuess) {
  FixtureHost h;
  FixtureHost::multi_gpu(h);
  h.write("proc/driver/nvidia/gpus/0000:41:00.0/information", "garbage");
  auto p = plan_for(h, "0");
  ASSERT_FALSE(p);
  EXPECT_THAT(p.error().message(), HasSubstr("refusing to guess GPU order"));
  EXPECT_THAT(p.error().message(), HasSubstr("0000:41:00.0/information"));
}

TEST(DevicePlan, OneOfThreeByIndex) {
  FixtureHost h;
  FixtureHost::multi_gpu(h);
  auto p = plan_for(h, "0", "utility");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_THAT(nodes(*p), ElementsAre("/dev/nvidiactl 195:255 0666 0:0", "/dev/nvidia2 195:2 0666 0:0"));
  EXPECT_THAT(rules(*p), ElementsAre("c 195:255 rw", "c 195:2 rw"));
  ASSERT_EQ(p->gpus.size(), 1u);
  EXPECT_EQ(p->gpus[0].uuid, test::kMultiUuids[0]);
}

TEST(DevicePlan, BadRequestIsAnError) {
  FixtureHost h;
  FixtureHost::multi_gpu(h);
  EXPECT_THAT(plan_for(h, "7").error().message(), HasSubstr("no GPU with index 7"));
  EXPECT_THAT(plan_for(h, "all", "opengl").error().message(), HasSubstr("unknown capability 'opengl'"));
}

// MIG: mig/config (minor 1) and an access cap for the GPU with minor 0
// (index 1 on the multi-GPU host).
class DevicePlanMig : public ::testing::Test {
 protected:
  void SetUp() override {
    FixtureHost::multi_gpu(h);
    h.write("proc/driver/nvidia/capabilities/gpu0/mig/gi1/access",
            "DeviceFileMinor: 12\nDeviceFileMode: 292\nDeviceFileModify: 1\n");
    h.add_cap("mig/config", 1, 0400);
  }
  FixtureHost h;
};

TEST_F(DevicePlanMig, AccessCapOnlyForSelectedGpu) {
  auto p = plan_for(h, "1", "utility");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_THAT(nodes(*p), ElementsAre("/dev/nvidiactl 195:255 0666 0:0", "/dev/nvidia0 195:0 0666 0:0",
                                     "/dev/nvidia-caps/nvidia-cap12 241:12 0444 0:0"));
  EXPECT_EQ(p->nodes.back().gpu_uuid, test::kMultiUuids[1]);
  EXPECT_EQ(p->nodes.back().role, "cap");

  auto other = plan_for(h, "0", "utility");
  ASSERT_TRUE(other) << other.error().message();
  EXPECT_THAT(nodes(*other), ElementsAre("/dev/nvidiactl 195:255 0666 0:0", "/dev/nvidia2 195:2 0666 0:0"));
}

TEST_F(DevicePlanMig, ConfigCapOnlyWhenRequested) {
  auto p = plan_for(h, "none", "utility", /*mig_config=*/true);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_THAT(nodes(*p), ElementsAre("/dev/nvidiactl 195:255 0666 0:0", "/dev/nvidia-caps/nvidia-cap1 241:1 0400 0:0"));
  EXPECT_THAT(rules(*p), ElementsAre("c 195:255 rw", "c 241:1 rw"));

  auto monitor_only = plan_for(h, "none", "utility", false, /*mig_monitor=*/true);
  ASSERT_TRUE(monitor_only) << monitor_only.error().message();
  EXPECT_THAT(nodes(*monitor_only), ElementsAre("/dev/nvidiactl 195:255 0666 0:0"));
}

TEST_F(DevicePlanMig, NoCapsMajorIsPending) {
  h.write("proc/devices", test::proc_devices({{195, "nvidia"}, {238, "nvidia-uvm"}}));
  auto p = plan_for(h, "1", "utility", true);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_THAT(nodes(*p),
              ElementsAre("/dev/nvidiactl 195:255 0666 0:0", "/dev/nvidia0 195:0 0666 0:0",
                          "/dev/nvidia-caps/nvidia-cap1 0:1 0400 0:0", "/dev/nvidia-caps/nvidia-cap12 0:12 0444 0:0"));
  EXPECT_THAT(p->nodes[2].pending, HasSubstr("no 'nvidia-caps' major"));
  EXPECT_THAT(p->nodes[3].pending, HasSubstr("no 'nvidia-caps' major"));
  EXPECT_THAT(rules(*p), ElementsAre("c 195:255 rw", "c 195:0 rw"));
}

TEST_F(DevicePlanMig, MonitorWantedButNotOfferedWarns) {
  auto p = plan_for(h, "none", "utility", false, /*mig_monitor=*/true);
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_EQ(p->warnings.size(), 1u);
  EXPECT_THAT(p->warnings[0], HasSubstr("NVIDIA_MIG_MONITOR_DEVICES is set but the driver offers no mig/monitor"));
}

TEST(DevicePlan, IsPure) {
  FixtureHost h;
  FixtureHost::multi_gpu(h);
  HostSnapshot s = h.discover();
  PlanRequest req{"all", "all", true, true};
  auto a = make_plan(s, req), b = make_plan(s, req);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(nodes(*a), nodes(*b));
  EXPECT_EQ(rules(*a), rules(*b));
}

}  // namespace
}  // namespace phx
