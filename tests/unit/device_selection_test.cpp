#include "plan/device_selection.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixture_host.hpp"

namespace phx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Kind = GpuSelection::Kind;

// index 0: bus 01 minor 2, index 1: bus 41 minor 0, index 2: bus 81 minor 1.
const std::vector<GpuInfo> kGpus = {
    test::gpu(0, test::kMultiUuids[0], "0000:01:00.0", 2),
    test::gpu(1, test::kMultiUuids[1], "0000:41:00.0", 0),
    test::gpu(2, test::kMultiUuids[2], "0000:81:00.0", 1),
};

std::vector<std::string> uuids_of(const std::string& value, const std::vector<GpuInfo>& gpus = kGpus) {
  auto sel = parse_visible_devices(value);
  if (!sel) return {"parse error: " + sel.error().message()};
  auto r = resolve_selection(*sel, gpus);
  if (!r) return {"resolve error: " + r.error().message()};
  std::vector<std::string> out;
  for (const auto& g : *r) out.push_back(g.uuid);
  return out;
}

Error resolve_error(const std::string& value, const std::vector<GpuInfo>& gpus = kGpus) {
  auto sel = parse_visible_devices(value);
  if (!sel) return sel.error();
  auto r = resolve_selection(*sel, gpus);
  EXPECT_FALSE(r) << value;
  return r ? Error{} : r.error();
}

TEST(VisibleDevices, Keywords) {
  EXPECT_EQ(parse_visible_devices("all")->kind, Kind::All);
  EXPECT_EQ(parse_visible_devices(" ALL ")->kind, Kind::All);
  EXPECT_EQ(parse_visible_devices("none")->kind, Kind::None);
  EXPECT_EQ(parse_visible_devices("void")->kind, Kind::Void);
  EXPECT_EQ(parse_visible_devices("")->kind, Kind::Void);
  EXPECT_EQ(parse_visible_devices(" , ,")->kind, Kind::Void);
}

TEST(VisibleDevices, KeywordsResolve) {
  EXPECT_THAT(uuids_of("all"), ElementsAre(kGpus[0].uuid, kGpus[1].uuid, kGpus[2].uuid));
  EXPECT_TRUE(uuids_of("none").empty());
  EXPECT_TRUE(uuids_of("void").empty());
  EXPECT_TRUE(uuids_of("").empty());
}

TEST(VisibleDevices, Indices) {
  EXPECT_THAT(uuids_of("1"), ElementsAre(kGpus[1].uuid));
  // Host (PCI) order, whatever the order of the entries.
  EXPECT_THAT(uuids_of("2, 0"), ElementsAre(kGpus[0].uuid, kGpus[2].uuid));
}

TEST(VisibleDevices, FullUuidAndPrefixes) {
  EXPECT_THAT(uuids_of(kGpus[2].uuid), ElementsAre(kGpus[2].uuid));
  EXPECT_THAT(uuids_of("GPU-2222"), ElementsAre(kGpus[1].uuid));
  EXPECT_THAT(uuids_of("gpu-2222"), ElementsAre(kGpus[1].uuid));
  EXPECT_THAT(uuids_of("33333333-aaaa"), ElementsAre(kGpus[2].uuid));
}

TEST(VisibleDevices, AmbiguousPrefixNamesEntryAndListsGpus) {
  const std::vector<GpuInfo> twins = {
      test::gpu(0, "GPU-ab12cd34-0000-0000-0000-000000000001", "0000:01:00.0", 0),
      test::gpu(1, "GPU-ab12cd34-0000-0000-0000-000000000002", "0000:02:00.0", 1),
  };
  Error e = resolve_error("GPU-ab12", twins);
  EXPECT_EQ(e.path, "NVIDIA_VISIBLE_DEVICES");
  EXPECT_THAT(e.detail, HasSubstr("entry 'GPU-ab12': ambiguous UUID prefix: matches 2 GPUs"));
  EXPECT_THAT(e.detail, HasSubstr(twins[0].uuid));
  EXPECT_THAT(e.detail, HasSubstr(twins[1].uuid));
  EXPECT_THAT(uuids_of("ab12cd34-0000-0000-0000-000000000002", twins), ElementsAre(twins[1].uuid));
}

TEST(VisibleDevices, PciAddresses) {
  EXPECT_THAT(uuids_of("0000:41:00.0"), ElementsAre(kGpus[1].uuid));
  EXPECT_THAT(uuids_of("00000000:81:00.0"), ElementsAre(kGpus[2].uuid));
  Error e = resolve_error("0000:42:00.0");
  EXPECT_THAT(e.detail, HasSubstr("no GPU at PCI address 0000:42:00.0"));
}

TEST(VisibleDevices, UnknownIndexListsGpus) {
  Error e = resolve_error("3");
  EXPECT_THAT(e.message(), HasSubstr("entry '3': no GPU with index 3"));
  EXPECT_THAT(e.detail, HasSubstr("GPUs on this host"));
  EXPECT_THAT(e.detail, HasSubstr("0000:81:00.0"));
  EXPECT_THAT(e.detail, HasSubstr("(/dev/nvidia2)"));
}

TEST(VisibleDevices, NoGpuOnHost) {
  Error e = resolve_error("0", {});
  EXPECT_THAT(e.detail, HasSubstr("this host has no usable GPU"));
}

TEST(VisibleDevices, UnknownUuid) {
  Error e = resolve_error("GPU-deadbeef");
  EXPECT_THAT(e.detail, HasSubstr("no GPU whose UUID starts with 'GPU-deadbeef'"));
}

TEST(VisibleDevices, ExcludedGpusCannotBeSelected) {
  std::vector<GpuInfo> gpus = kGpus;
  gpus[1] = test::gpu(-1, test::kMultiUuids[1], "0000:41:00.0", 0, /*excluded=*/true);
  EXPECT_THAT(uuids_of("all", gpus), ElementsAre(gpus[0].uuid, gpus[2].uuid));
  EXPECT_THAT(resolve_error("0000:41:00.0", gpus).detail, HasSubstr("excluded by the driver"));
  EXPECT_THAT(resolve_error("GPU-2222", gpus).detail, HasSubstr("excluded by the driver"));
}

TEST(VisibleDevices, MigEntriesRejected) {
  auto sel = parse_visible_devices("0,MIG-GPU-11111111/1/0");
  ASSERT_FALSE(sel);
  EXPECT_THAT(sel.error().message(), HasSubstr("MIG devices are not supported"));
  EXPECT_THAT(sel.error().message(), HasSubstr("MIG-GPU-11111111/1/0"));
}

TEST(VisibleDevices, MalformedEntries) {
  for (const char* bad : {"0,gpu0", "abc", "GPU-xyz", "0,all", "1;2", "/dev/nvidia0"}) {
    auto sel = parse_visible_devices(bad);
    ASSERT_FALSE(sel) << bad;
    EXPECT_EQ(sel.error().path, "NVIDIA_VISIBLE_DEVICES");
    EXPECT_THAT(sel.error().detail, HasSubstr("entry '"));
  }
  EXPECT_FALSE(parse_visible_devices(std::string(5000, '1') + ",0"));
}

TEST(VisibleDevices, DuplicatesDeduped) {
  EXPECT_THAT(uuids_of("0,0, 0"), ElementsAre(kGpus[0].uuid));
  EXPECT_THAT(uuids_of("1,GPU-2222,0000:41:00.0"), ElementsAre(kGpus[1].uuid));
}

TEST(DriverCapabilities, EmptyIsUtilityCompute) {
  auto c = parse_driver_capabilities("");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->compute);
  EXPECT_TRUE(c->utility);
  EXPECT_FALSE(c->video || c->graphics || c->display || c->compat32);
  EXPECT_EQ(c->str(), "compute,utility");
  EXPECT_TRUE(c->needs_uvm());
}

TEST(DriverCapabilities, All) {
  auto c = parse_driver_capabilities("all");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->str(), "compat32,compute,display,graphics,utility,video");
}

TEST(DriverCapabilities, ListAndUvm) {
  auto c = parse_driver_capabilities(" Utility , ngx");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->str(), "utility");
  EXPECT_FALSE(c->needs_uvm());
  EXPECT_TRUE(parse_driver_capabilities("video")->needs_uvm());
}

TEST(DriverCapabilities, UnknownNameIsAnError) {
  auto c = parse_driver_capabilities("compute,opengl");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().path, "NVIDIA_DRIVER_CAPABILITIES");
  EXPECT_THAT(c.error().detail, HasSubstr("unknown capability 'opengl'"));
}

}  // namespace
}  // namespace phx
