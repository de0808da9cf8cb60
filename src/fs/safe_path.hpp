// Path resolution beneath a root fd that a hostile tree cannot redirect:
// openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS), with a
// per-component O_PATH|O_NOFOLLOW walk for kernels before 5.6.
#pragma once

#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace phx {

// Forces the fallback walk (tests exercise both paths): the environment
// variable PHOENIX_GPU_NO_OPENAT2=1 or this switch.
void set_force_openat_fallback(bool on);
bool openat2_available();

enum class Xdev { Allow, Refuse };

// rel is relative ("dev/nvidia-caps"), without "..": anything else is EINVAL.
// A symlink anywhere on the way fails with ELOOP; with Xdev::Refuse,
// crossing into another mount fails with EXDEV.
Result<UniqueFd> open_beneath(int root_fd, const std::string& rel, int flags, Xdev xdev = Xdev::Allow);

// mkdir -p beneath root_fd; returns an O_PATH fd of the last directory.
Result<UniqueFd> make_dirs_beneath(int root_fd, const std::string& rel, mode_t mode, Xdev xdev = Xdev::Allow);

}  // namespace phx
