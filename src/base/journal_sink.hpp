// A spdlog sink that speaks journald's native protocol: one datagram per
// message to /run/systemd/journal/socket, with structured fields, so that
// `journalctl PHOENIX_GPU_CONTAINER=NAME` finds one container's history.
// No libsystemd: a socket and a sendmsg are all a short-lived hook can
// afford to load.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>

#include "base/unique_fd.hpp"

namespace phx {

inline constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

// KEY=value fields of one journal entry, serialised as the native protocol
// wants it (values holding a newline in the length-prefixed binary form).
std::string journal_datagram(const std::vector<std::pair<std::string, std::string>>& fields);

// Priority (syslog level, 0-7) of a spdlog level.
int journal_priority(spdlog::level::level_enum level);

class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // The socket is connected once here; messages that cannot be sent are
  // dropped (logging never fails a hook). `ok()` says whether it connected.
  JournalSink(std::string identifier, std::string program, std::string container,
              const std::string& socket_path = kJournalSocket);
  bool ok() const { return static_cast<bool>(fd_); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  std::string identifier_, program_, container_;
  UniqueFd fd_;
};

}  // namespace phx
