#include "stages/driver_stage.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace phx {
namespace {

using ::testing::HasSubstr;

constexpr const char* kHost = "580.159.04";

TEST(DriverDecision, MatchingDriverIsCurrentWhateverTheStrategy) {
  for (const char* strategy : {"none", "runfile", "command"}) {
    std::string what;
    auto o = outcome_before_install({kHost}, strategy, kHost, &what);
    ASSERT_TRUE(o) << strategy;
    EXPECT_EQ(o->state, DriverState::Current) << strategy;
    EXPECT_FALSE(o->warn);
  }
}

TEST(DriverDecision, MismatchUnderNoneIsReportedWithTheFix) {
  std::string what;
  auto o = outcome_before_install({"550.54.15"}, "none", kHost, &what);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->state, DriverState::Mismatch);
  EXPECT_TRUE(o->warn);
  EXPECT_THAT(o->message, HasSubstr("550.54.15 does not match the host's 580.159.04"));
  EXPECT_THAT(o->message, HasSubstr("PHOENIX_GPU_DRIVER_INSTALL"));
}

TEST(DriverDecision, InstallIsDueForAMismatchOrNothingUnderRunfileAndCommand) {
  for (const char* strategy : {"runfile", "command"}) {
    std::string what;
    EXPECT_FALSE(outcome_before_install({}, strategy, kHost, &what)) << strategy;
    EXPECT_EQ(what, "no NVIDIA userspace driver in the container");
    // Two versions side by side (an old one left behind) also get the install.
    EXPECT_FALSE(outcome_before_install({kHost, "550.54.15"}, strategy, kHost, &what)) << strategy;
    EXPECT_THAT(what, HasSubstr("does not match"));
  }
}

TEST(DriverDecision, BindNeedsTheHostsFilesVisibleInside) {
  std::string what;
  auto o = outcome_before_install({}, "bind", kHost, &what);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->state, DriverState::Failed);
  EXPECT_THAT(o->message, HasSubstr("not visible in the container"));

  o = outcome_before_install({kHost}, "bind", kHost, &what);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->state, DriverState::Current);
  EXPECT_FALSE(o->warn);

  // The container's own older copy beside the bound one: current, warned.
  o = outcome_before_install({kHost, "550.54.15"}, "bind", kHost, &what);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->state, DriverState::Current);
  EXPECT_TRUE(o->warn);
  EXPECT_THAT(o->message, HasSubstr("also holds"));
}

TEST(DriverInstallOutcome, TimeoutNamesTheCommandToRunByHand) {
  AttachRun run;
  run.timed_out = true;
  run.signal = 9;
  auto o = outcome_of_install(run, std::set<std::string>{}, kHost, Millis(600'000), "ct1");
  EXPECT_EQ(o.state, DriverState::Timeout);
  EXPECT_THAT(o.message, HasSubstr("600 s"));
  EXPECT_THAT(o.message, HasSubstr("phoenix-gpu install-driver ct1"));
}

TEST(DriverInstallOutcome, ExitOrSignalIsAFailure) {
  AttachRun run;
  run.exit_code = 1;
  run.duration_ms = 1234;
  auto o = outcome_of_install(run, std::set<std::string>{}, kHost, Millis(1000), "ct1");
  EXPECT_EQ(o.state, DriverState::Failed);
  EXPECT_THAT(o.message, HasSubstr("exited with 1 after 1234 ms"));
  run.exit_code = -1;
  run.signal = 15;
  o = outcome_of_install(run, std::set<std::string>{}, kHost, Millis(1000), "ct1");
  EXPECT_THAT(o.message, HasSubstr("signal 15"));
}

TEST(DriverInstallOutcome, ExitZeroCountsOnlyWithTheHostsLibrariesAfter) {
  AttachRun run;
  run.exit_code = 0;
  run.duration_ms = 42;
  auto o = outcome_of_install(run, std::set<std::string>{"550.54.15"}, kHost, Millis(1000), "ct1");
  EXPECT_EQ(o.state, DriverState::Failed);
  EXPECT_THAT(o.message, HasSubstr("no 580.159.04 libraries appeared"));
  o = outcome_of_install(run, Error{"find driver libraries", "ct1", 0, "lookup failed"}, kHost, Millis(1000), "ct1");
  EXPECT_EQ(o.state, DriverState::Failed);
  o = outcome_of_install(run, std::set<std::string>{kHost}, kHost, Millis(1000), "ct1");
  EXPECT_EQ(o.state, DriverState::Installed);
  EXPECT_FALSE(o.warn);
  EXPECT_THAT(o.message, HasSubstr("in 42 ms"));
}

}  // namespace
}  // namespace phx
