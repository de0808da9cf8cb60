// Writing to descriptors and to files that already exist (cgroup control
// files, reports pre-created for a container's mapped root): the one place
// that handles short writes and EINTR. New files are written whole with
// write_file_atomic (atomic_file.hpp).
#pragma once

#include <string>
#include <string_view>

#include "base/error.hpp"

namespace phx {

// All of data to fd, resuming after short writes and EINTR. `what` names the
// target in the error (with errno).
Status write_all(int fd, std::string_view data, const std::string& what);

// Opens an existing file with O_WRONLY|O_NOFOLLOW|O_CLOEXEC|extra_flags and
// writes data to it: never creates, never follows a symlink.
Status write_existing_file(const std::string& path, std::string_view data, int extra_flags = 0);

}  // namespace phx
