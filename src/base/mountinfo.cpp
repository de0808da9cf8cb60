#include "base/mountinfo.hpp"

#include <algorithm>

#include "base/text.hpp"

namespace phx {

bool MountEntry::has_option(const std::string& o) const {
  return std::find(super_options.begin(), super_options.end(), o) != super_options.end();
}

namespace {

// The kernel escapes space, tab, newline and backslash in mountinfo paths
// as \ooo (fs/proc_namespace.c, mangle()).
std::string unescape_octal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const char a = s[i + 1], b = s[i + 2], c = s[i + 3];
      if (a >= '0' && a <= '3' && b >= '0' && b <= '7' && c >= '0' && c <= '7') {
        out += static_cast<char>((a - '0') * 64 + (b - '0') * 8 + (c - '0'));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

}  // namespace

std::vector<MountEntry> parse_mountinfo(const std::string& text) {
  std::vector<MountEntry> out;
  for (auto line : split_lines(text)) {
    // "36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
    auto sep = line.find(" - ");
    if (sep == std::string_view::npos) continue;
    auto fields = split(line.substr(0, sep), ' ');
    auto tail = split(line.substr(sep + 3), ' ');
    if (fields.size() < 5 || tail.size() < 3) continue;
    out.push_back(MountEntry{unescape_octal(fields[3]), unescape_octal(fields[4]), tail[0], split(tail[2], ',')});
  }
  return out;
}

Result<std::vector<MountEntry>> read_mountinfo(const std::string& path) {
  auto text = read_small_file(path, 4 << 20);
  if (!text) return text.error();
  return parse_mountinfo(*text);
}

}  // namespace phx
