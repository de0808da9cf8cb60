#include "base/file_write.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "base/unique_fd.hpp"

namespace phx {

Status write_all(int fd, std::string_view data, const std::string& what) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("write", what);
    // A write that takes nothing would loop forever.
    if (n == 0) return sys_error("write", what, EIO);
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Status write_existing_file(const std::string& path, std::string_view data, int extra_flags) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC | extra_flags));
  if (!fd) return sys_error("open", path);
  return write_all(fd.get(), data, path);
}

}  // namespace phx
