// What the mount hook bound into the container and what it left out, with
// why: written by the mount hook into the state directory (mount.json), read
// by the worker to say why a node it finds missing was not bound at start.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "plan/state_dir.hpp"
#include "plan/status_file.hpp"

namespace phx {

struct MountReport {
  std::vector<std::string> mounted;                          // container paths
  std::vector<std::pair<std::string, std::string>> missing;  // container path, why
};

std::string mount_report_path(const StateDir& sd);  // <state dir>/mount.json
std::string mount_report_to_json(const MountReport& r);
Result<MountReport> mount_report_from_json(const std::string& text, const std::string& path);
Result<MountReport> read_mount_report(const std::string& path);

// Adds the mount hook's reason to each failing check of a node it did not
// bind ("...; the mount hook did not bind it: <why>"), so the status says
// why the node is not in the container (a symlink or a file the container
// planted where the node goes, say). Pending nodes are left as they are:
// their check says why already.
void explain_unbound(std::vector<NodeCheck>& checks, const MountReport& report, bool simulated);

}  // namespace phx
