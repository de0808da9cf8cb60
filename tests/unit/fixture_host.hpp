// Builds simulated host trees for unit tests: /proc files from the real H200
// capture or written by the test, in a temporary directory.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "host/host_discovery.hpp"
#include "host/nvidia_proc.hpp"

namespace phx::test {

// A fresh temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  void write(const std::string& rel, const std::string& content);  // creates parent dirs
  void mkdir(const std::string& rel);                              // mkdir -p
  void symlink(const std::string& target, const std::string& rel);
  void remove(const std::string& rel);
  bool exists(const std::string& rel) const;  // lstat: a dangling symlink exists
  std::string read(const std::string& rel) const;
  std::vector<std::string> list(const std::string& rel = "") const;  // sorted names
  std::string path(const std::string& rel = "") const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

class FixtureHost : public TempDir {
 public:
  // The captured H200 host: driver 580.159.04, one GPU at 0000:00:06.0.
  static void h200(FixtureHost& h);
  // Three GPUs whose index and minor orders differ, driver 580.159.04:
  //   index 0: 0000:01:00.0 minor 2, index 1: 0000:41:00.0 minor 0,
  //   index 2: 0000:81:00.0 minor 1.
  static void multi_gpu(FixtureHost& h);
  // A 535 driver: proprietary module wording, major 195 named
  // "nvidia-frontend" (drivers before 550.40), one GPU.
  static void pre550(FixtureHost& h);
  // A host without the NVIDIA driver: /proc/devices without nvidia names.
  static void no_driver(FixtureHost& h);

  // bus is also the directory name under proc/driver/nvidia/gpus.
  void add_gpu(const std::string& bus, int minor, const std::string& uuid, const std::string& model = "NVIDIA H200",
               bool excluded = false);
  // proc/driver/nvidia/capabilities/<rel>, e.g. "gpu0/mig/gi1/access".
  void add_cap(const std::string& rel, int minor, mode_t mode);
  void set_params(unsigned uid, unsigned gid, mode_t mode);

  HostSnapshot discover() const;
};

// UUIDs of the multi-GPU host, in index order.
inline const std::vector<std::string> kMultiUuids = {
    "GPU-11111111-aaaa-bbbb-cccc-000000000001",
    "GPU-22222222-aaaa-bbbb-cccc-000000000002",
    "GPU-33333333-aaaa-bbbb-cccc-000000000003",
};
inline const std::string kH200Uuid = "GPU-fe880471-3c20-f2db-312e-5af0bb236217";

std::string read_fixture(const std::string& name);  // tests/fixtures/h200-host/<name>

// /proc/devices text with these character devices and a block section.
std::string proc_devices(const std::vector<std::pair<int, std::string>>& chars);

// A GpuInfo as discovery would produce it.
GpuInfo gpu(int index, const std::string& uuid, const std::string& bus, int minor, bool excluded = false);

// Runs fn in a forked child and returns what it returned ("" = success), or
// a description of how the child died. For tests that change process-wide
// state (mount namespaces, environment) that must not leak.
std::string in_child(const std::function<std::string()>& fn);

// mknod + chmod (mknod honours the umask); "" or the error.
std::string make_char_node(const std::string& path, int major, int minor, mode_t mode = 0666);

bool is_root();

}  // namespace phx::test
