#include "plan/plan_file.hpp"

#include <type_traits>

#include <nlohmann/json.hpp>

#include "base/atomic_file.hpp"
#include "base/json_field.hpp"
#include "base/text.hpp"

namespace phx {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "phoenix-gpu-plan";

std::string mode_str(mode_t m) {
  char buf[8];
  (void)std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m));
  return buf;
}

// Typed field access that turns every mismatch into one message.
struct Reader {
  const std::string& path;
  std::string err;

  bool wrong_type(const std::string& where, const char* key) {
    err = where + ": field '" + key + "' has the wrong type";
    return false;
  }

  template <typename T>
  bool get(const json& obj, const char* key, T& out, const std::string& where) {
    if (!err.empty()) return false;
    auto it = obj.find(key);
    if (it == obj.end()) {
      err = where + ": missing field '" + key + "'";
      return false;
    }
    // nlohmann converts booleans and floats to integers and wraps large
    // values; a plan field must be exactly the type it claims.
    if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean()) return wrong_type(where, key);
    } else if constexpr (std::is_integral_v<T>) {
      switch (json_int_value(*it, out)) {
        case JsonInt::Ok:
          return true;
        case JsonInt::NotInteger:
          return wrong_type(where, key);
        case JsonInt::OutOfRange:
          break;
      }
      err = where + ": field '" + key + "' is out of range";
      return false;
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!it->is_string()) return wrong_type(where, key);
    }
    try {
      out = it->template get<T>();
    } catch (const json::exception&) {
      return wrong_type(where, key);
    }
    return true;
  }
};

}  // namespace

bool valid_dev_path(const std::string& p) {
  if (!p.starts_with("/dev/") || p.size() > 256) return false;
  auto parts = split(std::string_view(p).substr(5), '/');
  if (parts.empty() || parts.size() > 3) return false;
  for (const auto& c : parts) {
    if (c.empty() || c == "." || c == "..") return false;
    for (unsigned char ch : c)
      if (ch < 0x21 || ch == 0x7f) return false;
  }
  return true;
}

std::string plan_to_json(const PlanFile& pf, bool pretty) {
  json nodes = json::array();
  for (const auto& n : pf.plan.nodes) {
    nodes.push_back({{"host_path", n.host_path},
                     {"container_path", n.container_path},
                     {"type", "c"},
                     {"major", n.major},
                     {"minor", n.minor},
                     {"mode", mode_str(n.mode)},
                     {"uid", n.uid},
                     {"gid", n.gid},
                     {"role", n.role},
                     {"gpu_uuid", n.gpu_uuid},
                     {"pending", n.pending}});
  }
  json gpus = json::array();
  for (const auto& g : pf.plan.gpus) {
    gpus.push_back({{"index", g.index},
                    {"uuid", g.uuid},
                    {"bus_location", g.bus_location},
                    {"device_minor", g.device_minor},
                    {"model", g.model}});
  }
  json rules = json::array();
  for (const auto& r : pf.plan.rules) rules.push_back(r.str());
  json j = {{"format", kFormat},
            {"version", kPlanFormatVersion},
            {"container", pf.container},
            {"lxcpath", pf.lxcpath},
            {"host_root", pf.host_root},
            {"required", pf.required},
            {"created_unix_ms", pf.created_unix_ms},
            {"enabled", pf.plan.enabled},
            {"visible_devices", pf.plan.visible_devices},
            {"capabilities", pf.plan.capabilities},
            {"driver_version", pf.plan.driver_version},
            {"gpus", gpus},
            {"nodes", nodes},
            {"cgroup_rules", rules},
            {"warnings", pf.plan.warnings}};
  return j.dump(pretty ? 2 : -1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<GpuInfo> plan_gpu_from_json(const json& entry, std::size_t i, const std::string& path) {
  const std::string where = "gpus[" + std::to_string(i) + "]";
  Reader r{path, {}};
  GpuInfo g;
  r.get(entry, "index", g.index, where);
  r.get(entry, "uuid", g.uuid, where);
  r.get(entry, "bus_location", g.bus_location, where);
  r.get(entry, "device_minor", g.device_minor, where);
  r.get(entry, "model", g.model, where);
  if (!r.err.empty()) return parse_error(path, r.err);
  return g;
}

Result<PlannedNode> plan_node_from_json(const json& entry, std::size_t i, const std::string& path) {
  const std::string where = "nodes[" + std::to_string(i) + "]";
  Reader r{path, {}};
  PlannedNode n;
  std::string type, mode;
  long long uid = 0, gid = 0;
  r.get(entry, "host_path", n.host_path, where);
  r.get(entry, "container_path", n.container_path, where);
  r.get(entry, "type", type, where);
  r.get(entry, "major", n.major, where);
  r.get(entry, "minor", n.minor, where);
  r.get(entry, "mode", mode, where);
  r.get(entry, "uid", uid, where);
  r.get(entry, "gid", gid, where);
  r.get(entry, "role", n.role, where);
  r.get(entry, "gpu_uuid", n.gpu_uuid, where);
  r.get(entry, "pending", n.pending, where);
  if (!r.err.empty()) return parse_error(path, r.err);
  if (type != "c") return parse_error(path, where + ": type must be \"c\"");
  if (!valid_dev_path(n.host_path) || !valid_dev_path(n.container_path)) {
    return parse_error(path, where + ": node paths must be plain /dev/ paths");
  }
  // Major 0: not known yet, only for a pending node.
  if (n.major < (n.pending.empty() ? 1 : 0) || n.major > 4095 || n.minor < 0 || n.minor > 0xfffff) {
    return parse_error(path, where + ": major:minor out of range");
  }
  auto m = parse_int(mode, 8);
  if (!m || *m < 0 || *m > 07777) return parse_error(path, where + ": bad mode '" + mode + "'");
  if (uid < 0 || uid > 0xfffffffe || gid < 0 || gid > 0xfffffffe) return parse_error(path, where + ": bad owner");
  n.mode = static_cast<mode_t>(*m);
  n.uid = static_cast<uid_t>(uid);
  n.gid = static_cast<gid_t>(gid);
  return n;
}

Result<CgroupRule> plan_rule_from_json(const json& entry, const std::string& path) {
  if (!entry.is_string()) return parse_error(path, "cgroup_rules: entries must be strings");
  auto s = entry.get<std::string>();
  // "c MAJ:MIN|* ACCESS"
  auto parts = split(s, ' ');
  if (parts.size() != 3 || parts[0] != "c") return parse_error(path, "cgroup_rules: bad rule '" + s + "'");
  auto mm = split(parts[1], ':');
  // Out-of-range sentinels instead of optionals keep the checks in one place.
  const long long maj = mm.size() == 2 ? parse_int(mm[0]).value_or(-2) : -2;
  const long long min = mm.size() != 2 ? -2 : mm[1] == "*" ? -1 : parse_int(mm[1]).value_or(-2);
  if (maj < 1 || maj > 4095 || min < -1 || min > 0xfffff || parts[2].empty() ||
      parts[2].find_first_not_of("rwm") != std::string::npos) {
    return parse_error(path, "cgroup_rules: bad rule '" + s + "'");
  }
  CgroupRule cr;
  cr.major = static_cast<int>(maj);
  cr.minor = static_cast<int>(min);
  cr.access = parts[2];
  return cr;
}

namespace {

// Format and version come first: a foreign or older file is named as such,
// not reported by the first field it lacks.
Status check_format(const json& j, const std::string& path) {
  Reader r{path, {}};
  std::string format;
  int version = 0;
  r.get(j, "format", format, "plan");
  r.get(j, "version", version, "plan");
  if (!r.err.empty()) return parse_error(path, r.err);
  if (format != kFormat) return parse_error(path, "not a plan file (format '" + format + "')");
  if (version != kPlanFormatVersion) {
    return parse_error(path, "plan format version " + std::to_string(version) + ", this program reads version " +
                                 std::to_string(kPlanFormatVersion) + "; restart the container to rewrite it");
  }
  return {};
}

Status read_plan_fields(const json& j, const std::string& path, PlanFile& pf) {
  Reader r{path, {}};
  r.get(j, "container", pf.container, "plan");
  r.get(j, "lxcpath", pf.lxcpath, "plan");
  r.get(j, "host_root", pf.host_root, "plan");
  r.get(j, "required", pf.required, "plan");
  r.get(j, "created_unix_ms", pf.created_unix_ms, "plan");
  r.get(j, "enabled", pf.plan.enabled, "plan");
  r.get(j, "visible_devices", pf.plan.visible_devices, "plan");
  r.get(j, "capabilities", pf.plan.capabilities, "plan");
  r.get(j, "driver_version", pf.plan.driver_version, "plan");
  r.get(j, "warnings", pf.plan.warnings, "plan");
  if (!r.err.empty()) return parse_error(path, r.err);
  return {};
}

// clang-tidy 14 reports the json members' implicit special members as
// throwing where they are noexcept.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct PlanArrays {
  json gpus, nodes, rules;
};

Result<PlanArrays> read_plan_arrays(const json& j, const std::string& path) {
  Reader r{path, {}};
  PlanArrays a;
  r.get(j, "gpus", a.gpus, "plan");
  r.get(j, "nodes", a.nodes, "plan");
  r.get(j, "cgroup_rules", a.rules, "plan");
  if (!r.err.empty()) return parse_error(path, r.err);
  if (!a.gpus.is_array() || !a.nodes.is_array() || !a.rules.is_array()) {
    return parse_error(path, "'gpus', 'nodes' and 'cgroup_rules' must be arrays");
  }
  if (a.nodes.size() > 4096 || a.gpus.size() > 256) return parse_error(path, "too many entries");
  return a;
}

// The first entry that does not parse is the file's error.
template <typename T, typename Parse>
Status append_entries(const json& array, Parse parse, std::vector<T>& out) {
  for (std::size_t i = 0; i < array.size(); ++i) {
    auto v = parse(array[i], i);
    if (!v) return v.error();
    out.push_back(std::move(*v));
  }
  return {};
}

}  // namespace

Result<PlanFile> plan_from_json(const std::string& text, const std::string& path) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return parse_error(path, "not valid JSON (corrupt or truncated plan)");
  if (!j.is_object()) return parse_error(path, "not a JSON object");
  if (auto st = check_format(j, path); !st) return st.error();
  PlanFile pf;
  if (auto st = read_plan_fields(j, path, pf); !st) return st.error();
  auto arrays = read_plan_arrays(j, path);
  if (!arrays) return arrays.error();
  const auto gpu = [&](const json& e, std::size_t i) { return plan_gpu_from_json(e, i, path); };
  const auto node = [&](const json& e, std::size_t i) { return plan_node_from_json(e, i, path); };
  const auto rule = [&](const json& e, std::size_t) { return plan_rule_from_json(e, path); };
  if (auto st = append_entries(arrays->gpus, gpu, pf.plan.gpus); !st) return st.error();
  if (auto st = append_entries(arrays->nodes, node, pf.plan.nodes); !st) return st.error();
  if (auto st = append_entries(arrays->rules, rule, pf.plan.rules); !st) return st.error();
  return pf;
}

Status write_plan(const std::string& path, const PlanFile& pf) { return write_file_atomic(path, plan_to_json(pf)); }

Result<PlanFile> read_plan(const std::string& path) {
  auto text = read_small_file(path, 4 << 20);
  if (!text) return text.error();
  return plan_from_json(*text, path);
}

}  // namespace phx
