#include "stages/mount_stage.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/file_write.hpp"
#include "base/logging.hpp"
#include "base/unique_fd.hpp"
#include "driver/driver_bind.hpp"
#include "driver/nvidia_proc_view.hpp"
#include "fs/bind_mount.hpp"
#include "host/host_discovery.hpp"
#include "plan/host_check.hpp"
#include "plan/plan_file.hpp"

namespace phx {

namespace {

// In-place rewrite: the file is pre-created by pre-start and owned by the
// container's mapped root, which cannot create files here.
void write_report(const std::string& path, const MountReport& r) {
  if (auto ok = write_existing_file(path, mount_report_to_json(r), O_TRUNC); !ok) {
    spdlog::debug("{}", ok.error().message());
  }
}

}  // namespace

int run_mount(const HookRuntime& rt) {
  auto pf = read_plan(rt.state.plan_path());
  if (!pf) {
    if (pf.error().err == ENOENT) {
      spdlog::debug("no plan for this start: nothing to mount");
    } else {
      spdlog::warn("{}; no GPU nodes are mounted. Fix: restart the container (pre-start rewrites the plan)",
                   pf.error().message());
    }
    return 0;
  }
  if (pf->container != rt.ctx.name || pf->lxcpath != rt.ctx.lxcpath) {
    spdlog::warn("plan {} belongs to {}/{}, not this container; ignored", rt.state.plan_path(), pf->lxcpath,
                 pf->container);
    return 0;
  }
  if (!pf->plan.enabled) return 0;
  if (rt.ctx.rootfs_mount.empty()) {
    spdlog::warn("LXC_ROOTFS_MOUNT is not set; no GPU nodes are mounted");
    return 0;
  }
  UniqueFd rootfs(::open(rt.ctx.rootfs_mount.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfs) {
    spdlog::warn("{}; no GPU nodes are mounted", sys_error("open", rt.ctx.rootfs_mount).message());
    return 0;
  }
  const HostRoot root(pf->host_root);
  MountReport report;
  for (const auto& node : pf->plan.nodes) {
    if (node.major == 0) {  // pending: nothing on the host to bind yet
      report.missing.emplace_back(node.container_path, "pending: " + node.pending);
      continue;
    }
    const std::string src = root.path(node.host_path);
    NodeState st = stat_node(src);
    if (const HostNodeMatch m = match_host_node(st, node); m != HostNodeMatch::Planned) {
      std::string why = m == HostNodeMatch::Missing ? "missing on the host"
                        : m == HostNodeMatch::NotCharDevice
                            ? "not a character device on the host"
                            : "stale on the host (rdev " + std::to_string(major(st.rdev)) + ":" +
                                  std::to_string(minor(st.rdev)) + ")";
      spdlog::info("{}: {}; left for post-start", node.container_path, why);
      report.missing.emplace_back(node.container_path, why);
      continue;
    }
    auto res = bind_node_beneath(src, rootfs.get(), node.container_path.substr(1));
    if (!res) {
      spdlog::warn("skipped {}: {}", node.container_path, res.error().message());
      report.missing.emplace_back(node.container_path, res.error().message());
      continue;
    }
    spdlog::debug("{} {}", node.container_path, *res == BindResult::Mounted ? "mounted" : "already present");
    report.mounted.push_back(node.container_path);
  }
  write_report(mount_report_path(rt.state), report);
  run_driver_bind(rt.state, root, rootfs.get());
  std::vector<std::string> buses;
  for (const auto& g : pf->plan.gpus) buses.push_back(g.bus_location);
  const ProcViewReport view = mask_proc_view(rootfs.get(), proc_params_path(rt.state), buses);
  for (const auto& p : view.problems) spdlog::warn("/proc/driver/nvidia in the container: {}", p);
  if (view.params || !view.gpus.empty()) {
    spdlog::info("/proc/driver/nvidia in the container: params{} replaced, gpus/ shows {} of the host's GPUs",
                 view.params ? "" : " NOT", view.gpus.size());
  }
  spdlog::info("mounted {} of {} node(s){}", report.mounted.size(), pf->plan.nodes.size(),
               report.missing.empty() ? "" : "; " + std::to_string(report.missing.size()) + " missing");
  return 0;
}

}  // namespace phx
