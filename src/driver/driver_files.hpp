// The host's userspace driver files for the loaded driver version, chosen by
// capability the way the NVIDIA container toolkit chooses them
// (libnvidia-container's nvc_info.c lists), found through the host's dynamic
// linker configuration rather than a fixed directory.
#pragma once

#include <string>
#include <vector>

#include "base/error.hpp"
#include "driver/ld_cache.hpp"
#include "host/host_root.hpp"
#include "plan/device_selection.hpp"

namespace phx {

struct DriverFile {
  enum class Kind { Library, Binary, Socket, Config };
  Kind kind = Kind::Library;
  std::string host_path;  // the real file on the host, symlinks resolved: ".../libcuda.so.535.261.03"
  // Library: the ABI (the container directory follows from it), the soname
  // link to make ("libcuda.so.1"; empty when the file name is the soname)
  // and a development link where the toolkit makes one ("libcuda.so").
  LibAbi abi = LibAbi::X86_64;
  std::string soname;
  std::string dev_link;
  // Binary: the name in the container's /usr/bin. Socket, Config: the
  // absolute path in the container (the host's path).
  std::string target;
  bool operator==(const DriverFile&) const = default;
};

struct DriverFileSet {
  std::string version;  // the loaded driver's, every library's suffix
  std::string source;   // "<path> (ld.so.cache)" or "ld.so.conf and the default directories"
  std::vector<DriverFile> files;
  std::vector<std::string> warnings;  // expected libraries not found, a cache not read
  bool operator==(const DriverFileSet&) const = default;
};

// Reads <root>/etc/ld.so.cache (else ld.so.conf and the linker's default
// directories) and picks, for the capabilities asked, every library whose
// real file is <name>.so.<version>; other versions beside it are ignored.
DriverFileSet discover_driver_files(const HostRoot& root, const std::string& version, const DriverCapabilities& caps);

// True for the name part ("libcuda") of any library the capabilities bind.
bool is_driver_library(const std::string& prefix);

// Follows symlinks of a host path below root (absolute targets re-rooted);
// nullopt-like empty string when it does not resolve to a regular file.
std::string resolve_host_file(const HostRoot& root, const std::string& path);

inline constexpr int kDriverFilesFormatVersion = 1;
std::string driver_files_to_json(const DriverFileSet& s);
// Every name and path checked: names are single components, paths absolute
// without "." or ".." components, so the mount hook can join them safely.
Result<DriverFileSet> driver_files_from_json(const std::string& text, const std::string& path);

}  // namespace phx
