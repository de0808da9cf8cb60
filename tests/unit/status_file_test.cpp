#include "plan/status_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace phx {
namespace {

using ::testing::HasSubstr;

GpuStatus sample() {
  GpuStatus s;
  s.container = "ct";
  s.lxcpath = "/var/lib/lxc";
  s.state = GpuState::Verified;
  s.worker_pid = 4242;
  s.started_unix_ms = 1'790'000'000'000;
  s.ms_to_verified = 7;
  NodeCheck c;
  c.path = "/dev/nvidia0";
  c.result = NodeResult::Ok;
  c.detail = "c 195:0";
  s.nodes.push_back(c);
  s.driver.exit_code = -1;
  return s;
}

// The sample's JSON with one field's value replaced by `value` (as JSON text).
std::string with_field(const std::string& key, const std::string& value) {
  std::string text = status_to_json(sample(), false);
  auto at = text.find("\"" + key + "\":");
  EXPECT_NE(at, std::string::npos) << key;
  auto from = at + key.size() + 3;
  auto to = text.find_first_of(",}", from);
  return text.substr(0, from) + value + text.substr(to);
}

TEST(StatusFile, RoundTrip) {
  auto back = status_from_json(status_to_json(sample()), "status.json");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->worker_pid, 4242);
  EXPECT_EQ(back->started_unix_ms, 1'790'000'000'000);
  EXPECT_EQ(back->ms_to_verified, 7);
  EXPECT_EQ(back->driver.exit_code, -1);
  ASSERT_EQ(back->nodes.size(), 1u);
  EXPECT_EQ(back->nodes[0].detail, "c 195:0");
}

TEST(StatusFile, IntegerFieldsMustBeIntegersInRange) {
  // A float out of every integer's range (converting it was undefined behaviour), a float
  // in range, a value past int, a negative past long long, a boolean, a string.
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"worker_pid", "1.79568e+22"},
                                                        {"worker_pid", "12.5"},
                                                        {"worker_pid", "4294967296"},
                                                        {"started_unix_ms", "-9223372036854775809"},
                                                        {"ms_to_verified", "1e300"},
                                                        {"exit_code", "true"},
                                                        {"duration_ms", "\"5\""},
                                                        {"version", "1.0"}}) {
    auto r = status_from_json(with_field(key, value), "status.json");
    ASSERT_FALSE(r) << key << " = " << value;
    EXPECT_THAT(r.error().message(), HasSubstr("status.json")) << key;
  }
  auto r = status_from_json(with_field("worker_pid", "1.79568e+22"), "status.json");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("field 'worker_pid' is not an integer"));
  r = status_from_json(with_field("worker_pid", "4294967296"), "status.json");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("field 'worker_pid' is out of range"));
}

}  // namespace
}  // namespace phx
