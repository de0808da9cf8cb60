// What LXC tells a hook. hook.version 0 appends "NAME lxc TYPE" after the
// hook line's own arguments; version 1 passes only those and sets
// LXC_HOOK_TYPE. Both must work: a snippet never sets lxc.hook.version
// because that would change Proxmox's own hooks.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace phx {

using GetEnv = std::function<const char*(const char*)>;

struct HookContext {
  int version = 0;
  std::string name;               // LXC_NAME
  std::string type;               // pre-start | mount | start-host
  std::string config_file;        // LXC_CONFIG_FILE
  std::string lxcpath;            // derived from config_file
  std::string rootfs_mount;       // LXC_ROOTFS_MOUNT
  pid_t pid = 0;                  // LXC_PID (start-host only)
  std::vector<std::string> args;  // the hook line's own arguments
};

// LXC_CONFIG_FILE is <lxcpath>/<name>/config: the lxcpath is two levels up.
std::string lxcpath_from_config_file(const std::string& config_file);

// expected_type: the hook this program implements; a different type is an
// error (a misconfigured snippet).
Result<HookContext> parse_hook_context(const std::vector<std::string>& argv, const GetEnv& getenv,
                                       const std::string& expected_type);

}  // namespace phx
