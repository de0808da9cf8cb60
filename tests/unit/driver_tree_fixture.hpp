// The Debian 12 NVIDIA 535 userspace fixture (tests/fixtures/nvidia-535):
// rebuilds the unpacked driver tree from its manifest with tiny stand-in
// files (an ELF identification of the right class, nothing more), plus the
// real ld.so.cache and ld.so.conf that ldconfig saw.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "fixture_host.hpp"

namespace phx::test {

inline std::string nvidia535_dir() { return std::string(PHX_FIXTURES) + "/nvidia-535"; }

inline std::string read_binary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string elf_ident(char elf_class) {
  return std::string(
             "\x7f"
             "ELF") +
         elf_class + std::string(11, '\0');
}

// Lays the fixture into h: usr/... from the manifest, etc/ld.so.conf(.d),
// and etc/ld.so.cache unless with_cache is false.
inline void add_nvidia535(TempDir& h, bool with_cache = true) {
  std::istringstream manifest(read_binary(nvidia535_dir() + "/manifest.txt"));
  std::string kind, path, target;
  while (manifest >> kind >> path) {
    const std::string rel = path.substr(1);
    if (kind == "l") {
      manifest >> target;
      h.symlink(target, rel);
    } else {
      h.write(rel, kind == "f64" ? elf_ident('\2') : kind == "f32" ? elf_ident('\1') : "data");
    }
  }
  h.write("etc/ld.so.conf", read_binary(nvidia535_dir() + "/etc/ld.so.conf"));
  h.write("etc/ld.so.conf.d/nvidia.conf", read_binary(nvidia535_dir() + "/etc/ld.so.conf.d/nvidia.conf"));
  h.write("etc/ld.so.conf.d/tesla-470.conf", read_binary(nvidia535_dir() + "/etc/ld.so.conf.d/tesla-470.conf"));
  if (with_cache) h.write("etc/ld.so.cache", read_binary(nvidia535_dir() + "/ld.so.cache"));
}

}  // namespace phx::test
