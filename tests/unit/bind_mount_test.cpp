#include "fs/bind_mount.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdlib>

#include "fixture_host.hpp"

namespace phx {
namespace {

// Each case runs in a child in its own private mount namespace, so no mount
// reaches the host; the parameter picks the mount API (true: classic
// mount(2) onto /proc/self/fd/N).
class BindMount : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (!test::is_root()) GTEST_SKIP() << "bind mounts need root";
    d.mkdir("rootfs/dev");
    d.mkdir("elsewhere");
  }

  // Runs fn(root_fd) in the child; "" is success.
  std::string in_namespace(const std::function<std::string(int)>& fn) {
    const bool classic = GetParam();
    const std::string rootfs = d.path("rootfs");
    return test::in_child([&]() -> std::string {
      if (::unshare(CLONE_NEWNS) != 0) return "skip: unshare(CLONE_NEWNS) failed";
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "mount MS_PRIVATE failed";
      if (classic) ::setenv("PHOENIX_GPU_NO_MOUNT_API", "1", 1);
      if (!classic && !new_mount_api_available()) return "skip: kernel without open_tree/move_mount";
      if (classic && new_mount_api_available()) return "PHOENIX_GPU_NO_MOUNT_API=1 ignored";
      UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!root) return "open rootfs failed";
      return fn(root.get());
    });
  }

  void run(const std::function<std::string(int)>& fn) {
    std::string msg = in_namespace(fn);
    if (msg.starts_with("skip: ")) GTEST_SKIP() << msg;
    EXPECT_EQ(msg, "");
  }

  static std::string is_null_device(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return path + ": stat failed";
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) return path + " is not the bound /dev/null";
    return {};
  }

  test::TempDir d;
};

TEST_P(BindMount, BindsCharNodeIdempotently) {
  const std::string target = d.path("rootfs/dev/nvidia0");
  run([&](int root) -> std::string {
    auto r = bind_node_beneath("/dev/null", root, "dev/nvidia0");
    if (!r) return "first bind: " + r.error().message();
    if (*r != BindResult::Mounted) return "first bind did not mount";
    if (auto e = is_null_device(target); !e.empty()) return e;
    auto again = bind_node_beneath("/dev/null", root, "dev/nvidia0");
    if (!again) return "second bind: " + again.error().message();
    if (*again != BindResult::AlreadyThere) return "second bind mounted again";
    return {};
  });
  // Outside the child's namespace only the empty mount point is left.
  struct stat st {};
  ASSERT_EQ(::lstat(target.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 0);
}

TEST_P(BindMount, CreatesNestedDirectories) {
  run([&](int root) -> std::string {
    auto r = bind_node_beneath("/dev/null", root, "dev/nvidia-caps/nvidia-cap1");
    if (!r) return r.error().message();
    return is_null_device(d.path("rootfs/dev/nvidia-caps/nvidia-cap1"));
  });
}

TEST_P(BindMount, RefusesSymlinkedDevDirectory) {
  d.remove("rootfs/dev");
  d.symlink(d.path("elsewhere"), "rootfs/dev");
  run([&](int root) -> std::string {
    auto r = bind_node_beneath("/dev/null", root, "dev/nvidia0");
    if (r) return "bound through a symlinked /dev";
    return {};
  });
  EXPECT_TRUE(d.list("elsewhere").empty());
}

TEST_P(BindMount, FifoTargetIsLeftAlone) {
  ASSERT_EQ(::mkfifo(d.path("rootfs/dev/nvidia0").c_str(), 0600), 0);
  run([&](int root) -> std::string {
    auto r = bind_node_beneath("/dev/null", root, "dev/nvidia0");
    if (r) return "bound onto a FIFO";
    if (r.error().message().find("target is a special file") == std::string::npos) return r.error().message();
    struct stat st {};
    if (::lstat(d.path("rootfs/dev/nvidia0").c_str(), &st) != 0 || !S_ISFIFO(st.st_mode)) return "FIFO touched";
    return {};
  });
}

TEST_P(BindMount, DirectoryTargetIsLeftAlone) {
  d.write("rootfs/dev/nvidia0/keep", "x");
  run([&](int root) -> std::string {
    auto r = bind_node_beneath("/dev/null", root, "dev/nvidia0");
    if (r) return "bound onto a directory";
    if (r.error().message().find("target is a directory") == std::string::npos) return r.error().message();
    return {};
  });
  EXPECT_EQ(d.read("rootfs/dev/nvidia0/keep"), "x");
}

TEST_P(BindMount, SymlinkTargetIsLeftAlone) {
  d.write("elsewhere/victim", "keep");
  d.symlink(d.path("elsewhere/victim"), "rootfs/dev/nvidia0");
  run([&](int root) -> std::string {
    auto r = bind_node_beneath("/dev/null", root, "dev/nvidia0");
    if (r) return "bound through a symlink";
    if (r.error().message().find("target is a symlink") == std::string::npos) return r.error().message();
    return is_null_device(d.path("elsewhere/victim")).empty() ? "victim was mounted over" : "";
  });
  EXPECT_EQ(d.read("elsewhere/victim"), "keep");
}

TEST_P(BindMount, SourceMustBeCharDevice) {
  d.write("notadevice", "");
  run([&](int root) -> std::string {
    auto r = bind_node_beneath(d.path("notadevice"), root, "dev/nvidia0");
    if (r) return "bound a regular file";
    if (r.error().message().find("source is not a character device") == std::string::npos) {
      return r.error().message();
    }
    auto missing = bind_node_beneath(d.path("missing"), root, "dev/nvidia0");
    if (missing || missing.error().err != ENOENT) return "missing source not ENOENT";
    return {};
  });
  EXPECT_FALSE(d.exists("rootfs/dev/nvidia0"));
}

TEST_P(BindMount, RefusesADirectoryBoundFromTheHost) {
  // dev/nvidia-caps is a bind mount of a host directory: nothing may be
  // created in it.
  d.mkdir("rootfs/dev/nvidia-caps");
  const std::string host_dir = d.path("elsewhere");
  const std::string caps = d.path("rootfs/dev/nvidia-caps");
  run([&](int root) -> std::string {
    if (::mount(host_dir.c_str(), caps.c_str(), nullptr, MS_BIND, nullptr) != 0) return "bind setup failed";
    auto r = bind_node_beneath("/dev/null", root, "dev/nvidia-caps/nvidia-cap1");
    if (r) return "bound into a host directory";
    if (r.error().err != EXDEV) return "wrong error: " + r.error().message();
    return {};
  });
  struct stat st {};
  EXPECT_NE(::lstat((host_dir + "/nvidia-cap1").c_str(), &st), 0) << "a file was created in the host directory";
}

INSTANTIATE_TEST_SUITE_P(MountApi, BindMount, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Classic" : "OpenTree"; });

}  // namespace
}  // namespace phx
