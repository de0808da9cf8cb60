// The `bind` driver strategy: the host's own userspace driver files, bound
// read-only (nosuid, nodev) into the container at each start, where its
// distribution keeps libraries, so the container's driver always is the
// loaded module's version and nothing is installed in it.
//
// Why no ldconfig in the container: the libraries go into the dynamic
// linker's built-in directories (Debian's multiarch directory, lib64 or
// lib), with their soname links, where ld.so looks whenever its cache has
// no entry for a name; updating the container's cache would mean running
// the container's own ldconfig, a program the container controls, which
// the hooks never run with host privileges.
#pragma once

#include <string>
#include <vector>

#include "base/error.hpp"
#include "driver/driver_files.hpp"
#include "host/host_root.hpp"
#include "plan/state_dir.hpp"

namespace phx {

// <state dir>/driver-files.json: written by pre-start with strategy bind,
// read by the mount hook.
std::string driver_files_path(const StateDir& sd);

struct DriverBindReport {
  std::vector<std::string> bound;                            // container paths
  std::vector<std::string> links;                            // container paths of links made or updated
  std::vector<std::string> removed;                          // stale mount points of other versions
  std::vector<std::pair<std::string, std::string>> skipped;  // container path, why
};

// pre-start: with strategy "bind", finds the files for the plan's driver
// version and capabilities and writes them to driver_files_path(); with any
// other strategy removes that file. Logs what it found missing.
void prepare_driver_bind(const StateDir& sd, const HostRoot& host, const std::string& strategy,
                         const std::string& driver_version, const std::string& capabilities);

// mount hook: binds what driver_files_path() lists, if it exists; logs the
// outcome. Never fails the start.
void run_driver_bind(const StateDir& sd, const HostRoot& host, int rootfs_fd);

// Library directories in the container, relative to its rootfs: x86_64
// first, then i386 ("" when the layout has no place for 32-bit libraries).
struct LibDirs {
  std::string lib64;
  std::string lib32;
};
LibDirs container_lib_dirs(int rootfs_fd);

// Binds every file of `set` beneath rootfs_fd (the container's rootfs,
// before pivot_root). Nothing on the way is followed: a symlink or another
// mount in the container's tree leaves that file unbound, and nothing
// outside the rootfs is created or changed. Empty mount points left from
// another driver version are removed.
DriverBindReport bind_driver_files(const DriverFileSet& set, const HostRoot& host, int rootfs_fd);

}  // namespace phx
