#include "base/proc_cgroup.hpp"

#include <gtest/gtest.h>

namespace phx {
namespace {

TEST(ProcCgroup, EmptyTextHasNoEntries) {
  EXPECT_TRUE(parse_proc_cgroup("").empty());
  EXPECT_TRUE(parse_proc_cgroup("\n\n").empty());
  EXPECT_EQ(cgroup2_path({}), std::nullopt);
  EXPECT_EQ(v1_controller_path({}, "devices"), std::nullopt);
}

TEST(ProcCgroup, Cgroup2Only) {
  auto e = parse_proc_cgroup("0::/lxc.payload.c1\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_TRUE(e[0].is_cgroup2());
  EXPECT_TRUE(e[0].controllers.empty());
  EXPECT_EQ(e[0].path, "/lxc.payload.c1");
  EXPECT_EQ(cgroup2_path(e), "/lxc.payload.c1");
  EXPECT_EQ(v1_controller_path(e, "devices"), std::nullopt);
}

TEST(ProcCgroup, HybridV1AndV2) {
  const char* text =
      "12:cpuset:/lxc/101/ns\n"
      "11:devices:/lxc/101/ns\n"
      "4:cpu,cpuacct:/lxc/101/ns\n"
      "1:name=systemd:/lxc/101/ns/init.scope\n"
      "0::/lxc/101/ns\n";
  auto e = parse_proc_cgroup(text);
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e[0].hierarchy_id, 12u);
  EXPECT_EQ(e[2].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_TRUE(e[2].has_controller("cpuacct"));
  EXPECT_FALSE(e[2].has_controller("cpu,cpuacct"));
  EXPECT_FALSE(e[0].is_cgroup2());
  EXPECT_TRUE(e[4].is_cgroup2());
  EXPECT_EQ(v1_controller_path(e, "devices"), "/lxc/101/ns");
  EXPECT_EQ(v1_controller_path(e, "cpuacct"), "/lxc/101/ns");
  EXPECT_EQ(v1_controller_path(e, "name=systemd"), "/lxc/101/ns/init.scope");
  EXPECT_EQ(v1_controller_path(e, "memory"), std::nullopt);
  EXPECT_EQ(cgroup2_path(e), "/lxc/101/ns");
}

TEST(ProcCgroup, PathKeepsItsColons) {
  auto e = parse_proc_cgroup("5:devices:/lxc.payload.a:b:c\n0::/x:y\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(v1_controller_path(e, "devices"), "/lxc.payload.a:b:c");
  EXPECT_EQ(cgroup2_path(e), "/x:y");
}

TEST(ProcCgroup, MalformedLinesAreLeftOut) {
  const char* text =
      "garbage\n"
      "3:devices\n"
      ":devices:/no-id\n"
      "x:devices:/bad-id\n"
      "-1:devices:/negative\n"
      "7 :devices:/space\n"
      "6:freezer:/ok\n";
  auto e = parse_proc_cgroup(text);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].hierarchy_id, 6u);
  EXPECT_EQ(e[0].path, "/ok");
  EXPECT_EQ(v1_controller_path(e, "devices"), std::nullopt);
}

TEST(ProcCgroup, V1HierarchyWithoutControllersIsNotCgroup2) {
  auto e = parse_proc_cgroup("3::/odd\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_FALSE(e[0].is_cgroup2());
  EXPECT_EQ(cgroup2_path(e), std::nullopt);
}

TEST(ProcCgroup, LastLineWithoutNewline) {
  auto e = parse_proc_cgroup("0::/");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(cgroup2_path(e), "/");
}

}  // namespace
}  // namespace phx
