// The host config as every subcommand takes it: a broken file never stops a
// command, which goes on with the built-in defaults (as the hooks do).
#pragma once

#include "plan/config.hpp"

namespace phx::cli {

enum class BrokenConfig {
  Warn,   // "warning: <why>; using the built-in defaults" on stderr
  Quiet,  // where the config only locates the state directory
};

// The config at config_path(), or the built-in defaults when it is
// unreadable or broken.
HostConfig host_config_or_defaults(BrokenConfig on_broken);

}  // namespace phx::cli
