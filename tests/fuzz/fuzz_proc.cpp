// libFuzzer target: every parser of the NVIDIA /proc files.
#include <cstddef>
#include <cstdint>
#include <string>

#include "host/nvidia_proc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the parser so one corpus reaches all of them.
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 7) {
    case 0:
      (void)phx::parse_driver_version(text, "version");
      break;
    case 1:
      (void)phx::parse_gpu_information(text, "information");
      break;
    case 2:
      (void)phx::parse_proc_devices(text, "devices");
      break;
    case 3:
      (void)phx::parse_params(text, "params");
      break;
    case 4:
      (void)phx::parse_mig_minors(text, "mig-minors");
      break;
    case 5:
      (void)phx::parse_cap_file(text, "mig/config", "config");
      break;
    case 6:
      (void)phx::parse_proc_modules(text, "modules");
      break;
  }
  (void)phx::normalize_pci_address(text);
  return 0;
}
