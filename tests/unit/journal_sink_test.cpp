#include "base/journal_sink.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>

namespace phx {
namespace {

TEST(JournalDatagram, PlainFieldsAreKeyEqualsValueLines) {
  EXPECT_EQ(journal_datagram({{"MESSAGE", "hello"}, {"PRIORITY", "6"}}), "MESSAGE=hello\nPRIORITY=6\n");
}

TEST(JournalDatagram, ValuesWithNewlinesAreLengthPrefixed) {
  std::string want = "MESSAGE\n";
  want += std::string("\x03\0\0\0\0\0\0\0", 8);
  want += "a\nb\n";
  EXPECT_EQ(journal_datagram({{"MESSAGE", "a\nb"}}), want);
}

TEST(JournalPriority, MapsSpdlogLevelsToSyslogPriorities) {
  EXPECT_EQ(journal_priority(spdlog::level::err), 3);
  EXPECT_EQ(journal_priority(spdlog::level::warn), 4);
  EXPECT_EQ(journal_priority(spdlog::level::info), 6);
  EXPECT_EQ(journal_priority(spdlog::level::debug), 7);
}

// A datagram socket standing in for journald's.
class FakeJournal : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/phx-journal-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/socket";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strcpy(sa.sun_path, path_.c_str());
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  }
  void TearDown() override {
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string receive() {
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
  std::string dir_, path_;
  int fd_ = -1;
};

TEST_F(FakeJournal, SendsOneEntryWithTheContainerAsAField) {
  auto sink = std::make_shared<JournalSink>("phoenix-gpu-pre-start", "pre-start", "101", path_);
  ASSERT_TRUE(sink->ok());
  sink->set_pattern("[101] %v");
  spdlog::logger log("t", sink);
  log.warn("node {} missing", "/dev/nvidia0");
  const std::string got = receive();
  EXPECT_NE(got.find("MESSAGE=[101] node /dev/nvidia0 missing\n"), std::string::npos) << got;
  EXPECT_NE(got.find("PRIORITY=4\n"), std::string::npos) << got;
  EXPECT_NE(got.find("SYSLOG_IDENTIFIER=phoenix-gpu-pre-start\n"), std::string::npos) << got;
  EXPECT_NE(got.find("PHOENIX_GPU_CONTAINER=101\n"), std::string::npos) << got;
  EXPECT_NE(got.find("PHOENIX_GPU_PROGRAM=pre-start\n"), std::string::npos) << got;
  EXPECT_NE(got.find("SYSLOG_PID=" + std::to_string(::getpid()) + "\n"), std::string::npos) << got;
}

TEST_F(FakeJournal, NoContainerNoContainerField) {
  auto log = std::make_shared<spdlog::logger>("t", std::make_shared<JournalSink>("x", "phoenix-gpu", "", path_));
  log->info("hello");
  EXPECT_EQ(receive().find("PHOENIX_GPU_CONTAINER"), std::string::npos);
}

TEST(JournalSink, MissingSocketIsNotOk) {
  JournalSink sink("x", "y", "z", "/nonexistent/journal/socket");
  EXPECT_FALSE(sink.ok());
}

}  // namespace
}  // namespace phx
