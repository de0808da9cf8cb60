#include "stages/verify.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "fixture_host.hpp"

namespace phx {
namespace {

using test::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

PlannedNode node(const std::string& path, int major, int minor, mode_t mode = 0666) {
  PlannedNode n;
  n.host_path = path;
  n.container_path = path;
  n.major = major;
  n.minor = minor;
  n.mode = mode;
  return n;
}

// check_node runs on whatever filesystem view the caller has: here the
// test's own, with /dev/null (c 1:3) standing for a node that opens.
TEST(CheckNode, CharDeviceWithThePlannedRdevThatOpensIsOk) {
  auto c = check_node(node("/dev/null", 1, 3));
  EXPECT_EQ(c.result, NodeResult::Ok);
  EXPECT_EQ(c.path, "/dev/null");
  EXPECT_EQ(c.err, 0);
}

TEST(CheckNode, AnotherRdevIsWrongRdevNamingBoth) {
  auto c = check_node(node("/dev/null", 1, 5));
  EXPECT_EQ(c.result, NodeResult::WrongRdev);
  EXPECT_THAT(c.detail, HasSubstr("1:3"));
  EXPECT_THAT(c.detail, HasSubstr("1:5"));
}

TEST(CheckNode, MissingFileAndPlaceholder) {
  TempDir t;
  auto c = check_node(node(t.path("nvidia0"), 195, 0));
  EXPECT_EQ(c.result, NodeResult::Missing);
  EXPECT_EQ(c.err, ENOENT);

  // What the mount hook's bind target is before a bind: an empty file.
  t.write("nvidia0", "");
  c = check_node(node(t.path("nvidia0"), 195, 0));
  EXPECT_EQ(c.result, NodeResult::WrongType);
  EXPECT_THAT(c.detail, HasSubstr("placeholder"));
}

TEST(CheckNode, SymlinkIsNotFollowed) {
  // A container could point the path elsewhere; lstat sees the link.
  TempDir t;
  ASSERT_EQ(::symlink("/dev/null", t.path("nvidiactl").c_str()), 0);
  auto c = check_node(node(t.path("nvidiactl"), 1, 3));
  EXPECT_EQ(c.result, NodeResult::WrongType);
}

TEST(CheckNode, NodeWithoutDriverIsNoDriver) {
  if (::geteuid() != 0) GTEST_SKIP() << "mknod needs root";
  // A char device no driver serves: ENXIO/ENODEV on open.
  TempDir t;
  const std::string p = t.path("nvidia9");
  ASSERT_EQ(::mknod(p.c_str(), S_IFCHR | 0666, makedev(4095, 4095)), 0) << std::strerror(errno);
  auto c = check_node(node(p, 4095, 4095));
  EXPECT_EQ(c.result, NodeResult::NoDriver) << c.detail;
}

TEST(Explain, EveryFailureSaysWhatToDoAndNamesThePath) {
  for (NodeResult result :
       {NodeResult::Missing, NodeResult::WrongType, NodeResult::WrongRdev, NodeResult::Denied, NodeResult::NoDriver}) {
    NodeCheck c{"/dev/nvidia0", result, 0, "detail-text", false};
    const std::string text = explain(c);
    EXPECT_THAT(text, HasSubstr("/dev/nvidia0")) << to_string(result);
    EXPECT_THAT(text, HasSubstr("Fix")) << to_string(result);
  }
  NodeCheck pending{"/dev/nvidia-uvm", NodeResult::Pending, 0, "nvidia_uvm is not loaded", false};
  EXPECT_THAT(explain(pending), HasSubstr("nvidia_uvm is not loaded"));
  NodeCheck changed{"/dev/nvidia1", NodeResult::HostChanged, 0, "the GPU is gone", false};
  EXPECT_THAT(explain(changed), HasSubstr("the GPU is gone"));
}

TEST(ListDirectory, ControlBytesInNamesAreEscaped) {
  TempDir t;
  t.write("d/plain", "");
  t.write("d/evil\n\x1b]52;c;AAAA\x07", "");
  const std::string out = list_directory(t.path("d"));
  EXPECT_THAT(out, HasSubstr("plain"));
  EXPECT_THAT(out, Not(HasSubstr("\x1b")));
  EXPECT_THAT(out, Not(HasSubstr("\x07")));
  // One entry, one line: the newline in the name does not start another.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 4);  // ., .., plain, the other
}

TEST(ListDirectory, BoundedByMaxEntries) {
  TempDir t;
  for (int i = 0; i < 10; ++i) t.write("d/f" + std::to_string(i), "");
  const std::string out = list_directory(t.path("d"), 3);
  EXPECT_THAT(out, HasSubstr("... 9 more"));
}

}  // namespace
}  // namespace phx
