#include "host/nvidia_proc.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixture_host.hpp"

namespace phx {
namespace {

using ::testing::HasSubstr;
using namespace std::string_literals;
using test::read_fixture;

const std::string kPath = "/proc/x";

// The message names the path and the problem.
void expect_parse_error(const Error& e, const std::string& path, const std::string& problem) {
  EXPECT_EQ(e.path, path);
  EXPECT_THAT(e.message(), HasSubstr("'" + path + "'"));
  EXPECT_THAT(e.message(), HasSubstr(problem));
}

// --- version -----------------------------------------------------------------

TEST(DriverVersion, OpenModuleFixture) {
  auto v = parse_driver_version(read_fixture("proc-driver-nvidia-version.txt"), kPath);
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(v->version, "580.159.04");
  EXPECT_TRUE(v->open_module);
  EXPECT_THAT(v->first_line, HasSubstr("Open Kernel Module"));
}

TEST(DriverVersion, ProprietaryWording) {
  auto v = parse_driver_version(
      "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.129.03  Thu Oct 19 22:12:42 UTC 2023\n"
      "GCC version:  gcc version 12.2.0\n",
      kPath);
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(v->version, "535.129.03");
  EXPECT_FALSE(v->open_module);
}

TEST(DriverVersion, NoVersionTokenIsAnError) {
  auto v =
      parse_driver_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  Thu Oct 19 22:12:42 UTC 2023\n", kPath);
  ASSERT_FALSE(v);
  expect_parse_error(v.error(), kPath, "no version number");
}

TEST(DriverVersion, TruncatedVersionTokenIsAnError) {
  auto v = parse_driver_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.", kPath);
  ASSERT_FALSE(v);
  expect_parse_error(v.error(), kPath, "no version number");
}

TEST(DriverVersion, MalformedInputs) {
  expect_parse_error(parse_driver_version("", kPath).error(), kPath, "empty");
  expect_parse_error(parse_driver_version("garbage\x01\x02 535.129.03\n", kPath).error(), kPath, "NVRM version:");
  expect_parse_error(parse_driver_version("NVRM version: 535.1\0x"s, kPath).error(), kPath, "NUL");
  expect_parse_error(parse_driver_version("NVRM version: " + std::string(5000, 'x'), kPath).error(), kPath,
                     "longer than 4096");
}

// --- information ---------------------------------------------------------------

TEST(GpuInformation, H200FixtureAllFields) {
  auto g = parse_gpu_information(read_fixture("gpu-0000:00:06.0-information.txt"), kPath);
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(g->model, "NVIDIA H200");
  EXPECT_EQ(g->uuid, test::kH200Uuid);
  EXPECT_EQ(g->bus_location, "0000:00:06.0");
  EXPECT_EQ(g->device_minor, 0);
  EXPECT_FALSE(g->excluded);
  EXPECT_EQ(g->index, -1);  // indices are assigned by discovery
}

std::string info(const std::string& bus, const std::string& minor_line, const std::string& uuid = test::kH200Uuid,
                 const std::string& excluded = "No") {
  return "Model: \t\t NVIDIA H200\nGPU UUID: \t " + uuid + "\nBus Location: \t " + bus + "\n" + minor_line +
         "GPU Excluded:\t " + excluded + "\n";
}

TEST(GpuInformation, EightDigitDomainIsNormalised) {
  auto g = parse_gpu_information(info("00000000:8A:00.0", "Device Minor: \t 3\n"), kPath);
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(g->bus_location, "0000:8a:00.0");
  EXPECT_EQ(g->device_minor, 3);
}

TEST(GpuInformation, Excluded) {
  auto g = parse_gpu_information(info("0000:01:00.0", "Device Minor: 1\n", test::kH200Uuid, "Yes"), kPath);
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_TRUE(g->excluded);
}

TEST(GpuInformation, MissingDeviceMinor) {
  auto g = parse_gpu_information(info("0000:01:00.0", ""), kPath);
  ASSERT_FALSE(g);
  expect_parse_error(g.error(), kPath, "no 'Device Minor' line");
}

TEST(GpuInformation, BadDeviceMinor) {
  for (const char* bad : {"abc", "-1", "254", "255", "0x3"}) {
    auto g = parse_gpu_information(info("0000:01:00.0", std::string("Device Minor: ") + bad + "\n"), kPath);
    ASSERT_FALSE(g) << bad;
    expect_parse_error(g.error(), kPath, "bad 'Device Minor' value '" + std::string(bad) + "'");
  }
}

TEST(GpuInformation, BadUuid) {
  for (const char* bad : {"fe880471-3c20-f2db-312e-5af0bb236217", "GPU-", "MIG-fe880471-3c20"}) {
    auto g = parse_gpu_information(info("0000:01:00.0", "Device Minor: 0\n", bad), kPath);
    ASSERT_FALSE(g) << bad;
    expect_parse_error(g.error(), kPath, "bad 'GPU UUID' value");
  }
}

TEST(GpuInformation, BadBusLocation) {
  for (const char* bad : {"0000:01:00", "000:01:00.0", "0000:01:00.8x", "zzzz:01:00.0", "100000000:01:00.0"}) {
    auto g = parse_gpu_information(info(bad, "Device Minor: 0\n"), kPath);
    ASSERT_FALSE(g) << bad;
    expect_parse_error(g.error(), kPath, "bad 'Bus Location' value");
  }
}

TEST(GpuInformation, TruncatedGarbageAndBinary) {
  const std::string full = read_fixture("gpu-0000:00:06.0-information.txt");
  expect_parse_error(parse_gpu_information(full.substr(0, full.size() / 3), kPath).error(), kPath,
                     "no 'Device Minor' line");
  expect_parse_error(parse_gpu_information("\x7f"
                                           "ELF\x02\x01\x01 garbage",
                                           kPath)
                         .error(),
                     kPath, "no 'Device Minor' line");
  std::string with_nul = full;
  with_nul[10] = '\0';
  expect_parse_error(parse_gpu_information(with_nul, kPath).error(), kPath, "NUL");
  expect_parse_error(parse_gpu_information(full + "Model: " + std::string(10000, 'A') + "\n", kPath).error(), kPath,
                     "longer than 4096");
}

TEST(GpuInformation, DuplicateKeyIsAnError) {
  auto g = parse_gpu_information(info("0000:01:00.0", "Device Minor: 0\nDevice Minor: 1\n"), kPath);
  ASSERT_FALSE(g);
  expect_parse_error(g.error(), kPath, "Device Minor");
}

TEST(PciAddress, Normalisation) {
  EXPECT_EQ(normalize_pci_address("0000:01:00.0"), "0000:01:00.0");
  EXPECT_EQ(normalize_pci_address(" 0000:AB:1F.7 "), "0000:ab:1f.7");
  EXPECT_EQ(normalize_pci_address("00000001:01:00.0"), "0001:01:00.0");
  EXPECT_EQ(normalize_pci_address("00010000:01:00.0"), std::nullopt);  // domain beyond 16 bits
  EXPECT_EQ(normalize_pci_address("01:00.0"), std::nullopt);
  EXPECT_EQ(normalize_pci_address(""), std::nullopt);
}

// --- /proc/devices ---------------------------------------------------------------

TEST(ProcDevices, H200Fixture) {
  auto m = parse_proc_devices(read_fixture("proc-devices.txt"), kPath);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->nvidia(), 195);
  EXPECT_EQ(m->get("nvidiactl"), 195);
  EXPECT_EQ(m->get("nvidia-uvm"), 238);
  EXPECT_EQ(m->get("nvidia-caps"), 241);
  EXPECT_EQ(m->get("nvidia-caps-imex-channels"), 242);
  EXPECT_EQ(m->get("hidraw"), 243);
}

TEST(ProcDevices, NamesMatchExactly) {
  auto m = parse_proc_devices(test::proc_devices({{238, "nvidia-uvm"}, {241, "nvidia-caps"}}), kPath);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->nvidia(), std::nullopt);  // "nvidia" is not a prefix match of nvidia-uvm
  EXPECT_EQ(m->get("nvidia"), std::nullopt);
  EXPECT_EQ(m->get("nvidia-uvm"), 238);
}

TEST(ProcDevices, Pre550FrontendName) {
  auto m = parse_proc_devices(test::proc_devices({{195, "nvidia-frontend"}}), kPath);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->nvidia(), 195);
  EXPECT_EQ(m->get("nvidia"), std::nullopt);
}

TEST(ProcDevices, BlockSectionIgnored) {
  auto m = parse_proc_devices("Character devices:\n  1 mem\n\nBlock devices:\n195 nvidia\n254 nvidia-uvm\n", kPath);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->nvidia(), std::nullopt);
  EXPECT_EQ(m->get("nvidia-uvm"), std::nullopt);
  EXPECT_EQ(m->get("mem"), 1);
}

TEST(ProcDevices, NvidiaNameWithTwoMajorsIsAnError) {
  auto m = parse_proc_devices(test::proc_devices({{195, "nvidia"}, {238, "nvidia-uvm"}, {237, "nvidia-uvm"}}), kPath);
  ASSERT_FALSE(m);
  expect_parse_error(m.error(), kPath, "name 'nvidia-uvm' listed with two majors (238, 237)");
}

TEST(ProcDevices, OtherNamesMayRepeat) {
  // The H200 capture has infiniband_mad at 231 and 245.
  auto m = parse_proc_devices(test::proc_devices({{231, "infiniband_mad"}, {245, "infiniband_mad"}}), kPath);
  ASSERT_TRUE(m) << m.error().message();
}

TEST(ProcDevices, Malformed) {
  expect_parse_error(parse_proc_devices("", kPath).error(), kPath, "no 'Character devices:' section");
  expect_parse_error(parse_proc_devices("random garbage\n", kPath).error(), kPath, "no 'Character devices:' section");
  expect_parse_error(parse_proc_devices("Character devices:\nnvidia\n", kPath).error(), kPath,
                     "malformed line 'nvidia'");
  expect_parse_error(parse_proc_devices("Character devices:\nx195 nvidia\n", kPath).error(), kPath, "malformed line");
  expect_parse_error(parse_proc_devices("Character devices:\n99999 nvidia\n", kPath).error(), kPath, "malformed line");
  expect_parse_error(parse_proc_devices("Character devices:\n195 nvi\0dia\n"s, kPath).error(), kPath, "NUL");
  expect_parse_error(parse_proc_devices("Character devices:\n195 " + std::string(8000, 'n') + "\n", kPath).error(),
                     kPath, "longer than 4096");
}

// --- params ------------------------------------------------------------------------

TEST(Params, H200Fixture) {
  auto p = parse_params(read_fixture("proc-driver-nvidia-params.txt"), kPath);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->mode, 0666u);  // DeviceFileMode: 438
  EXPECT_EQ(p->uid, 0u);
  EXPECT_EQ(p->gid, 0u);
  EXPECT_TRUE(p->modify);
}

TEST(Params, GroupAndMode) {
  auto p = parse_params("ModifyDeviceFiles: 0\nDeviceFileUID: 0\nDeviceFileGID: 44\nDeviceFileMode: 432\n", kPath);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->mode, 0660u);
  EXPECT_EQ(p->gid, 44u);
  EXPECT_FALSE(p->modify);
}

TEST(Params, MissingModeIsAnError) {
  auto p = parse_params("DeviceFileUID: 0\nDeviceFileGID: 0\n", kPath);
  ASSERT_FALSE(p);
  expect_parse_error(p.error(), kPath, "no 'DeviceFileMode' line");
}

TEST(Params, OutOfRange) {
  expect_parse_error(parse_params("DeviceFileMode: 4096\n", kPath).error(), kPath, "bad 'DeviceFileMode' value '4096'");
  expect_parse_error(parse_params("DeviceFileMode: -1\n", kPath).error(), kPath, "bad 'DeviceFileMode' value '-1'");
  expect_parse_error(parse_params("DeviceFileMode: 438\nDeviceFileUID: 4294967295\n", kPath).error(), kPath,
                     "bad 'DeviceFileUID'");
  expect_parse_error(parse_params("DeviceFileMode: 438\nDeviceFileGID: x\n", kPath).error(), kPath,
                     "bad 'DeviceFileGID' value 'x'");
  expect_parse_error(parse_params("DeviceFileMode: 438\nModifyDeviceFiles: 2\n", kPath).error(), kPath,
                     "bad 'ModifyDeviceFiles'");
}

// --- mig-minors, modules, cap files ---------------------------------------------------

TEST(MigMinors, FixtureParses) {
  auto m = parse_mig_minors(read_fixture("proc-driver-nvidia-caps-mig-minors.txt"), kPath);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->size(), 4322u);
  EXPECT_EQ(m->at("config"), 1);
  EXPECT_EQ(m->at("monitor"), 2);
  EXPECT_EQ(m->at("gpu0/gi0/access"), 3);
  EXPECT_EQ(m->at("gpu0/gi0/ci1/access"), 5);
}

TEST(MigMinors, DuplicateIsAnError) {
  auto m = parse_mig_minors("config 1\nmonitor 2\nconfig 3\n", kPath);
  ASSERT_FALSE(m);
  expect_parse_error(m.error(), kPath, "duplicate name 'config'");
}

TEST(MigMinors, Malformed) {
  expect_parse_error(parse_mig_minors("config\n", kPath).error(), kPath, "malformed line 'config'");
  expect_parse_error(parse_mig_minors("config one\n", kPath).error(), kPath, "malformed line");
  expect_parse_error(parse_mig_minors("config -1\n", kPath).error(), kPath, "malformed line");
}

TEST(ProcModules, Names) {
  auto m =
      parse_proc_modules("nvidia_uvm 2076672 0 - Live 0x0 (OE)\nnvidia 14381056 1 nvidia_uvm, Live 0x0\n\n", kPath);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(*m, (std::set<std::string>{"nvidia", "nvidia_uvm"}));
  expect_parse_error(parse_proc_modules("nvidia\0 1"s, kPath).error(), kPath, "NUL");
}

TEST(CapFile, MigAccess) {
  auto c =
      parse_cap_file("DeviceFileMinor: 12\nDeviceFileMode: 292\nDeviceFileModify: 1\n", "gpu0/mig/gi1/access", kPath);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->name, "gpu0/mig/gi1/access");
  EXPECT_EQ(c->minor, 12);
  EXPECT_EQ(c->mode, 0444u);
}

TEST(CapFile, DefaultModeAndErrors) {
  auto c = parse_cap_file("DeviceFileMinor: 1\n", "mig/config", kPath);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->mode, 0444u);
  expect_parse_error(parse_cap_file("DeviceFileMode: 256\n", "mig/config", kPath).error(), kPath,
                     "no 'DeviceFileMinor' line");
  expect_parse_error(parse_cap_file("DeviceFileMinor: x\n", "mig/config", kPath).error(), kPath,
                     "bad 'DeviceFileMinor' value");
  expect_parse_error(parse_cap_file("DeviceFileMinor: 1\nDeviceFileMode: 99999\n", "mig/config", kPath).error(), kPath,
                     "bad 'DeviceFileMode' value");
}

}  // namespace
}  // namespace phx
