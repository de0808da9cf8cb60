#include "plan/requirements.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "base/text.hpp"

namespace phx {
namespace {

constexpr const char* kKeys[] = {"cuda", "driver", "arch", "brand"};

std::optional<RequireTerm> parse_term(std::string_view t) {
  // Two-character operators first: "<=" must not read as "<" then "=...".
  static const char* kOps[] = {"!=", "<=", ">=", "=", "<", ">"};
  for (const char* op : kOps) {
    const auto pos = t.find(op);
    if (pos == std::string_view::npos || pos == 0) continue;
    // The first operator character in the term decides.
    if (t.find_first_of("!<>=") != pos) continue;
    RequireTerm term{to_lower(trim(t.substr(0, pos))), op,
                     std::string(trim(t.substr(pos + std::string_view(op).size())))};
    if (term.value.empty() || std::find(std::begin(kKeys), std::end(kKeys), term.key) == std::end(kKeys))
      return std::nullopt;
    if (term.key != "brand" && !compare_versions(term.value, term.value)) return std::nullopt;
    return term;
  }
  return std::nullopt;
}

bool compare_holds(int cmp, const std::string& op) {
  if (op == "=") return cmp == 0;
  if (op == "!=") return cmp != 0;
  if (op == "<") return cmp < 0;
  if (op == "<=") return cmp <= 0;
  if (op == ">") return cmp > 0;
  return cmp >= 0;  // ">="
}

// nullopt: the host's value is unknown.
std::optional<bool> term_holds(const RequireTerm& t, const HostFacts& h, const GpuFacts* gpu) {
  if ((t.key == "arch" || t.key == "brand") && gpu == nullptr) return true;
  if (t.key == "brand") {
    if (gpu->brand.empty()) return std::nullopt;
    const bool eq = to_lower(gpu->brand) == to_lower(t.value);
    return t.op == "=" ? eq : t.op == "!=" ? !eq : false;
  }
  const std::string& have = t.key == "cuda" ? h.cuda : t.key == "driver" ? h.driver : gpu->arch;
  if (have.empty()) return std::nullopt;
  auto cmp = compare_versions(have, t.value);
  if (!cmp) return std::nullopt;
  return compare_holds(*cmp, t.op);
}

bool requirement_holds(const Requirement& r, const HostFacts& h, const GpuFacts* gpu) {
  for (const auto& alt : r.any_of) {
    bool all = true;
    for (const auto& t : alt) {
      if (term_holds(t, h, gpu) != true) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return r.any_of.empty();
}

std::string describe_host(const Requirement& r, const HostFacts& h) {
  std::set<std::string> keys;
  for (const auto& alt : r.any_of)
    for (const auto& t : alt) keys.insert(t.key);
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  if (keys.count("cuda")) add("cuda " + (h.cuda.empty() ? std::string("unknown") : h.cuda));
  if (keys.count("driver")) add("driver " + (h.driver.empty() ? std::string("unknown") : h.driver));
  for (const auto& g : h.gpus) {
    if (keys.count("arch")) add("GPU " + g.bus + " arch " + (g.arch.empty() ? std::string("unknown") : g.arch));
    if (keys.count("brand")) add("GPU " + g.bus + " brand " + (g.brand.empty() ? std::string("unknown") : g.brand));
  }
  return out;
}

}  // namespace

bool Requirements::needs(const std::string& key) const {
  for (const auto& r : all)
    for (const auto& alt : r.any_of)
      for (const auto& t : alt)
        if (t.key == key) return true;
  return false;
}

std::optional<int> compare_versions(std::string_view a, std::string_view b) {
  auto pa = split(a, '.'), pb = split(b, '.');
  if (pa.empty() || pb.empty() || pa.size() > 8 || pb.size() > 8) return std::nullopt;
  for (std::size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
    long long x = 0, y = 0;
    if (i < pa.size()) {
      auto v = pa[i].size() <= 12 ? parse_int(pa[i]) : std::nullopt;
      if (!v || *v < 0) return std::nullopt;
      x = *v;
    }
    if (i < pb.size()) {
      auto v = pb[i].size() <= 12 ? parse_int(pb[i]) : std::nullopt;
      if (!v || *v < 0) return std::nullopt;
      y = *v;
    }
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

std::string cuda_version_string(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

Requirements parse_requirements(std::string_view environment_items) {
  std::map<std::string, std::string> vars;  // later items win; name order
  bool disabled = false;
  for (auto line : split_lines(environment_items)) {
    line = trim(line);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string key(trim(line.substr(0, eq)));
    const std::string value(trim(line.substr(eq + 1)));
    if (key == "NVIDIA_DISABLE_REQUIRE") {
      const std::string v = to_lower(value);
      disabled = !(v.empty() || v == "0" || v == "false" || v == "no");
    } else if (key.starts_with("NVIDIA_REQUIRE_")) {
      vars[key] = value;
    }
  }
  Requirements out;
  out.disabled = disabled;
  for (const auto& [name, value] : vars) {
    Requirement r{name, value, {}};
    for (const auto& alt : split(value, ' ')) {
      if (trim(alt).empty()) continue;
      std::vector<RequireTerm> terms;
      bool ok = true;
      for (const auto& t : split(alt, ',')) {
        if (trim(t).empty()) continue;
        auto term = parse_term(trim(t));
        if (!term) {
          out.warnings.push_back(name + ": '" + std::string(trim(t)) +
                                 "' is not a requirement (key cuda, driver, arch or brand; operator = != < <= > >=); "
                                 "that alternative is ignored");
          ok = false;
          break;
        }
        terms.push_back(*term);
      }
      if (ok && !terms.empty()) r.any_of.push_back(std::move(terms));
    }
    if (!r.any_of.empty()) out.all.push_back(std::move(r));
  }
  return out;
}

std::vector<std::string> unmet_requirements(const Requirements& req, const HostFacts& host) {
  std::vector<std::string> out;
  if (req.disabled) return out;
  for (const auto& r : req.all) {
    bool holds = true;
    if (host.gpus.empty()) {
      holds = requirement_holds(r, host, nullptr);
    } else {
      for (const auto& g : host.gpus) holds = holds && requirement_holds(r, host, &g);
    }
    if (!holds) out.push_back(r.name + "='" + r.text + "' (host: " + describe_host(r, host) + ")");
  }
  return out;
}

}  // namespace phx
