#include "policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace phx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using std::chrono::milliseconds;

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
