// The phoenix-gpu subcommands. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace phx::cli {

// Documented in phoenix-gpu --help and phoenix-gpu(1).
enum ExitCode : int {
  kOk = 0,
  kProblems = 1,  // doctor found a problem; plan could not be made; verify failed
  kUsage = 2,     // bad command line
  kFailure = 3,   // could not run: unreadable container config, missing state, no permission
};

struct CommonOptions {
  std::string host_root;  // --host-root, else PHOENIX_GPU_HOST_ROOT, else /
  bool json = false;
};

struct PlanOptions {
  std::string name;
  std::string lxcpath;
  std::string devices;
  std::string capabilities;
  bool devices_given = false;
  bool capabilities_given = false;
};

int cmd_plan(const CommonOptions& common, const PlanOptions& opts);
int cmd_doctor(const CommonOptions& common, const std::vector<std::string>& lxcpaths);
int cmd_status(const CommonOptions& common, const std::string& name, const std::string& lxcpath);
// Every container with a record in the state directory, and every running
// one with a GPU policy but no record in /var/lib/lxc, LXC's default path
// and `lxcpath`; format: table, json or prometheus.
int cmd_status_all(const std::string& format, const std::string& lxcpath);
int cmd_verify(const CommonOptions& common, const std::string& name, const std::string& lxcpath);
int cmd_prepare_host(const CommonOptions& common);
int cmd_install_driver(const CommonOptions& common, const std::string& name, const std::string& lxcpath);

}  // namespace phx::cli
