// One logging setup for every program: short, bounded stderr (LXC captures
// hook output), the journal (fields: PHOENIX_GPU_CONTAINER, PHOENIX_GPU_PROGRAM)
// or else syslog, and a per-container file.
#pragma once

#include <cstddef>
#include <string>

#include <spdlog/spdlog.h>

namespace phx {

struct LogOptions {
  std::string program;    // "pre-start", "mount", "phoenix-gpu", ...
  std::string container;  // empty: no per-container file
  std::string log_dir;    // where <container>.log goes
  std::string level = "info";
  bool to_stderr = true;
  bool to_syslog = true;  // the journal's native socket where it exists, else syslog(3)
  std::string journal_socket = "/run/systemd/journal/socket";
  // LXC reads at most ~40 KB of hook output (10 reads of 4 KiB); past the
  // 64 KiB pipe lxc-start deadlocks. Hooks stay far below that.
  std::size_t stderr_budget = 8 * 1024;
  bool stderr_verbose = false;  // CLI: full lines; hooks: short lines
};

void setup_logging(const LogOptions& opts);

}  // namespace phx
