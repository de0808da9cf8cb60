#include "fixture_host.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "host/host_root.hpp"

namespace phx::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "phx-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

void TempDir::write(const std::string& rel, const std::string& content) {
  fs::path p = fs::path(root_) / rel;
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

void TempDir::mkdir(const std::string& rel) { fs::create_directories(fs::path(root_) / rel); }

void TempDir::symlink(const std::string& target, const std::string& rel) {
  fs::path p = fs::path(root_) / rel;
  fs::create_directories(p.parent_path());
  fs::create_symlink(target, p);
}

void TempDir::remove(const std::string& rel) { fs::remove_all(fs::path(root_) / rel); }

bool TempDir::exists(const std::string& rel) const {
  struct stat st {};
  return ::lstat(path(rel).c_str(), &st) == 0;
}

std::string TempDir::read(const std::string& rel) const {
  std::ifstream in(path(rel), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> TempDir::list(const std::string& rel) const {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(path(rel))) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string TempDir::path(const std::string& rel) const { return rel.empty() ? root_ : root_ + "/" + rel; }

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(PHX_FIXTURES) + "/h200-host/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string proc_devices(const std::vector<std::pair<int, std::string>>& chars) {
  std::string out = "Character devices:\n  1 mem\n  4 tty\n 10 misc\n";
  for (const auto& [major, name] : chars) out += std::to_string(major) + " " + name + "\n";
  out += "\nBlock devices:\n  7 loop\n259 blkext\n";
  return out;
}

void FixtureHost::add_gpu(const std::string& bus, int minor, const std::string& uuid, const std::string& model,
                          bool excluded) {
  write("proc/driver/nvidia/gpus/" + bus + "/information",
        "Model: \t\t " + model + "\nIRQ:   \t\t 41\nGPU UUID: \t " + uuid +
            "\nVideo BIOS: \t 96.00.a5.00.1a\nBus Type: \t PCIe\nDMA Size: \t 52 bits\nDMA Mask: \t 0xfffffffffffff\n"
            "Bus Location: \t " +
            bus + "\nDevice Minor: \t " + std::to_string(minor) + "\nGPU Firmware: \t 580.159.04\nGPU Excluded:\t " +
            (excluded ? "Yes" : "No") + "\n");
}

void FixtureHost::add_cap(const std::string& rel, int minor, mode_t mode) {
  write("proc/driver/nvidia/capabilities/" + rel, "DeviceFileMinor: " + std::to_string(minor) + "\nDeviceFileMode: " +
                                                      std::to_string(mode) + "\nDeviceFileModify: 1\n");
}

void FixtureHost::set_params(unsigned uid, unsigned gid, mode_t mode) {
  write("proc/driver/nvidia/params", "ResmanDebugLevel: 4294967295\nModifyDeviceFiles: 1\nDeviceFileUID: " +
                                         std::to_string(uid) + "\nDeviceFileGID: " + std::to_string(gid) +
                                         "\nDeviceFileMode: " + std::to_string(mode) + "\nEnableMSI: 1\n");
}

HostSnapshot FixtureHost::discover() const { return discover_host(HostRoot(root())); }

void FixtureHost::h200(FixtureHost& h) {
  h.write("proc/driver/nvidia/version", read_fixture("proc-driver-nvidia-version.txt"));
  h.write("proc/driver/nvidia/params", read_fixture("proc-driver-nvidia-params.txt"));
  h.write("proc/driver/nvidia/gpus/0000:00:06.0/information", read_fixture("gpu-0000:00:06.0-information.txt"));
  h.write("proc/devices", read_fixture("proc-devices.txt"));
  h.write("proc/driver/nvidia-caps/mig-minors", read_fixture("proc-driver-nvidia-caps-mig-minors.txt"));
  h.write("proc/modules",
          "nvidia_uvm 2076672 0 - Live 0x0000000000000000 (OE)\nnvidia 14381056 1 nvidia_uvm, Live 0x0000000000000000 "
          "(OE)\n");
  h.mkdir("dev");
}

void FixtureHost::multi_gpu(FixtureHost& h) {
  h.write("proc/driver/nvidia/version", read_fixture("proc-driver-nvidia-version.txt"));
  h.write("proc/driver/nvidia/params", read_fixture("proc-driver-nvidia-params.txt"));
  h.write("proc/devices",
          proc_devices({{195, "nvidia"}, {195, "nvidiactl"}, {238, "nvidia-uvm"}, {241, "nvidia-caps"}}));
  h.write("proc/modules", "nvidia_uvm 2076672 0 - Live 0x0 (OE)\nnvidia 14381056 1 nvidia_uvm, Live 0x0 (OE)\n");
  h.add_gpu("0000:01:00.0", 2, kMultiUuids[0], "NVIDIA A100");
  h.add_gpu("0000:41:00.0", 0, kMultiUuids[1], "NVIDIA A100");
  h.add_gpu("0000:81:00.0", 1, kMultiUuids[2], "NVIDIA A100");
  h.mkdir("dev");
}

void FixtureHost::pre550(FixtureHost& h) {
  h.write("proc/driver/nvidia/version",
          "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.129.03  Thu Oct 19 18:56:32 UTC 2023\n"
          "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n");
  h.set_params(0, 0, 0666);
  h.write("proc/devices", proc_devices({{195, "nvidia-frontend"}, {236, "nvidia-uvm"}}));
  h.write("proc/modules", "nvidia_uvm 1540096 0 - Live 0x0 (POE)\nnvidia 56836096 1 nvidia_uvm, Live 0x0 (POE)\n");
  h.add_gpu("0000:3b:00.0", 0, "GPU-5e1fa2b0-0000-4000-8000-00000000abcd", "Tesla T4");
  h.mkdir("dev");
}

void FixtureHost::no_driver(FixtureHost& h) {
  h.write("proc/devices", proc_devices({{226, "drm"}}));
  h.write("proc/modules", "ext4 1069056 1 - Live 0x0\n");
  h.mkdir("dev");
}

GpuInfo gpu(int index, const std::string& uuid, const std::string& bus, int minor, bool excluded) {
  GpuInfo g;
  g.model = "NVIDIA H200";
  g.uuid = uuid;
  g.bus_location = bus;
  g.device_minor = minor;
  g.excluded = excluded;
  g.index = excluded ? -1 : index;
  return g;
}

std::string in_child(const std::function<std::string()>& fn) {
  int fds[2];
  if (::pipe(fds) != 0) return std::string("pipe: ") + std::strerror(errno);
  pid_t pid = ::fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    ::close(fds[0]);
    std::string msg;
    try {
      msg = fn();
    } catch (const std::exception& e) {
      msg = std::string("exception: ") + e.what();
    }
    for (std::size_t done = 0; done < msg.size();) {
      ssize_t n = ::write(fds[1], msg.data() + done, msg.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::_exit(msg.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) msg.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) return msg + " (child killed by signal " + std::to_string(WTERMSIG(status)) + ")";
  if (WEXITSTATUS(status) != 0 && msg.empty()) return "child exited with " + std::to_string(WEXITSTATUS(status));
  return msg;
}

std::string make_char_node(const std::string& path, int major, int minor, mode_t mode) {
  if (::mknod(path.c_str(), S_IFCHR | 0600, makedev(static_cast<unsigned>(major), static_cast<unsigned>(minor))) != 0 ||
      ::chmod(path.c_str(), mode) != 0) {
    return "mknod " + path + ": " + std::strerror(errno);
  }
  return {};
}

bool is_root() { return ::geteuid() == 0; }

}  // namespace phx::test
