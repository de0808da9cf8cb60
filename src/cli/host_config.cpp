#include "cli/host_config.hpp"

#include <iostream>

namespace phx::cli {

HostConfig host_config_or_defaults(BrokenConfig on_broken) {
  auto cfg = load_host_config(config_path());
  if (cfg) return std::move(*cfg);
  if (on_broken == BrokenConfig::Warn)
    std::cerr << "warning: " << cfg.error().message() << "; using the built-in defaults\n";
  return HostConfig{};
}

}  // namespace phx::cli
