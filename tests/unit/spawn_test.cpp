#include "base/spawn.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

namespace phx {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t0) { return std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count(); }

// A child of this test that still runs the test binary for `delay_ms`, then
// execs `sleep` (as LXC's child execs init after the start-host hook).
pid_t fork_then_exec(int delay_ms) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::usleep(static_cast<useconds_t>(delay_ms) * 1000);
    ::execl("/bin/sleep", "sleep", "5", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

void reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

TEST(WaitExecOrExit, ReturnsSoonAfterTheExec) {
  pid_t pid = fork_then_exec(150);
  ASSERT_GT(pid, 0);
  auto t0 = Clock::now();
  EXPECT_EQ(wait_exec_or_exit(pid, milliseconds(5000)), ExecWait::Exec);
  auto took = ms_since(t0);
  EXPECT_GE(took, 100);   // it did wait for the exec
  EXPECT_LT(took, 3000);  // and did not run into the limit
  reap(pid);
}

TEST(WaitExecOrExit, ReturnsWhenTheProcessExits) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::usleep(100 * 1000);
    ::_exit(0);
  }
  ASSERT_GT(pid, 0);
  auto t0 = Clock::now();
  // Not reaped yet: a zombie has no exe; either way the wait ends.
  EXPECT_EQ(wait_exec_or_exit(pid, milliseconds(5000)), ExecWait::Exit);
  EXPECT_LT(ms_since(t0), 3000);
  ::waitpid(pid, nullptr, 0);
}

TEST(WaitExecOrExit, DoesNotWaitForAProcessThatAlreadyRunsItsOwnProgram) {
  pid_t pid = fork_then_exec(0);
  ASSERT_GT(pid, 0);
  // Let the exec happen first.
  for (int i = 0; i < 400; ++i) {
    char buf[256];
    auto n = ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf);
    if (n > 0 && std::string(buf, static_cast<size_t>(n)).find("sleep") != std::string::npos) break;
    ::usleep(5000);
  }
  auto t0 = Clock::now();
  EXPECT_EQ(wait_exec_or_exit(pid, milliseconds(2000)), ExecWait::NotWaited);
  EXPECT_LT(ms_since(t0), 500);
  reap(pid);
}

TEST(WaitExecOrExit, GivesUpAtTheLimit) {
  pid_t pid = fork_then_exec(10'000);
  ASSERT_GT(pid, 0);
  auto t0 = Clock::now();
  EXPECT_EQ(wait_exec_or_exit(pid, milliseconds(200)), ExecWait::Timeout);
  auto took = ms_since(t0);
  EXPECT_GE(took, 190);
  EXPECT_LT(took, 2000);
  reap(pid);
}

TEST(WaitExecOrExit, NoSuchProcess) {
  EXPECT_EQ(wait_exec_or_exit(0x3ffffff, milliseconds(1000)), ExecWait::Exit);
  EXPECT_EQ(wait_exec_or_exit(0, milliseconds(1000)), ExecWait::NotWaited);
}

}  // namespace
}  // namespace phx
