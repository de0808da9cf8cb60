#include "host/host_discovery.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "base/text.hpp"

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

// A file that is there but does not parse is always a problem; whether an
// unreadable one is, each reader decides (a host without the driver has no
// /proc/driver/nvidia, and that is no fault of its files).
template <typename T, typename Out>
bool keep(Result<T> parsed, Out& out, std::vector<Error>& problems) {
  if (!parsed) {
    problems.push_back(parsed.error());
    return false;
  }
  out = std::move(*parsed);
  return true;
}

// The driver counts as loaded when its version file exists, even one that
// does not parse: its other files are then expected too.
void read_driver_version(const HostRoot& root, HostSnapshot& snap) {
  const std::string path = root.path("/proc/driver/nvidia/version");
  auto text = read_small_file(path, 64 * 1024);
  if (!text) {
    if (text.error().err != ENOENT) snap.problems.push_back(text.error());
    return;
  }
  snap.driver_loaded = true;
  keep(parse_driver_version(*text, path), snap.driver, snap.problems);
}

void read_gpus(const HostRoot& root, HostSnapshot& snap) {
  const std::string gpus_dir = root.path("/proc/driver/nvidia/gpus");
  for (const auto& bus : list_dir(gpus_dir)) {
    auto gpu = read_gpu(gpus_dir + "/" + bus);
    if (gpu) {
      snap.gpus.push_back(std::move(*gpu));
    } else {
      snap.gpu_problems.push_back(gpu.error());
    }
  }
  for (auto& problem : order_gpus(snap.gpus, gpus_dir)) snap.gpu_problems.push_back(std::move(problem));
}

// Every host with a kernel has /proc/devices: not reading it is a problem
// even without the driver.
void read_majors(const HostRoot& root, HostSnapshot& snap) {
  const std::string path = root.path("/proc/devices");
  auto text = read_small_file(path);
  if (!text) {
    snap.problems.push_back(text.error());
    return;
  }
  keep(parse_proc_devices(*text, path), snap.majors, snap.problems);
}

void read_params(const HostRoot& root, HostSnapshot& snap) {
  const std::string path = root.path("/proc/driver/nvidia/params");
  auto text = read_small_file(path);
  if (!text) {
    if (snap.driver_loaded) snap.problems.push_back(text.error());
    return;
  }
  keep(parse_params(*text, path), snap.params, snap.problems);
}

void read_mig_minors(const HostRoot& root, HostSnapshot& snap) {
  const std::string path = root.path("/proc/driver/nvidia-caps/mig-minors");
  if (auto text = read_small_file(path)) keep(parse_mig_minors(*text, path), snap.mig_minors, snap.problems);
}

// modules_known stays false when /proc/modules is unreadable or does not
// parse, so that planning never takes a module for absent on no evidence.
void read_modules(const HostRoot& root, HostSnapshot& snap) {
  const std::string path = root.path("/proc/modules");
  if (auto text = read_small_file(path)) {
    snap.modules_known = keep(parse_proc_modules(*text, path), snap.modules, snap.problems);
  }
}

}  // namespace

Result<GpuInfo> read_gpu(const std::string& gpu_dir) {
  const std::string path = gpu_dir + "/information";
  auto text = read_small_file(path, 64 * 1024);
  if (!text) return text.error();
  return parse_gpu_information(*text, path);
}

std::vector<Error> order_gpus(std::vector<GpuInfo>& gpus, const std::string& gpus_dir) {
  std::vector<Error> problems;
  // nvidia-smi enumerates in PCI bus order.
  std::sort(gpus.begin(), gpus.end(),
            [](const GpuInfo& a, const GpuInfo& b) { return a.bus_location < b.bus_location; });
  for (std::size_t i = 1; i < gpus.size(); ++i) {
    if (gpus[i].device_minor == gpus[i - 1].device_minor || gpus[i].bus_location == gpus[i - 1].bus_location) {
      problems.push_back(parse_error(gpus_dir, "two GPUs share a bus location or Device Minor"));
    }
  }
  std::set<int> minors;
  for (const auto& g : gpus) {
    if (!minors.insert(g.device_minor).second) {
      problems.push_back(parse_error(gpus_dir, "Device Minor " + std::to_string(g.device_minor) + " appears twice"));
    }
  }
  int index = 0;
  for (auto& g : gpus) {
    if (!g.excluded) g.index = index++;
  }
  return problems;
}

HostSnapshot discover_host(const HostRoot& root, DiscoverScope scope) {
  HostSnapshot snap;
  read_driver_version(root, snap);
  read_gpus(root, snap);
  read_majors(root, snap);
  read_params(root, snap);
  if (scope == DiscoverScope::Full) read_mig_minors(root, snap);
  if (snap.driver_loaded) read_caps(root, snap);
  read_modules(root, snap);
  return snap;
}

bool module_loaded(const HostRoot& root, const HostSnapshot& snap, const std::string& name) {
  if (auto text = read_small_file(root.path("/sys/module/" + name + "/initstate"), 4096)) {
    return trim(*text) == "live";
  }
  return snap.modules.count(name) != 0;
}

}  // namespace phx
