#include "stages/hook_context.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace phx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// An injected environment: no global setenv.
GetEnv env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* key) -> const char* {
    auto it = vars.find(key);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

const std::map<std::string, std::string> kLxcEnv = {
    {"LXC_NAME", "101"},
    {"LXC_CONFIG_FILE", "/var/lib/lxc/101/config"},
    {"LXC_ROOTFS_MOUNT", "/usr/lib/x86_64-linux-gnu/lxc/rootfs"},
};

TEST(HookContext, Version0Arguments) {
  auto ctx = parse_hook_context({"/usr/libexec/phx-pre-start", "extra1", "101", "lxc", "pre-start"}, env_of(kLxcEnv),
                                "pre-start");
  ASSERT_TRUE(ctx) << ctx.error().message();
  EXPECT_EQ(ctx->version, 0);
  EXPECT_EQ(ctx->type, "pre-start");
  EXPECT_THAT(ctx->args, ElementsAre("extra1"));
  EXPECT_EQ(ctx->name, "101");
  EXPECT_EQ(ctx->config_file, "/var/lib/lxc/101/config");
  EXPECT_EQ(ctx->lxcpath, "/var/lib/lxc");
  EXPECT_EQ(ctx->rootfs_mount, "/usr/lib/x86_64-linux-gnu/lxc/rootfs");
  EXPECT_EQ(ctx->pid, 0);
}

TEST(HookContext, Version1UsesHookType) {
  auto env = kLxcEnv;
  env["LXC_HOOK_TYPE"] = "start-host";
  env["LXC_HOOK_VERSION"] = "1";
  env["LXC_PID"] = "4242";
  auto ctx = parse_hook_context({"/usr/libexec/phx-start-host", "extra1", "extra2"}, env_of(env), "start-host");
  ASSERT_TRUE(ctx) << ctx.error().message();
  EXPECT_EQ(ctx->version, 1);
  EXPECT_EQ(ctx->type, "start-host");
  EXPECT_THAT(ctx->args, ElementsAre("extra1", "extra2"));
  EXPECT_EQ(ctx->pid, 4242);
}

TEST(HookContext, BadPidIgnored) {
  auto env = kLxcEnv;
  env["LXC_HOOK_TYPE"] = "start-host";
  for (const char* bad : {"-5", "0", "abc", "99999999999"}) {
    env["LXC_PID"] = bad;
    auto ctx = parse_hook_context({"prog"}, env_of(env), "start-host");
    ASSERT_TRUE(ctx) << ctx.error().message();
    EXPECT_EQ(ctx->pid, 0) << bad;
  }
}

TEST(HookContext, WrongTypeIsAnError) {
  auto ctx = parse_hook_context({"prog", "101", "lxc", "mount"}, env_of(kLxcEnv), "pre-start");
  ASSERT_FALSE(ctx);
  EXPECT_THAT(ctx.error().message(), HasSubstr("this program is the pre-start hook but LXC ran it as 'mount'"));
  auto env = kLxcEnv;
  env["LXC_HOOK_TYPE"] = "post-stop";
  EXPECT_FALSE(parse_hook_context({"prog"}, env_of(env), "pre-start"));
}

TEST(HookContext, NotStartedByLxc) {
  auto ctx = parse_hook_context({"prog", "extra"}, env_of(kLxcEnv), "pre-start");
  ASSERT_FALSE(ctx);
  EXPECT_THAT(ctx.error().message(), HasSubstr("not started by LXC"));
  EXPECT_FALSE(parse_hook_context({}, env_of(kLxcEnv), "pre-start"));
}

TEST(HookContext, MissingOrBadName) {
  auto env = kLxcEnv;
  env.erase("LXC_NAME");
  auto ctx = parse_hook_context({"prog", "101", "lxc", "pre-start"}, env_of(env), "pre-start");
  ASSERT_FALSE(ctx);
  EXPECT_THAT(ctx.error().message(), HasSubstr("LXC_NAME"));
  env["LXC_NAME"] = "../etc";
  EXPECT_FALSE(parse_hook_context({"prog", "101", "lxc", "pre-start"}, env_of(env), "pre-start"));
}

TEST(HookContext, ConfigFileMustBeAbsolute) {
  for (const char* bad : {"", "var/lib/lxc/101/config"}) {
    auto env = kLxcEnv;
    env["LXC_CONFIG_FILE"] = bad;
    auto ctx = parse_hook_context({"prog", "101", "lxc", "pre-start"}, env_of(env), "pre-start");
    ASSERT_FALSE(ctx) << bad;
    EXPECT_THAT(ctx.error().message(), HasSubstr("LXC_CONFIG_FILE is not set to an absolute path"));
  }
  auto env = kLxcEnv;
  env.erase("LXC_CONFIG_FILE");
  EXPECT_FALSE(parse_hook_context({"prog", "101", "lxc", "pre-start"}, env_of(env), "pre-start"));
}

TEST(HookContext, LxcpathFromConfigFile) {
  auto env = kLxcEnv;
  env["LXC_CONFIG_FILE"] = "/srv/pool/lxc/web/config";
  env["LXC_NAME"] = "web";
  auto ctx = parse_hook_context({"prog", "web", "lxc", "pre-start"}, env_of(env), "pre-start");
  ASSERT_TRUE(ctx) << ctx.error().message();
  EXPECT_EQ(ctx->lxcpath, "/srv/pool/lxc");
}

}  // namespace
}  // namespace phx
