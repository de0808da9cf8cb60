#include "host_discovery.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "text.hpp"

namespace phx {

NodeState stat_node(const std::string& path) {
  NodeState s;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) s.err = errno;
    return s;
  }
  s.kind = S_ISCHR(st.st_mode) ? NodeState::Kind::CharDevice : NodeState::Kind::Other;
  s.rdev = st.st_rdev;
  s.mode = st.st_mode & 07777;
  s.uid = st.st_uid;
  s.gid = st.st_gid;
  return s;
}

namespace {

// Sorted directory entries, without "." and ".."; empty when unreadable.
std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
    if (names.size() > 4096) break;  // no real host has more; a hostile tree may
  }
  std::sort(names.begin(), names.end());
  return names;
}

void read_caps(const HostRoot& root, HostSnapshot& snap) {
  // capabilities/mig/{config,monitor} and capabilities/gpu<M>/mig/gi<G>[/ci<C>]/access
  const std::string base = root.path("/proc/driver/nvidia/capabilities");
  std::vector<std::string> rel = {"mig/config", "mig/monitor"};
  for (const auto& gpu : list_dir(base)) {
    if (!gpu.starts_with("gpu")) continue;
    for (const auto& gi : list_dir(base + "/" + gpu + "/mig")) {
      if (!gi.starts_with("gi")) continue;
      rel.push_back(gpu + "/mig/" + gi + "/access");
      for (const auto& ci : list_dir(base + "/" + gpu + "/mig/" + gi)) {
        if (ci.starts_with("ci")) rel.push_back(gpu + "/mig/" + gi + "/" + ci + "/access");
      }
    }
  }
  for (const auto& r : rel) {
    const std::string path = base + "/" + r;
    auto text = read_small_file(path, 64 * 1024);
    if (!text) {
      if (text.error().err != ENOENT) snap.problems.push_back(text.error());
      continue;
    }
    auto cap = parse_cap_file(*text, r, path);
    if (cap) {
      snap.caps.push_back(*cap);
    } else {
      snap.problems.push_back(cap.error());
    }
  }
}

}  // namespace

HostSnapshot discover_host(const HostRoot& root, DiscoverScope scope) {
  HostSnapshot snap;

  const std::string version_path = root.path("/proc/driver/nvidia/version");
  if (auto text = read_small_file(version_path, 64 * 1024)) {
    snap.driver_loaded = true;
    if (auto v = parse_driver_version(*text, version_path)) {
      snap.driver = *v;
    } else {
      snap.problems.push_back(v.error());
    }
  } else if (text.error().err != ENOENT) {
    snap.problems.push_back(text.error());
  }

  const std::string gpus_dir = root.path("/proc/driver/nvidia/gpus");
  for (const auto& bus : list_dir(gpus_dir)) {
    const std::string path = gpus_dir + "/" + bus + "/information";
    auto text = read_small_file(path, 64 * 1024);
    if (!text) {
      snap.gpu_problems.push_back(text.error());
      continue;
    }
    auto gpu = parse_gpu_information(*text, path);
    if (!gpu) {
      snap.gpu_problems.push_back(gpu.error());
      continue;
    }
    snap.gpus.push_back(std::move(*gpu));
  }
  // nvidia-smi enumerates in PCI bus order.
  std::sort(snap.gpus.begin(), snap.gpus.end(),
            [](const GpuInfo& a, const GpuInfo& b) { return a.bus_location < b.bus_location; });
  for (std::size_t i = 1; i < snap.gpus.size(); ++i) {
    if (snap.gpus[i].device_minor == snap.gpus[i - 1].device_minor ||
        snap.gpus[i].bus_location == snap.gpus[i - 1].bus_location) {
      snap.gpu_problems.push_back(parse_error(gpus_dir, "two GPUs share a bus location or Device Minor"));
    }
  }
  {
    std::set<int> minors;
    for (const auto& g : snap.gpus) {
      if (!minors.insert(g.device_minor).second) {
        snap.gpu_problems.push_back(
            parse_error(gpus_dir, "Device Minor " + std::to_string(g.device_minor) + " appears twice"));
      }
    }
  }
  int index = 0;
  for (auto& g : snap.gpus) {
    if (!g.excluded) g.index = index++;
  }

  const std::string devices_path = root.path("/proc/devices");
  if (auto text = read_small_file(devices_path)) {
    if (auto majors = parse_proc_devices(*text, devices_path)) {
      snap.majors = *majors;
    } else {
      snap.problems.push_back(majors.error());
    }
  } else {
    snap.problems.push_back(text.error());
  }

  const std::string params_path = root.path("/proc/driver/nvidia/params");
  if (auto text = read_small_file(params_path)) {
    if (auto p = parse_params(*text, params_path)) {
      snap.params = *p;
    } else {
      snap.problems.push_back(p.error());
    }
  } else if (snap.driver_loaded) {
    snap.problems.push_back(text.error());
  }

  const std::string mig_path = root.path("/proc/driver/nvidia-caps/mig-minors");
  if (scope == DiscoverScope::Full) {
    if (auto text = read_small_file(mig_path)) {
      if (auto m = parse_mig_minors(*text, mig_path)) {
        snap.mig_minors = std::move(*m);
      } else {
        snap.problems.push_back(m.error());
      }
    }
  }
  if (snap.driver_loaded) read_caps(root, snap);

  const std::string modules_path = root.path("/proc/modules");
  if (auto text = read_small_file(modules_path)) {
    if (auto mods = parse_proc_modules(*text, modules_path)) {
      snap.modules = std::move(*mods);
      snap.modules_known = true;
    } else {
      snap.problems.push_back(mods.error());
    }
  }
  return snap;
}

bool module_loaded(const HostRoot& root, const HostSnapshot& snap, const std::string& name) {
  if (auto text = read_small_file(root.path("/sys/module/" + name + "/initstate"), 4096)) {
    return trim(*text) == "live";
  }
  return snap.modules.count(name) != 0;
}

}  // namespace phx
