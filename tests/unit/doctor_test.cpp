#include "cli/doctor.hpp"

#include <sys/sysmacros.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "fixture_host.hpp"

namespace phx {
namespace {

using test::FixtureHost;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using S = Finding::Severity;

std::vector<Finding> about(const DoctorReport& r, const std::string& topic, S severity) {
  std::vector<Finding> out;
  for (const auto& f : r.findings)
    if (f.topic == topic && f.severity == severity) out.push_back(f);
  return out;
}

std::vector<std::string> messages(const std::vector<Finding>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.push_back(f.message);
  return out;
}

class DoctorNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    FixtureHost::h200(h);
    if (!test::is_root()) GTEST_SKIP() << "mknod needs root";
    for (auto [name, major, minor] : {std::tuple{"nvidiactl", 195, 255}, std::tuple{"nvidia0", 195, 0},
                                      std::tuple{"nvidia-uvm", 238, 0}, std::tuple{"nvidia-uvm-tools", 238, 1}}) {
      ASSERT_EQ(test::make_char_node(h.path("dev/") + name, major, minor), "");
    }
  }
  FixtureHost h;
};

TEST_F(DoctorNodes, H200WithNodesHasNoNodeProblems) {
  DoctorReport r = run_doctor(HostRoot(h.root()));
  EXPECT_THAT(messages(about(r, "nodes", S::Error)), IsEmpty());
  EXPECT_THAT(messages(about(r, "nodes", S::Warning)), IsEmpty());
  EXPECT_EQ(about(r, "nodes", S::Ok).size(), 4u);
  EXPECT_THAT(messages(about(r, "driver", S::Ok)), Contains("driver 580.159.04 (open kernel module)"));
  EXPECT_THAT(messages(about(r, "gpus", S::Error)), IsEmpty());
  EXPECT_THAT(messages(about(r, "modules", S::Warning)), IsEmpty());
}

TEST_F(DoctorNodes, StaleAndPlaceholderNodesAreErrors) {
  h.remove("dev/nvidia-uvm");
  ASSERT_EQ(test::make_char_node(h.path("dev/nvidia-uvm"), 237, 0), "");
  h.remove("dev/nvidia0");
  h.write("dev/nvidia0", "");
  DoctorReport r = run_doctor(HostRoot(h.root()));
  auto errors = about(r, "nodes", S::Error);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0].message, AllOf(HasSubstr(h.path("dev/nvidia0")), HasSubstr("not a character device")));
  EXPECT_THAT(errors[1].message, HasSubstr(h.path("dev/nvidia-uvm") + " is stale: 237:0, want 238:0"));
  EXPECT_THAT(errors[1].fix, HasSubstr("pre-start hook recreates it"));
}

TEST_F(DoctorNodes, WrongModeIsAWarning) {
  ASSERT_EQ(::chmod(h.path("dev/nvidia0").c_str(), 0600), 0);
  DoctorReport r = run_doctor(HostRoot(h.root()));
  EXPECT_THAT(messages(about(r, "nodes", S::Warning)),
              Contains(AllOf(HasSubstr(h.path("dev/nvidia0")), HasSubstr("0600 0:0, want 0666 0:0"))));
}

TEST(Doctor, MissingNodesAreWarningsWithFixes) {
  FixtureHost h;
  FixtureHost::h200(h);
  DoctorReport r = run_doctor(HostRoot(h.root()));
  auto warnings = about(r, "nodes", S::Warning);
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_THAT(warnings[0].message, HasSubstr(h.path("dev/nvidiactl") + " is missing (want c 195:255)"));
  for (const auto& w : warnings) EXPECT_THAT(w.fix, HasSubstr("nvidia-modprobe"));
  EXPECT_THAT(messages(about(r, "nodes", S::Error)), IsEmpty());
  EXPECT_TRUE(r.has_problems());
}

TEST(Doctor, NoDriverIsAnError) {
  FixtureHost h;
  FixtureHost::no_driver(h);
  DoctorReport r = run_doctor(HostRoot(h.root()));
  auto errors = about(r, "driver", S::Error);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message, HasSubstr("the NVIDIA driver is not loaded"));
  EXPECT_THAT(errors[0].message, HasSubstr(h.path("proc/driver/nvidia/version")));
  EXPECT_THAT(errors[0].fix, HasSubstr("modprobe nvidia"));
  EXPECT_TRUE(about(r, "nodes", S::Warning).empty());
  EXPECT_TRUE(r.has_problems());
}

TEST(Doctor, UvmNotLoadedIsAWarning) {
  FixtureHost h;
  FixtureHost::h200(h);
  h.write("proc/devices", test::proc_devices({{195, "nvidia"}}));
  DoctorReport r = run_doctor(HostRoot(h.root()));
  auto w = about(r, "modules", S::Warning);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0].fix, HasSubstr("modprobe nvidia_uvm"));
}

TEST(Doctor, IndexAndMinorDifferenceIsNoted) {
  FixtureHost h;
  FixtureHost::multi_gpu(h);
  DoctorReport r = run_doctor(HostRoot(h.root()));
  EXPECT_THAT(messages(about(r, "gpus", S::Info)),
              Contains(HasSubstr("GPU index 0 uses /dev/nvidia2: index and node number differ")));
  EXPECT_EQ(about(r, "gpus", S::Ok).size(), 3u);
}

TEST(Doctor, Pre550MajorName) {
  FixtureHost h;
  FixtureHost::pre550(h);
  DoctorReport r = run_doctor(HostRoot(h.root()));
  EXPECT_THAT(messages(about(r, "majors", S::Ok)), Contains("nvidia 195 (named nvidia-frontend)"));
  EXPECT_THAT(messages(about(r, "driver", S::Ok)), Contains("driver 535.129.03 (proprietary kernel module)"));
}

TEST(Doctor, MalformedGpuInformationIsAnError) {
  FixtureHost h;
  FixtureHost::h200(h);
  h.write("proc/driver/nvidia/gpus/0000:00:06.0/information", std::string("\0\0\0", 3));
  DoctorReport r = run_doctor(HostRoot(h.root()));
  EXPECT_THAT(messages(about(r, "gpus", S::Error)), Contains(HasSubstr("NUL bytes")));
}

// --- the checks alone ------------------------------------------------------------

PlannedNode planned_gpu0() {
  PlannedNode n;
  n.host_path = n.container_path = "/dev/nvidia0";
  n.major = 195;
  n.minor = 0;
  n.mode = 0666;
  return n;
}
NodeState char_node(int major, int minor, mode_t mode = 0666) {
  NodeState s;
  s.kind = NodeState::Kind::CharDevice;
  s.rdev = makedev(static_cast<unsigned>(major), static_cast<unsigned>(minor));
  s.mode = mode;
  return s;
}

TEST(DoctorNodeFinding, EachWayAHostNodeStandsAgainstThePlannedOne) {
  const PlannedNode n = planned_gpu0();
  Finding f = node_finding("/h/dev/nvidia0", NodeState{}, n);
  EXPECT_EQ(f.severity, S::Warning);
  EXPECT_EQ(f.message, "/h/dev/nvidia0 is missing (want c 195:0)");
  EXPECT_THAT(f.fix, HasSubstr("nvidia-modprobe"));

  NodeState link;
  link.kind = NodeState::Kind::Other;
  f = node_finding("/h/dev/nvidia0", link, n);
  EXPECT_EQ(f.severity, S::Error);
  EXPECT_THAT(f.message, HasSubstr("is not a character device"));

  f = node_finding("/h/dev/nvidia0", char_node(511, 0), n);
  EXPECT_EQ(f.severity, S::Error);
  EXPECT_EQ(f.message, "/h/dev/nvidia0 is stale: 511:0, want 195:0");

  f = node_finding("/h/dev/nvidia0", char_node(195, 0, 0600), n);
  EXPECT_EQ(f.severity, S::Warning);
  EXPECT_EQ(f.message, "/h/dev/nvidia0 has mode/owner 0600 0:0, want 0666 0:0");

  f = node_finding("/h/dev/nvidia0", char_node(195, 0), n);
  EXPECT_EQ(f.severity, S::Ok);
  EXPECT_EQ(f.message, "/h/dev/nvidia0 c 195:0");
  EXPECT_EQ(f.fix, "");
}

TEST(DoctorConfigFindings, ABrokenFileIsAnErrorAndEachWarningAWarning) {
  auto broken = config_findings(Result<HostConfig>(parse_error("/etc/phoenix-gpu/config.toml", "line 3: bad")));
  ASSERT_EQ(broken.size(), 1u);
  EXPECT_EQ(broken[0].severity, S::Error);
  EXPECT_THAT(broken[0].message, HasSubstr("/etc/phoenix-gpu/config.toml"));
  EXPECT_THAT(broken[0].fix, HasSubstr("built-in defaults"));

  HostConfig cfg;
  EXPECT_THAT(config_findings(cfg), IsEmpty());
  cfg.warnings = {"unknown key 'x'", "unknown key 'y'"};
  auto warned = config_findings(cfg);
  ASSERT_EQ(warned.size(), 2u);
  EXPECT_EQ(warned[1].severity, S::Warning);
  EXPECT_EQ(warned[1].message, "unknown key 'y'");
}

TEST(DoctorMajorFindings, NothingWithoutTheDriverAndAnErrorWithoutTheNvidiaMajor) {
  FixtureHost h;
  FixtureHost::no_driver(h);
  EXPECT_THAT(major_findings(h.discover()), IsEmpty());

  FixtureHost g;
  FixtureHost::h200(g);
  g.write("proc/devices", test::proc_devices({{238, "nvidia-uvm"}}));
  HostSnapshot snap = g.discover();
  snap.driver_loaded = true;
  auto fs = major_findings(snap);
  EXPECT_THAT(fs, Contains(AllOf(Field(&Finding::severity, S::Error), Field(&Finding::topic, "majors"))));
  EXPECT_THAT(fs, Contains(Field(&Finding::message, "nvidia-uvm 238 (dynamic)")));
  EXPECT_THAT(fs, Not(Contains(Field(&Finding::topic, "modules"))));
  // No nvidia major: no nodes to plan, none to check.
  EXPECT_THAT(node_findings(HostRoot(g.root()), snap), IsEmpty());
}

TEST(DoctorWorkerPlacement, SaysWhereTheWorkerRuns) {
  EXPECT_THAT(worker_placement(true), HasSubstr("transient systemd unit"));
  EXPECT_THAT(worker_placement(false), HasSubstr("in the cgroup phoenix-gpu-hooks (systemd is not PID 1"));
}

// --- cgroup layout -------------------------------------------------------------------

TEST(CgroupLayout, V1Devices) {
  FixtureHost h;
  h.write("proc/self/mountinfo",
          "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
          "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
          "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime shared:15 - cgroup cgroup rw,devices\n"
          "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
          "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
  EXPECT_EQ(detect_cgroup_layout(HostRoot(h.root())), "cgroup v1 devices controller");
}

TEST(CgroupLayout, PureCgroup2) {
  FixtureHost h;
  h.write("proc/self/mountinfo",
          "22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
          "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
          "rw,nsdelegate,memory_recursiveprot\n");
  EXPECT_EQ(detect_cgroup_layout(HostRoot(h.root())), "cgroup2 (BPF device programs)");
}

TEST(CgroupLayout, HybridWithoutDevicesOrMissingIsUnknown) {
  FixtureHost h;
  EXPECT_EQ(detect_cgroup_layout(HostRoot(h.root())), "unknown");
  h.write("proc/self/mountinfo",
          "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
          "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
          "garbage line\n");
  EXPECT_EQ(detect_cgroup_layout(HostRoot(h.root())), "unknown");
}

TEST(Doctor, ReportsCgroupLayout) {
  FixtureHost h;
  FixtureHost::h200(h);
  h.write("proc/self/mountinfo", "35 24 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  DoctorReport r = run_doctor(HostRoot(h.root()));
  EXPECT_EQ(r.cgroup_layout, "cgroup2 (BPF device programs)");
  EXPECT_THAT(messages(about(r, "cgroup", S::Ok)), Contains("device cgroup: cgroup2 (BPF device programs)"));
}

}  // namespace
}  // namespace phx

namespace phx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using S = Finding::Severity;

class DoctorEnvironmentKeys : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/phx-doctor-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    write("ct-runtime", "lxc.environment.runtime = NVIDIA_VISIBLE_DEVICES=all\n");
    write("ct-hooks-cleared", "lxc.environment = A=1\nlxc.environment.hooks =\n");
    write("ct-plain", "lxc.environment = NVIDIA_VISIBLE_DEVICES=all\n");
    std::filesystem::create_directories(dir_ + "/not-a-container");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(dir_ + "/" + name);
    std::ofstream(dir_ + "/" + name + "/config") << text;
  }
  std::string dir_;
};

TEST_F(DoctorEnvironmentKeys, AnLxcWithoutTheKeysNamesEachContainerItWouldRefuse) {
  auto fs = environment_key_findings("5.0.2", false, {dir_, dir_, "/nonexistent-lxcpath"});
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_EQ(fs[0].severity, S::Info);
  EXPECT_THAT(fs[0].message, HasSubstr("liblxc 5.0.2 does not know lxc.environment.runtime"));
  std::vector<std::string> warned;
  for (std::size_t i = 1; i < fs.size(); ++i) {
    EXPECT_EQ(fs[i].severity, S::Warning);
    EXPECT_THAT(fs[i].message, HasSubstr("(" + dir_ + "): its config uses lxc.environment.runtime"));
    EXPECT_THAT(fs[i].fix, HasSubstr("lxc.environment"));
    warned.push_back(fs[i].message.substr(0, fs[i].message.find(' ', 10)));
  }
  std::sort(warned.begin(), warned.end());
  EXPECT_THAT(warned, ElementsAre("container ct-hooks-cleared", "container ct-runtime"));
}

TEST_F(DoctorEnvironmentKeys, AnLxcWithTheKeysWarnsAboutNone) {
  auto fs = environment_key_findings("7.0.0", true, {dir_});
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].severity, S::Ok);
  EXPECT_THAT(fs[0].message, HasSubstr("liblxc 7.0.0 knows lxc.environment.runtime and lxc.environment.hooks"));
}

}  // namespace
}  // namespace phx
