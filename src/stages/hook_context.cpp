#include "stages/hook_context.hpp"

#include <filesystem>

#include "base/text.hpp"
#include "plan/state_dir.hpp"

namespace phx {

std::string lxcpath_from_config_file(const std::string& config_file) {
  return std::filesystem::path(config_file).parent_path().parent_path().string();
}

Result<HookContext> parse_hook_context(const std::vector<std::string>& argv, const GetEnv& getenv,
                                       const std::string& expected_type) {
  auto env = [&](const char* k) -> std::string {
    const char* v = getenv(k);
    return v != nullptr ? v : "";
  };
  HookContext ctx;
  std::vector<std::string> args(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
  const std::string hook_type = env("LXC_HOOK_TYPE");
  if (env("LXC_HOOK_VERSION") == "1" || !hook_type.empty()) {
    ctx.version = 1;
    ctx.type = hook_type;
  } else if (args.size() >= 3 && args[args.size() - 2] == "lxc") {
    ctx.type = args.back();
    args.resize(args.size() - 3);  // NAME lxc TYPE
  } else {
    return make_error("hook", "not started by LXC as a hook (no LXC_HOOK_TYPE and no 'NAME lxc TYPE' arguments)");
  }
  ctx.args = args;
  if (ctx.type != expected_type) {
    return make_error("hook", "this program is the " + expected_type + " hook but LXC ran it as '" + ctx.type +
                                  "': check the lxc.hook line");
  }
  ctx.name = env("LXC_NAME");
  if (auto ok = check_container_name(ctx.name); !ok) return make_error("hook", "LXC_NAME: " + ok.error().message());
  ctx.config_file = env("LXC_CONFIG_FILE");
  if (ctx.config_file.empty() || ctx.config_file.front() != '/') {
    return make_error("hook", "LXC_CONFIG_FILE is not set to an absolute path");
  }
  ctx.lxcpath = lxcpath_from_config_file(ctx.config_file);
  ctx.rootfs_mount = env("LXC_ROOTFS_MOUNT");
  if (auto pid = parse_int(env("LXC_PID")); pid && *pid > 0 && *pid < (1LL << 22)) ctx.pid = static_cast<pid_t>(*pid);
  return ctx;
}

}  // namespace phx
