#include "host/host_discovery.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fixture_host.hpp"

namespace phx {
namespace {

using test::FixtureHost;
using ::testing::HasSubstr;

std::string all_messages(const std::vector<Error>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.message() + "\n";
  return out;
}

TEST(Discovery, H200Capture) {
  FixtureHost h;
  FixtureHost::h200(h);
  HostSnapshot s = h.discover();
  EXPECT_TRUE(s.problems.empty()) << all_messages(s.problems);
  EXPECT_TRUE(s.gpu_problems.empty()) << all_messages(s.gpu_problems);
  ASSERT_TRUE(s.driver_loaded);
  ASSERT_TRUE(s.driver);
  EXPECT_EQ(s.driver->version, "580.159.04");
  EXPECT_TRUE(s.driver->open_module);
  ASSERT_EQ(s.gpus.size(), 1u);
  EXPECT_EQ(s.gpus[0].uuid, test::kH200Uuid);
  EXPECT_EQ(s.gpus[0].index, 0);
  EXPECT_EQ(s.gpus[0].device_minor, 0);
  EXPECT_EQ(s.majors.nvidia(), 195);
  EXPECT_EQ(s.majors.get("nvidia-uvm"), 238);
  ASSERT_TRUE(s.params);
  EXPECT_EQ(s.params->mode, 0666u);
  EXPECT_EQ(s.mig_minors.size(), 4322u);
  EXPECT_TRUE(s.caps.empty());
  EXPECT_TRUE(s.modules_known);
  EXPECT_EQ(s.modules, (std::set<std::string>{"nvidia", "nvidia_uvm"}));
}

TEST(Discovery, IndexFollowsPciOrderNotMinor) {
  FixtureHost h;
  FixtureHost::multi_gpu(h);
  HostSnapshot s = h.discover();
  EXPECT_TRUE(s.gpu_problems.empty()) << all_messages(s.gpu_problems);
  ASSERT_EQ(s.gpus.size(), 3u);
  EXPECT_EQ(s.gpus[0].bus_location, "0000:01:00.0");
  EXPECT_EQ(s.gpus[1].bus_location, "0000:41:00.0");
  EXPECT_EQ(s.gpus[2].bus_location, "0000:81:00.0");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(s.gpus[i].index, i);
    EXPECT_EQ(s.gpus[i].uuid, test::kMultiUuids[i]);
  }
  EXPECT_EQ(s.gpus[0].device_minor, 2);
  EXPECT_EQ(s.gpus[1].device_minor, 0);
  EXPECT_EQ(s.gpus[2].device_minor, 1);
}

TEST(Discovery, SortsByNormalisedBusNotDirectoryName) {
  // "00000000:81:00.0" sorts before "0000:41:00.0" as a name, after it as a bus.
  FixtureHost h;
  FixtureHost::multi_gpu(h);
  h.remove("proc/driver/nvidia/gpus");
  h.add_gpu("00000000:81:00.0", 0, test::kMultiUuids[1]);
  h.add_gpu("0000:41:00.0", 1, test::kMultiUuids[0]);
  HostSnapshot s = h.discover();
  ASSERT_EQ(s.gpus.size(), 2u);
  EXPECT_EQ(s.gpus[0].bus_location, "0000:41:00.0");
  EXPECT_EQ(s.gpus[0].index, 0);
  EXPECT_EQ(s.gpus[1].bus_location, "0000:81:00.0");
  EXPECT_EQ(s.gpus[1].index, 1);
}

TEST(Discovery, ExcludedGpuGetsNoIndex) {
  FixtureHost h;
  FixtureHost::multi_gpu(h);
  h.add_gpu("0000:41:00.0", 0, test::kMultiUuids[1], "NVIDIA A100", /*excluded=*/true);
  HostSnapshot s = h.discover();
  ASSERT_EQ(s.gpus.size(), 3u);
  EXPECT_EQ(s.gpus[0].index, 0);
  EXPECT_TRUE(s.gpus[1].excluded);
  EXPECT_EQ(s.gpus[1].index, -1);
  EXPECT_EQ(s.gpus[2].index, 1);
}

TEST(Discovery, DuplicateMinorsAreGpuProblems) {
  FixtureHost h;
  FixtureHost::multi_gpu(h);
  h.add_gpu("0000:81:00.0", 2, test::kMultiUuids[2]);  // minor 2 is 0000:01:00.0's
  HostSnapshot s = h.discover();
  ASSERT_FALSE(s.gpu_problems.empty());
  EXPECT_THAT(all_messages(s.gpu_problems), HasSubstr("Device Minor 2 appears twice"));
  EXPECT_THAT(all_messages(s.gpu_problems), HasSubstr(h.path("proc/driver/nvidia/gpus")));
}

TEST(Discovery, Pre550Driver) {
  FixtureHost h;
  FixtureHost::pre550(h);
  HostSnapshot s = h.discover();
  EXPECT_TRUE(s.problems.empty()) << all_messages(s.problems);
  ASSERT_TRUE(s.driver);
  EXPECT_EQ(s.driver->version, "535.129.03");
  EXPECT_FALSE(s.driver->open_module);
  EXPECT_EQ(s.majors.nvidia(), 195);
  EXPECT_EQ(s.majors.get("nvidia"), std::nullopt);
  ASSERT_EQ(s.gpus.size(), 1u);
  EXPECT_EQ(s.gpus[0].index, 0);
}

TEST(Discovery, NoDriver) {
  FixtureHost h;
  FixtureHost::no_driver(h);
  HostSnapshot s = h.discover();
  EXPECT_FALSE(s.driver_loaded);
  EXPECT_FALSE(s.driver);
  EXPECT_TRUE(s.gpus.empty());
  EXPECT_FALSE(s.params);
  EXPECT_EQ(s.majors.nvidia(), std::nullopt);
  // A missing driver is not a problem in the files: no parse errors.
  EXPECT_TRUE(s.problems.empty()) << all_messages(s.problems);
  EXPECT_TRUE(s.gpu_problems.empty()) << all_messages(s.gpu_problems);
}

TEST(Discovery, EmptyTreeReportsMissingProcDevices) {
  FixtureHost h;
  HostSnapshot s = h.discover();
  EXPECT_FALSE(s.driver_loaded);
  EXPECT_FALSE(s.modules_known);
  EXPECT_THAT(all_messages(s.problems), HasSubstr(h.path("proc/devices") + "': ENOENT"));
}

// Each malformed file gives a problem naming the file and what is wrong;
// nothing crashes and the rest of the snapshot is still read.
struct Malformed {
  const char* name;
  const char* file;
  std::string content;
  const char* problem;
  bool gpu_problem = false;
};

class DiscoveryMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(DiscoveryMalformed, ReportsPathAndProblem) {
  const Malformed& m = GetParam();
  FixtureHost h;
  FixtureHost::h200(h);
  h.write(m.file, m.content);
  HostSnapshot s = h.discover();
  const std::string msgs = all_messages(m.gpu_problem ? s.gpu_problems : s.problems);
  EXPECT_THAT(msgs, HasSubstr("'" + h.path(m.file) + "'"));
  EXPECT_THAT(msgs, HasSubstr(m.problem));
  EXPECT_TRUE(s.driver_loaded);
}

const std::string kInfo = "gpu-0000:00:06.0-information.txt";

INSTANTIATE_TEST_SUITE_P(
    Files, DiscoveryMalformed,
    ::testing::Values(
        Malformed{"VersionGarbage", "proc/driver/nvidia/version", "\x89PNG\r\n\x1a\n",
                  "does not start with 'NVRM version:'"},
        Malformed{"VersionTruncated", "proc/driver/nvidia/version", "NVRM version: NVIDIA UNIX Open Kernel Mod",
                  "no version number"},
        Malformed{"VersionNul", "proc/driver/nvidia/version", std::string("NVRM version: 580.1\0\0", 21), "NUL bytes"},
        Malformed{"DevicesGarbage", "proc/devices", "lorem ipsum\n", "no 'Character devices:' section"},
        Malformed{"DevicesLongLine", "proc/devices", "Character devices:\n1 " + std::string(5000, 'm') + "\n",
                  "line longer than 4096 bytes"},
        Malformed{"DevicesTwoMajors", "proc/devices", test::proc_devices({{195, "nvidia"}, {196, "nvidia"}}),
                  "name 'nvidia' listed with two majors"},
        Malformed{"DevicesHuge", "proc/devices", std::string(2 << 20, '\n'), "larger than 1048576 bytes"},
        Malformed{"ParamsMissingMode", "proc/driver/nvidia/params", "DeviceFileUID: 0\n", "no 'DeviceFileMode' line"},
        Malformed{"MigMinorsDuplicate", "proc/driver/nvidia-caps/mig-minors", "config 1\nconfig 1\n",
                  "duplicate name 'config'"},
        Malformed{"CapMissingMinor", "proc/driver/nvidia/capabilities/mig/config", "DeviceFileMode: 256\n",
                  "no 'DeviceFileMinor' line"},
        Malformed{"InfoTruncated", "proc/driver/nvidia/gpus/0000:00:06.0/information",
                  "Model: \t\t NVIDIA H200\nGPU UU", "no 'Device Minor' line", true},
        Malformed{"InfoBinary", "proc/driver/nvidia/gpus/0000:00:06.0/information",
                  std::string("Device Minor: 0\n\0\0\xff\xfe", 20), "NUL bytes", true},
        Malformed{"InfoMissingUuid", "proc/driver/nvidia/gpus/0000:00:06.0/information",
                  "Bus Location: 0000:00:06.0\nDevice Minor: 0\n", "no 'GPU UUID' line", true}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(Discovery, UnreadableGpuEntryIsAGpuProblem) {
  FixtureHost h;
  FixtureHost::h200(h);
  h.write("proc/driver/nvidia/gpus/0000:00:07.0", "not a directory");
  HostSnapshot s = h.discover();
  EXPECT_THAT(all_messages(s.gpu_problems), HasSubstr(h.path("proc/driver/nvidia/gpus/0000:00:07.0/information")));
  EXPECT_EQ(s.gpus.size(), 1u);
}

TEST(Discovery, ModuleLoadedPrefersSysModule) {
  FixtureHost h;
  FixtureHost::h200(h);
  HostRoot root(h.root());
  HostSnapshot s = h.discover();
  EXPECT_TRUE(module_loaded(root, s, "nvidia_uvm"));  // from /proc/modules
  EXPECT_FALSE(module_loaded(root, s, "nvidia_modeset"));
  h.write("sys/module/nvidia_modeset/initstate", "live\n");
  EXPECT_TRUE(module_loaded(root, s, "nvidia_modeset"));
  h.write("sys/module/nvidia_uvm/initstate", "going\n");
  EXPECT_FALSE(module_loaded(root, s, "nvidia_uvm"));
}

// --- read_gpu and order_gpus -------------------------------------------------------

TEST(ReadGpu, OneInformationFile) {
  test::TempDir d;
  d.write("0000:00:06.0/information", test::read_fixture("gpu-0000:00:06.0-information.txt"));
  auto g = read_gpu(d.path("0000:00:06.0"));
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(g->uuid, test::kH200Uuid);
  EXPECT_EQ(g->bus_location, "0000:00:06.0");
  EXPECT_EQ(g->device_minor, 0);
  EXPECT_EQ(g->index, -1);  // numbered by order_gpus, once all are read
}

TEST(ReadGpu, UnreadableOrMalformedNamesTheInformationFile) {
  test::TempDir d;
  auto missing = read_gpu(d.path("0000:00:06.0"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().err, ENOENT);
  EXPECT_THAT(missing.error().message(), HasSubstr("'" + d.path("0000:00:06.0/information") + "'"));

  d.write("0000:00:07.0", "a file where a directory belongs");
  auto not_dir = read_gpu(d.path("0000:00:07.0"));
  ASSERT_FALSE(not_dir);
  EXPECT_EQ(not_dir.error().err, ENOTDIR);

  d.write("0000:00:08.0/information", "Model: NVIDIA H200\nDevice Minor: 0\n");
  auto malformed = read_gpu(d.path("0000:00:08.0"));
  ASSERT_FALSE(malformed);
  EXPECT_THAT(malformed.error().message(), HasSubstr("'" + d.path("0000:00:08.0/information") + "'"));
  EXPECT_THAT(malformed.error().message(), HasSubstr("no 'GPU UUID' line"));
}

TEST(OrderGpus, PciOrderAndIndicesSkipExcluded) {
  std::vector<GpuInfo> gpus = {test::gpu(-1, "GPU-c", "0000:81:00.0", 0), test::gpu(-1, "GPU-a", "0000:01:00.0", 2),
                               test::gpu(-1, "GPU-b", "0000:41:00.0", 1, /*excluded=*/true)};
  EXPECT_TRUE(order_gpus(gpus, "/proc/driver/nvidia/gpus").empty());
  ASSERT_EQ(gpus.size(), 3u);
  EXPECT_EQ(gpus[0].uuid, "GPU-a");
  EXPECT_EQ(gpus[0].index, 0);
  EXPECT_EQ(gpus[1].uuid, "GPU-b");
  EXPECT_EQ(gpus[1].index, -1);
  EXPECT_EQ(gpus[2].uuid, "GPU-c");
  EXPECT_EQ(gpus[2].index, 1);
}

TEST(OrderGpus, SharedBusLocation) {
  std::vector<GpuInfo> gpus = {test::gpu(-1, "GPU-a", "0000:01:00.0", 0), test::gpu(-1, "GPU-b", "0000:01:00.0", 1)};
  auto problems = order_gpus(gpus, "/proc/driver/nvidia/gpus");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message(), "parse '/proc/driver/nvidia/gpus': two GPUs share a bus location or Device Minor");
}

TEST(OrderGpus, SharedMinorFoundWhereverItsGpusSort) {
  // Neighbours in bus order: both checks see it.
  std::vector<GpuInfo> adjacent = {test::gpu(-1, "GPU-a", "0000:01:00.0", 3),
                                   test::gpu(-1, "GPU-b", "0000:02:00.0", 3)};
  EXPECT_EQ(all_messages(order_gpus(adjacent, "/g")),
            "parse '/g': two GPUs share a bus location or Device Minor\n"
            "parse '/g': Device Minor 3 appears twice\n");
  // A GPU between them: only the count of minors sees it.
  std::vector<GpuInfo> apart = {test::gpu(-1, "GPU-a", "0000:01:00.0", 3), test::gpu(-1, "GPU-b", "0000:02:00.0", 4),
                                test::gpu(-1, "GPU-c", "0000:03:00.0", 3)};
  EXPECT_EQ(all_messages(order_gpus(apart, "/g")), "parse '/g': Device Minor 3 appears twice\n");
}

TEST(OrderGpus, NoneIsNoProblem) {
  std::vector<GpuInfo> none;
  EXPECT_TRUE(order_gpus(none, "/g").empty());
}

// --- stat_node ---------------------------------------------------------------------

TEST(StatNode, Missing) {
  test::TempDir d;
  NodeState s = stat_node(d.path("nope"));
  EXPECT_EQ(s.kind, NodeState::Kind::Missing);
  EXPECT_EQ(s.err, 0);
}

TEST(StatNode, CharDevice) {
  NodeState s = stat_node("/dev/null");
  EXPECT_EQ(s.kind, NodeState::Kind::CharDevice);
  EXPECT_EQ(s.rdev, makedev(1, 3));
  EXPECT_EQ(s.mode, 0666u);
}

TEST(StatNode, RegularFile) {
  test::TempDir d;
  d.write("f", "");
  ASSERT_EQ(::chmod(d.path("f").c_str(), 0640), 0);
  NodeState s = stat_node(d.path("f"));
  EXPECT_EQ(s.kind, NodeState::Kind::Other);
  EXPECT_EQ(s.mode, 0640u);
}

TEST(StatNode, SymlinkIsNeverFollowed) {
  test::TempDir d;
  d.symlink("/dev/null", "nvidia0");
  NodeState s = stat_node(d.path("nvidia0"));
  EXPECT_EQ(s.kind, NodeState::Kind::Other);
  EXPECT_NE(s.rdev, makedev(1, 3));
}

TEST(StatNode, OtherErrorsKeepErrno) {
  test::TempDir d;
  d.write("file", "x");
  NodeState s = stat_node(d.path("file/child"));
  EXPECT_EQ(s.kind, NodeState::Kind::Missing);
  EXPECT_EQ(s.err, ENOTDIR);
}

TEST(Discovery, PlanningScopeSkipsTheMigMinorsTableOnly) {
  FixtureHost h;
  FixtureHost::h200(h);
  HostSnapshot full = discover_host(HostRoot(h.root()), DiscoverScope::Full);
  HostSnapshot planning = discover_host(HostRoot(h.root()), DiscoverScope::Planning);
  EXPECT_EQ(full.mig_minors.size(), 4322u);
  EXPECT_TRUE(planning.mig_minors.empty());
  EXPECT_EQ(planning.driver->version, full.driver->version);
  EXPECT_EQ(planning.gpus.size(), full.gpus.size());
  EXPECT_EQ(planning.majors.nvidia(), full.majors.nvidia());
  EXPECT_EQ(planning.params->mode, full.params->mode);
  EXPECT_EQ(planning.modules, full.modules);
}

}  // namespace
}  // namespace phx
