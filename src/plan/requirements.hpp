// NVIDIA_REQUIRE_* as the NVIDIA container runtime reads them
// (libnvidia-container src/cli/dsl.c): in one value, space-separated
// alternatives are ORed and the comma-separated terms of an alternative are
// ANDed; every NVIDIA_REQUIRE_* variable must hold. Terms are
// <key><op><value> with keys cuda, driver, arch, brand and operators
// = != < <= > >=; versions compare numerically per dot component, brands
// case-insensitively. NVIDIA_DISABLE_REQUIRE switches the check off.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace phx {

struct RequireTerm {
  std::string key;    // cuda | driver | arch | brand
  std::string op;     // = != < <= > >=
  std::string value;  // "12.4", "tesla"
  std::string str() const { return key + op + value; }
};

struct Requirement {
  std::string name;                              // NVIDIA_REQUIRE_CUDA
  std::string text;                              // its value, as given
  std::vector<std::vector<RequireTerm>> any_of;  // OR of ANDs
};

struct Requirements {
  std::vector<Requirement> all;
  bool disabled = false;              // NVIDIA_DISABLE_REQUIRE
  std::vector<std::string> warnings;  // terms that do not parse (ignored)
  bool needs(const std::string& key) const;
};

// From lxc.environment items (KEY=VALUE lines; later items win).
Requirements parse_requirements(std::string_view environment_items);

// What the host offers, per selected GPU for arch and brand. A fact that
// is unknown makes its terms unmet, with the reason.
struct GpuFacts {
  std::string bus;
  std::string arch;   // "9.0"
  std::string brand;  // "nvidia", "tesla", ...
};
struct HostFacts {
  std::string driver;  // "580.159.04"
  std::string cuda;    // "13.0"; empty when unknown
  std::vector<GpuFacts> gpus;
};

// -1, 0, 1 comparing dot-separated numbers ("12.4" vs "12.10"); a missing
// component counts as 0; nullopt when either is not a version.
std::optional<int> compare_versions(std::string_view a, std::string_view b);

// The unmet requirements, each as "NVIDIA_REQUIRE_X='...' (host: cuda 12.2,
// ...)". As in the runtime, a requirement must hold for every selected GPU
// (arch and brand are that GPU's), and arch and brand hold when none is.
std::vector<std::string> unmet_requirements(const Requirements& req, const HostFacts& host);

// "12.4" from cuDriverGetVersion's 12040.
std::string cuda_version_string(int v);

}  // namespace phx
