#include "plan/device_selection.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "base/text.hpp"

namespace phx {
namespace {

constexpr const char* kVar = "NVIDIA_VISIBLE_DEVICES";

bool all_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

bool uuid_chars(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == '-'; });
}

Error entry_error(const std::string& entry, const std::string& why, const std::vector<GpuInfo>& gpus) {
  std::string detail = "entry '" + entry + "': " + why;
  detail += gpus.empty() ? "; this host has no usable GPU" : "; GPUs on this host:\n" + describe_gpus(gpus);
  return Error{"select", kVar, 0, detail};
}

}  // namespace

std::string describe_gpus(const std::vector<GpuInfo>& gpus) {
  std::string out;
  for (const auto& g : gpus) {
    if (!out.empty()) out += '\n';
    out += "  " + (g.excluded ? std::string("-") : std::to_string(g.index)) + "  " + g.uuid + "  " + g.bus_location +
           "  " + (g.model.empty() ? "?" : g.model) + "  (/dev/nvidia" + std::to_string(g.device_minor) + ")" +
           (g.excluded ? " excluded" : "");
  }
  return out;
}

Result<GpuSelection> parse_visible_devices(std::string_view value) {
  GpuSelection sel;
  std::string v = to_lower(trim(value));
  if (v.empty() || v == "void") return sel;
  if (v == "none") {
    sel.kind = GpuSelection::Kind::None;
    return sel;
  }
  if (v == "all") {
    sel.kind = GpuSelection::Kind::All;
    return sel;
  }
  if (value.size() > 4096) return Error{"parse", kVar, 0, "value longer than 4096 bytes"};
  sel.kind = GpuSelection::Kind::List;
  for (const auto& raw : split(value, ',')) {
    std::string e(trim(raw));
    if (e.empty()) continue;  // the NVIDIA runtime tolerates empty entries
    std::string low = to_lower(e);
    if (low == "all" || low == "none" || low == "void") {
      return Error{"parse", kVar, 0, "entry '" + e + "' cannot be combined with other entries"};
    }
    if (low.starts_with("mig-")) {
      return Error{"parse", kVar, 0, "entry '" + e + "': MIG devices are not supported; select the parent GPU"};
    }
    const bool ok = all_digits(e) || (low.starts_with("gpu-") && uuid_chars(low.substr(4))) ||
                    normalize_pci_address(e).has_value() || (uuid_chars(low) && low.size() >= 4);
    if (!ok) {
      return Error{"parse", kVar, 0,
                   "entry '" + e + "' is not an index, a GPU- UUID or prefix, or a PCI address (0000:01:00.0)"};
    }
    sel.entries.push_back(e);
  }
  if (sel.entries.empty()) sel.kind = GpuSelection::Kind::Void;
  return sel;
}

Result<std::vector<GpuInfo>> resolve_selection(const GpuSelection& sel, const std::vector<GpuInfo>& gpus) {
  std::vector<GpuInfo> usable;
  for (const auto& g : gpus)
    if (!g.excluded) usable.push_back(g);
  if (sel.kind == GpuSelection::Kind::Void || sel.kind == GpuSelection::Kind::None) return std::vector<GpuInfo>{};
  if (sel.kind == GpuSelection::Kind::All) return usable;

  std::set<std::string> chosen;  // bus locations
  for (const auto& e : sel.entries) {
    std::string low = to_lower(e);
    std::vector<const GpuInfo*> hits;
    if (all_digits(e)) {
      auto idx = parse_int(e);
      for (const auto& g : usable)
        if (idx && g.index == *idx) hits.push_back(&g);
      if (hits.empty()) return entry_error(e, "no GPU with index " + e, gpus);
    } else if (auto pci = normalize_pci_address(e)) {
      for (const auto& g : gpus)
        if (g.bus_location == *pci) hits.push_back(&g);
      if (hits.empty()) return entry_error(e, "no GPU at PCI address " + *pci, gpus);
      if (hits.front()->excluded) return entry_error(e, "the GPU at " + *pci + " is excluded by the driver", gpus);
    } else {
      std::string prefix = low.starts_with("gpu-") ? low : "gpu-" + low;
      for (const auto& g : gpus)
        if (to_lower(g.uuid).starts_with(prefix)) hits.push_back(&g);
      if (hits.empty()) return entry_error(e, "no GPU whose UUID starts with '" + e + "'", gpus);
      if (hits.size() > 1)
        return entry_error(e, "ambiguous UUID prefix: matches " + std::to_string(hits.size()) + " GPUs", gpus);
      if (hits.front()->excluded)
        return entry_error(e, "GPU " + hits.front()->uuid + " is excluded by the driver", gpus);
    }
    chosen.insert(hits.front()->bus_location);
  }
  std::vector<GpuInfo> out;
  for (const auto& g : usable)
    if (chosen.count(g.bus_location)) out.push_back(g);
  return out;
}

std::string DriverCapabilities::str() const {
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(compat32, "compat32");
  add(compute, "compute");
  add(display, "display");
  add(graphics, "graphics");
  add(utility, "utility");
  add(video, "video");
  return out;
}

Result<DriverCapabilities> parse_driver_capabilities(std::string_view value) {
  std::string v(trim(value));
  if (v.empty()) v = kDefaultCapabilities;
  if (v.size() > 1024) return Error{"parse", "NVIDIA_DRIVER_CAPABILITIES", 0, "value longer than 1024 bytes"};
  DriverCapabilities caps;
  for (const auto& raw : split(v, ',')) {
    std::string c = to_lower(trim(raw));
    if (c.empty()) continue;
    if (c == "all") {
      caps.compute = caps.utility = caps.video = caps.graphics = caps.display = caps.compat32 = true;
    } else if (c == "compute") {
      caps.compute = true;
    } else if (c == "utility") {
      caps.utility = true;
    } else if (c == "video") {
      caps.video = true;
    } else if (c == "graphics") {
      caps.graphics = true;
    } else if (c == "display") {
      caps.display = true;
    } else if (c == "compat32") {
      caps.compat32 = true;
    } else if (c == "ngx") {
      // Libraries only; no device node.
    } else {
      return Error{"parse", "NVIDIA_DRIVER_CAPABILITIES", 0,
                   "unknown capability '" + std::string(trim(raw)) +
                       "' (known: compute, utility, video, graphics, display, compat32, ngx, all)"};
    }
  }
  return caps;
}

}  // namespace phx
