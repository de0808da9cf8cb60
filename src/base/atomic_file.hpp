#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/error.hpp"

namespace phx {

// Readers see the old file or the new one, never a torn one: write a
// temporary file beside the target, fsync it, rename it over the target,
// fsync the directory.
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644);

// mkdir -p with a mode for the directories it creates.
Status make_dirs(const std::string& path, mode_t mode = 0755);

}  // namespace phx
