#include "driver/driver_files.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "driver_tree_fixture.hpp"

namespace phx {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr const char* k535 = "535.261.03";
constexpr const char* k470 = "470.256.02";
const std::string kCur = "/usr/lib/x86_64-linux-gnu/nvidia/current/";
const std::string kCur32 = "/usr/lib/i386-linux-gnu/nvidia/current/";

DriverCapabilities caps(const std::string& s) { return *parse_driver_capabilities(s); }

std::vector<std::string> libs(const DriverFileSet& s) {
  std::vector<std::string> out;
  for (const auto& f : s.files)
    if (f.kind == DriverFile::Kind::Library) out.push_back(f.host_path);
  std::sort(out.begin(), out.end());
  return out;
}

const DriverFile* file(const DriverFileSet& s, const std::string& host_path) {
  for (const auto& f : s.files)
    if (f.host_path == host_path) return &f;
  return nullptr;
}

class DriverFiles : public ::testing::Test {
 protected:
  void SetUp() override { test::add_nvidia535(h_); }
  test::TempDir h_;
  HostRoot root() const { return HostRoot(h_.root()); }
};

TEST_F(DriverFiles, ComputeAndUtilityFromTheRealCache) {
  auto s = discover_driver_files(root(), k535, caps("utility,compute"));
  EXPECT_THAT(s.warnings, IsEmpty());
  EXPECT_EQ(s.source, "/etc/ld.so.cache");
  EXPECT_THAT(libs(s), ElementsAre(kCur + "libcuda.so.535.261.03", kCur + "libnvidia-cfg.so.535.261.03",
                                   kCur + "libnvidia-ml.so.535.261.03", kCur + "libnvidia-nvvm.so.535.261.03",
                                   kCur + "libnvidia-ptxjitcompiler.so.535.261.03"));
  const auto* cuda = file(s, kCur + "libcuda.so.535.261.03");
  ASSERT_NE(cuda, nullptr);
  EXPECT_EQ(cuda->soname, "libcuda.so.1");
  EXPECT_EQ(cuda->dev_link, "libcuda.so");
  EXPECT_EQ(cuda->abi, LibAbi::X86_64);
  EXPECT_EQ(file(s, kCur + "libnvidia-nvvm.so.535.261.03")->soname, "libnvidia-nvvm.so.4");
  // Binaries: the real file behind Debian's /usr/bin link.
  const auto* smi = file(s, "/usr/lib/nvidia/current/nvidia-smi");
  ASSERT_NE(smi, nullptr);
  EXPECT_EQ(smi->kind, DriverFile::Kind::Binary);
  EXPECT_EQ(smi->target, "nvidia-smi");
  EXPECT_NE(file(s, "/usr/bin/nvidia-cuda-mps-control"), nullptr);
  EXPECT_NE(file(s, "/usr/sbin/nvidia-cuda-mps-server"), nullptr);
}

TEST_F(DriverFiles, UtilityOnlyHasNoComputeFiles) {
  auto s = discover_driver_files(root(), k535, caps("utility"));
  EXPECT_THAT(libs(s), ElementsAre(kCur + "libnvidia-cfg.so.535.261.03", kCur + "libnvidia-ml.so.535.261.03"));
  EXPECT_EQ(file(s, "/usr/bin/nvidia-cuda-mps-control"), nullptr);
}

TEST_F(DriverFiles, TheOtherVersionBesideItIsIgnored) {
  auto s = discover_driver_files(root(), k470, caps("utility,compute"));
  const std::string tesla = "/usr/lib/x86_64-linux-gnu/nvidia/tesla-470/";
  EXPECT_THAT(libs(s), ElementsAre(tesla + "libcuda.so.470.256.02", tesla + "libnvidia-ml.so.470.256.02"));
  EXPECT_THAT(s.warnings, Contains(AllOf(HasSubstr("libnvidia-ptxjitcompiler.so.470.256.02 not found"),
                                         HasSubstr("only version 535.261.03"))));
}

TEST_F(DriverFiles, MissingLibraryIsNamed) {
  h_.remove("usr/lib/x86_64-linux-gnu/nvidia/current/libcuda.so.535.261.03");
  auto s = discover_driver_files(root(), k535, caps("compute"));
  EXPECT_THAT(libs(s), Not(Contains(HasSubstr("libcuda"))));
  EXPECT_THAT(s.warnings, Contains(HasSubstr("libcuda.so.535.261.03 not found on the host (/etc/ld.so.cache)")));
}

TEST_F(DriverFiles, Compat32AddsTheI386Set) {
  auto s = discover_driver_files(root(), k535, caps("compute,compat32"));
  const auto* c32 = file(s, kCur32 + "libcuda.so.535.261.03");
  ASSERT_NE(c32, nullptr);
  EXPECT_EQ(c32->abi, LibAbi::I386);
  EXPECT_EQ(c32->soname, "libcuda.so.1");
  EXPECT_EQ(c32->dev_link, "");  // only the 64-bit one gets libcuda.so
  EXPECT_NE(file(s, kCur32 + "libnvidia-ptxjitcompiler.so.535.261.03"), nullptr);
  // Without compat32, none.
  auto s64 = discover_driver_files(root(), k535, caps("compute"));
  EXPECT_EQ(file(s64, kCur32 + "libcuda.so.535.261.03"), nullptr);
}

TEST_F(DriverFiles, Compat32WithoutI386LibrariesWarns) {
  h_.remove("usr/lib/i386-linux-gnu/nvidia/current/libcuda.so.535.261.03");
  auto s = discover_driver_files(root(), k535, caps("compute,compat32"));
  EXPECT_THAT(s.warnings, Contains(HasSubstr("no 32-bit libcuda.so.535.261.03")));
}

TEST_F(DriverFiles, GraphicsAndVideo) {
  auto s = discover_driver_files(root(), k535, caps("graphics,video"));
  EXPECT_THAT(s.warnings, IsEmpty());
  const auto* glx = file(s, kCur + "libGLX_nvidia.so.535.261.03");
  ASSERT_NE(glx, nullptr);
  EXPECT_EQ(glx->soname, "libGLX_nvidia.so.0");
  EXPECT_EQ(glx->dev_link, "libGLX_indirect.so.0");
  const auto* glcore = file(s, "/usr/lib/x86_64-linux-gnu/libnvidia-glcore.so.535.261.03");
  ASSERT_NE(glcore, nullptr);
  EXPECT_EQ(glcore->soname, "");  // its soname is its file name
  EXPECT_NE(file(s, kCur + "libnvcuvid.so.535.261.03"), nullptr);
  EXPECT_NE(file(s, kCur + "libcuda.so.535.261.03"), nullptr);  // video implies compute libraries
}

TEST_F(DriverFiles, WithoutACacheTheConfDirectoriesGiveTheSameLibraries) {
  auto with = discover_driver_files(root(), k535, caps("utility,compute,graphics,compat32"));
  h_.remove("etc/ld.so.cache");
  auto without = discover_driver_files(root(), k535, caps("utility,compute,graphics,compat32"));
  EXPECT_THAT(without.warnings, IsEmpty());  // a missing cache is not a problem
  EXPECT_EQ(without.source, "ld.so.conf and the default directories");
  EXPECT_EQ(libs(with), libs(without));
  for (const auto& f : with.files) {
    const auto* g = file(without, f.host_path);
    ASSERT_NE(g, nullptr) << f.host_path;
    EXPECT_EQ(g->soname, f.soname) << f.host_path;
    EXPECT_EQ(g->abi, f.abi) << f.host_path;
  }
}

TEST_F(DriverFiles, CorruptCacheFallsBackWithAWarning) {
  h_.write("etc/ld.so.cache", "glibc-ld.so.cache1.1 but cut short");
  auto s = discover_driver_files(root(), k535, caps("compute"));
  EXPECT_THAT(s.warnings, Contains(HasSubstr("searching ld.so.conf's directories instead")));
  EXPECT_NE(file(s, kCur + "libcuda.so.535.261.03"), nullptr);
}

TEST_F(DriverFiles, SocketsWhereTheHostHasThem) {
  EXPECT_THAT(discover_driver_files(root(), k535, caps("utility")).files,
              Not(Contains(::testing::Field(&DriverFile::kind, DriverFile::Kind::Socket))));
  h_.mkdir("run/nvidia-persistenced");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  const std::string p = h_.path("run/nvidia-persistenced/socket");
  ASSERT_LT(p.size(), sizeof sa.sun_path);
  std::copy(p.begin(), p.end(), sa.sun_path);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ::close(fd);
  auto s = discover_driver_files(root(), k535, caps("utility"));
  const auto* sock = file(s, "/run/nvidia-persistenced/socket");
  ASSERT_NE(sock, nullptr);
  EXPECT_EQ(sock->kind, DriverFile::Kind::Socket);
  EXPECT_EQ(sock->target, "/run/nvidia-persistenced/socket");
}

TEST(ResolveHostFile, AbsoluteLinksStayBelowTheRoot) {
  test::TempDir h;
  h.write("usr/lib/real.so.1", "x");
  h.symlink("/usr/lib/real.so.1", "usr/lib/abs.so");
  h.symlink("lib", "usr/lib64");
  h.symlink("/usr/lib64/abs.so", "usr/lib/chain.so");
  h.symlink("loop2", "usr/lib/loop1");
  h.symlink("loop1", "usr/lib/loop2");
  h.mkdir("usr/lib/dir");
  const HostRoot r(h.root());
  EXPECT_EQ(resolve_host_file(r, "/usr/lib/abs.so"), "/usr/lib/real.so.1");
  EXPECT_EQ(resolve_host_file(r, "/usr/lib/chain.so"), "/usr/lib/real.so.1");
  EXPECT_EQ(resolve_host_file(r, "/usr/lib64/real.so.1"), "/usr/lib/real.so.1");
  EXPECT_EQ(resolve_host_file(r, "/usr/lib/loop1"), "");
  EXPECT_EQ(resolve_host_file(r, "/usr/lib/dir"), "");
  EXPECT_EQ(resolve_host_file(r, "/usr/lib/none"), "");
}

TEST_F(DriverFiles, JsonRoundTrip) {
  auto s = discover_driver_files(root(), k535, caps("utility,compute,graphics,compat32"));
  s.warnings.push_back("w");
  auto back = driver_files_from_json(driver_files_to_json(s), "f.json");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, s);
}

TEST(DriverFilesJson, RejectsPathsThatCouldEscape) {
  auto make = [](const std::string& kind, const std::string& host, const std::string& target,
                 const std::string& soname = "") {
    return std::string(R"({"format":"phoenix-gpu-driver-files","version":1,"driver_version":"535.1","source":"s",)") +
           R"("warnings":[],"files":[{"kind":")" + kind + R"(","host_path":")" + host + R"(","abi":"x86_64",)" +
           R"("soname":")" + soname + R"(","dev_link":"","target":")" + target + R"("}]})";
  };
  EXPECT_TRUE(driver_files_from_json(make("library", "/usr/lib/libcuda.so.535.1", "", "libcuda.so.1"), "f"));
  EXPECT_TRUE(driver_files_from_json(make("binary", "/usr/bin/nvidia-smi", "nvidia-smi"), "f"));
  EXPECT_FALSE(driver_files_from_json(make("library", "/usr/lib/../../etc/shadow", ""), "f"));
  EXPECT_FALSE(driver_files_from_json(make("library", "relative/libcuda.so.1", ""), "f"));
  EXPECT_FALSE(driver_files_from_json(make("library", "/usr/lib/libcuda.so.535.1", "", "../../libx"), "f"));
  EXPECT_FALSE(driver_files_from_json(make("binary", "/usr/bin/nvidia-smi", "../sbin/x"), "f"));
  EXPECT_FALSE(driver_files_from_json(make("socket", "/run/s", "/run/../etc/x"), "f"));
  EXPECT_FALSE(driver_files_from_json(make("device", "/dev/x", "/dev/x"), "f"));
  EXPECT_FALSE(driver_files_from_json("{\"format\":\"phoenix-gpu-driver-files\",\"version\":2}", "f"));
  EXPECT_FALSE(driver_files_from_json("[]", "f"));
}

}  // namespace
}  // namespace phx
