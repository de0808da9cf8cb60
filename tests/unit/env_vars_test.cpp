#include "base/env_vars.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace phx {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::set<std::string> user_names() {
  std::set<std::string> out;
  for (const auto& v : env_vars())
    if (v.audience == EnvAudience::User) out.insert(v.name);
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The text from the line `start` up to the next line starting with `end`.
std::string section(const std::string& text, const std::string& start, const std::string& end) {
  const auto from = text.find("\n" + start + "\n");
  if (from == std::string::npos) return "";
  const auto to = text.find("\n" + end, from + start.size() + 2);
  return text.substr(from, to == std::string::npos ? std::string::npos : to - from);
}

std::set<std::string> names_matching(const std::string& text, const std::regex& re) {
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), re), e; it != e; ++it) out.insert((*it)[1].str());
  return out;
}

TEST(EnvVars, OneRowPerVariableWithItsName) {
  std::set<std::string> names;
  for (const auto& v : env_vars()) {
    EXPECT_EQ(&env_var_info(v.var), &v);
    EXPECT_EQ(std::string(env_name(v.var)).rfind("PHOENIX_GPU_", 0), 0u) << v.name;
    EXPECT_STRNE(v.meaning, "") << v.name;
    EXPECT_EQ(std::string(v.meaning).find('\n'), std::string::npos) << v.name;
    names.insert(v.name);
  }
  EXPECT_EQ(names.size(), env_vars().size());
}

TEST(EnvVars, WorkerIsHandedWhatSelectsTheHostAndTheFallbacks) {
  std::vector<std::string> names;
  for (const char* n : worker_env_names()) names.emplace_back(n);
  EXPECT_THAT(names, UnorderedElementsAre("PHOENIX_GPU_HOST_ROOT", "PHOENIX_GPU_STATE_DIR", "PHOENIX_GPU_LOG_DIR",
                                          "PHOENIX_GPU_CONFIG", "PHOENIX_GPU_MODPROBE", "PHOENIX_GPU_NO_MOUNT_API",
                                          "PHOENIX_GPU_NO_OPENAT2"));
}

TEST(EnvVars, ValueReadsTheEnvironment) {
  ::unsetenv("PHOENIX_GPU_MODPROBE");
  EXPECT_EQ(env_value(EnvVar::Modprobe), nullptr);
  ::setenv("PHOENIX_GPU_MODPROBE", "/bin/true", 1);
  EXPECT_STREQ(env_value(EnvVar::Modprobe), "/bin/true");
  ::unsetenv("PHOENIX_GPU_MODPROBE");
}

TEST(EnvVars, HelpListsTheUserFacingOnes) {
  const std::string help = user_env_help();
  for (const auto& v : env_vars()) {
    if (v.audience == EnvAudience::User) {
      // "  NAME", spaces, the meaning: one line.
      const std::string line_start = "\n  " + std::string(v.name) + "  ";
      const auto at = ("\n" + help).find(line_start);
      ASSERT_NE(at, std::string::npos) << v.name;
      const std::string rest = ("\n" + help).substr(at + line_start.size());
      const std::string line = rest.substr(0, rest.find('\n'));
      EXPECT_EQ(line.substr(line.find_first_not_of(' ')), v.meaning) << v.name;
    } else {
      EXPECT_EQ(help.find(v.name), std::string::npos) << v.name;
    }
  }
}

// README's "## Environment variables" table lists the user-facing set.
TEST(EnvVars, ReadmeTableListsTheUserFacingSet) {
  const std::string table =
      section(slurp(std::string(PHX_SOURCE_DIR) + "/README.md"), "## Environment variables", "## ");
  ASSERT_FALSE(table.empty());
  EXPECT_EQ(names_matching(table, std::regex(R"(\n\| `(PHOENIX_GPU_[A-Z0-9_]+)` \|)")), user_names());
}

// So does the ENVIRONMENT section of phoenix-gpu-hooks(7).
TEST(EnvVars, ManPageListsTheUserFacingSet) {
  const std::string env =
      section(slurp(std::string(PHX_SOURCE_DIR) + "/docs/man/phoenix-gpu-hooks.7"), ".SH ENVIRONMENT", ".SH ");
  ASSERT_FALSE(env.empty());
  EXPECT_EQ(names_matching(env, std::regex(R"(\n\.TP\n\.B (PHOENIX_GPU_[A-Z0-9_]+)\n)")), user_names());
}

}  // namespace
}  // namespace phx
