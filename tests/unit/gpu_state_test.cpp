#include "plan/gpu_state.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "plan/status_file.hpp"

namespace phx {
namespace {

TEST(GpuState, EveryStateHasOneNameThatParsesBack) {
  std::set<std::string> names;
  for (GpuState s : kAllGpuStates) {
    const std::string n(to_string(s));
    EXPECT_NE(n, "?");
    EXPECT_TRUE(names.insert(n).second) << n;
    EXPECT_EQ(parse_gpu_state(n), s) << n;
  }
  EXPECT_EQ(names.size(), 8u);
  EXPECT_FALSE(parse_gpu_state("Verified"));
  EXPECT_FALSE(parse_gpu_state("unknown"));
  EXPECT_FALSE(parse_gpu_state(""));
}

TEST(GpuState, OnlyTheWorkersRunIsNotFinal) {
  for (GpuState s : kAllGpuStates) {
    const bool running = s == GpuState::Starting || s == GpuState::Waiting || s == GpuState::Verifying;
    EXPECT_EQ(is_final(s), !running) << to_string(s);
  }
}

TEST(DriverState, EveryStateHasOneNameThatParsesBack) {
  std::set<std::string> names;
  for (DriverState s : kAllDriverStates) {
    const std::string n(to_string(s));
    EXPECT_NE(n, "?");
    EXPECT_TRUE(names.insert(n).second) << n;
    EXPECT_EQ(parse_driver_state(n), s) << n;
  }
  // The names the driver stage wrote as strings before they were a set.
  for (const char* n : {"pending", "current", "mismatch", "installing", "installed", "busy", "no-installer", "timeout",
                        "failed", "skipped"}) {
    EXPECT_TRUE(parse_driver_state(n)) << n;
  }
  EXPECT_FALSE(parse_driver_state("off"));
  EXPECT_TRUE(driver_matches(DriverState::Current));
  EXPECT_TRUE(driver_matches(DriverState::Installed));
  EXPECT_FALSE(driver_matches(DriverState::Mismatch));
  EXPECT_FALSE(driver_matches(DriverState::Pending));
}

TEST(NodeResult, EveryResultHasOneNameThatParsesBack) {
  std::set<std::string> names;
  for (NodeResult r : kAllNodeResults) {
    const std::string n(to_string(r));
    EXPECT_NE(n, "?");
    EXPECT_TRUE(names.insert(n).second) << n;
    EXPECT_EQ(parse_node_result(n), r) << n;
  }
  // The names status.json carried while they were strings: files written
  // by an older worker still read.
  for (const char* n :
       {"ok", "no-driver", "denied", "missing", "wrong-type", "wrong-rdev", "error", "pending", "host-changed"}) {
    EXPECT_TRUE(parse_node_result(n)) << n;
  }
  EXPECT_FALSE(parse_node_result("fine"));
}

TEST(NodeResult, StatusFileRefusesAResultOutsideTheSet) {
  GpuStatus s;
  s.container = "ct";
  s.state = GpuState::Timeout;
  s.nodes.push_back(NodeCheck{"/dev/nvidia0", NodeResult::Denied, EPERM, "Operation not permitted", false});
  std::string text = status_to_json(s, false);
  EXPECT_NE(text.find("\"result\":\"denied\""), std::string::npos) << text;
  auto back = status_from_json(text, "status.json");
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_EQ(back->nodes.size(), 1u);
  EXPECT_EQ(back->nodes[0].result, NodeResult::Denied);

  std::string bad = text;
  bad.replace(bad.find("\"denied\""), 8, "\"fine\"");
  auto r = status_from_json(bad, "status.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unknown node result 'fine'"), std::string::npos) << r.error().message();
}

TEST(GpuState, StatusFileRefusesAStateOutsideTheSet) {
  GpuStatus s;
  s.container = "ct";
  s.state = GpuState::NoPlan;
  s.message = "no GPU plan: no GPU 7";
  std::string text = status_to_json(s, false);
  auto back = status_from_json(text, "status.json");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->state, GpuState::NoPlan);
  EXPECT_NE(text.find("\"state\":\"no-plan\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"version\":2"), std::string::npos) << text;

  std::string bad = text;
  bad.replace(bad.find("\"no-plan\""), 9, "\"ready\"");
  auto r = status_from_json(bad, "status.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unknown state 'ready'"), std::string::npos) << r.error().message();

  bad = text;
  bad.replace(bad.find("\"state\":\"pending\""), 17, "\"state\":\"off\"");
  r = status_from_json(bad, "status.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unknown driver state 'off'"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace phx
