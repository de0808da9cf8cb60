#include "plan/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixture_host.hpp"

namespace phx {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

const std::string kPath = "/etc/phoenix-gpu-hooks/config.toml";

void expect_defaults(const HostConfig& c) {
  const HostConfig d;
  EXPECT_EQ(c.driver_wait, milliseconds(10'000));
  EXPECT_TRUE(c.load_modules);
  EXPECT_TRUE(c.create_nodes);
  EXPECT_EQ(c.verify_timeout, milliseconds(30'000));
  EXPECT_EQ(c.poll_interval, milliseconds(20));
  EXPECT_EQ(c.visible_devices, "");
  EXPECT_EQ(c.capabilities, "");
  EXPECT_EQ(c.install_strategy, "none");
  EXPECT_EQ(c.installer_dir, d.installer_dir);
  EXPECT_EQ(c.install_timeout, milliseconds(20 * 60'000));
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.log_dir, "/var/log/phoenix-gpu-hooks");
  EXPECT_EQ(c.state_dir, "/run/phoenix-gpu-hooks");
  EXPECT_EQ(c.hook_budget, milliseconds(20'000));
  EXPECT_TRUE(c.warnings.empty());
}

TEST(Config, MissingFileGivesDefaults) {
  test::TempDir d;
  auto c = load_host_config(d.path("config.toml"));
  ASSERT_TRUE(c) << c.error().message();
  expect_defaults(*c);
}

TEST(Config, EmptyFileGivesDefaults) {
  auto c = parse_host_config("# nothing\n", kPath);
  ASSERT_TRUE(c) << c.error().message();
  expect_defaults(*c);
}

TEST(Config, UnreadableFileIsAnError) {
  test::TempDir d;
  d.mkdir("config.toml");  // a directory: read fails with EISDIR
  auto c = load_host_config(d.path("config.toml"));
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message(), HasSubstr(d.path("config.toml")));
}

TEST(Config, EveryKey) {
  test::TempDir d;
  d.write("config.toml", R"(
[driver]
wait_timeout = 5
load_modules = false
create_nodes = false

[verify]
timeout = 1.5
poll_interval = "500ms"

[defaults]
visible_devices = "all"
capabilities = "compute,utility,video"

[driver_install]
strategy = "command"
installer_dir = "/srv/installers"
command = "/usr/local/sbin/install-nvidia"
timeout = "2m"

[log]
level = "debug"
dir = "/var/log/gpu"

[state]
dir = "/run/gpu"

[hooks]
budget = "15s"
)");
  auto c = load_host_config(d.path("config.toml"));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->driver_wait, milliseconds(5'000));
  EXPECT_FALSE(c->load_modules);
  EXPECT_FALSE(c->create_nodes);
  EXPECT_EQ(c->verify_timeout, milliseconds(1'500));
  EXPECT_EQ(c->poll_interval, milliseconds(500));
  EXPECT_EQ(c->visible_devices, "all");
  EXPECT_EQ(c->capabilities, "compute,utility,video");
  EXPECT_EQ(c->install_strategy, "command");
  EXPECT_EQ(c->installer_dir, "/srv/installers");
  EXPECT_EQ(c->install_command, "/usr/local/sbin/install-nvidia");
  EXPECT_EQ(c->install_timeout, milliseconds(120'000));
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->log_dir, "/var/log/gpu");
  EXPECT_EQ(c->state_dir, "/run/gpu");
  EXPECT_EQ(c->hook_budget, milliseconds(15'000));
  EXPECT_TRUE(c->warnings.empty());
}

// Each broken value is an error naming the file and the key.
void expect_error(const std::string& toml, const std::string& problem) {
  auto c = parse_host_config(toml, kPath);
  ASSERT_FALSE(c) << toml;
  EXPECT_THAT(c.error().message(), HasSubstr("'" + kPath + "'"));
  EXPECT_THAT(c.error().message(), HasSubstr(problem));
}

TEST(Config, WrongTypes) {
  expect_error("[driver]\nload_modules = \"yes\"\n", "[driver] load_modules: expected true or false");
  expect_error("[driver]\nwait_timeout = true\n", "[driver] wait_timeout: expected a duration");
  expect_error("[verify]\ntimeout = \"soon\"\n", "[verify] timeout: expected a duration");
  expect_error("[defaults]\nvisible_devices = 0\n", "[defaults] visible_devices: expected a string");
  expect_error("[log]\ndir = [\"/var/log\"]\n", "[log] dir: expected a string");
}

TEST(Config, NonAsciiOnlyInComments) {
  // Comments may hold any UTF-8 text, quotes and '#' included.
  auto ok = parse_host_config(
      "# Größe \"und\" 'so' # weiter\n[verify]  # Zeitüberschreitung ¡\ntimeout = 45 # ½ Minute\n"
      "[log]\ndir = \"/var/log/#x\" # é\n",
      "config.toml");
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->verify_timeout, std::chrono::seconds(45));
  EXPECT_EQ(ok->log_dir, "/var/log/#x");
  // Anywhere else it is refused, with its line, before the TOML parser sees it: in a
  // table name (U+01FF there took toml++ 3.3 into undefined behaviour), a bare key, a
  // basic and a literal string, after a value, after a line-ending backslash in a
  // multi-line string.
  const char* kWhy = "a non-ASCII character outside a comment";
  expect_error("[driver]\n[veri\xc7\xbfy]\n", std::string("line 2: ") + kWhy);
  expect_error("[verify]\ntime\xc2\xa1out = 3\n", std::string("line 2: ") + kWhy);
  expect_error("[log]\ndir = \"/var/log/\xc3\xa9\"\n", std::string("line 2: ") + kWhy);
  expect_error("[log]\ndir = '/var/log/\xc3\xa9'\n", std::string("line 2: ") + kWhy);
  expect_error("[log]\ndir = '/x' \xc2\xa1\n", std::string("line 2: ") + kWhy);
  expect_error(
      "[driver_install]\ncommand = \"\"\"a \\\n\xe3\x80\x81"
      "b\"\"\"\n",
      std::string("line 3: ") + kWhy);
  // A '#' inside a string starts no comment.
  expect_error("[log]\ndir = \"#\xc3\xa9\"\n", std::string("line 2: ") + kWhy);
  expect_error("[driver_install]\ncommand = '''#\n\xc3\xa9'''\n", std::string("line 3: ") + kWhy);
}

TEST(Config, DurationLimits) {
  expect_error("[driver]\nwait_timeout = -1\n", "[driver] wait_timeout");
  expect_error("[driver]\nwait_timeout = 301\n", "up to 300 s");
  expect_error("[hooks]\nbudget = \"6m\"\n", "[hooks] budget");
  expect_error("[verify]\npoll_interval = 0\n", "[verify] poll_interval: must be above 0");
}

TEST(Config, HugeDurationDoesNotWrap) {
  expect_error("[driver]\nwait_timeout = 18446744073709552\n", "[driver] wait_timeout");
}

TEST(Config, UnknownStrategy) {
  expect_error("[driver_install]\nstrategy = \"magic\"\n",
               "[driver_install] strategy: 'magic' is not one of bind, command, none, runfile");
  expect_error("[log]\nlevel = \"loud\"\n", "[log] level: 'loud' is not one of");
}

TEST(Config, RelativePaths) {
  expect_error("[driver_install]\ninstaller_dir = \"installers\"\n",
               "[driver_install] installer_dir: expected an absolute path");
  expect_error("[log]\ndir = \"log\"\n", "[log] dir: expected an absolute path");
  expect_error("[state]\ndir = \"\"\n", "[state] dir: expected an absolute path");
}

TEST(Config, UnknownKeysAreWarnings) {
  auto c = parse_host_config("top = 1\n[driver]\nwait_timeout = 2\nfrobnicate = true\n[extras]\nx = 1\n", kPath);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->driver_wait, milliseconds(2'000));
  ASSERT_EQ(c->warnings.size(), 3u);
  std::string all;
  for (const auto& w : c->warnings) all += w + "\n";
  EXPECT_THAT(all, HasSubstr("unknown key 'driver.frobnicate' ignored"));
  EXPECT_THAT(all, HasSubstr("unknown key or table 'extras' ignored"));
  EXPECT_THAT(all, HasSubstr("unknown key or table 'top' ignored"));
  EXPECT_THAT(all, HasSubstr(kPath));
}

TEST(Config, SyntaxErrorNamesLine) {
  expect_error("[driver]\nload_modules = true\nwait_timeout = = 3\n", "line 3");
  expect_error("[driver\n", "line 1");
}

}  // namespace
}  // namespace phx
