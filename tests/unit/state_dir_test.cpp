#include "plan/state_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace phx {
namespace {

using ::testing::HasSubstr;

TEST(EscapeLxcpath, Readable) {
  EXPECT_EQ(escape_lxcpath("/var/lib/lxc"), "var-lib-lxc");
  EXPECT_EQ(escape_lxcpath("/var/lib/lxc/"), "var-lib-lxc");  // the same directory
  EXPECT_EQ(escape_lxcpath("/srv/lxc_pool.d"), "srv-lxc_pool.d");
}

TEST(EscapeLxcpath, InjectiveOnTrickyInputs) {
  const std::vector<std::string> paths = {
      "/var/lib/lxc",  "/var/lib-lxc",  "/var-lib/lxc",  "/var/lib/lxc%2d", "/var/lib/.lxc", "/var/lib/%2elxc",
      "/var/lib/lxc-", "/var//lib/lxc", "/var/lib/l xc", "/var/lib/l\nxc",  "/var/lib/..",   "/var/lib/%2e%2e",
  };
  std::set<std::string> seen;
  for (const auto& p : paths) {
    const std::string e = escape_lxcpath(p);
    EXPECT_TRUE(seen.insert(e).second) << "'" << p << "' -> '" << e << "' collides";
    EXPECT_EQ(e.find('/'), std::string::npos) << p;
    EXPECT_NE(e, ".");
    EXPECT_NE(e, "..");
    EXPECT_FALSE(e.starts_with(".")) << p;
  }
  EXPECT_EQ(escape_lxcpath("/var/lib-lxc"), "var-lib%2dlxc");
}

TEST(EscapeLxcpath, UnescapeGivesThePathBack) {
  for (const std::string p : {"/var/lib/lxc", "/var/lib-lxc", "/var/lib/lxc%2d", "/var/lib/.lxc", "/var/lib/l xc",
                              "/var/lib/l\nxc", "/var/lib/..", "/srv/lxc_pool.d", "/"}) {
    EXPECT_EQ(unescape_lxcpath(escape_lxcpath(p)), p) << p;
  }
  // Names escape_lxcpath never makes.
  for (const std::string bad : {"var-lib%2", "var%zz", "%2E", ".hidden", "a%2fb", "var%2dlib%"}) {
    EXPECT_FALSE(unescape_lxcpath(bad)) << bad;
  }
}

TEST(EscapeLxcpath, RootIsNotEmpty) {
  EXPECT_EQ(escape_lxcpath("/"), "%2f");
  EXPECT_FALSE(escape_lxcpath("").empty());
}

TEST(EscapeLxcpath, RootDoesNotCollideWithSlashRoot) { EXPECT_NE(escape_lxcpath("/"), escape_lxcpath("/root")); }

TEST(ContainerName, Valid) {
  for (const char* ok : {"101", "web-1", "my.container", "a_b", "..a"}) {
    EXPECT_TRUE(check_container_name(ok)) << ok;
  }
}

TEST(ContainerName, Rejected) {
  using namespace std::string_literals;
  for (const std::string& bad :
       {""s, "."s, ".."s, "a/b"s, "/"s, "../etc"s, "web\n1"s, "a\0b"s, std::string(256, 'a')}) {
    Status st = check_container_name(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_THAT(st.error().message(), HasSubstr("not a valid container name"));
  }
}

TEST(StateDir, Paths) {
  StateDir s{"/run/phoenix-gpu-hooks", "/var/lib/lxc", "101"};
  EXPECT_EQ(s.dir(), "/run/phoenix-gpu-hooks/var-lib-lxc/101");
  EXPECT_EQ(s.plan_path(), "/run/phoenix-gpu-hooks/var-lib-lxc/101/plan.json");
  EXPECT_EQ(s.status_path(), "/run/phoenix-gpu-hooks/var-lib-lxc/101/status.json");
}

}  // namespace
}  // namespace phx
