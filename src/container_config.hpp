// The config items pre-start needs (lxc.environment, lxc.idmap), read
// without liblxc where lxc_config_reader can be sure of liblxc's answer, and
// through liblxc, loaded only then, where it cannot.
#pragma once

#include <string>

#include "error.hpp"
#include "lxc_config_reader.hpp"

namespace phx {

struct ContainerConfigItems {
  LxcConfigValues values;
  bool via_liblxc = false;  // the reader handed over
  std::string why_liblxc;   // the reader's reason, when it did
};

// config_file: LXC_CONFIG_FILE (the file this start was made from); name and
// lxcpath: the container, for liblxc.
Result<ContainerConfigItems> read_container_config(const std::string& name, const std::string& lxcpath,
                                                   const std::string& config_file);

// liblxc's own answer (dlopen of liblxc.so.1): the fallback above, and the
// reference the differential tests compare the reader with.
Result<LxcConfigValues> read_config_with_liblxc(const std::string& name, const std::string& lxcpath,
                                               const std::string& config_file);

}  // namespace phx
