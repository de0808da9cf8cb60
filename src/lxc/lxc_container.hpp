// liblxc behind a thin wrapper that owns the lxc_container reference.
//
// From pre-start and start-host no liblxc *command* may be used (state(),
// is_running(), set_cgroup_item(), attach(), ...): the monitor serves its
// command socket only once the container is RUNNING, and the call blocks
// forever. Loading and reading the config is safe and returns at once.
#pragma once

#include <sys/types.h>

#include <lxc/attach_options.h>

#include <set>
#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

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

  // Commands to the monitor: only once the container is RUNNING (above).
  // "RUNNING", "STOPPED", ...; "" when the monitor does not answer.
  std::string state() const;
  bool is_running() const;
  // Waits up to timeout_s seconds for `state`; true once it is reached.
  bool wait(const char* state, int timeout_s) const;
  // A cgroup item set by the monitor (the only way into a cgroup2 device
  // program); false with errno set when it refuses.
  bool set_cgroup_item(const std::string& key, const std::string& value) const;
  // init as the monitor names it: its PID (<= 0 when not running) and the
  // pidfd the monitor took when it cloned init (liblxc 4.0 or later;
  // empty when there is none).
  pid_t init_pid() const;
  UniqueFd init_pidfd() const;
  // liblxc attach: fn runs in a child attached to the container; its PID in
  // `pid`. False when the attach failed.
  bool attach(lxc_attach_exec_t fn, void* payload, lxc_attach_options_t& opts, pid_t& pid) const;

 private:
  LxcContainer(struct lxc_container* c, std::string name, std::string lxcpath)
      : c_(c), name_(std::move(name)), lxcpath_(std::move(lxcpath)) {}
  struct lxc_container* c_ = nullptr;
  std::string name_;
  std::string lxcpath_;
};

std::string lxc_version();
// The containers running under lxcpath (liblxc's list_active_containers);
// empty when it cannot list them (an lxcpath that is gone).
std::set<std::string> running_containers(const std::string& lxcpath);
// The LXC default lxcpath (/var/lib/lxc for root).
std::string lxc_default_path();

// The host uid that container root maps to (lxc.idmap "u 0 <host> <n>"),
// or 0 for a privileged container.
Result<unsigned> mapped_root_uid(const LxcContainer& c);

}  // namespace phx
