// The host's dynamic linker configuration: /etc/ld.so.cache as glibc's
// ldconfig writes it (format "glibc-ld.so.cache1.1", alone or after the old
// "ld.so-1.7.0" table), and /etc/ld.so.conf with its includes when there is
// no cache. The driver's libraries are found here, wherever the host keeps
// them (/usr/local/nvidia/lib64 on some hosts, nvidia/current on Debian).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "host/host_root.hpp"

namespace phx {

// The ABI an entry is for, from its flags (glibc's FLAG_* of dl-cache.h).
enum class LibAbi { X86_64, I386, Other };

struct LdCacheEntry {
  std::string soname;  // "libcuda.so.1"
  std::string path;    // "/usr/lib/x86_64-linux-gnu/libcuda.so.1"
  std::int32_t flags = 0;
  std::uint64_t hwcap = 0;
  LibAbi abi() const;
  bool operator==(const LdCacheEntry&) const = default;
};

// Every check before a read: a short, truncated or corrupt cache is an error
// naming `path`, never a read out of bounds. Little-endian caches only (the
// hosts this runs on).
Result<std::vector<LdCacheEntry>> parse_ld_cache(std::string_view bytes, const std::string& path);

// The cache is bigger than /proc files; anything past this is not a cache.
inline constexpr std::size_t kMaxLdCache = 64u << 20;

// Directories named by <root>/etc/ld.so.conf and its `include` globs, in
// order, without duplicates; `hwcap` lines and comments skipped. Paths are
// as on the host ("/usr/local/nvidia/lib64"). A missing file gives none.
std::vector<std::string> ld_so_conf_dirs(const HostRoot& root);

// The same parse over one file's text; includes are resolved beneath
// `root` relative to `conf_dir` (the directory of the file), at most
// `depth` levels deep.
void parse_ld_so_conf(const HostRoot& root, std::string_view text, const std::string& conf_dir,
                      std::vector<std::string>& out, int depth = 0);

}  // namespace phx
