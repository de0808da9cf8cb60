// Per-container state: /run/phoenix-gpu-hooks/<lxcpath-escaped>/<name>/.
#pragma once

#include <optional>
#include <string>

#include "base/error.hpp"

namespace phx {

inline constexpr const char* kDefaultStateDir = "/run/phoenix-gpu-hooks";

// "/var/lib/lxc" -> "var-lib-lxc"; '-' and anything odd are %-escaped so two
// paths never share a name.
std::string escape_lxcpath(const std::string& lxcpath);

// The inverse of escape_lxcpath; nullopt for a name it never makes.
std::optional<std::string> unescape_lxcpath(const std::string& escaped);

// Container names become one path component: refuse what could escape.
Status check_container_name(const std::string& name);

struct StateDir {
  std::string base;  // the state root (config, or PHOENIX_GPU_STATE_DIR)
  std::string lxcpath;
  std::string name;

  std::string dir() const;  // base/escaped/name
  std::string plan_path() const { return dir() + "/plan.json"; }
  std::string status_path() const { return dir() + "/status.json"; }
};

// base: PHOENIX_GPU_STATE_DIR if set, else the configured one.
std::string state_base(const std::string& configured);

}  // namespace phx
