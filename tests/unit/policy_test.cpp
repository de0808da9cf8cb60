#include "plan/policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace phx {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Policy, NoGpuKeys) {
  ContainerPolicy p = parse_policy("TZ=UTC\nHOME=/root\n", HostConfig{});
  EXPECT_FALSE(p.has_gpu_policy);
  EXPECT_EQ(p.visible_devices, "");
  EXPECT_FALSE(p.required);
  EXPECT_FALSE(p.verify_timeout);
  EXPECT_FALSE(p.driver_install);
  EXPECT_FALSE(p.create_nodes);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(Policy, ItemsAreNewlineSeparatedAndLaterWins) {
  ContainerPolicy p = parse_policy(
      "NVIDIA_VISIBLE_DEVICES=all\nNVIDIA_DRIVER_CAPABILITIES=utility\n  NVIDIA_VISIBLE_DEVICES=0,1  \n"
      "NVIDIA_MIG_CONFIG_DEVICES=all\nNVIDIA_MIG_MONITOR_DEVICES=\nPASSED_FROM_HOST\n=x\n",
      HostConfig{});
  EXPECT_TRUE(p.has_gpu_policy);
  EXPECT_EQ(p.visible_devices, "0,1");
  EXPECT_EQ(p.capabilities, "utility");
  EXPECT_TRUE(p.mig_config);
  EXPECT_FALSE(p.mig_monitor);
  EXPECT_TRUE(p.warnings.empty());
  PlanRequest r = p.plan_request();
  EXPECT_EQ(r.visible_devices, "0,1");
  EXPECT_EQ(r.driver_capabilities, "utility");
  EXPECT_TRUE(r.mig_config);
  EXPECT_FALSE(r.mig_monitor);
}

TEST(Policy, ValueKeepsEqualsSigns) {
  ContainerPolicy p = parse_policy("NVIDIA_DRIVER_CAPABILITIES=a=b\n", HostConfig{});
  EXPECT_EQ(p.capabilities, "a=b");
}

TEST(Policy, HostDefaultsWhenUnset) {
  HostConfig cfg;
  cfg.visible_devices = "all";
  cfg.capabilities = "compute,utility,video";
  ContainerPolicy p = parse_policy("TZ=UTC\n", cfg);
  EXPECT_FALSE(p.has_gpu_policy);
  EXPECT_EQ(p.visible_devices, "all");
  EXPECT_EQ(p.capabilities, "compute,utility,video");

  ContainerPolicy own = parse_policy("NVIDIA_VISIBLE_DEVICES=void\nNVIDIA_DRIVER_CAPABILITIES=utility\n", cfg);
  EXPECT_EQ(own.visible_devices, "void");
  EXPECT_EQ(own.capabilities, "utility");
}

TEST(Policy, PhoenixSettings) {
  ContainerPolicy p = parse_policy(
      "PHOENIX_GPU_REQUIRED=1\nPHOENIX_GPU_VERIFY_TIMEOUT=90s\nPHOENIX_GPU_DRIVER_INSTALL=runfile\n"
      "PHOENIX_GPU_CREATE_NODES=0\n",
      HostConfig{});
  EXPECT_TRUE(p.required);
  EXPECT_EQ(p.verify_timeout, milliseconds(90'000));
  EXPECT_EQ(p.driver_install, "runfile");
  EXPECT_EQ(p.create_nodes, false);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(Policy, FlagSpellings) {
  for (const char* yes : {"1", "true", "YES", " yes "}) {
    EXPECT_TRUE(parse_policy(std::string("PHOENIX_GPU_REQUIRED=") + yes, HostConfig{}).required) << yes;
    EXPECT_EQ(parse_policy(std::string("PHOENIX_GPU_CREATE_NODES=") + yes, HostConfig{}).create_nodes, true) << yes;
  }
  for (const char* no : {"0", "false", "No", ""}) {
    EXPECT_FALSE(parse_policy(std::string("PHOENIX_GPU_REQUIRED=") + no, HostConfig{}).required) << no;
  }
  EXPECT_EQ(parse_policy("PHOENIX_GPU_VERIFY_TIMEOUT=500ms", HostConfig{}).verify_timeout, milliseconds(500));
  EXPECT_EQ(parse_policy("PHOENIX_GPU_VERIFY_TIMEOUT=45", HostConfig{}).verify_timeout, milliseconds(45'000));
}

TEST(Policy, BadValuesAreWarnings) {
  ContainerPolicy p = parse_policy(
      "PHOENIX_GPU_REQUIRED=maybe\nPHOENIX_GPU_VERIFY_TIMEOUT=soon\nPHOENIX_GPU_DRIVER_INSTALL=apt\n"
      "PHOENIX_GPU_CREATE_NODES=2\n",
      HostConfig{});
  EXPECT_FALSE(p.required);
  EXPECT_FALSE(p.verify_timeout);
  EXPECT_FALSE(p.driver_install);
  EXPECT_FALSE(p.create_nodes);
  // Keys come out in name order.
  EXPECT_THAT(p.warnings,
              ElementsAre(HasSubstr("PHOENIX_GPU_CREATE_NODES='2' is not 0 or 1"),
                          HasSubstr("PHOENIX_GPU_DRIVER_INSTALL='apt' is not bind, runfile, command or none"),
                          HasSubstr("PHOENIX_GPU_REQUIRED='maybe' is not 0 or 1"),
                          HasSubstr("PHOENIX_GPU_VERIFY_TIMEOUT='soon' is not a duration")));
}

TEST(Policy, DriverInstallBind) {
  ContainerPolicy p = parse_policy("PHOENIX_GPU_DRIVER_INSTALL=bind\n", HostConfig{});
  EXPECT_EQ(p.driver_install, "bind");
  EXPECT_TRUE(p.warnings.empty());
}

// 1440000m passed a cap that was checked before the unit was applied, and
// was 1000 days once scaled.
TEST(Policy, VerifyTimeoutCappedAfterScaling) {
  EXPECT_EQ(parse_policy("PHOENIX_GPU_VERIFY_TIMEOUT=1440m", HostConfig{}).verify_timeout, milliseconds(86'400'000));
  for (const char* v : {"1440000m", "86400000m", "86401"}) {
    ContainerPolicy p = parse_policy(std::string("PHOENIX_GPU_VERIFY_TIMEOUT=") + v, HostConfig{});
    EXPECT_FALSE(p.verify_timeout) << v;
    EXPECT_THAT(p.warnings, ElementsAre(HasSubstr("is not a duration"))) << v;
  }
}

TEST(Policy, UnknownPhoenixKeyWarns) {
  ContainerPolicy p = parse_policy("PHOENIX_GPU_REQUIRE=1\nPHOENIX_OTHER=1\n", HostConfig{});
  EXPECT_FALSE(p.required);
  EXPECT_THAT(p.warnings, ElementsAre("unknown setting PHOENIX_GPU_REQUIRE ignored"));
}

}  // namespace
}  // namespace phx

namespace phx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// LXC 7's three environment keys (policy.hpp): NVIDIA_* from all three,
// PHOENIX_GPU_* from lxc.environment and .hooks; .hooks > .runtime >
// lxc.environment when a variable is in several.
TEST(PolicyKeys, GpuRequestInRuntimeAlone) {
  ContainerPolicy p = parse_policy(
      EnvironmentKeys{"", "PATH=/usr/bin\nNVIDIA_VISIBLE_DEVICES=all\nNVIDIA_DRIVER_CAPABILITIES=compute,utility\n",
                      ""},
      HostConfig{});
  EXPECT_TRUE(p.has_gpu_policy);
  EXPECT_EQ(p.visible_devices, "all");
  EXPECT_EQ(p.visible_devices_key, "lxc.environment.runtime");
  EXPECT_EQ(p.capabilities, "compute,utility");
  EXPECT_TRUE(p.warnings.empty());
  EXPECT_EQ(p.nvidia_items, "NVIDIA_DRIVER_CAPABILITIES=compute,utility\nNVIDIA_VISIBLE_DEVICES=all\n");
}

TEST(PolicyKeys, NvidiaPrecedenceHooksOverRuntimeOverEnvironment) {
  const std::string env =
      "NVIDIA_VISIBLE_DEVICES=0\nNVIDIA_DRIVER_CAPABILITIES=utility\nNVIDIA_REQUIRE_CUDA=cuda>=11\n";
  const std::string rt = "NVIDIA_VISIBLE_DEVICES=1\nNVIDIA_DRIVER_CAPABILITIES=compute\n";
  const std::string hk = "NVIDIA_VISIBLE_DEVICES=2\n";
  ContainerPolicy all = parse_policy(EnvironmentKeys{env, rt, hk}, HostConfig{});
  EXPECT_EQ(all.visible_devices, "2");
  EXPECT_EQ(all.visible_devices_key, "lxc.environment.hooks");
  EXPECT_EQ(all.capabilities, "compute");
  EXPECT_THAT(all.nvidia_items, HasSubstr("NVIDIA_REQUIRE_CUDA=cuda>=11\n"));
  ContainerPolicy two = parse_policy(EnvironmentKeys{env, rt, ""}, HostConfig{});
  EXPECT_EQ(two.visible_devices, "1");
  EXPECT_EQ(two.visible_devices_key, "lxc.environment.runtime");
  ContainerPolicy one = parse_policy(EnvironmentKeys{env, "", ""}, HostConfig{});
  EXPECT_EQ(one.visible_devices, "0");
  EXPECT_EQ(one.visible_devices_key, "lxc.environment");
  // The hooks' key alone, kept out of the container's processes.
  ContainerPolicy hooks = parse_policy(EnvironmentKeys{"", "", "NVIDIA_VISIBLE_DEVICES=all\n"}, HostConfig{});
  EXPECT_EQ(hooks.visible_devices, "all");
  // Within one key the later item wins, across keys the order above.
  ContainerPolicy later = parse_policy(
      EnvironmentKeys{"NVIDIA_VISIBLE_DEVICES=0\n", "NVIDIA_VISIBLE_DEVICES=1\nNVIDIA_VISIBLE_DEVICES=void\n", ""},
      HostConfig{});
  EXPECT_EQ(later.visible_devices, "void");
}

TEST(PolicyKeys, PhoenixSettingsInRuntimeAreIgnoredWithAWarning) {
  ContainerPolicy p = parse_policy(
      EnvironmentKeys{"PHOENIX_GPU_VERIFY_TIMEOUT=30\n",
                      "NVIDIA_VISIBLE_DEVICES=all\nPHOENIX_GPU_REQUIRED=1\nPHOENIX_GPU_DRIVER_INSTALL=runfile\n"
                      "PHOENIX_GPU_REQUIRED=1\nPHOENIX_GPU_VERIFY_TIMEOUT=5\n",
                      ""},
      HostConfig{});
  EXPECT_TRUE(p.has_gpu_policy);
  EXPECT_FALSE(p.required);
  EXPECT_FALSE(p.driver_install);
  ASSERT_TRUE(p.verify_timeout);
  EXPECT_EQ(*p.verify_timeout, milliseconds(30000));
  // One warning per variable, naming it and where to put it instead.
  EXPECT_THAT(p.warnings, ElementsAre(HasSubstr("PHOENIX_GPU_REQUIRED in lxc.environment.runtime is ignored"),
                                      HasSubstr("PHOENIX_GPU_DRIVER_INSTALL in lxc.environment.runtime is ignored"),
                                      HasSubstr("PHOENIX_GPU_VERIFY_TIMEOUT in lxc.environment.runtime is ignored")));
  EXPECT_THAT(p.warnings[0], HasSubstr("lxc.environment.hooks"));
}

TEST(PolicyKeys, PhoenixSettingsFromHooksOverEnvironment) {
  ContainerPolicy p = parse_policy(
      EnvironmentKeys{"NVIDIA_VISIBLE_DEVICES=all\nPHOENIX_GPU_REQUIRED=0\nPHOENIX_GPU_VERIFY_TIMEOUT=30\n", "",
                      "PHOENIX_GPU_REQUIRED=1\nPHOENIX_GPU_CREATE_NODES=0\n"},
      HostConfig{});
  EXPECT_TRUE(p.required);
  ASSERT_TRUE(p.create_nodes);
  EXPECT_FALSE(*p.create_nodes);
  ASSERT_TRUE(p.verify_timeout);
  EXPECT_EQ(*p.verify_timeout, milliseconds(30000));
  EXPECT_TRUE(p.warnings.empty());
  // Not NVIDIA_* nor PHOENIX_GPU_*: no part of the policy, from any key.
  EXPECT_EQ(p.nvidia_items, "NVIDIA_VISIBLE_DEVICES=all\n");
}

TEST(PolicyKeys, TheOldEntryPointReadsLxcEnvironmentAlone) {
  ContainerPolicy p = parse_policy("NVIDIA_VISIBLE_DEVICES=all\nPHOENIX_GPU_REQUIRED=1\n", HostConfig{});
  EXPECT_TRUE(p.required);
  EXPECT_EQ(p.visible_devices_key, "lxc.environment");
}

}  // namespace
}  // namespace phx
