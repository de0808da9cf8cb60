#include "host/modules.hpp"

#include <cstdlib>

#include "base/env_vars.hpp"
#include "base/process.hpp"
#include "base/text.hpp"

namespace phx {

Status load_module(const HostRoot& root, const std::string& module, std::chrono::milliseconds timeout) {
  std::string program;
  if (const char* env = env_value(EnvVar::Modprobe); env != nullptr && *env == '/') {
    program = env;
  } else if (root.simulated()) {
    return Error{"modprobe", module, 0, "simulated host: modules are not loaded (set PHOENIX_GPU_MODPROBE)"};
  } else if (auto text = read_small_file("/proc/sys/kernel/modprobe", 4096); text && !trim(*text).empty()) {
    program = std::string(trim(*text));
  } else {
    program = "/sbin/modprobe";
  }
  auto res = run_process({program, module}, timeout, 2048);
  if (!res) return res.error();
  if (res->timed_out) return Error{"modprobe", module, ETIMEDOUT, program + " did not finish; killed"};
  if (res->exit_code != 0) {
    std::string out(trim(res->output));
    return Error{"modprobe", module, 0,
                 program + " exited with " + std::to_string(res->exit_code) + (out.empty() ? "" : ": " + out)};
  }
  return {};
}

}  // namespace phx
