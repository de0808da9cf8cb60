#include "driver/host_facts.hpp"

#include <dlfcn.h>

#include "base/logging.hpp"
#include "driver/driver_files.hpp"

namespace phx {
namespace {

// The host's own library of the loaded version, as the bind strategy finds it.
std::string host_library(const HostRoot& root, const std::string& version, const char* caps,
                         const std::string& prefix) {
  auto c = parse_driver_capabilities(caps);
  if (!c) return {};
  for (const auto& f : discover_driver_files(root, version, *c).files) {
    if (f.kind == DriverFile::Kind::Library && f.abi == LibAbi::X86_64 &&
        f.host_path.find("/" + prefix + ".so.") != std::string::npos) {
      return root.path(f.host_path);
    }
  }
  return {};
}

struct Dl {
  void* h = nullptr;
  explicit Dl(const std::string& path) : h(path.empty() ? nullptr : ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {}
  ~Dl() {
    if (h) ::dlclose(h);
  }
  Dl(const Dl&) = delete;
  Dl& operator=(const Dl&) = delete;
  template <typename F>
  F sym(const char* name) const {
    return h ? reinterpret_cast<F>(::dlsym(h, name)) : nullptr;
  }
};

std::string cuda_version(const HostRoot& root, const std::string& driver) {
  Dl lib(host_library(root, driver, "compute", "libcuda"));
  auto get = lib.sym<int (*)(int*)>("cuDriverGetVersion");
  int v = 0;
  if (get == nullptr || get(&v) != 0 || v <= 0) {
    spdlog::debug("no CUDA version from the host's libcuda{}", lib.h ? "" : std::string(": ") + ::dlerror());
    return {};
  }
  return cuda_version_string(v);
}

void nvml_gpu_facts(const HostRoot& root, const std::string& driver, std::vector<GpuFacts>& gpus) {
  Dl lib(host_library(root, driver, "utility", "libnvidia-ml"));
  using Device = void*;
  auto init = lib.sym<int (*)()>("nvmlInit_v2");
  auto shutdown = lib.sym<int (*)()>("nvmlShutdown");
  auto by_bus = lib.sym<int (*)(const char*, Device*)>("nvmlDeviceGetHandleByPciBusId_v2");
  auto cc = lib.sym<int (*)(Device, int*, int*)>("nvmlDeviceGetCudaComputeCapability");
  auto brand = lib.sym<int (*)(Device, int*)>("nvmlDeviceGetBrand");
  if (!init || !shutdown || !by_bus || init() != 0) {
    spdlog::debug("NVML is not usable on the host: GPU arch and brand unknown");
    return;
  }
  for (auto& g : gpus) {
    Device d = nullptr;
    if (by_bus(g.bus.c_str(), &d) != 0) continue;
    int major = 0, minor = 0, b = 0;
    if (cc && cc(d, &major, &minor) == 0) g.arch = std::to_string(major) + "." + std::to_string(minor);
    if (brand && brand(d, &b) == 0) g.brand = nvml_brand_name(b);
  }
  shutdown();
}

}  // namespace

std::string nvml_brand_name(int brand) {
  // nvml.h nvmlBrandType_t, libnvidia-container's names.
  static const char* kNames[] = {"unknown",   "quadro",    "tesla",  "nvs",        "grid",    "geforce",
                                 "titan",     "vapps",     "vpc",    "vcs",        "vws",     "cloudgaming",
                                 "quadrortx", "nvidiartx", "nvidia", "geforcertx", "titanrtx"};
  if (brand < 0 || brand >= static_cast<int>(std::size(kNames))) return "unknown";
  return kNames[brand];
}

HostFacts gather_host_facts(const HostRoot& root, const Requirements& req, const DevicePlan& plan) {
  HostFacts h;
  h.driver = plan.driver_version;
  if (req.needs("cuda")) h.cuda = cuda_version(root, plan.driver_version);
  for (const auto& g : plan.gpus) h.gpus.push_back({g.bus_location, "", ""});
  if (!h.gpus.empty() && (req.needs("arch") || req.needs("brand"))) nvml_gpu_facts(root, plan.driver_version, h.gpus);
  return h;
}

std::vector<std::string> check_requirements(const HostRoot& root, std::string_view environment_items,
                                            const DevicePlan& plan) {
  const Requirements req = parse_requirements(environment_items);
  for (const auto& w : req.warnings) spdlog::warn("{}", w);
  if (req.all.empty() || req.disabled) return {};
  return unmet_requirements(req, gather_host_facts(root, req, plan));
}

}  // namespace phx
