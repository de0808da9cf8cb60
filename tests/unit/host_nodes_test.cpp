#include "fs/host_nodes.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fixture_host.hpp"

namespace phx {
namespace {

using ::testing::HasSubstr;

class HostNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::is_root()) GTEST_SKIP() << "mknod needs root";
    d.mkdir("dev");
  }

  static PlannedNode node(const std::string& path, int major, int minor, mode_t mode = 0666, uid_t uid = 0,
                          gid_t gid = 0) {
    return PlannedNode{path, path, major, minor, mode, uid, gid, "gpu", "", ""};
  }
  NodeOutcome ensure(const PlannedNode& n) { return ensure_host_node(HostRoot(d.root()), n); }

  // "c 195:0 0666 0:0", or what else is there.
  std::string describe(const std::string& rel) {
    struct stat st {};
    if (::lstat(d.path(rel).c_str(), &st) != 0) return "missing";
    if (!S_ISCHR(st.st_mode)) return "not a char device";
    char buf[64];
    std::snprintf(buf, sizeof buf, "c %u:%u %04o %u:%u", major(st.st_rdev), minor(st.st_rdev), st.st_mode & 07777,
                  st.st_uid, st.st_gid);
    return buf;
  }

  test::TempDir d;
};

TEST_F(HostNodes, CreatesMissingNodeWithModeAndOwner) {
  NodeOutcome o = ensure(node("/dev/nvidia0", 195, 0, 0660, 0, 44));
  EXPECT_EQ(o.action, NodeAction::Created) << o.detail;
  EXPECT_EQ(describe("dev/nvidia0"), "c 195:0 0660 0:44");
}

TEST_F(HostNodes, PresentWhenRight) {
  ASSERT_EQ(test::make_char_node(d.path("dev/nvidiactl"), 195, 255), "");
  NodeOutcome o = ensure(node("/dev/nvidiactl", 195, 255));
  EXPECT_EQ(o.action, NodeAction::Present) << o.detail;
  EXPECT_STREQ(to_string(o.action), "present");
  EXPECT_EQ(describe("dev/nvidiactl"), "c 195:255 0666 0:0");
}

TEST_F(HostNodes, RepairsStaleRdev) {
  // After a module reload nvidia-uvm may come back with another major.
  ASSERT_EQ(test::make_char_node(d.path("dev/nvidia-uvm"), 237, 0), "");
  NodeOutcome o = ensure(node("/dev/nvidia-uvm", 238, 0));
  EXPECT_EQ(o.action, NodeAction::Repaired);
  EXPECT_EQ(o.detail, "was char 237:0");
  EXPECT_EQ(describe("dev/nvidia-uvm"), "c 238:0 0666 0:0");
}

TEST_F(HostNodes, ReplacesEmptyPlaceholderFile) {
  d.write("dev/nvidia0", "");
  NodeOutcome o = ensure(node("/dev/nvidia0", 195, 0));
  EXPECT_EQ(o.action, NodeAction::Repaired);
  EXPECT_EQ(o.detail, "was an empty placeholder file");
  EXPECT_EQ(describe("dev/nvidia0"), "c 195:0 0666 0:0");
}

TEST_F(HostNodes, ReplacesSymlinkWithoutTouchingItsTarget) {
  d.write("elsewhere", "keep");
  d.symlink(d.path("elsewhere"), "dev/nvidia0");
  NodeOutcome o = ensure(node("/dev/nvidia0", 195, 0));
  EXPECT_EQ(o.action, NodeAction::Repaired);
  EXPECT_EQ(o.detail, "was a symlink");
  EXPECT_EQ(describe("dev/nvidia0"), "c 195:0 0666 0:0");
  EXPECT_EQ(d.read("elsewhere"), "keep");
}

TEST_F(HostNodes, RefusesDirectory) {
  d.write("dev/nvidia0/inside", "x");
  NodeOutcome o = ensure(node("/dev/nvidia0", 195, 0));
  EXPECT_EQ(o.action, NodeAction::Failed);
  EXPECT_THAT(o.detail, HasSubstr(d.path("dev/nvidia0") + " is a directory"));
  EXPECT_THAT(o.detail, HasSubstr("195:0"));
  EXPECT_EQ(d.read("dev/nvidia0/inside"), "x");
}

TEST_F(HostNodes, FixesWrongModeAndOwner) {
  ASSERT_EQ(test::make_char_node(d.path("dev/nvidia0"), 195, 0, 0600), "");
  NodeOutcome o = ensure(node("/dev/nvidia0", 195, 0, 0666, 0, 44));
  EXPECT_EQ(o.action, NodeAction::Repaired);
  EXPECT_THAT(o.detail, HasSubstr("mode/owner"));
  EXPECT_EQ(describe("dev/nvidia0"), "c 195:0 0666 0:44");
  EXPECT_EQ(ensure(node("/dev/nvidia0", 195, 0, 0666, 0, 44)).action, NodeAction::Present);
}

TEST_F(HostNodes, CreatesNvidiaCapsDirectory) {
  NodeOutcome o = ensure(node("/dev/nvidia-caps/nvidia-cap12", 241, 12, 0444));
  EXPECT_EQ(o.action, NodeAction::Created) << o.detail;
  EXPECT_EQ(describe("dev/nvidia-caps/nvidia-cap12"), "c 241:12 0444 0:0");
  struct stat st {};
  ASSERT_EQ(::lstat(d.path("dev/nvidia-caps").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(HostNodes, RefusesSymlinkedCapsDirectory) {
  d.mkdir("elsewhere");
  d.symlink(d.path("elsewhere"), "dev/nvidia-caps");
  NodeOutcome o = ensure(node("/dev/nvidia-caps/nvidia-cap1", 241, 1));
  EXPECT_EQ(o.action, NodeAction::Failed);
  EXPECT_THAT(o.detail, HasSubstr(d.path("dev/nvidia-caps")));
  EXPECT_TRUE(d.list("elsewhere").empty());
}

TEST_F(HostNodes, MissingDevIsAFailure) {
  d.remove("dev");
  NodeOutcome o = ensure(node("/dev/nvidia0", 195, 0));
  EXPECT_EQ(o.action, NodeAction::Failed);
  EXPECT_THAT(o.detail, HasSubstr("open '" + d.path("dev") + "': ENOENT"));
}

}  // namespace
}  // namespace phx
