#include "base/journal_sink.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace phx {

std::string journal_datagram(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [key, value] : fields) {
    out += key;
    if (value.find('\n') == std::string::npos) {
      out += '=';
      out += value;
    } else {
      // KEY\n, the value's length as 64-bit little endian, the value.
      out += '\n';
      std::uint64_t n = value.size();
      for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
      out += value;
    }
    out += '\n';
  }
  return out;
}

int journal_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return 2;
    case spdlog::level::err:
      return 3;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::info:
      return 6;
    default:
      return 7;
  }
}

JournalSink::JournalSink(std::string identifier, std::string program, std::string container,
                         const std::string& socket_path)
    : identifier_(std::move(identifier)), program_(std::move(program)), container_(std::move(container)) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof sa.sun_path) return;
  std::memcpy(sa.sun_path, socket_path.c_str(), socket_path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) return;
  fd_ = std::move(fd);
}

void JournalSink::sink_it_(const spdlog::details::log_msg& msg) {
  if (!fd_) return;
  spdlog::memory_buf_t buf;
  formatter_->format(msg, buf);
  std::string text(buf.data(), buf.size());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::vector<std::pair<std::string, std::string>> fields = {
      {"MESSAGE", text},
      {"PRIORITY", std::to_string(journal_priority(msg.level))},
      {"SYSLOG_IDENTIFIER", identifier_},
      {"SYSLOG_PID", std::to_string(::getpid())},
      {"PHOENIX_GPU_PROGRAM", program_},
  };
  if (!container_.empty()) fields.emplace_back("PHOENIX_GPU_CONTAINER", container_);
  const std::string dgram = journal_datagram(fields);
  // Messages are a few hundred bytes, far below the socket's datagram limit;
  // one that does not fit (or a full queue: MSG_DONTWAIT) is dropped rather
  // than stall a hook.
  (void)::send(fd_.get(), dgram.data(), dgram.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace phx
