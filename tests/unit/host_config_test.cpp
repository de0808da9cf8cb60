#include "cli/host_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "fixture_host.hpp"

namespace phx::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Points PHOENIX_GPU_CONFIG at a file for one test.
class ConfigAt {
 public:
  explicit ConfigAt(const std::string& path) { ::setenv("PHOENIX_GPU_CONFIG", path.c_str(), 1); }
  ~ConfigAt() { ::unsetenv("PHOENIX_GPU_CONFIG"); }
};

TEST(HostConfigOrDefaults, ReadsTheFile) {
  test::TempDir d;
  d.write("config.toml", "[log]\nlevel = \"debug\"\n");
  ConfigAt at(d.path("config.toml"));
  testing::internal::CaptureStderr();
  EXPECT_EQ(host_config_or_defaults(BrokenConfig::Warn).log_level, "debug");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(HostConfigOrDefaults, BrokenFileWarnsAndGivesDefaults) {
  test::TempDir d;
  d.write("config.toml", "[log\nlevel = \"debug\"\n");
  ConfigAt at(d.path("config.toml"));
  testing::internal::CaptureStderr();
  EXPECT_EQ(host_config_or_defaults(BrokenConfig::Warn).log_level, HostConfig{}.log_level);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, StartsWith("warning: "));
  EXPECT_THAT(err, HasSubstr(d.path("config.toml")));
  EXPECT_THAT(err, HasSubstr("; using the built-in defaults\n"));
}

TEST(HostConfigOrDefaults, BrokenFileQuietGivesDefaults) {
  test::TempDir d;
  d.write("config.toml", "[state\ndir = \"/x\"\n");
  ConfigAt at(d.path("config.toml"));
  testing::internal::CaptureStderr();
  EXPECT_EQ(host_config_or_defaults(BrokenConfig::Quiet).state_dir, HostConfig{}.state_dir);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace phx::cli
