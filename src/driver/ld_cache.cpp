#include "driver/ld_cache.hpp"

#include <glob.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/text.hpp"

namespace phx {
namespace {

// glibc elf/dl-cache.h (2.32+ writes only the new format by default).
constexpr std::string_view kNewMagic = "glibc-ld.so.cache1.1";
constexpr std::string_view kOldMagic = "ld.so-1.7.0";
constexpr std::size_t kNewHeader = 48;  // magic+version 20, nlibs, len_strings, flags+pad, ext offset, 3 unused
constexpr std::size_t kNewEntry = 24;   // flags, key, value, osversion, hwcap
constexpr std::size_t kOldHeader = 16;  // magic 11 (+1 pad), nlibs
constexpr std::size_t kOldEntry = 12;   // flags, key, value
constexpr std::uint8_t kEndianBig = 3;
constexpr std::size_t kMaxName = 4096;
constexpr int kFlagTypeMask = 0x00ff;
constexpr int kFlagElfLibc6 = 0x0003;
constexpr int kFlagRequiredMask = 0xff00;
constexpr int kFlagX8664Lib64 = 0x0300;

std::uint32_t le32(std::string_view b, std::size_t off) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data() + off);
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}

std::uint64_t le64(std::string_view b, std::size_t off) {
  return std::uint64_t{le32(b, off)} | std::uint64_t{le32(b, off + 4)} << 32;
}

// A NUL-terminated string at `off` (relative to `base`), inside the buffer.
bool string_at(std::string_view b, std::size_t base, std::uint32_t off, std::string& out) {
  const std::size_t start = base + off;
  if (start >= b.size()) return false;
  const std::size_t end = b.find('\0', start);
  if (end == std::string_view::npos || end - start > kMaxName || end == start) return false;
  out.assign(b.substr(start, end - start));
  return true;
}

std::string strip_root(const HostRoot& root, const std::string& p) {
  if (!root.simulated()) return p;
  return p.substr(root.root().size());
}

void add_dir(std::string_view d, std::vector<std::string>& out) {
  // Old syntax "dir=TYPE": the type is ignored by current ldconfig.
  if (auto eq = d.find('='); eq != std::string_view::npos) d = trim(d.substr(0, eq));
  while (d.size() > 1 && d.back() == '/') d.remove_suffix(1);
  if (d.empty() || d.front() != '/') return;
  std::string s(d);
  if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
}

}  // namespace

LibAbi LdCacheEntry::abi() const {
  if ((flags & kFlagTypeMask) != kFlagElfLibc6) return LibAbi::Other;
  switch (flags & kFlagRequiredMask) {
    case kFlagX8664Lib64:
      return LibAbi::X86_64;
    case 0:
      return LibAbi::I386;
    default:
      return LibAbi::Other;
  }
}

Result<std::vector<LdCacheEntry>> parse_ld_cache(std::string_view b, const std::string& path) {
  std::size_t base = 0;
  if (b.substr(0, kOldMagic.size()) == kOldMagic) {
    // The compat layout: an old table first, then the new one, aligned to 8.
    if (b.size() < kOldHeader) return parse_error(path, "truncated old-format header");
    const std::uint64_t old_end = kOldHeader + std::uint64_t{le32(b, 12)} * kOldEntry;
    if (old_end > b.size()) return parse_error(path, "old-format table runs past the end");
    base = static_cast<std::size_t>((old_end + 7) & ~std::uint64_t{7});
    if (b.substr(base, kNewMagic.size()) != kNewMagic) {
      return parse_error(path, "only the old ld.so-1.7.0 format; not read (run ldconfig to rewrite it)");
    }
  } else if (b.substr(0, kNewMagic.size()) != kNewMagic) {
    return parse_error(path, "not an ld.so.cache (no glibc-ld.so.cache1.1 magic)");
  }
  if (b.size() - base < kNewHeader) return parse_error(path, "truncated header");
  const std::uint32_t nlibs = le32(b, base + 20);
  if (static_cast<std::uint8_t>(b[base + 28]) == kEndianBig) return parse_error(path, "big-endian cache");
  const std::uint64_t table_end = base + kNewHeader + std::uint64_t{nlibs} * kNewEntry;
  if (table_end > b.size())
    return parse_error(path, "entry table runs past the end (" + std::to_string(nlibs) + " entries)");
  if (table_end + le32(b, base + 24) > b.size()) return parse_error(path, "string table runs past the end");
  std::vector<LdCacheEntry> out;
  out.reserve(nlibs);
  for (std::uint32_t i = 0; i < nlibs; ++i) {
    const std::size_t e = base + kNewHeader + std::size_t{i} * kNewEntry;
    LdCacheEntry entry;
    entry.flags = static_cast<std::int32_t>(le32(b, e));
    entry.hwcap = le64(b, e + 16);
    if (!string_at(b, base, le32(b, e + 4), entry.soname) || !string_at(b, base, le32(b, e + 8), entry.path)) {
      return parse_error(path, "entry " + std::to_string(i) + " has a string offset outside the file");
    }
    out.push_back(std::move(entry));
  }
  return out;
}

void parse_ld_so_conf(const HostRoot& root, std::string_view text, const std::string& conf_dir,
                      std::vector<std::string>& out, int depth) {
  constexpr int kMaxDepth = 8;  // includes that include themselves stop here
  for (auto line : split_lines(text)) {
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    auto word_end = line.find_first_of(" \t");
    const std::string_view word = line.substr(0, word_end);
    if (word == "hwcap" && word_end != std::string_view::npos) continue;
    if (word != "include" || word_end == std::string_view::npos) {
      add_dir(line, out);
      continue;
    }
    if (depth >= kMaxDepth) continue;
    for (const auto& pat_sv : split(trim(line.substr(word_end)), ' ')) {
      std::string pat(trim(pat_sv));
      if (pat.empty()) continue;
      if (pat.front() != '/') pat = conf_dir + "/" + pat;
      glob_t g{};
      if (::glob(root.path(pat).c_str(), 0, nullptr, &g) == 0) {
        std::vector<std::string> files(g.gl_pathv, g.gl_pathv + g.gl_pathc);
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
          auto content = read_small_file(f);
          if (!content) continue;
          const std::string host_path = strip_root(root, f);
          parse_ld_so_conf(root, *content, std::filesystem::path(host_path).parent_path().string(), out, depth + 1);
        }
      }
      ::globfree(&g);
    }
  }
}

std::vector<std::string> ld_so_conf_dirs(const HostRoot& root) {
  std::vector<std::string> out;
  auto text = read_small_file(root.path("/etc/ld.so.conf"));
  if (text) parse_ld_so_conf(root, *text, "/etc", out);
  return out;
}

}  // namespace phx
