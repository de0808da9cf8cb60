// The config items pre-start needs (lxc.environment, lxc.idmap), read
// without liblxc where lxc_config_reader can be sure of liblxc's answer, and
// through liblxc, loaded only then, where it cannot.
#pragma once

#include <optional>
#include <string>

#include "base/error.hpp"
#include "lxc/lxc_config_reader.hpp"
#include "plan/policy.hpp"

namespace phx {

struct ContainerConfigItems {
  LxcConfigValues values;
  bool via_liblxc = false;  // the reader handed over
  std::string why_liblxc;   // the reader's reason, when it did
};

// When the config uses lxc.environment.runtime or .hooks and this host's
// liblxc does not know them (LXC refuses to start it): that, in words.
std::optional<std::string> environment_subkeys_refused(const LxcConfigValues& v);

// The three environment keys of what was read, for parse_policy.
EnvironmentKeys environment_keys(const LxcConfigValues& v);

// config_file: LXC_CONFIG_FILE (the file this start was made from; "" for
// <lxcpath>/<name>/config); name and lxcpath: the container, for liblxc.
Result<ContainerConfigItems> read_container_config(const std::string& name, const std::string& lxcpath,
                                                   const std::string& config_file);

// What the liblxc on this host is, asked through dlopen.
struct LiblxcSupport {
  std::string error;    // liblxc.so.1 could not be loaded; the rest is unknown
  std::string version;  // lxc_get_version()
  // lxc_config_item_is_supported("lxc.environment.runtime") and ".hooks":
  // LXC 7.0 and Proxmox's lxc-pve since 6.0.5 know them; LXC 5.0 and
  // upstream 6.0 refuse a config that uses them. Asked rather than derived
  // from the version: a distribution's build may carry the keys back.
  bool environment_subkeys = false;
};
const LiblxcSupport& liblxc_support();

// The policy in <lxcpath>/<name>/config, read as pre-start reads it (the
// three environment keys, whether or not this liblxc knows them all).
Result<ContainerPolicy> read_container_policy(const std::string& name, const std::string& lxcpath,
                                              const HostConfig& defaults);

// liblxc's own answer (dlopen of liblxc.so.1): the fallback above, and the
// reference the differential tests compare the reader with. The .runtime and
// .hooks lists are asked for only where liblxc knows the keys (else they
// stay empty, and a config that uses them is an error: liblxc refuses it).
Result<LxcConfigValues> read_config_with_liblxc(const std::string& name, const std::string& lxcpath,
                                                const std::string& config_file);

}  // namespace phx
