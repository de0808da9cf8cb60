#include "base/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "base/text.hpp"

namespace phx {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

TEST(Process, CapturesOutputAndExitCode) {
  auto r = run_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, milliseconds(5000));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->signal, 0);
  EXPECT_FALSE(r->timed_out);
  EXPECT_FALSE(r->output_truncated);
  EXPECT_THAT(r->output, HasSubstr("out\n"));
  EXPECT_THAT(r->output, HasSubstr("err\n"));
}

TEST(Process, PassesArgumentsVerbatim) {
  auto r = run_process({"/bin/echo", "a b", "$HOME", ";"}, milliseconds(5000));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->output, "a b $HOME ;\n");
}

TEST(Process, StdinIsDevNull) {
  auto r = run_process({"/bin/cat"}, milliseconds(5000));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->output, "");
}

TEST(Process, TimeoutKills) {
  auto r = run_process({"/bin/sleep", "10"}, milliseconds(200));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_GE(r->duration, milliseconds(190));  // the deadline is checked in whole milliseconds
  EXPECT_LT(r->duration, milliseconds(2000));
}

// True once pid is gone or a zombie, within a second.
bool dies(pid_t pid) {
  for (int i = 0; i < 100; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    auto close = line.rfind(')');
    if (close != std::string::npos && line.compare(close + 1, 3, " Z ") == 0) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

TEST(Process, TimeoutKillsTheWholeGroup) {
  // A grandchild in the background must not outlive the timeout.
  auto r = run_process({"/bin/sh", "-c", "/bin/sleep 10 & echo $!; wait"}, milliseconds(300));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(r->duration, milliseconds(2000));
  auto pid = parse_int(trim(r->output));
  ASSERT_TRUE(pid) << r->output;
  EXPECT_TRUE(dies(static_cast<pid_t>(*pid)));
}

TEST(Process, OutputTruncatedAtLimit) {
  auto r = run_process({"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"}, milliseconds(5000), 1000);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_TRUE(r->output_truncated);
  EXPECT_EQ(r->output, std::string(1000, 'x'));
}

TEST(Process, OutputAtExactlyTheLimitIsNotTruncated) {
  auto r = run_process({"/bin/sh", "-c", "printf 12345"}, milliseconds(5000), 5);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->output_truncated);
  EXPECT_EQ(r->output, "12345");
}

TEST(Process, RelativeProgramIsAnError) {
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"sleep", "1"}, {"./sleep"}, {""}, std::vector<std::string>{}}) {
    auto r = run_process(argv, milliseconds(1000));
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message(), HasSubstr("program path must be absolute"));
  }
}

TEST(Process, MissingProgramExits127) {
  auto r = run_process({"/nonexistent/program"}, milliseconds(5000));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, 127);
}

}  // namespace
}  // namespace phx
