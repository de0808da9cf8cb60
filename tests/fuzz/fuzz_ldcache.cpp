// libFuzzer target: the host's /etc/ld.so.cache (binary) and ld.so.conf
// (text), as the driver's libraries are found through them, and the driver
// file list pre-start hands to the mount hook, and NVIDIA_REQUIRE_* values.
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "driver/driver_files.hpp"
#include "driver/ld_cache.hpp"
#include "plan/requirements.hpp"

namespace {

// One private tree for ld.so.conf includes, made once per process.
const std::string& conf_root() {
  static const std::string root = [] {
    char tmpl[] = "/tmp/fuzz_ldcache.XXXXXX";
    std::string r = ::mkdtemp(tmpl) ? tmpl : "/nonexistent";
    ::mkdir((r + "/etc").c_str(), 0755);
    ::mkdir((r + "/etc/ld.so.conf.d").c_str(), 0755);
    std::ofstream(r + "/etc/ld.so.conf.d/a.conf") << "/a\ninclude /etc/ld.so.conf\n";
    return r;
  }();
  return root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 4 == 3) {
    auto r = phx::parse_requirements(bytes);
    phx::HostFacts h{"580.159.04", "13.0", {{"0000:00:06.0", "9.0", "nvidia"}}};
    (void)phx::unmet_requirements(r, h);
    h.gpus.clear();
    h.cuda.clear();
    (void)phx::unmet_requirements(r, h);
  } else if (data[0] % 4 == 2) {
    auto s = phx::driver_files_from_json(std::string(bytes), "driver-files.json");
    if (s) {
      auto again = phx::driver_files_from_json(phx::driver_files_to_json(*s), "driver-files.json");
      if (!again || !(*again == *s)) __builtin_trap();
    }
  } else if (data[0] % 4 == 0) {
    auto v = phx::parse_ld_cache(bytes, "ld.so.cache");
    if (v) {
      for (const auto& e : *v) {
        // Every string came from inside the input, terminated there.
        if (e.soname.empty() || e.path.empty() || e.path.size() > bytes.size()) __builtin_trap();
        (void)e.abi();
      }
    }
  } else {
    std::vector<std::string> dirs;
    phx::parse_ld_so_conf(phx::HostRoot(conf_root()), bytes, "/etc", dirs);
    for (const auto& d : dirs)
      if (d.empty() || d.front() != '/') __builtin_trap();
  }
  return 0;
}
