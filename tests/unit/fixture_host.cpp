#include "fixture_host.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace phx::test {

namespace fs = std::filesystem;

FixtureHost::FixtureHost() {
  std::string tmpl = (fs::temp_directory_path() / "phx-host-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
}

FixtureHost::~FixtureHost() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(PHX_FIXTURES) + "/h200-host/" + name);
  if (!in) throw std::runtime_error("missing fixture " + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void FixtureHost::write(const std::string& rel, const std::string& content) {
  fs::path p = fs::path(root_) / rel;
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
}

void FixtureHost::remove(const std::string& rel) { fs::remove_all(fs::path(root_) / rel); }

std::string FixtureHost::path(const std::string& rel) const { return rel.empty() ? root_ : root_ + "/" + rel; }

void FixtureHost::add_gpu(const std::string& bus, int minor, const std::string& uuid, const std::string& model) {
  write("proc/driver/nvidia/gpus/" + bus + "/information",
        "Model: \t\t " + model + "\nIRQ:   \t\t 41\nGPU UUID: \t " + uuid +
            "\nVideo BIOS: \t 96.00.a5.00.1a\nBus Type: \t PCIe\nDMA Size: \t 52 bits\nDMA Mask: \t 0xfffffffffffff\n"
            "Bus Location: \t " + bus + "\nDevice Minor: \t " + std::to_string(minor) +
            "\nGPU Firmware: \t 580.159.04\nGPU Excluded:\t No\n");
}

void FixtureHost::h200(FixtureHost& h) {
  h.write("proc/driver/nvidia/version", read_fixture("proc-driver-nvidia-version.txt"));
  h.write("proc/driver/nvidia/params", read_fixture("proc-driver-nvidia-params.txt"));
  h.write("proc/driver/nvidia/gpus/0000:00:06.0/information", read_fixture("gpu-0000:00:06.0-information.txt"));
  h.write("proc/devices", read_fixture("proc-devices.txt"));
  h.write("proc/driver/nvidia-caps/mig-minors", read_fixture("proc-driver-nvidia-caps-mig-minors.txt"));
  h.write("proc/modules", "nvidia_uvm 2076672 0 - Live 0x0000000000000000 (OE)\nnvidia 14381056 1 nvidia_uvm, Live 0x0000000000000000 (OE)\n");
  fs::create_directories(fs::path(h.root()) / "dev");
}

}  // namespace phx::test
