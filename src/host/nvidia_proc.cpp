#include "host/nvidia_proc.hpp"

#include <cctype>

#include "base/text.hpp"

namespace phx {
namespace {

constexpr std::size_t kMaxLine = 4096;

bool is_version_token(std::string_view tok) {
  // digits '.' digits ['.' digits]
  int dots = 0;
  bool digit_run = false;
  for (char c : tok) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digit_run = true;
    } else if (c == '.' && digit_run) {
      ++dots;
      digit_run = false;
    } else {
      return false;
    }
  }
  return digit_run && dots >= 1 && dots <= 3;
}

// "Key:   value" lines; the key is everything before the first ':'. A key
// given twice is malformed: which one the driver meant is unknowable.
Result<std::map<std::string, std::string>> key_values(std::string_view text, const std::string& path) {
  std::map<std::string, std::string> kv;
  for (auto line : split_lines(text)) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string key(trim(line.substr(0, colon)));
    if (!kv.emplace(key, std::string(trim(line.substr(colon + 1)))).second) {
      return parse_error(path, "key '" + key + "' appears twice");
    }
  }
  return kv;
}

Result<void> check_lines(std::string_view text, const std::string& path) {
  for (auto line : split_lines(text)) {
    if (line.size() > kMaxLine) return parse_error(path, "line longer than 4096 bytes");
  }
  if (text.find('\0') != std::string_view::npos) return parse_error(path, "contains NUL bytes");
  return {};
}

}  // namespace

Result<DriverVersion> parse_driver_version(std::string_view text, const std::string& path) {
  if (auto ok = check_lines(text, path); !ok) return ok.error();
  auto lines = split_lines(text);
  if (lines.empty()) return parse_error(path, "empty");
  std::string_view first = trim(lines.front());
  if (!first.starts_with("NVRM version:")) {
    return parse_error(path, "first line does not start with 'NVRM version:'");
  }
  DriverVersion v;
  v.first_line = std::string(first);
  v.open_module = first.find("Open Kernel Module") != std::string_view::npos;
  std::string_view rest = first.substr(13);
  // The version is the first dotted-number token after the module wording;
  // "x86_64" and the date never match is_version_token.
  while (!rest.empty()) {
    rest = trim(rest);
    auto end = rest.find_first_of(" \t");
    std::string_view tok = rest.substr(0, end);
    if (is_version_token(tok)) {
      v.version = std::string(tok);
      return v;
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  return parse_error(path, "no version number in the first line");
}

std::optional<std::string> normalize_pci_address(std::string_view s) {
  s = trim(s);
  // domain:bus:device.function, domain of 4 or 8 hex digits.
  auto parts = split(s, ':');
  if (parts.size() != 3) return std::nullopt;
  auto dot = parts[2].find('.');
  if (dot == std::string::npos) return std::nullopt;
  std::string dev = parts[2].substr(0, dot), fn = parts[2].substr(dot + 1);
  auto hex_ok = [](const std::string& x, std::size_t n) {
    if (x.size() != n) return false;
    for (char c : x)
      if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    return true;
  };
  const std::string& dom = parts[0];
  if (!(hex_ok(dom, 4) || hex_ok(dom, 8)) || !hex_ok(parts[1], 2) || !hex_ok(dev, 2) || !hex_ok(fn, 1)) {
    return std::nullopt;
  }
  auto domain = parse_int(dom, 16);
  if (!domain || *domain > 0xffff) return std::nullopt;  // Linux PCI domains fit 16 bits here
  char buf[32];
  (void)std::snprintf(buf, sizeof buf, "%04llx:%s:%s.%s", *domain, to_lower(parts[1]).c_str(), to_lower(dev).c_str(),
                      fn.c_str());
  return std::string(buf);
}

Result<GpuInfo> parse_gpu_information(std::string_view text, const std::string& path) {
  if (auto ok = check_lines(text, path); !ok) return ok.error();
  auto kv_or = key_values(text, path);
  if (!kv_or) return kv_or.error();
  auto& kv = *kv_or;
  GpuInfo g;
  auto need = [&](const char* key) -> const std::string* {
    auto it = kv.find(key);
    return it == kv.end() || it->second.empty() ? nullptr : &it->second;
  };
  const std::string* minor = need("Device Minor");
  if (minor == nullptr) return parse_error(path, "no 'Device Minor' line (driver too old to map GPUs to nodes)");
  auto m = parse_int(*minor);
  // Minors 254 and 255 belong to nvidia-modeset and nvidiactl.
  if (!m || *m < 0 || *m > 253) return parse_error(path, "bad 'Device Minor' value '" + *minor + "'");
  g.device_minor = static_cast<int>(*m);
  const std::string* uuid = need("GPU UUID");
  if (uuid == nullptr) return parse_error(path, "no 'GPU UUID' line");
  if (!starts_with_ci(*uuid, "GPU-") || uuid->size() < 8 || uuid->size() > 64) {
    return parse_error(path, "bad 'GPU UUID' value '" + *uuid + "'");
  }
  g.uuid = *uuid;
  const std::string* bus = need("Bus Location");
  if (bus == nullptr) return parse_error(path, "no 'Bus Location' line");
  auto norm = normalize_pci_address(*bus);
  if (!norm) return parse_error(path, "bad 'Bus Location' value '" + *bus + "'");
  g.bus_location = *norm;
  if (const std::string* model = need("Model")) g.model = *model;
  if (const std::string* ex = need("GPU Excluded")) g.excluded = to_lower(*ex) == "yes";
  return g;
}

std::optional<int> CharMajors::get(const std::string& name) const {
  auto it = by_name.find(name);
  if (it == by_name.end()) return std::nullopt;
  return it->second;
}

std::optional<int> CharMajors::nvidia() const {
  if (auto m = get("nvidia")) return m;
  return get("nvidia-frontend");
}

Result<CharMajors> parse_proc_devices(std::string_view text, const std::string& path) {
  if (auto ok = check_lines(text, path); !ok) return ok.error();
  CharMajors majors;
  bool in_char = false, seen_header = false;
  for (auto raw : split_lines(text)) {
    auto line = trim(raw);
    if (line.empty()) continue;
    if (line == "Character devices:") {
      in_char = seen_header = true;
      continue;
    }
    if (line.ends_with("devices:")) {
      in_char = false;
      continue;
    }
    if (!in_char) continue;
    auto sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos) return parse_error(path, "malformed line '" + std::string(line) + "'");
    auto major = parse_int(line.substr(0, sp));
    std::string name(trim(line.substr(sp)));
    if (!major || *major < 0 || *major > 4095 || name.empty()) {
      return parse_error(path, "malformed line '" + std::string(line) + "'");
    }
    // Several majors may share a name (e.g. infiniband_mad); only the NVIDIA
    // names matter, and for those two different majors mean we cannot tell
    // which one is live.
    auto [it, inserted] = majors.by_name.emplace(name, static_cast<int>(*major));
    if (!inserted && it->second != *major && name.starts_with("nvidia")) {
      return parse_error(path, "name '" + name + "' listed with two majors (" + std::to_string(it->second) + ", " +
                                   std::to_string(*major) + ")");
    }
  }
  if (!seen_header) return parse_error(path, "no 'Character devices:' section");
  return majors;
}

Result<DeviceFileParams> parse_params(std::string_view text, const std::string& path) {
  if (auto ok = check_lines(text, path); !ok) return ok.error();
  auto kv_or = key_values(text, path);
  if (!kv_or) return kv_or.error();
  auto& kv = *kv_or;
  DeviceFileParams p;
  auto num = [&](const char* key, long long max, long long& out) -> Result<void> {
    auto it = kv.find(key);
    if (it == kv.end()) return {};
    auto v = parse_int(it->second);
    if (!v || *v < 0 || *v > max) return parse_error(path, std::string("bad '") + key + "' value '" + it->second + "'");
    out = *v;
    return {};
  };
  long long uid = 0, gid = 0, mode = 0666, modify = 1;
  for (const auto& r : {num("DeviceFileUID", 0xfffffffe, uid), num("DeviceFileGID", 0xfffffffe, gid),
                        num("DeviceFileMode", 07777, mode), num("ModifyDeviceFiles", 1, modify)}) {
    if (!r) return r.error();
  }
  if (kv.find("DeviceFileMode") == kv.end()) {
    return parse_error(path, "no 'DeviceFileMode' line");
  }
  p.uid = static_cast<uid_t>(uid);
  p.gid = static_cast<gid_t>(gid);
  p.mode = static_cast<mode_t>(mode);
  p.modify = modify != 0;
  return p;
}

Result<std::map<std::string, int>> parse_mig_minors(std::string_view text, const std::string& path) {
  if (auto ok = check_lines(text, path); !ok) return ok.error();
  std::map<std::string, int> out;
  for (auto raw : split_lines(text)) {
    auto line = trim(raw);
    if (line.empty()) continue;
    auto sp = line.rfind(' ');
    if (sp == std::string_view::npos) return parse_error(path, "malformed line '" + std::string(line) + "'");
    auto minor = parse_int(line.substr(sp + 1));
    std::string name(trim(line.substr(0, sp)));
    if (!minor || *minor < 0 || *minor > 0xfffff || name.empty()) {
      return parse_error(path, "malformed line '" + std::string(line) + "'");
    }
    if (!out.emplace(name, static_cast<int>(*minor)).second) {
      return parse_error(path, "duplicate name '" + name + "'");
    }
  }
  return out;
}

Result<CapFile> parse_cap_file(std::string_view text, const std::string& name, const std::string& path) {
  if (auto ok = check_lines(text, path); !ok) return ok.error();
  auto kv_or = key_values(text, path);
  if (!kv_or) return kv_or.error();
  auto& kv = *kv_or;
  CapFile c;
  c.name = name;
  auto minor = kv.find("DeviceFileMinor");
  if (minor == kv.end()) return parse_error(path, "no 'DeviceFileMinor' line");
  auto m = parse_int(minor->second);
  if (!m || *m < 0 || *m > 0xfffff) return parse_error(path, "bad 'DeviceFileMinor' value");
  c.minor = static_cast<int>(*m);
  if (auto mode = kv.find("DeviceFileMode"); mode != kv.end()) {
    auto v = parse_int(mode->second);
    if (!v || *v < 0 || *v > 07777) return parse_error(path, "bad 'DeviceFileMode' value");
    c.mode = static_cast<mode_t>(*v);
  }
  return c;
}

Result<std::set<std::string>> parse_proc_modules(std::string_view text, const std::string& path) {
  if (auto ok = check_lines(text, path); !ok) return ok.error();
  std::set<std::string> mods;
  for (auto raw : split_lines(text)) {
    auto line = trim(raw);
    if (line.empty()) continue;
    auto sp = line.find(' ');
    mods.emplace(line.substr(0, sp));
  }
  return mods;
}

}  // namespace phx
