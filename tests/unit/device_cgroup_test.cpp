#include "fs/device_cgroup.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixture_host.hpp"

namespace phx {
namespace {

using test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

CgroupRule rule(int major, int minor) { return CgroupRule{'c', major, minor, "rw"}; }

// A v1 devices hierarchy on a temp tree: the files the kernel would have,
// as plain files (writes land in them instead of changing a cgroup).
class CgroupV1Tree : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* dir : {"lxc/101", "lxc/101/ns", "lxc/plain"}) {
      tree_.write(std::string(dir) + "/devices.allow", "");
      tree_.write(std::string(dir) + "/devices.list", "");
    }
  }
  TempDir tree_;
};

TEST_F(CgroupV1Tree, ProxmoxInnerCgroupGetsItsParentWidenedFirst) {
  // lxc.cgroup.dir.container.inner = ns: v1 never lets a child exceed its
  // parent, so /lxc/101 must allow the rule too.
  auto cg = make_cgroup_v1(tree_.path(), "/lxc/101/ns");
  EXPECT_THAT(cg->describe(), HasSubstr("/lxc/101/ns"));
  ASSERT_TRUE(cg->allow(rule(195, 0)));
  EXPECT_EQ(tree_.read("lxc/101/devices.allow"), "c 195:0 rw");
  EXPECT_EQ(tree_.read("lxc/101/ns/devices.allow"), "c 195:0 rw");
}

TEST_F(CgroupV1Tree, PlainLayoutWritesOnlyItsOwnCgroup) {
  auto cg = make_cgroup_v1(tree_.path(), "/lxc/plain");
  ASSERT_TRUE(cg->allow(rule(238, 1)));
  EXPECT_EQ(tree_.read("lxc/plain/devices.allow"), "c 238:1 rw");
  EXPECT_EQ(tree_.read("lxc/101/devices.allow"), "");
}

TEST_F(CgroupV1Tree, AFailedParentWriteStopsAndNamesThePath) {
  auto cg = make_cgroup_v1(tree_.path(), "/lxc/gone/ns");
  auto ok = cg->allow(rule(195, 255));
  ASSERT_FALSE(ok);
  EXPECT_THAT(ok.error().message(), HasSubstr(tree_.path("lxc/gone/devices.allow")));
}

TEST_F(CgroupV1Tree, AllowMissingAddsOnlyWhatDevicesListLacks) {
  tree_.write("lxc/101/ns/devices.list", "c 1:3 rwm\nc 195:* rwm\nc 238:0 rw\n");
  auto cg = make_cgroup_v1(tree_.path(), "/lxc/101/ns");
  auto changes = cg->allow_missing({rule(195, 0), rule(195, 255), rule(238, 0), rule(238, 1)});
  ASSERT_TRUE(changes) << changes.error().message();
  EXPECT_THAT(changes->added, ElementsAre(rule(238, 1)));
  EXPECT_TRUE(changes->failed.empty());
  EXPECT_EQ(tree_.read("lxc/101/ns/devices.allow"), "c 238:1 rw");

  // "a *:* rwm": everything allowed already, nothing added.
  tree_.write("lxc/plain/devices.list", "a *:* rwm\n");
  changes = make_cgroup_v1(tree_.path(), "/lxc/plain")->allow_missing({rule(238, 1)});
  ASSERT_TRUE(changes);
  EXPECT_TRUE(changes->added.empty());
  EXPECT_EQ(tree_.read("lxc/plain/devices.allow"), "");
}

TEST_F(CgroupV1Tree, AllowMissingReportsEachFailedWrite) {
  // The list says nothing is allowed; the cgroup's allow file is gone.
  tree_.write("lxc/broken/devices.list", "");
  auto changes = make_cgroup_v1(tree_.path(), "/lxc/broken")->allow_missing({rule(195, 0), rule(195, 1)});
  ASSERT_TRUE(changes);
  EXPECT_TRUE(changes->added.empty());
  ASSERT_EQ(changes->failed.size(), 2u);
  EXPECT_THAT(changes->failed[0].message(), HasSubstr("lxc/broken/devices.allow"));
}

TEST_F(CgroupV1Tree, UnreadableListIsAnErrorWithThePath) {
  auto cg = make_cgroup_v1(tree_.path(), "/lxc/none");
  auto changes = cg->allow_missing({rule(195, 0)});
  ASSERT_FALSE(changes);
  EXPECT_THAT(changes.error().message(), HasSubstr("lxc/none/devices.list"));
}

}  // namespace
}  // namespace phx
