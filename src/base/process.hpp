// Running a helper program (modprobe, an installer) with a hard time limit
// and bounded captured output.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace phx {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string output;  // stdout+stderr, at most the limit
  bool output_truncated = false;
  std::chrono::milliseconds duration{0};
};

// Runs argv[0] (absolute path) with stdin from /dev/null, in its own process
// group so a timeout kills everything it started.
Result<ProcessResult> run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                  std::size_t output_limit = 16 * 1024);

}  // namespace phx
