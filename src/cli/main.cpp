#include <iostream>

#include <CLI/CLI.hpp>

#include "base/env_vars.hpp"
#include "base/logging.hpp"
#include "cli/commands.hpp"

namespace {

int run(int argc, char** argv) {
  using namespace phx::cli;
  CLI::App app{
      "phoenix-gpu: diagnose and plan NVIDIA GPU access for LXC containers.\n"
      "The hooks in /usr/libexec/phoenix-gpu-hooks do the work at every container start;\n"
      "this tool shows what they see and would do. Only prepare-host and install-driver change\n"
      "anything (the host's nodes, a container's driver); the other commands only read.",
      "phoenix-gpu"};
  app.set_version_flag("--version", std::string("phoenix-gpu ") + PHX_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok; 1 problems found (doctor), no plan possible (plan), not verified\n"
      "(status; status --all: any container), not usable (verify), driver not current\n"
      "(install-driver), a node not made (prepare-host);\n"
      "2 bad usage; "
      "3 could not run (unreadable container config, no permission).\n"
      "Environment:\n" +
      phx::user_env_help() + "See phoenix-gpu(1) and phoenix-gpu-hooks(7).");

  CommonOptions common;
  auto add_common = [&](CLI::App* sub) {
    sub->add_option("--host-root", common.host_root,
                    "read /proc, /sys and /dev below DIR (a simulated host); default /")
        ->type_name("DIR");
    sub->add_flag("--json", common.json, "machine-readable output");
  };

  PlanOptions plan;
  auto* plan_cmd = app.add_subcommand("plan", "show the devices and cgroup rules the hooks would give a container");
  plan_cmd->add_option("name", plan.name, "container name (its lxc.environment gives the policy)");
  plan_cmd->add_option("-P,--lxcpath", plan.lxcpath, "LXC path of the container (default: LXC's)");
  plan_cmd->add_option("--devices", plan.devices, "GPU selection, NVIDIA_VISIBLE_DEVICES syntax (default: all)");
  plan_cmd->add_option("--capabilities", plan.capabilities,
                       "NVIDIA_DRIVER_CAPABILITIES syntax (default: utility,compute)");
  add_common(plan_cmd);

  auto* doctor_cmd = app.add_subcommand("doctor", "check the host: driver, GPUs, majors, nodes, modules, cgroups, LXC");
  add_common(doctor_cmd);
  std::vector<std::string> doctor_lxcpaths;
  doctor_cmd->add_option("-P,--lxcpath", doctor_lxcpaths,
                         "also check the containers of this LXC path (besides /var/lib/lxc and LXC's default)");

  auto* prepare_cmd = app.add_subcommand(
      "prepare-host",
      "load nvidia_uvm and create or repair every NVIDIA node on the host (the boot-time unit runs this)");
  prepare_cmd->add_option("--host-root", common.host_root, "work below DIR (a simulated host); default /")
      ->type_name("DIR");

  std::string ct_name, ct_lxcpath;
  auto add_container = [&](CLI::App* sub) {
    sub->add_option("name", ct_name, "container name")->required();
    sub->add_option("-P,--lxcpath", ct_lxcpath, "LXC path of the container (default: LXC's)");
  };
  auto* status_cmd = app.add_subcommand("status", "show what the hooks found at the container's last start");
  bool status_all = false;
  std::string status_format = "table";
  status_cmd->add_option("name", ct_name, "container name");
  status_cmd->add_option("-P,--lxcpath", ct_lxcpath,
                         "LXC path of the container (default: LXC's); with --all, one more path to look for running "
                         "containers with a GPU policy but no record");
  status_cmd->add_flag("--all", status_all, "every container started with a GPU policy since boot, across lxcpaths");
  status_cmd->add_option("--format", status_format, "with --all: table, json or prometheus (node_exporter textfile)")
      ->check(CLI::IsMember({"table", "json", "prometheus"}));
  status_cmd->add_flag("--json", common.json, "machine-readable output (with --all: --format json)");
  auto* verify_cmd = app.add_subcommand("verify", "check every planned node inside a running container, now");
  add_container(verify_cmd);
  verify_cmd->add_flag("--json", common.json, "machine-readable output");

  auto* install_cmd = app.add_subcommand(
      "install-driver",
      "make the running container's userspace driver match the host's (the worker's driver stage, now)");
  add_container(install_cmd);
  install_cmd->add_flag("--json", common.json, "machine-readable output");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kOk : kUsage;
  }
  plan.devices_given = plan_cmd->count("--devices") > 0;
  plan.capabilities_given = plan_cmd->count("--capabilities") > 0;

  phx::LogOptions lo;
  lo.program = "phoenix-gpu";
  lo.to_syslog = false;
  lo.stderr_verbose = true;
  lo.level = "warn";
  phx::setup_logging(lo);

  if (*plan_cmd) return cmd_plan(common, plan);
  if (*doctor_cmd) return cmd_doctor(common, doctor_lxcpaths);
  if (*prepare_cmd) return cmd_prepare_host(common);
  if (*status_cmd) {
    if (status_all) {
      if (!ct_name.empty()) {
        std::cerr << "error: --all takes no container name\n";
        return kUsage;
      }
      return cmd_status_all(common.json ? "json" : status_format, ct_lxcpath);
    }
    if (ct_name.empty()) {
      std::cerr << "error: status needs a container name, or --all\n";
      return kUsage;
    }
    if (status_cmd->count("--format") > 0) {
      std::cerr << "error: --format goes with --all (one container: --json)\n";
      return kUsage;
    }
    return cmd_status(common, ct_name, ct_lxcpath);
  }
  if (*verify_cmd) return cmd_verify(common, ct_name, ct_lxcpath);
  if (*install_cmd) return cmd_install_driver(common, ct_name, ct_lxcpath);
  return kUsage;
}

}  // namespace

// An exception that reaches here (out of memory, a library's) ends the
// command with a message and "could not run", not with std::terminate.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "phoenix-gpu: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "phoenix-gpu: unexpected error\n";
  }
  return phx::cli::kFailure;
}
