#include "stages/mount_report.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "fixture_host.hpp"

namespace phx {
namespace {

using ::testing::HasSubstr;

TEST(MountReport, RoundTripAndBadVersion) {
  MountReport m;
  m.mounted = {"/dev/nvidia0"};
  m.missing = {{"/dev/nvidia-uvm", "absent on the host"}};
  auto back = mount_report_from_json(mount_report_to_json(m), "mount.json");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->mounted, m.mounted);
  EXPECT_EQ(back->missing, m.missing);
  for (const char* v : {"1e40", "1.0", "\"1\"", "18446744073709551616"}) {
    auto r = mount_report_from_json(
        std::string(R"({"format":"phoenix-gpu-mount","version":)") + v + R"(,"mounted":[],"missing":[]})",
        "mount.json");
    EXPECT_FALSE(r) << v;
  }
}

TEST(MountReport, ReadsTheStateDirectorysFile) {
  test::TempDir d;
  const StateDir sd{d.root(), "/var/lib/lxc", "ct"};
  EXPECT_EQ(mount_report_path(sd), sd.dir() + "/mount.json");
  MountReport m;
  m.missing = {{"/dev/nvidia1", "refused"}};
  d.write(mount_report_path(sd).substr(d.root().size() + 1), mount_report_to_json(m));
  auto back = read_mount_report(mount_report_path(sd));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->missing, m.missing);
}

TEST(MountReport, AnEmptyOrAbsentFileIsAnError) {
  // pre-start leaves an empty file for the mount hook; a start whose mount
  // hook did not run (or did not get to write) has nothing to say.
  test::TempDir d;
  d.write("mount.json", "");
  EXPECT_FALSE(read_mount_report(d.path("mount.json")));
  auto absent = read_mount_report(d.path("absent.json"));
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().err, ENOENT);
}

NodeCheck failing(const std::string& path, NodeResult r, const std::string& detail) {
  return NodeCheck{path, r, 0, detail, false};
}

TEST(ExplainUnbound, AFailingNodeTheMountHookRefusedSaysWhy) {
  MountReport m;
  m.mounted = {"/dev/nvidiactl"};
  m.missing = {{"/dev/nvidia1", "open '/dev/nvidia1' beneath the rootfs: ELOOP"},
               {"/dev/nvidia-uvm", "missing on the host"}};
  std::vector<NodeCheck> checks = {
      failing("/dev/nvidiactl", NodeResult::Ok, ""),
      failing("/dev/nvidia1", NodeResult::WrongType, "not a character device"),
      failing("/dev/nvidia-uvm", NodeResult::Missing, "No such file or directory"),
  };
  explain_unbound(checks, m, false);
  EXPECT_EQ(checks[0].detail, "");
  EXPECT_EQ(checks[1].detail,
            "not a character device; the mount hook did not bind it: open '/dev/nvidia1' beneath the rootfs: ELOOP");
  EXPECT_EQ(checks[2].detail, "No such file or directory; the mount hook did not bind it: missing on the host");
  // Twice says it once.
  explain_unbound(checks, m, false);
  EXPECT_EQ(checks[2].detail, "No such file or directory; the mount hook did not bind it: missing on the host");
}

TEST(ExplainUnbound, TheReasonIsEscapedAndBounded) {
  // Written by the container's mapped root: no forged lines, no terminal
  // sequences, no megabyte of status.
  MountReport m;
  m.missing = {{"/dev/nvidia1", "bad\nphx: forged \x1b[31m" + std::string(4000, 'x')}};
  std::vector<NodeCheck> checks = {failing("/dev/nvidia1", NodeResult::Missing, "")};
  explain_unbound(checks, m, false);
  EXPECT_THAT(checks[0].detail, HasSubstr("bad\\x0aphx: forged \\x1b[31m"));
  EXPECT_LT(checks[0].detail.size(), 600u);
}

TEST(ExplainUnbound, PassingPendingAndUnreportedNodesAreLeftAlone) {
  MountReport m;
  m.missing = {{"/dev/nvidia-uvm", "pending: nvidia_uvm is not loaded"},
               {"/dev/nvidia0", "refused"},
               {"/dev/nvidia1", "refused"}};
  std::vector<NodeCheck> checks = {
      failing("/dev/nvidia-uvm", NodeResult::Pending, "nvidia_uvm is not loaded"),
      // no-driver passes on a simulated host only
      failing("/dev/nvidia0", NodeResult::NoDriver, "ENXIO"),
      failing("/dev/nvidia2", NodeResult::Missing, ""),  // bound at start, gone since: not the mount hook's
  };
  explain_unbound(checks, m, true);
  EXPECT_EQ(checks[0].detail, "nvidia_uvm is not loaded");
  EXPECT_EQ(checks[1].detail, "ENXIO");
  EXPECT_EQ(checks[2].detail, "");
  explain_unbound(checks, m, false);
  EXPECT_THAT(checks[1].detail, HasSubstr("the mount hook did not bind it: refused"));
  EXPECT_EQ(checks[2].detail, "");
}

}  // namespace
}  // namespace phx
