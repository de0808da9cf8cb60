#include "base/logging.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/syslog_sink.h>

#include "base/journal_sink.hpp"

namespace phx {
namespace {

// stderr that stops after a byte budget, with one line saying so.
class BoundedStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit BoundedStderrSink(std::size_t budget) : budget_(budget) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (truncated_) return;
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    if (used_ + buf.size() > budget_) {
      static constexpr char kNote[] = "phoenix-gpu: further output suppressed; see the log file or journal\n";
      write_all(kNote, sizeof kNote - 1);
      truncated_ = true;
      return;
    }
    used_ += buf.size();
    write_all(buf.data(), buf.size());
  }
  void flush_() override {}

 private:
  static void write_all(const char* p, std::size_t n) {
    while (n > 0) {
      ssize_t w = ::write(STDERR_FILENO, p, n);
      if (w <= 0) return;  // a closed or full pipe must never stall a hook
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  std::size_t budget_;
  std::size_t used_ = 0;
  bool truncated_ = false;
};

}  // namespace

void setup_logging(const LogOptions& opts) {
  std::vector<spdlog::sink_ptr> sinks;
  const std::string tag = opts.container.empty() ? opts.program : opts.program + " " + opts.container;
  if (opts.to_stderr) {
    auto s = std::make_shared<BoundedStderrSink>(opts.stderr_budget);
    s->set_pattern(opts.stderr_verbose ? "%^%l%$: %v" : "phoenix-gpu " + tag + ": %l: %v");
    sinks.push_back(s);
  }
  if (opts.to_syslog) {
    // ident must outlive the sink; syslog(3) keeps the pointer.
    static std::string ident;
    ident = "phoenix-gpu-" + opts.program;
    const std::string pattern = opts.container.empty() ? "%v" : "[" + opts.container + "] %v";
    // journald where it runs (fields: the container's name), else syslog.
    auto j = std::make_shared<JournalSink>(ident, opts.program, opts.container, opts.journal_socket);
    if (j->ok()) {
      j->set_pattern(pattern);
      sinks.push_back(j);
    } else {
      auto s = std::make_shared<spdlog::sinks::syslog_sink_mt>(ident, LOG_PID, LOG_DAEMON, true);
      s->set_pattern(pattern);
      sinks.push_back(s);
    }
  }
  if (!opts.container.empty() && !opts.log_dir.empty()) {
    ::mkdir(opts.log_dir.c_str(), 0750);
    const std::string path = opts.log_dir + "/" + opts.container + ".log";
    try {
      auto s = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
      s->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z " + opts.program + "[%P] %l: %v");
      sinks.push_back(s);
    } catch (const spdlog::spdlog_ex&) {
      // Unwritable log directory (the mount hook of an unprivileged
      // container runs as its mapped root): stderr and syslog remain.
    }
  }
  auto logger = std::make_shared<spdlog::logger>(opts.program, sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::from_str(opts.level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace phx
