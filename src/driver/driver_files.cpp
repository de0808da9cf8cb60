#include "driver/driver_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "base/text.hpp"
#include "base/unique_fd.hpp"

namespace phx {
namespace {

using Kind = DriverFile::Kind;

// libnvidia-container src/nvc_info.c, by capability (video also takes the
// compute set, display the graphics set, as options.h maps them).
const std::vector<std::string> kUtilityLibs = {"libnvidia-ml", "libnvidia-cfg", "libnvidia-nscq"};
const std::vector<std::string> kComputeLibs = {"libcuda",
                                               "libcudadebugger",
                                               "libnvidia-opencl",
                                               "libnvidia-gpucomp",
                                               "libnvidia-ptxjitcompiler",
                                               "libnvidia-fatbinaryloader",
                                               "libnvidia-allocator",
                                               "libnvidia-compiler",
                                               "libnvidia-pkcs11",
                                               "libnvidia-pkcs11-openssl3",
                                               "libnvidia-nvvm",
                                               "libnvidia-tileiras"};
const std::vector<std::string> kVideoLibs = {"libvdpau_nvidia", "libnvidia-encode", "libnvidia-opticalflow",
                                             "libnvcuvid"};
const std::vector<std::string> kGraphicsLibs = {
    "libnvidia-eglcore", "libnvidia-glcore",    "libnvidia-tls",       "libnvidia-glsi", "libnvidia-fbc",
    "libnvidia-ifr",     "libnvidia-rtcore",    "libnvoptix",          "libGLX_nvidia",  "libEGL_nvidia",
    "libGLESv2_nvidia",  "libGLESv1_CM_nvidia", "libnvidia-glvkspirv", "libnvidia-cbl",  "libnvidia-vulkan-producer"};
// Missing any of these makes the capability useless: worth a warning.
const std::map<std::string, std::vector<std::string>> kEssential = {
    {"utility", {"libnvidia-ml"}},
    {"compute", {"libcuda", "libnvidia-ptxjitcompiler"}},
    {"video", {"libnvcuvid", "libnvidia-encode"}},
    {"graphics", {"libnvidia-glcore", "libGLX_nvidia", "libEGL_nvidia"}},
};

const std::vector<std::string> kUtilityBins = {"nvidia-smi", "nvidia-debugdump", "nvidia-persistenced",
                                               "nv-fabricmanager"};
const std::vector<std::string> kComputeBins = {"nvidia-cuda-mps-control", "nvidia-cuda-mps-server"};
const std::vector<std::string> kBinDirs = {"/usr/local/nvidia/bin", "/usr/bin",       "/usr/sbin", "/bin", "/sbin",
                                           "/usr/local/bin",        "/usr/local/sbin"};
// The linker's built-in directories, searched after ld.so.conf's when
// there is no cache.
const std::vector<std::string> kDefaultLibDirs = {"/lib/x86_64-linux-gnu",
                                                  "/usr/lib/x86_64-linux-gnu",
                                                  "/lib64",
                                                  "/usr/lib64",
                                                  "/lib/i386-linux-gnu",
                                                  "/usr/lib/i386-linux-gnu",
                                                  "/lib32",
                                                  "/usr/lib32",
                                                  "/lib",
                                                  "/usr/lib"};
const std::vector<std::string> kUtilitySockets = {"/run/nvidia-persistenced/socket",
                                                  "/run/nvidia-fabricmanager/socket"};
const std::vector<std::string> kGraphicsConfigs = {"/usr/share/vulkan/icd.d/nvidia_icd.json",
                                                   "/etc/vulkan/icd.d/nvidia_icd.json",
                                                   "/usr/share/vulkan/implicit_layer.d/nvidia_layers.json",
                                                   "/usr/share/glvnd/egl_vendor.d/10_nvidia.json",
                                                   "/usr/share/egl/egl_external_platform.d/15_nvidia_gbm.json",
                                                   "/usr/share/egl/egl_external_platform.d/10_nvidia_wayland.json"};
const std::vector<std::string> kComputeConfigs = {"/etc/OpenCL/vendors/nvidia.icd"};

// The links the toolkit adds for programs that load the unversioned names.
const std::map<std::string, std::string> kDevLinks = {{"libcuda", "libcuda.so"},
                                                      {"libnvidia-opticalflow", "libnvidia-opticalflow.so"},
                                                      {"libGLX_nvidia", "libGLX_indirect.so.0"}};

std::string lib_prefix(const std::string& name) {
  const auto pos = name.find(".so");
  return pos == std::string::npos ? std::string() : name.substr(0, pos);
}

std::string join(const std::set<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string base_name(const std::string& p) { return std::filesystem::path(p).filename().string(); }

// lexically normal, absolute, no ".." left.
std::string normal(const std::string& p) {
  auto n = std::filesystem::path(p).lexically_normal().string();
  while (n.size() > 1 && n.back() == '/') n.pop_back();
  return n;
}

LibAbi elf_abi(const std::string& real_path) {
  UniqueFd fd(::open(real_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  std::array<unsigned char, 5> id{};
  if (!fd || ::read(fd.get(), id.data(), id.size()) != static_cast<ssize_t>(id.size())) return LibAbi::Other;
  if (id[0] != 0x7f || id[1] != 'E' || id[2] != 'L' || id[3] != 'F') return LibAbi::Other;
  return id[4] == 2 ? LibAbi::X86_64 : id[4] == 1 ? LibAbi::I386 : LibAbi::Other;
}

struct Wanted {
  std::set<std::string> libs;
  bool compat32 = false;
};

Wanted wanted_libs(const DriverCapabilities& caps) {
  Wanted w;
  auto add = [&](const std::vector<std::string>& v) { w.libs.insert(v.begin(), v.end()); };
  if (caps.utility) add(kUtilityLibs);
  if (caps.compute || caps.video) add(kComputeLibs);
  if (caps.video) add(kVideoLibs);
  if (caps.graphics || caps.display) add(kGraphicsLibs);
  w.compat32 = caps.compat32;
  return w;
}

// A candidate library: a host path (a link or the file) named in the
// linker configuration, with the name the linker knows it by.
struct Candidate {
  std::string path;
  std::string soname;
  LibAbi abi;
};

std::vector<Candidate> from_cache(const std::vector<LdCacheEntry>& entries) {
  std::vector<Candidate> out;
  out.reserve(entries.size());
  for (const auto& e : entries) out.push_back({e.path, e.soname, e.abi()});
  return out;
}

// Without a cache: every <prefix>.so.<version> in the configured and
// default directories; its soname is the link beside it that points to it.
std::vector<Candidate> from_dirs(const HostRoot& root, const std::vector<std::string>& dirs,
                                 const std::string& version) {
  std::vector<Candidate> out;
  const std::string suffix = ".so." + version;
  for (const auto& dir : dirs) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(root.path(dir).c_str()), ::closedir);
    if (!d) continue;
    std::vector<std::string> names;
    std::map<std::string, std::string> links;  // link target -> shortest versioned link name
    while (auto* ent = ::readdir(d.get())) {
      const std::string n = ent->d_name;
      if (n.size() > suffix.size() && n.ends_with(suffix)) names.push_back(n);
      char buf[256];
      const ssize_t len = ::readlink(root.path(dir + "/" + n).c_str(), buf, sizeof buf - 1);
      if (len > 0 && !n.ends_with(".so")) {
        const std::string target(buf, static_cast<std::size_t>(len));
        auto it = links.find(target);
        if (it == links.end() || n.size() < it->second.size()) links[target] = n;
      }
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      const std::string p = dir + "/" + n;
      auto it = links.find(n);
      out.push_back({p, it != links.end() ? it->second : n, elf_abi(root.path(p))});
    }
  }
  return out;
}

std::string find_binary(const HostRoot& root, const std::string& name) {
  for (const auto& dir : kBinDirs) {
    std::string real = resolve_host_file(root, dir + "/" + name);
    if (!real.empty()) return real;
  }
  return {};
}

}  // namespace

bool is_driver_library(const std::string& prefix) {
  for (const auto* list : {&kUtilityLibs, &kComputeLibs, &kVideoLibs, &kGraphicsLibs})
    if (std::find(list->begin(), list->end(), prefix) != list->end()) return true;
  return false;
}

std::string resolve_host_file(const HostRoot& root, const std::string& path) {
  std::string cur = normal(path);
  for (int hops = 0; hops < 40; ++hops) {
    // Resolve the directories on the way too, one link at a time.
    std::string prefix;
    bool relinked = false;
    for (const auto& part : split(std::string_view(cur).substr(1), '/')) {
      const std::string next = prefix + "/" + part;
      struct stat st {};
      if (::lstat(root.path(next).c_str(), &st) != 0) return {};
      if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        const ssize_t len = ::readlink(root.path(next).c_str(), buf, sizeof buf - 1);
        if (len <= 0) return {};
        std::string target(buf, static_cast<std::size_t>(len));
        const std::string rest = cur.substr(next.size());
        cur = normal((target.front() == '/' ? target : (prefix.empty() ? "/" : prefix) + "/" + target) + rest);
        if (cur.empty() || cur.front() != '/') return {};
        relinked = true;
        break;
      }
      prefix = next;
    }
    if (!relinked) {
      struct stat st {};
      if (::lstat(root.path(cur).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
      return cur;
    }
  }
  return {};
}

DriverFileSet discover_driver_files(const HostRoot& root, const std::string& version, const DriverCapabilities& caps) {
  DriverFileSet set;
  set.version = version;
  const Wanted want = wanted_libs(caps);

  std::vector<Candidate> candidates;
  const std::string cache_path = root.path("/etc/ld.so.cache");
  auto bytes = read_small_file(cache_path, kMaxLdCache);
  Result<std::vector<LdCacheEntry>> entries =
      bytes ? parse_ld_cache(*bytes, cache_path) : Result<std::vector<LdCacheEntry>>(bytes.error());
  if (entries) {
    candidates = from_cache(*entries);
    set.source = "/etc/ld.so.cache";
  } else {
    if (bytes || bytes.error().err != ENOENT) {
      set.warnings.push_back(entries.error().message() + "; searching ld.so.conf's directories instead");
    }
    auto dirs = ld_so_conf_dirs(root);
    for (const auto& d : kDefaultLibDirs)
      if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
    candidates = from_dirs(root, dirs, version);
    set.source = "ld.so.conf and the default directories";
  }

  std::map<std::string, std::size_t> by_real;                   // real path -> index in set.files
  std::map<std::string, std::set<std::string>> other_versions;  // prefix -> versions seen
  std::set<std::pair<std::string, LibAbi>> found;
  for (const auto& c : candidates) {
    const std::string prefix = lib_prefix(c.soname);
    if (!want.libs.count(prefix)) continue;
    if (c.abi != LibAbi::X86_64 && !(c.abi == LibAbi::I386 && want.compat32)) continue;
    const std::string real = resolve_host_file(root, c.path);
    if (real.empty()) continue;
    const std::string file = base_name(real);
    if (file != prefix + ".so." + version) {
      if (file.starts_with(prefix + ".so.")) other_versions[prefix].insert(file.substr(prefix.size() + 4));
      continue;
    }
    found.insert({prefix, c.abi});
    const bool versioned_soname = c.soname != file && !c.soname.ends_with(".so");
    auto it = by_real.find(real);
    if (it != by_real.end()) {
      auto& f = set.files[it->second];
      if (f.soname.empty() && versioned_soname) f.soname = c.soname;
      continue;
    }
    DriverFile f;
    f.kind = Kind::Library;
    f.host_path = real;
    f.abi = c.abi;
    if (versioned_soname) f.soname = c.soname;
    if (auto d = kDevLinks.find(prefix); d != kDevLinks.end() && c.abi == LibAbi::X86_64) f.dev_link = d->second;
    by_real[real] = set.files.size();
    set.files.push_back(std::move(f));
  }
  // A link beside the soname only where it names something.
  for (auto& f : set.files)
    if (f.dev_link == "libGLX_indirect.so.0" && f.soname.empty()) f.dev_link.clear();

  auto essential = [&](const std::string& cap, LibAbi abi, const std::string& what) {
    for (const auto& lib : kEssential.at(cap)) {
      if (found.count({lib, abi})) continue;
      std::string msg = what + lib + ".so." + version + " not found on the host (" + set.source + ")";
      if (auto o = other_versions.find(lib); o != other_versions.end()) {
        msg += "; only version " + join(o->second) + ", which is not the loaded driver's";
      }
      set.warnings.push_back(msg);
    }
  };
  if (caps.utility) essential("utility", LibAbi::X86_64, "");
  if (caps.compute || caps.video) essential("compute", LibAbi::X86_64, "");
  if (caps.video) essential("video", LibAbi::X86_64, "");
  if (caps.graphics || caps.display) essential("graphics", LibAbi::X86_64, "");
  if (caps.compat32 && (caps.compute || caps.video)) {
    if (!found.count({"libcuda", LibAbi::I386})) {
      set.warnings.push_back("compat32: no 32-bit libcuda.so." + version + " on the host; no 32-bit libraries bound");
    }
  }

  auto add_bins = [&](const std::vector<std::string>& names) {
    for (const auto& n : names) {
      const std::string real = find_binary(root, n);
      if (!real.empty()) set.files.push_back({Kind::Binary, real, LibAbi::X86_64, "", "", n});
    }
  };
  if (caps.utility) add_bins(kUtilityBins);
  if (caps.compute) add_bins(kComputeBins);

  if (caps.utility) {
    for (const auto& s : kUtilitySockets) {
      struct stat st {};
      if (::lstat(root.path(s).c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
        set.files.push_back({Kind::Socket, s, LibAbi::X86_64, "", "", s});
      }
    }
  }
  auto add_configs = [&](const std::vector<std::string>& paths) {
    for (const auto& p : paths) {
      const std::string real = resolve_host_file(root, p);
      if (!real.empty()) set.files.push_back({Kind::Config, real, LibAbi::X86_64, "", "", p});
    }
  };
  if (caps.graphics || caps.display) add_configs(kGraphicsConfigs);
  if (caps.compute) add_configs(kComputeConfigs);
  return set;
}

// --- the file the mount hook reads -------------------------------------------

namespace {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Library:
      return "library";
    case Kind::Binary:
      return "binary";
    case Kind::Socket:
      return "socket";
    case Kind::Config:
      return "config";
  }
  return "library";
}

const char* abi_name(LibAbi a) { return a == LibAbi::I386 ? "i386" : a == LibAbi::X86_64 ? "x86_64" : "other"; }

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 255 || n == "." || n == "..") return false;
  return std::all_of(n.begin(), n.end(), [](unsigned char c) { return c > 0x20 && c != 0x7f && c != '/'; });
}

bool valid_abs_path(const std::string& p) {
  if (p.size() < 2 || p.size() > 4096 || p.front() != '/') return false;
  for (const auto& c : split(std::string_view(p).substr(1), '/'))
    if (!valid_name(c)) return false;
  return true;
}

}  // namespace

std::string driver_files_to_json(const DriverFileSet& s) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : s.files) {
    files.push_back({{"kind", kind_name(f.kind)},
                     {"host_path", f.host_path},
                     {"abi", abi_name(f.abi)},
                     {"soname", f.soname},
                     {"dev_link", f.dev_link},
                     {"target", f.target}});
  }
  nlohmann::json j = {{"format", "phoenix-gpu-driver-files"},
                      {"version", kDriverFilesFormatVersion},
                      {"driver_version", s.version},
                      {"source", s.source},
                      {"files", files},
                      {"warnings", s.warnings}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<DriverFileSet> driver_files_from_json(const std::string& text, const std::string& path) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return parse_error(path, "not valid JSON");
  try {
    if (j.at("format").get<std::string>() != "phoenix-gpu-driver-files" || !j.at("version").is_number_integer() ||
        j.at("version").get<long long>() != kDriverFilesFormatVersion) {
      return parse_error(path, "not a version 1 driver file list");
    }
    DriverFileSet s;
    s.version = j.at("driver_version").get<std::string>();
    s.source = j.at("source").get<std::string>();
    s.warnings = j.at("warnings").get<std::vector<std::string>>();
    if (!valid_name(s.version)) return parse_error(path, "driver_version '" + s.version + "' is not a version");
    for (const auto& e : j.at("files")) {
      DriverFile f;
      const std::string kind = e.at("kind").get<std::string>();
      const std::string abi = e.at("abi").get<std::string>();
      f.host_path = e.at("host_path").get<std::string>();
      f.soname = e.at("soname").get<std::string>();
      f.dev_link = e.at("dev_link").get<std::string>();
      f.target = e.at("target").get<std::string>();
      if (kind == "library") {
        f.kind = Kind::Library;
      } else if (kind == "binary") {
        f.kind = Kind::Binary;
      } else if (kind == "socket") {
        f.kind = Kind::Socket;
      } else if (kind == "config") {
        f.kind = Kind::Config;
      } else {
        return parse_error(path, "unknown file kind '" + kind + "'");
      }
      f.abi = abi == "i386" ? LibAbi::I386 : abi == "x86_64" ? LibAbi::X86_64 : LibAbi::Other;
      const std::string where = "file '" + f.host_path + "'";
      if (!valid_abs_path(f.host_path)) return parse_error(path, where + ": host_path is not a clean absolute path");
      if (!f.soname.empty() && !valid_name(f.soname)) return parse_error(path, where + ": bad soname");
      if (!f.dev_link.empty() && !valid_name(f.dev_link)) return parse_error(path, where + ": bad dev_link");
      if (f.kind == Kind::Library && (f.abi == LibAbi::Other || !valid_name(base_name(f.host_path)))) {
        return parse_error(path, where + ": bad library entry");
      }
      if (f.kind == Kind::Binary && !valid_name(f.target)) return parse_error(path, where + ": bad binary name");
      if ((f.kind == Kind::Socket || f.kind == Kind::Config) && !valid_abs_path(f.target)) {
        return parse_error(path, where + ": target is not a clean absolute path");
      }
      s.files.push_back(std::move(f));
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    return parse_error(path, e.what());
  }
}

}  // namespace phx
