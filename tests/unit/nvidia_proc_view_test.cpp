#include "driver/nvidia_proc_view.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/unique_fd.hpp"
#include "fixture_host.hpp"

namespace phx {
namespace {

std::string read_abs(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> list_abs(const std::string& p) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(p)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ProcView, ParamsWithoutModify) {
  const std::string real = test::read_fixture("proc-driver-nvidia-params.txt");
  const std::string out = params_without_modify(real);
  EXPECT_NE(real.find("ModifyDeviceFiles: 1"), std::string::npos);
  EXPECT_EQ(out.find("ModifyDeviceFiles: 1"), std::string::npos);
  EXPECT_NE(out.find("ModifyDeviceFiles: 0"), std::string::npos);
  EXPECT_NE(out.find("DeviceFileMode: 438"), std::string::npos);  // the rest kept
  EXPECT_EQ(params_without_modify("A: 1\n"), "A: 1\nModifyDeviceFiles: 0\n");
}

// A plain tree stands in for the container's procfs (require_procfs=false);
// each case runs in a child in a private mount namespace.
class ProcViewMount : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::is_root()) GTEST_SKIP() << "mounts need root";
    d.write("rootfs/proc/driver/nvidia/params", "ModifyDeviceFiles: 1\n");
    for (const auto* bus : {"0000:01:00.0", "0000:41:00.0", "0000:81:00.0"}) {
      d.write(std::string("rootfs/proc/driver/nvidia/gpus/") + bus + "/information",
              std::string("Bus Location: ") + bus + "\n");
    }
    d.write("params", "ModifyDeviceFiles: 0\n");
  }

  std::string in_ns(const std::function<std::string(int)>& fn) {
    const std::string rootfs = d.path("rootfs");
    return test::in_child([&]() -> std::string {
      if (::unshare(CLONE_NEWNS) != 0) return "unshare failed";
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "MS_PRIVATE failed";
      UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      return fn(root.get());
    });
  }
  test::TempDir d;
};

TEST_F(ProcViewMount, OnlySelectedGpusAndParamsWithoutModify) {
  const std::string nv = d.path("rootfs/proc/driver/nvidia");
  const std::string params = d.path("params");
  EXPECT_EQ(in_ns([&](int root) -> std::string {
              auto r = mask_proc_view(root, params, {"0000:41:00.0"}, false);
              if (!r.problems.empty()) return r.problems[0];
              if (!r.params || r.gpus != std::vector<std::string>{"0000:41:00.0"}) return "wrong report";
              std::string got = read_abs(nv + "/params");
              if (got != "ModifyDeviceFiles: 0\n") return "params: " + got;
              if (list_abs(nv + "/gpus") != std::vector<std::string>{"0000:41:00.0"}) return "gpus not masked";
              if (read_abs(nv + "/gpus/0000:41:00.0/information") != "Bus Location: 0000:41:00.0\n") {
                return "bus directory content";
              }
              if (::mkdir((nv + "/gpus/x").c_str(), 0755) == 0 || errno != EROFS) return "gpus/ writable";
              if (::open((nv + "/params").c_str(), O_WRONLY | O_CLOEXEC) >= 0 || errno != EROFS)
                return "params writable";
              return "";
            }),
            "");
  // The namespace is gone: the tree is as it was.
  EXPECT_EQ(d.list("rootfs/proc/driver/nvidia/gpus").size(), 3u);
  EXPECT_EQ(d.read("rootfs/proc/driver/nvidia/params"), "ModifyDeviceFiles: 1\n");
}

TEST_F(ProcViewMount, NoGpuSelectedShowsNone) {
  const std::string nv = d.path("rootfs/proc/driver/nvidia");
  EXPECT_EQ(in_ns([&](int root) -> std::string {
              auto r = mask_proc_view(root, "", {}, false);
              if (!r.problems.empty()) return r.problems[0];
              return list_abs(nv + "/gpus").empty() ? "" : "gpus not empty";
            }),
            "");
}

TEST_F(ProcViewMount, HostileLinksAndNonProcAreLeftAlone) {
  d.remove("rootfs/proc/driver/nvidia/gpus/0000:01:00.0/information");
  d.remove("rootfs/proc/driver/nvidia/gpus/0000:01:00.0");
  d.mkdir("outside");
  d.symlink(d.path("outside"), "rootfs/proc/driver/nvidia/gpus/0000:01:00.0");
  EXPECT_EQ(in_ns([&](int root) -> std::string {
              // A plain directory is not procfs: untouched by default.
              auto none = mask_proc_view(root, d.path("params"), {"0000:01:00.0"});
              if (none.params || !none.gpus.empty()) return "masked a non-procfs /proc";
              auto r = mask_proc_view(root, d.path("params"), {"0000:01:00.0"}, false);
              return r.gpus.empty() ? "" : "followed a link";
            }),
            "");
  EXPECT_TRUE(d.list("outside").empty());
}

}  // namespace
}  // namespace phx
