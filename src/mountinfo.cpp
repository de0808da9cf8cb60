#include "mountinfo.hpp"

#include <algorithm>

#include "text.hpp"

namespace phx {

bool MountEntry::has_option(const std::string& o) const {
  return std::find(super_options.begin(), super_options.end(), o) != super_options.end();
}

std::vector<MountEntry> parse_mountinfo(const std::string& text) {
  std::vector<MountEntry> out;
  for (auto line : split_lines(text)) {
    // "36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
    auto sep = line.find(" - ");
    if (sep == std::string_view::npos) continue;
    auto fields = split(line.substr(0, sep), ' ');
    auto tail = split(line.substr(sep + 3), ' ');
    if (fields.size() < 5 || tail.size() < 3) continue;
    out.push_back(MountEntry{fields[3], fields[4], tail[0], split(tail[2], ',')});
  }
  return out;
}

Result<std::vector<MountEntry>> read_mountinfo(const std::string& path) {
  auto text = read_small_file(path, 4 << 20);
  if (!text) return text.error();
  return parse_mountinfo(*text);
}

}  // namespace phx
