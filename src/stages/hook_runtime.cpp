#include "stages/hook_runtime.hpp"

#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>

#include "base/logging.hpp"

namespace phx {
namespace {

volatile sig_atomic_t g_deadline_code = 0;

void on_deadline(int) {
  static constexpr char kMsg[] =
      "phoenix-gpu: WARNING: hook ran past its time budget and stopped itself; the container starts without "
      "its GPUs being prepared (see the log)\n";
  (void)!::write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
  ::_exit(g_deadline_code);
}

}  // namespace

void set_deadline_exit_code(int exit_code) { g_deadline_code = exit_code; }

void arm_deadline(Millis budget, int exit_code) {
  g_deadline_code = exit_code;
  struct sigaction sa {};
  sa.sa_handler = on_deadline;
  ::sigaction(SIGALRM, &sa, nullptr);
  struct itimerval it {};
  it.it_value.tv_sec = static_cast<time_t>(budget.count() / 1000);
  it.it_value.tv_usec = static_cast<suseconds_t>((budget.count() % 1000) * 1000);
  ::setitimer(ITIMER_REAL, &it, nullptr);
}

HostConfig start_program(const std::string& program, const std::string& container, bool to_stderr) {
  auto cfg = load_host_config(config_path());
  HostConfig config = cfg ? *cfg : HostConfig{};
  LogOptions lo;
  lo.program = program;
  lo.container = container;
  lo.log_dir = effective_log_dir(config);
  lo.level = config.log_level;
  lo.to_stderr = to_stderr;
  setup_logging(lo);
  for (const auto& w : config.warnings) spdlog::warn("{}", w);
  if (!cfg) {
    const std::string what =
        cfg.error().message() + "; using the built-in defaults. Fix the file (see phoenix-gpu-hooks(7))";
    spdlog::warn("{}", what);
    config.warnings.push_back(what);  // pre-start carries it into the plan and the status
  }
  return config;
}

Result<HookRuntime> start_hook(const std::string& type, int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  auto ctx = parse_hook_context(
      args, [](const char* k) { return std::getenv(k); }, type);
  HostConfig config = start_program(type, ctx ? ctx->name : "");
  arm_deadline(config.hook_budget, 0);
  if (!ctx) {
    spdlog::error("{}", ctx.error().message());
    return ctx.error();
  }
  HookRuntime rt{*ctx, config, HostRoot::from_env(), StateDir{state_base(config.state_dir), ctx->lxcpath, ctx->name}};
  spdlog::debug("hook version {}, lxcpath {}, host root {}", rt.ctx.version, rt.ctx.lxcpath, rt.root.root());
  return rt;
}

}  // namespace phx
