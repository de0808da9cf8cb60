#include "base/text.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/unique_fd.hpp"
#include "fixture_host.hpp"

namespace phx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Text, ParseIntIsStrict) {
  EXPECT_EQ(parse_int("195"), 195);
  EXPECT_EQ(parse_int("-1"), -1);
  EXPECT_EQ(parse_int("ff", 16), 255);
  EXPECT_EQ(parse_int("0644", 8), 0644);
  for (const char* bad : {"", " 1", "1 ", "1x", "+1", "0x10", "99999999999999999999"}) {
    EXPECT_EQ(parse_int(bad), std::nullopt) << bad;
  }
}

TEST(Text, Durations) {
  EXPECT_EQ(parse_duration_ms("30"), 30'000);
  EXPECT_EQ(parse_duration_ms(" 30s "), 30'000);
  EXPECT_EQ(parse_duration_ms("500ms"), 500);
  EXPECT_EQ(parse_duration_ms("2m"), 120'000);
  EXPECT_EQ(parse_duration_ms("0"), 0);
  for (const char* bad : {"", "s", "-1", "1h", "1.5", "ms", "2 m x"}) {
    EXPECT_EQ(parse_duration_ms(bad), std::nullopt) << bad;
  }
}

// The 24 h cap holds after the unit is applied, and no value overflows on
// the way (a budget in ms later becomes whole seconds in an int).
TEST(Text, DurationCapAfterScaling) {
  EXPECT_EQ(parse_duration_ms("1440m"), 86'400'000);
  EXPECT_EQ(parse_duration_ms("86400"), 86'400'000);
  EXPECT_EQ(parse_duration_ms("86400000ms"), 86'400'000);
  for (const char* bad : {"1440000m", "1441m", "86401s", "86400001ms", "86400000m", "9223372036854775807m",
                          "9223372036854775807", "9223372036854775808ms"}) {
    EXPECT_EQ(parse_duration_ms(bad), std::nullopt) << bad;
  }
}

TEST(Text, SplitAndTrim) {
  EXPECT_EQ(trim(" \t a b \r\n"), "a b");
  EXPECT_THAT(split_lines("a\n\nb\n"), ElementsAre("a", "", "b"));
  EXPECT_THAT(split_lines("a\nb"), ElementsAre("a", "b"));
  EXPECT_THAT(split("a,,b", ','), ElementsAre("a", "", "b"));
  EXPECT_THAT(split("", ','), ElementsAre(""));
  EXPECT_TRUE(starts_with_ci("GPU-abc", "gpu-"));
  EXPECT_FALSE(starts_with_ci("GP", "gpu-"));
}

TEST(Text, ReadSmallFile) {
  test::TempDir d;
  d.write("f", std::string(100, 'x'));
  auto ok = read_small_file(d.path("f"));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->size(), 100u);
  auto big = read_small_file(d.path("f"), 99);
  ASSERT_FALSE(big);
  EXPECT_THAT(big.error().message(), HasSubstr("read '" + d.path("f") + "': larger than 99 bytes"));
  auto missing = read_small_file(d.path("nope"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().err, ENOENT);
  EXPECT_THAT(missing.error().message(),
              HasSubstr("open '" + d.path("nope") + "': ENOENT (No such file or directory)"));
}

TEST(Text, ReadSmallFd) {
  test::TempDir d;
  d.write("f", std::string(100, 'x'));
  UniqueFd fd(::open(d.path("f").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  auto big = read_small_fd(fd.get(), "/proc/1/cgroup", 99);
  ASSERT_FALSE(big);
  EXPECT_THAT(big.error().message(), HasSubstr("read '/proc/1/cgroup': larger than 99 bytes"));
  ASSERT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
  auto ok = read_small_fd(fd.get(), "/proc/1/cgroup");
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(*ok, std::string(100, 'x'));
  auto bad = read_small_fd(-1, "/proc/1/cgroup");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().err, EBADF);
}

TEST(Error, MessageFormat) {
  EXPECT_EQ(sys_error("open", "/dev/nvidia0", EPERM).message(), "open '/dev/nvidia0': EPERM (Operation not permitted)");
  EXPECT_EQ(parse_error("/proc/devices", "malformed line 'x'").message(), "parse '/proc/devices': malformed line 'x'");
  EXPECT_EQ(make_error("hook", "bad").message(), "hook: bad");
  EXPECT_EQ(errno_name(ENOENT), "ENOENT");
}

// File names in a container's /dev and installer output reach logs and
// terminals: no newline, carriage return or escape sequence gets through.
TEST(Text, EscapeControl) {
  EXPECT_EQ(escape_control("nvidia0"), "nvidia0");
  EXPECT_EQ(escape_control("a\nb\rc\x1b]52;c;AAAA\x07"), "a\\x0ab\\x0dc\\x1b]52;c;AAAA\\x07");
  EXPECT_EQ(escape_control("back\\slash\ttab"), "back\\\\slash\\x09tab");
  EXPECT_EQ(escape_control("\xc2\x9b\x7f"), "\\xc2\\x9b\\x7f");
  EXPECT_EQ(escape_lines("one\r\ntwo\x1b[2J\n\tthree", "  | "), "  | one\\x0d\n  | two\\x1b[2J\n  | \tthree");
  EXPECT_TRUE(plain_text("a b\n\tc"));
  EXPECT_FALSE(plain_text("a\x1b"));
  EXPECT_EQ(printable("already \\x0a escaped\n"), "already \\x0a escaped\n");
  EXPECT_EQ(printable("raw\x1b]52;\n"), "raw\\x1b]52;");
}

}  // namespace
}  // namespace phx
