#include "driver/driver_bind.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>

#include "base/unique_fd.hpp"
#include "driver_tree_fixture.hpp"
#include "fs/bind_mount.hpp"

namespace phx {
namespace {

constexpr const char* kVer = "535.261.03";

// Each case runs in a child in a private mount namespace; the parameter
// picks the mount API (true: classic mount(2) and a read-only remount).
class DriverBind : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (!test::is_root()) GTEST_SKIP() << "bind mounts need root";
    test::add_nvidia535(host_);
    d.mkdir("rootfs");
    d.mkdir("elsewhere");
  }

  void run(const std::function<std::string(int)>& fn) {
    const bool classic = GetParam();
    const std::string rootfs = d.path("rootfs");
    std::string msg = test::in_child([&]() -> std::string {
      if (::unshare(CLONE_NEWNS) != 0) return "skip: unshare(CLONE_NEWNS) failed";
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "mount MS_PRIVATE failed";
      if (classic) ::setenv("PHOENIX_GPU_NO_MOUNT_API", "1", 1);
      if (!classic && !new_mount_api_available()) return "skip: kernel without open_tree/move_mount";
      UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!root) return "open rootfs failed";
      return fn(root.get());
    });
    if (msg.starts_with("skip: ")) GTEST_SKIP() << msg;
    EXPECT_EQ(msg, "");
  }

  DriverFileSet set(const std::string& caps) const {
    return discover_driver_files(HostRoot(host_.root()), kVer, *parse_driver_capabilities(caps));
  }

  // "" when path is a read-only, nosuid, nodev bind of a file with `want`.
  static std::string bound_ro(const std::string& path, const std::string& want) {
    struct statvfs sv {};
    if (::statvfs(path.c_str(), &sv) != 0) return path + ": statvfs failed";
    const unsigned long need = ST_RDONLY | ST_NOSUID | ST_NODEV;
    if ((sv.f_flag & need) != need) return path + ": not mounted ro,nosuid,nodev";
    if (::open(path.c_str(), O_WRONLY | O_CLOEXEC) >= 0 || errno != EROFS) return path + ": writable";
    std::string got = test::read_binary(path);
    if (got != want) return path + ": content differs";
    return {};
  }

  static std::string link_is(const std::string& path, const std::string& target) {
    char buf[256];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    if (n < 0) return path + ": not a link";
    if (std::string(buf, static_cast<std::size_t>(n)) != target)
      return path + " -> " + std::string(buf, static_cast<std::size_t>(n));
    return {};
  }

  test::TempDir host_;
  test::TempDir d;
};

TEST_P(DriverBind, DebianLayoutGetsMultiarchLinksAndBinaries) {
  d.mkdir("rootfs/usr/lib/x86_64-linux-gnu");
  auto s = set("utility,compute,compat32");
  const HostRoot host(host_.root());
  const std::string rootfs = d.path("rootfs");
  run([&](int root_fd) -> std::string {
    auto r = bind_driver_files(s, host, root_fd);
    if (!r.skipped.empty()) return "skipped " + r.skipped[0].first + ": " + r.skipped[0].second;
    const std::string lib = rootfs + "/usr/lib/x86_64-linux-gnu/";
    for (const auto& m :
         {bound_ro(lib + "libcuda.so.535.261.03", test::elf_ident('\2')),
          bound_ro(rootfs + "/usr/lib/i386-linux-gnu/libcuda.so.535.261.03", test::elf_ident('\1')),
          bound_ro(rootfs + "/usr/bin/nvidia-smi", test::elf_ident('\2')),
          bound_ro(rootfs + "/usr/bin/nvidia-cuda-mps-server", test::elf_ident('\2')),
          link_is(lib + "libcuda.so.1", "libcuda.so.535.261.03"), link_is(lib + "libcuda.so", "libcuda.so.1"),
          link_is(lib + "libnvidia-nvvm.so.4", "libnvidia-nvvm.so.535.261.03"),
          link_is(rootfs + "/usr/lib/i386-linux-gnu/libcuda.so.1", "libcuda.so.535.261.03")}) {
      if (!m.empty()) return m;
    }
    return {};
  });
}

TEST_P(DriverBind, Lib64AndPlainLayouts) {
  d.mkdir("rootfs/usr/lib64");
  auto s = set("compute,compat32");
  const HostRoot host(host_.root());
  const std::string rootfs = d.path("rootfs");
  run([&](int root_fd) -> std::string {
    auto r = bind_driver_files(s, host, root_fd);
    if (!r.skipped.empty()) return "skipped " + r.skipped[0].first;
    if (auto m = bound_ro(rootfs + "/usr/lib64/libcuda.so.535.261.03", test::elf_ident('\2')); !m.empty()) return m;
    return bound_ro(rootfs + "/usr/lib/libcuda.so.535.261.03", test::elf_ident('\1'));
  });
  test::TempDir plain;
  EXPECT_EQ(container_lib_dirs(::open(plain.root().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)).lib32, "");
}

TEST_P(DriverBind, HostileLayoutTouchesNothingOutside) {
  // usr/lib is a link out of the rootfs; usr/bin/nvidia-smi a link to a
  // host file; usr/bin/nvidia-cuda-mps-control a directory.
  d.mkdir("rootfs/usr/bin/nvidia-cuda-mps-control");
  d.symlink(d.path("elsewhere"), "rootfs/usr/lib");
  d.write("elsewhere/victim", "keep");
  d.symlink(d.path("elsewhere/victim"), "rootfs/usr/bin/nvidia-smi");
  auto s = set("utility,compute");
  const HostRoot host(host_.root());
  run([&](int root_fd) -> std::string {
    auto r = bind_driver_files(s, host, root_fd);
    // Only the one file whose way is clean.
    if (r.bound != std::vector<std::string>{"/usr/bin/nvidia-cuda-mps-server"}) return "bound the wrong set";
    for (const auto& [p, why] : r.skipped) {
      if (p == "/usr/bin/nvidia-smi" && why.find("a symlink") == std::string::npos) return p + ": " + why;
      if (p == "/usr/bin/nvidia-cuda-mps-control" && why.find("a directory") == std::string::npos)
        return p + ": " + why;
    }
    return r.skipped.size() == s.files.size() - 1 ? "" : "not every other file skipped";
  });
  EXPECT_EQ(d.list("elsewhere"), std::vector<std::string>{"victim"});
  EXPECT_EQ(d.read("elsewhere/victim"), "keep");
}

TEST_P(DriverBind, AfterAnUpgradeTheOldVersionIsGone) {
  const std::string lib = "rootfs/usr/lib/x86_64-linux-gnu/";
  d.write(lib + "libcuda.so.470.256.02", "");                // our mount point of the last start
  d.write(lib + "libnvidia-ml.so.470.256.02", "installed");  // the container's own: kept
  d.write(lib + "libfoo.so.1.2.3", "");                      // not a driver library: kept
  d.symlink("libcuda.so.470.256.02", lib + "libcuda.so.1");
  d.write(lib + "libnvidia-cfg.so.1", "a file");  // not a link: left alone
  auto s = set("utility,compute");
  const HostRoot host(host_.root());
  const std::string rootfs = d.path("rootfs");
  run([&](int root_fd) -> std::string {
    auto r = bind_driver_files(s, host, root_fd);
    if (r.removed != std::vector<std::string>{"/usr/lib/x86_64-linux-gnu/libcuda.so.470.256.02"})
      return "removed wrong";
    if (r.skipped.size() != 1 || r.skipped[0].first != "/usr/lib/x86_64-linux-gnu/libnvidia-cfg.so.1")
      return "skipped wrong";
    return link_is(rootfs + "/usr/lib/x86_64-linux-gnu/libcuda.so.1", "libcuda.so.535.261.03");
  });
  EXPECT_FALSE(d.exists(lib + "libcuda.so.470.256.02"));
  EXPECT_EQ(d.read(lib + "libnvidia-ml.so.470.256.02"), "installed");
  EXPECT_TRUE(d.exists(lib + "libfoo.so.1.2.3"));
  EXPECT_EQ(d.read(lib + "libnvidia-cfg.so.1"), "a file");
}

INSTANTIATE_TEST_SUITE_P(MountApi, DriverBind, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "classic" : "new_api"; });

}  // namespace
}  // namespace phx
