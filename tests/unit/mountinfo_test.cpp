#include "base/mountinfo.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace phx {
namespace {

using ::testing::ElementsAre;

// Lines as a Debian 12 host (hybrid), a Proxmox VE host (pure cgroup2) and
// a container show them.
constexpr const char* kHybrid =
    "22 27 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "30 22 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
    "35 30 0:31 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,devices\n"
    "36 30 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct\n"
    "37 30 0:33 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup "
    "rw,xattr,name=systemd\n";

TEST(Mountinfo, CgroupMountsAndTheirControllers) {
  auto m = parse_mountinfo(kHybrid);
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(m[2].fstype, "cgroup2");
  EXPECT_EQ(m[2].mount_point, "/sys/fs/cgroup/unified");
  EXPECT_EQ(m[2].root, "/");
  EXPECT_EQ(m[3].fstype, "cgroup");
  EXPECT_TRUE(m[3].has_option("devices"));
  EXPECT_FALSE(m[3].has_option("device"));
  EXPECT_THAT(m[4].super_options, ElementsAre("rw", "cpu", "cpuacct"));
  EXPECT_TRUE(m[5].has_option("name=systemd"));
}

TEST(Mountinfo, OptionalFieldsOfAnyNumber) {
  // No optional field, and several (shared, master, propagate_from).
  auto m = parse_mountinfo(
      "40 1 0:40 / /a rw - cgroup2 cgroup2 rw\n"
      "41 1 0:41 /lxc/101/ns /b rw shared:3 master:1 propagate_from:2 - cgroup cgroup rw,devices\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].mount_point, "/a");
  EXPECT_EQ(m[1].root, "/lxc/101/ns");
  EXPECT_EQ(m[1].mount_point, "/b");
  EXPECT_TRUE(m[1].has_option("devices"));
}

TEST(Mountinfo, OctalEscapesInPathsAreDecoded) {
  // The kernel writes space, tab, newline and backslash as \ooo.
  auto m = parse_mountinfo("50 1 0:50 /a\\040b /mnt/x\\040y\\011z\\134w rw - cgroup2 cgroup2 rw\n");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].root, "/a b");
  EXPECT_EQ(m[0].mount_point, "/mnt/x y\tz\\w");
}

TEST(Mountinfo, MalformedLinesAreSkipped) {
  auto m = parse_mountinfo(
      "\n"
      "garbage\n"
      "60 1 0:60 / /no-separator rw cgroup2 cgroup2 rw\n"
      "61 1 0:61 / - cgroup2 cgroup2 rw\n"
      "62 1 0:62 / /short-tail rw - cgroup2\n"
      "63 1 0:63 / /good rw - cgroup2 cgroup2 rw\n"
      "64 1 0:64 / /bad-escape\\04 rw - cgroup2 cgroup2 rw\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].mount_point, "/good");
  // An escape cut short stays as written.
  EXPECT_EQ(m[1].mount_point, "/bad-escape\\04");
}

}  // namespace
}  // namespace phx
