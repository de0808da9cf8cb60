#include "base/file_write.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/unique_fd.hpp"
#include "fixture_host.hpp"

namespace phx {
namespace {

using test::TempDir;
using ::testing::HasSubstr;

TEST(WriteExistingFile, WritesButNeverCreates) {
  TempDir t;
  t.write("f", "old-old");
  ASSERT_TRUE(write_existing_file(t.path("f"), "new", O_TRUNC));
  EXPECT_EQ(t.read("f"), "new");
  auto ok = write_existing_file(t.path("absent"), "x");
  ASSERT_FALSE(ok);
  EXPECT_THAT(ok.error().message(), HasSubstr(t.path("absent")));
  EXPECT_NE(::access(t.path("absent").c_str(), F_OK), 0);
}

TEST(WriteExistingFile, RefusesASymlink) {
  // A container's root could plant one where we write a report.
  TempDir t;
  t.write("target", "keep");
  ASSERT_EQ(::symlink(t.path("target").c_str(), t.path("link").c_str()), 0);
  EXPECT_FALSE(write_existing_file(t.path("link"), "x"));
  EXPECT_EQ(t.read("target"), "keep");
}

TEST(WriteAll, MoreThanAPipeHoldsAtOnce) {
  // 1 MiB through a pipe read by a child: the writer sees short writes.
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  const std::string data(1 << 20, 'x');
  const pid_t child = ::fork();
  if (child == 0) {
    wr.reset();
    char buf[4096];
    std::size_t got = 0;
    for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) > 0;) got += static_cast<std::size_t>(n);
    ::_exit(got == (1u << 20) ? 0 : 1);
  }
  rd.reset();
  ASSERT_TRUE(write_all(wr.get(), data, "pipe"));
  wr.reset();
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(WriteAll, ErrorNamesTheTargetAndErrno) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  rd.reset();  // no reader: EPIPE (SIGPIPE ignored for the test)
  auto old = ::signal(SIGPIPE, SIG_IGN);
  auto ok = write_all(wr.get(), "x", "the test pipe");
  ::signal(SIGPIPE, old);
  ASSERT_FALSE(ok);
  EXPECT_THAT(ok.error().message(), HasSubstr("the test pipe"));
  EXPECT_EQ(ok.error().err, EPIPE);
}

}  // namespace
}  // namespace phx
