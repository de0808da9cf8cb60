#include "lxc/lxc_config_reader.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <iterator>
#include <string_view>
#include <utility>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace phx {
namespace {

using Outcome = LxcConfigRead::Outcome;

struct KeyRow {
  std::string_view name;
  ListKey key;
};

// The keys whose items are collected, in ListKey order. Everything else that
// starts with one of kWatchedPrefixes is a key this reader does not know
// ("lxc.environment.foo"; a later LXC may accept it): liblxc decides.
constexpr KeyRow kListKeys[] = {
    {"lxc.environment", ListKey::Environment},
    {"lxc.environment.runtime", ListKey::EnvironmentRuntime},
    {"lxc.environment.hooks", ListKey::EnvironmentHooks},
    {"lxc.idmap", ListKey::Idmap},
};
static_assert(std::size(kListKeys) == static_cast<std::size_t>(ListKey::Count));
constexpr std::string_view kInclude = "lxc.include";
constexpr std::string_view kWatchedPrefixes[] = {"lxc.environment", "lxc.idmap", "lxc.include"};

bool blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// A decimal number as liblxc's strtoul would read it, accepted only in the
// plain form (no sign, base prefix or leading zero) and within 32 bits.
bool plain_u32(std::string_view s, unsigned long& out) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s.front() == '0')) return false;
  unsigned long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned long>(c - '0');
  }
  if (v > 0xffffffffUL) return false;
  out = v;
  return true;
}

// "u 0 100000 65536" (fields separated by blanks) -> normalised, as liblxc
// prints it; false for anything else.
bool parse_idmap(std::string_view v, std::string& out) {
  std::string_view f[5];
  std::size_t n = 0;
  while (!v.empty()) {
    std::size_t i = 0;
    while (i < v.size() && !blank(v[i])) ++i;
    if (n == 5) return false;
    f[n++] = v.substr(0, i);
    v.remove_prefix(i);
    while (!v.empty() && blank(v.front())) v.remove_prefix(1);
  }
  if (n != 4 || f[0].size() != 1 || (f[0][0] != 'u' && f[0][0] != 'g')) return false;
  unsigned long nums[3];
  for (int i = 0; i < 3; ++i) {
    if (!plain_u32(f[i + 1], nums[i])) return false;
  }
  out =
      std::string(f[0]) + ' ' + std::to_string(nums[0]) + ' ' + std::to_string(nums[1]) + ' ' + std::to_string(nums[2]);
  return true;
}

class Reader {
 public:
  explicit Reader(const ConfigReaderLimits& limits) : limits_(limits) {}

  LxcConfigRead run(const std::string& path) {
    if (path.empty() || path.front() != '/') {
      stop(Outcome::Fallback, path + ": not an absolute path");
    } else {
      read_file(path, 0);
    }
    out_.files = files_;
    return std::move(out_);
  }

 private:
  bool stopped() const { return out_.outcome != Outcome::Read; }

  void stop(Outcome o, std::string reason) {
    if (stopped()) return;
    out_.outcome = o;
    out_.reason = std::move(reason);
    out_.values = {};
  }

  void read_file(const std::string& path, int depth) {
    if (depth > limits_.max_depth)
      return stop(Outcome::Fallback, path + ": includes nested deeper than " + std::to_string(limits_.max_depth));
    if (++files_ > limits_.max_files)
      return stop(Outcome::Fallback, path + ": more than " + std::to_string(limits_.max_files) + " files");
    // O_NONBLOCK: a FIFO must not block the open; it is refused below.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) return stop(Outcome::Fallback, sys_error("open", path).message());
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return stop(Outcome::Fallback, sys_error("fstat", path).message());
    if (S_ISDIR(st.st_mode)) return stop(Outcome::Fallback, path + ": a directory where a file is read");
    if (!S_ISREG(st.st_mode)) {
      // liblxc would block on a FIFO or read a device: no answer to wait for.
      return stop(Outcome::Invalid, path + ": not a regular file");
    }
    for (const auto& open : stack_) {
      if (open.first == st.st_dev && open.second == st.st_ino) {
        return stop(Outcome::Invalid, path + ": includes itself (an include loop)");
      }
    }
    if (static_cast<std::size_t>(st.st_size) > limits_.max_bytes - std::min(bytes_, limits_.max_bytes)) {
      return stop(Outcome::Fallback, path + ": configs larger than " + std::to_string(limits_.max_bytes) + " bytes");
    }
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < text.size()) {
      ssize_t r = ::read(fd.get(), text.data() + got, text.size() - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return stop(Outcome::Fallback, sys_error("read", path).message());
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    text.resize(got);
    // Grown since fstat: liblxc maps only st_size bytes, so would we; but a
    // file that changes under the read has no one answer.
    char probe = 0;
    if (::read(fd.get(), &probe, 1) > 0) return stop(Outcome::Fallback, path + ": changed while read");
    bytes_ += got;
    fd.reset();

    stack_.emplace_back(st.st_dev, st.st_ino);
    // liblxc hands the file to string functions: it ends at the first NUL.
    std::string_view rest(text.data(), ::strnlen(text.data(), text.size()));
    while (!rest.empty() && !stopped()) {
      const std::size_t end = rest.find_first_of("\r\n");
      std::string_view line = rest.substr(0, end);
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
      if (!line.empty()) parse_line(path, line, depth);
    }
    stack_.pop_back();
  }

  void parse_line(const std::string& path, std::string_view line, int depth) {
    while (!line.empty() && blank(line.front())) line.remove_prefix(1);
    if (line.empty() || line.front() == '#' || line.substr(0, 4) != "lxc.") return;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      // liblxc refuses the whole config for this line.
      return stop(Outcome::Fallback, path + ": a line without '=': " + std::string(line.substr(0, 80)));
    }
    const std::string_view key = trim_blanks(line.substr(0, eq));
    std::string_view value = trim_blanks(line.substr(eq + 1));
    if (value.size() > 1 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    for (const auto& row : kListKeys) {
      if (key != row.name) continue;
      if (row.key == ListKey::EnvironmentRuntime || row.key == ListKey::EnvironmentHooks) {
        out_.values.environment_subkeys = true;
      }
      return set_list(path, row.key, value);
    }
    if (key == kInclude) return include(path, value, depth);
    for (auto prefix : kWatchedPrefixes) {
      if (key.substr(0, prefix.size()) == prefix) {
        return stop(Outcome::Fallback, path + ": a key this reader does not know: " + std::string(key.substr(0, 80)));
      }
    }
  }

  void set_list(const std::string& path, ListKey k, std::string_view value) {
    auto& list = out_.values.list(k);
    if (value.empty()) {
      list.clear();
      return;
    }
    switch (k) {
      case ListKey::Environment:
      case ListKey::EnvironmentRuntime:
      case ListKey::EnvironmentHooks:
        // Without '=', liblxc copies the variable from its own environment
        // (and fails the config where it is unset): that is the reading
        // process's business, not the file's.
        if (value.find('=') == std::string_view::npos) {
          return stop(Outcome::Fallback,
                      path + ": " + key_name(k) + " item without '=': " + std::string(value.substr(0, 80)));
        }
        list.emplace_back(value);
        return;
      case ListKey::Idmap: {
        std::string norm;
        if (!parse_idmap(value, norm)) {
          return stop(Outcome::Fallback,
                      path + ": lxc.idmap not in the plain form: " + std::string(value.substr(0, 80)));
        }
        list.push_back(std::move(norm));
        return;
      }
      case ListKey::Count:
        break;
    }
  }

  void include(const std::string& from, std::string_view value, int depth) {
    if (value.empty()) return;  // clears the list of includes to save; reads nothing
    const std::string target(value);
    if (target.front() != '/') {
      // Relative to the reading process's working directory in liblxc.
      return stop(Outcome::Fallback, from + ": relative include " + target.substr(0, 200));
    }
    struct stat st {};
    const bool found = ::stat(target.c_str(), &st) == 0;
    // liblxc 5.0 skips a missing include named with a trailing '/' (a
    // directory, e.g. userns.conf's userns.conf.d/ where lxcfs put nothing);
    // a missing file fails the config.
    if (!found && errno == ENOENT && target.back() == '/') return;
    if (found && S_ISDIR(st.st_mode)) return include_dir(target, depth);
    read_file(target, depth + 1);
  }

  void include_dir(const std::string& dir, int depth) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return stop(Outcome::Fallback, sys_error("opendir", dir).message());
    // Entries in readdir order, as liblxc takes them (it does not sort).
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      const std::string_view n = e->d_name;
      if (n.size() >= 6 && n.substr(n.size() - 5) == ".conf") names.emplace_back(n);
      if (names.size() > limits_.max_files) break;
    }
    const int err = errno;
    ::closedir(d);
    if (err != 0) return stop(Outcome::Fallback, sys_error("readdir", dir, err).message());
    for (const auto& n : names) {
      if (stopped()) return;
      read_file(dir + "/" + n, depth + 1);
    }
  }

  ConfigReaderLimits limits_;
  LxcConfigRead out_;
  std::size_t files_ = 0;
  std::size_t bytes_ = 0;
  std::vector<std::pair<dev_t, ino_t>> stack_;  // files being read, outermost first
};

}  // namespace

const char* key_name(ListKey k) {
  for (const auto& row : kListKeys) {
    if (row.key == k) return row.name.data();
  }
  return "?";
}

std::string LxcConfigValues::joined(ListKey k) const {
  std::string out;
  for (const auto& item : list(k)) {
    out += item;
    out += '\n';
  }
  return out;
}

LxcConfigRead read_lxc_config(const std::string& path, const ConfigReaderLimits& limits) {
  return Reader(limits).run(path);
}

unsigned mapped_root_uid_of(const std::vector<std::string>& idmap_items) {
  for (const auto& item : idmap_items) {
    std::string norm;
    if (!parse_idmap(item, norm) || norm[0] != 'u') continue;
    // "u 0 <host> <n>"
    if (norm.compare(0, 4, "u 0 ") != 0) continue;
    const auto sp = norm.find(' ', 4);
    unsigned long host = 0;
    if (sp != std::string::npos && plain_u32(std::string_view(norm).substr(4, sp - 4), host) && host < 0xffffffffUL) {
      return static_cast<unsigned>(host);
    }
  }
  return 0;
}

}  // namespace phx
