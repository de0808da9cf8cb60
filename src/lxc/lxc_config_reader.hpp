// A reader of LXC container configs for the few keys pre-start needs, so
// that the start hook does not load liblxc (and its five libraries) on every
// container start.
//
// It follows liblxc 5.0's parser exactly where it answers: lines split at
// '\r' and '\n', the file ends at its first NUL byte, blanks and tabs
// trimmed around key and value, one pair of matching quotes stripped,
// '#' comments and lines not starting with "lxc." ignored, an empty value
// clears a list key, `lxc.include` of a file or of a directory (its entries
// named *.conf, at least one character before the suffix, in readdir order,
// not sorted; a missing path ending in '/' is skipped). Where it cannot be sure of liblxc's answer it says so
// (Outcome::Fallback) and the caller asks liblxc: a missing or unreadable
// file, a relative include, a non-regular file, an environment item without
// '=' (liblxc takes its value from the reading process's environment), an
// idmap it cannot parse strictly, a key it does not know that starts like
// one it reads, or a tree past the limits. An include loop is
// Outcome::Invalid: liblxc recurses until it crashes on one.
//
// lxc.environment.runtime and lxc.environment.hooks are read as LXC 7 reads
// them, whatever the liblxc on this host: each its own list, cleared by an
// empty value of its own key only (see ListKey).
//
// Keys it ignores (any other "lxc." key) are not checked: pre-start runs only
// after LXC has parsed the same config to start the container.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace phx {

// The list-valued keys the reader collects; a new key is a new enumerator
// and a row in kListKeys (lxc_config_reader.cpp). EnvironmentRuntime and
// EnvironmentHooks are LXC 7's lxc.environment.runtime (the container's init
// only) and lxc.environment.hooks (hooks only), also known to Proxmox's
// lxc-pve since 6.0.5; LXC 5.0 and upstream 6.0 refuse a config that has
// them. Each is a list of its own: an empty value clears that list only.
enum class ListKey { Environment, EnvironmentRuntime, EnvironmentHooks, Idmap, Count };

// The key's name as written in a config ("lxc.environment.runtime").
const char* key_name(ListKey k);

// clang-tidy 14 names the loop variable of the implicit array copy (__i0).
// NOLINTNEXTLINE(bugprone-reserved-identifier)
struct LxcConfigValues {
  // Per ListKey, the items in order, as liblxc's get_config_item returns
  // them (idmap items normalised to "u 0 100000 65536").
  std::vector<std::string> lists[static_cast<int>(ListKey::Count)];

  std::vector<std::string>& list(ListKey k) { return lists[static_cast<int>(k)]; }
  const std::vector<std::string>& list(ListKey k) const { return lists[static_cast<int>(k)]; }
  // A lxc.environment.runtime or .hooks line was read (even one that only
  // cleared its list): an LXC that does not know the keys refuses the config.
  bool environment_subkeys = false;
  // Items newline-separated, each ending in '\n' (get_config_item's shape).
  std::string joined(ListKey k) const;
};

struct ConfigReaderLimits {
  int max_depth = 16;                       // nested includes
  std::size_t max_files = 256;              // files read, all includes together
  std::size_t max_bytes = 4 * 1024 * 1024;  // bytes read, all files together
};

struct LxcConfigRead {
  enum class Outcome { Read, Fallback, Invalid };
  Outcome outcome = Outcome::Read;
  LxcConfigValues values;  // valid when Read
  std::string reason;      // why not Read: path and what
  std::size_t files = 0;   // files read
};

// Reads the config at `path` (absolute) and everything it includes.
LxcConfigRead read_lxc_config(const std::string& path, const ConfigReaderLimits& limits = {});

// The host uid that container root maps to, from idmap items ("u 0 <host>
// <n>"); 0 when none maps it (a privileged container).
unsigned mapped_root_uid_of(const std::vector<std::string>& idmap_items);

}  // namespace phx
