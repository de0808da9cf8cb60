// liblxc behind a thin wrapper that owns the lxc_container reference.
//
// From pre-start and start-host no liblxc *command* may be used (state(),
// is_running(), set_cgroup_item(), attach(), ...): the monitor serves its
// command socket only once the container is RUNNING, and the call blocks
// forever. Loading and reading the config is safe and returns at once.
#pragma once

#include <string>

#include "error.hpp"

struct lxc_container;

namespace phx {

class LxcContainer {
 public:
  // Loads <lxcpath>/<name>/config; no command is sent to the monitor.
  static Result<LxcContainer> load(const std::string& name, const std::string& lxcpath);

  LxcContainer(LxcContainer&& other) noexcept;
  LxcContainer& operator=(LxcContainer&& other) noexcept;
  LxcContainer(const LxcContainer&) = delete;
  LxcContainer& operator=(const LxcContainer&) = delete;
  ~LxcContainer();

  // Items of a multi-valued key come back newline-separated; "" when unset.
  Result<std::string> config_item(const std::string& key) const;

  const std::string& name() const { return name_; }
  const std::string& lxcpath() const { return lxcpath_; }
  struct lxc_container* raw() const { return c_; }

 private:
  LxcContainer(struct lxc_container* c, std::string name, std::string lxcpath)
      : c_(c), name_(std::move(name)), lxcpath_(std::move(lxcpath)) {}
  struct lxc_container* c_ = nullptr;
  std::string name_;
  std::string lxcpath_;
};

std::string lxc_version();
// The LXC default lxcpath (/var/lib/lxc for root).
std::string lxc_default_path();

// The host uid that container root maps to (lxc.idmap "u 0 <host> <n>"),
// or 0 for a privileged container.
Result<unsigned> mapped_root_uid(const LxcContainer& c);

}  // namespace phx
