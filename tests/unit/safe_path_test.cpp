#include "fs/safe_path.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture_host.hpp"

namespace phx {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;

// Every test runs twice: with openat2 and with the forced per-component walk.
class SafePath : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    set_force_openat_fallback(GetParam());
    if (!GetParam() && !openat2_available()) GTEST_SKIP() << "kernel without openat2";
    d.write("root/a/b/file", "content");
    d.mkdir("outside");
    d.write("outside/file", "secret");
    d.symlink("b", "root/a/link-dir");  // relative, stays inside
    d.symlink("file", "root/a/b/link-file");
    d.symlink(d.path("outside"), "root/escape");  // absolute, leaves the root
    root.reset(::open(d.path("root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root);
  }
  void TearDown() override { set_force_openat_fallback(false); }

  std::string read_all(int fd) {
    std::string out;
    char buf[256];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

  test::TempDir d;
  UniqueFd root;
};

TEST_P(SafePath, UsesTheRequestedPath) { EXPECT_EQ(openat2_available(), !GetParam()); }

TEST_P(SafePath, OpensPlainPath) {
  auto fd = open_beneath(root.get(), "a/b/file", O_RDONLY);
  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_EQ(read_all(fd->get()), "content");
}

TEST_P(SafePath, SymlinkInTheMiddleIsEloop) {
  auto fd = open_beneath(root.get(), "a/link-dir/file", O_RDONLY);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().err, ELOOP);
  EXPECT_EQ(fd.error().path, "a/link-dir/file");
}

TEST_P(SafePath, SymlinkAtTheEndIsEloop) {
  auto fd = open_beneath(root.get(), "a/b/link-file", O_RDONLY);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().err, ELOOP);
}

TEST_P(SafePath, SymlinkAtTheEndWithOPathIsEloop) {
  auto fd = open_beneath(root.get(), "a/b/link-file", O_PATH);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().err, ELOOP);
}

TEST_P(SafePath, AbsoluteSymlinkDoesNotEscape) {
  auto fd = open_beneath(root.get(), "escape/file", O_RDONLY);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().err, ELOOP);
}

TEST_P(SafePath, DotDotAndAbsoluteAreEinval) {
  for (const char* bad : {"..", "a/../a/b/file", "a/b/..", "/etc/passwd", "", "a//b", "./a", "a/b/"}) {
    auto fd = open_beneath(root.get(), bad, O_RDONLY);
    ASSERT_FALSE(fd) << bad;
    EXPECT_EQ(fd.error().err, EINVAL) << bad;
  }
}

TEST_P(SafePath, MissingIsEnoent) {
  auto fd = open_beneath(root.get(), "a/nope", O_RDONLY);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().err, ENOENT);
}

TEST_P(SafePath, MakeDirsCreatesNested) {
  auto fd = make_dirs_beneath(root.get(), "x/y/z", 0755);
  ASSERT_TRUE(fd) << fd.error().message();
  struct stat st {};
  ASSERT_EQ(::fstat(fd->get(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  struct stat want {};
  ASSERT_EQ(::stat(d.path("root/x/y/z").c_str(), &want), 0);
  EXPECT_EQ(st.st_ino, want.st_ino);
  // Existing directories are fine.
  EXPECT_TRUE(make_dirs_beneath(root.get(), "x/y", 0755));
  EXPECT_TRUE(make_dirs_beneath(root.get(), "a/b/c", 0755));
}

TEST_P(SafePath, MakeDirsRefusesSymlinkedComponent) {
  auto fd = make_dirs_beneath(root.get(), "escape/sub/dir", 0755);
  ASSERT_FALSE(fd);
  EXPECT_THAT(fd.error().err, AnyOf(ELOOP, ENOTDIR));
  EXPECT_EQ(fd.error().path, "escape");
  EXPECT_THAT(d.list("outside"), ElementsAre("file"));  // nothing created outside

  auto inside = make_dirs_beneath(root.get(), "a/link-dir/new", 0755);
  ASSERT_FALSE(inside);
  EXPECT_FALSE(d.exists("root/a/b/new"));
}

TEST_P(SafePath, MakeDirsRejectsDotDot) {
  auto fd = make_dirs_beneath(root.get(), "x/../../outside/new", 0755);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().err, EINVAL);
  EXPECT_FALSE(d.exists("x"));
  EXPECT_FALSE(d.exists("outside/new"));
}

TEST_P(SafePath, MakeDirsOverAFileIsAnError) {
  auto fd = make_dirs_beneath(root.get(), "a/b/file/sub", 0755);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().err, ENOTDIR);
}

INSTANTIATE_TEST_SUITE_P(Resolution, SafePath, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "ForcedFallback" : "Openat2"; });

}  // namespace
}  // namespace phx
