#include "lxc/container_config.hpp"

#include <dlfcn.h>
#include <lxc/lxccontainer.h>

#include "base/text.hpp"

namespace phx {
namespace {

// liblxc through dlopen: the program links without it, and only a config the
// reader hands over pays for loading it (and libseccomp, libselinux,
// libapparmor, libpcre2 behind it).
struct LibLxc {
  decltype(&::lxc_container_new) container_new = nullptr;
  decltype(&::lxc_container_put) container_put = nullptr;
  decltype(&::lxc_get_version) get_version = nullptr;
  decltype(&::lxc_config_item_is_supported) item_supported = nullptr;
  std::string error;
};

const LibLxc& liblxc() {
  static const LibLxc lib = [] {
    LibLxc l;
    void* h = ::dlopen("liblxc.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* e = ::dlerror();
      l.error = e != nullptr ? e : "dlopen failed";
      return l;
    }
    // Never closed: liblxc registers process-wide state when loaded.
    l.container_new = reinterpret_cast<decltype(&::lxc_container_new)>(::dlsym(h, "lxc_container_new"));
    l.container_put = reinterpret_cast<decltype(&::lxc_container_put)>(::dlsym(h, "lxc_container_put"));
    if (l.container_new == nullptr || l.container_put == nullptr) l.error = "liblxc.so.1 lacks lxc_container_new";
    l.get_version = reinterpret_cast<decltype(&::lxc_get_version)>(::dlsym(h, "lxc_get_version"));
    l.item_supported =
        reinterpret_cast<decltype(&::lxc_config_item_is_supported)>(::dlsym(h, "lxc_config_item_is_supported"));
    return l;
  }();
  return lib;
}

Result<std::string> get_item(struct lxc_container* c, const char* key) {
  int len = c->get_config_item(c, key, nullptr, 0);
  if (len < 0) return Error{"get_config_item", key, 0, "liblxc does not know this key"};
  if (len == 0) return std::string();
  std::string buf(static_cast<std::size_t>(len) + 1, '\0');
  int got = c->get_config_item(c, key, buf.data(), len + 1);
  if (got < 0) return Error{"get_config_item", key, 0, "liblxc failed to return the value"};
  buf.resize(static_cast<std::size_t>(std::min(got, len)));
  return buf;
}

}  // namespace

const LiblxcSupport& liblxc_support() {
  static const LiblxcSupport support = [] {
    LiblxcSupport s;
    const LibLxc& lib = liblxc();
    if (!lib.error.empty()) {
      s.error = lib.error;
      return s;
    }
    if (lib.get_version != nullptr) s.version = lib.get_version();
    s.environment_subkeys = lib.item_supported != nullptr && lib.item_supported("lxc.environment.runtime") &&
                            lib.item_supported("lxc.environment.hooks");
    return s;
  }();
  return support;
}

Result<LxcConfigValues> read_config_with_liblxc(const std::string& name, const std::string& lxcpath,
                                                const std::string& config_file) {
  const LibLxc& lib = liblxc();
  if (!lib.error.empty()) return Error{"dlopen", "liblxc.so.1", 0, lib.error};
  struct lxc_container* c = lib.container_new(name.c_str(), lxcpath.empty() ? nullptr : lxcpath.c_str());
  if (c == nullptr) return Error{"lxc_container_new", lxcpath + "/" + name, 0, "liblxc could not load the container"};
  struct Put {
    const LibLxc& lib;
    struct lxc_container* c;
    ~Put() { lib.container_put(c); }
  } put{lib, c};
  const std::string own = lxcpath + "/" + name + "/config";
  if (!config_file.empty() && config_file != own) {
    // Started from another file (lxc-start -f): read that one.
    c->clear_config(c);
    if (!c->load_config(c, config_file.c_str())) {
      return Error{"load config", config_file, 0, "liblxc could not load the config"};
    }
  } else if (!c->is_defined(c)) {
    return Error{"load config", own, ENOENT, "the container is not defined"};
  }
  LxcConfigValues out;
  struct Item {
    ListKey key;
    const char* name;
  };
  const bool subkeys = liblxc_support().environment_subkeys;
  for (const Item& item :
       {Item{ListKey::Environment, "lxc.environment"}, Item{ListKey::EnvironmentRuntime, "lxc.environment.runtime"},
        Item{ListKey::EnvironmentHooks, "lxc.environment.hooks"}, Item{ListKey::Idmap, "lxc.idmap"}}) {
    const bool subkey = item.key == ListKey::EnvironmentRuntime || item.key == ListKey::EnvironmentHooks;
    if (subkey && !subkeys) continue;
    auto text = get_item(c, item.name);
    if (!text) return text.error();
    for (auto line : split_lines(*text)) {
      if (!line.empty()) out.list(item.key).emplace_back(line);
    }
  }
  return out;
}

std::optional<std::string> environment_subkeys_refused(const LxcConfigValues& v) {
  if (!v.environment_subkeys) return std::nullopt;
  const LiblxcSupport& s = liblxc_support();
  if (s.error.empty() && s.environment_subkeys) return std::nullopt;
  return "the config uses lxc.environment.runtime or lxc.environment.hooks, which liblxc " +
         (s.error.empty() ? s.version : std::string("(not loadable: ") + s.error + ")") +
         " does not know: LXC refuses the config and the container does not start (LXC 7.0 and Proxmox's lxc-pve "
         ">= 6.0.5 know the keys; elsewhere use lxc.environment)";
}

EnvironmentKeys environment_keys(const LxcConfigValues& v) {
  return EnvironmentKeys{v.joined(ListKey::Environment), v.joined(ListKey::EnvironmentRuntime),
                         v.joined(ListKey::EnvironmentHooks)};
}

Result<ContainerConfigItems> read_container_config(const std::string& name, const std::string& lxcpath,
                                                   const std::string& config_file) {
  const std::string path = config_file.empty() ? lxcpath + "/" + name + "/config" : config_file;
  LxcConfigRead r = read_lxc_config(path);
  switch (r.outcome) {
    case LxcConfigRead::Outcome::Read:
      return ContainerConfigItems{std::move(r.values), false, {}};
    case LxcConfigRead::Outcome::Invalid:
      return Error{"read config", path, 0, r.reason};
    case LxcConfigRead::Outcome::Fallback:
      break;
  }
  auto lx = read_config_with_liblxc(name, lxcpath, config_file);
  if (!lx) return lx.error();
  return ContainerConfigItems{std::move(*lx), true, std::move(r.reason)};
}

Result<ContainerPolicy> read_container_policy(const std::string& name, const std::string& lxcpath,
                                              const HostConfig& defaults) {
  auto items = read_container_config(name, lxcpath, "");
  if (!items) return items.error();
  return parse_policy(environment_keys(items->values), defaults);
}

}  // namespace phx
