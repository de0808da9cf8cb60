#include "lxc/lxc_container.hpp"

#include <lxc/lxccontainer.h>

#include <cstdlib>
#include <filesystem>
#include <utility>

#include "base/text.hpp"
#include "lxc/lxc_config_reader.hpp"

namespace phx {

Result<LxcContainer> LxcContainer::load(const std::string& name, const std::string& lxcpath) {
  struct lxc_container* c = lxc_container_new(name.c_str(), lxcpath.empty() ? nullptr : lxcpath.c_str());
  if (c == nullptr) return Error{"lxc_container_new", lxcpath + "/" + name, 0, "liblxc could not load the container"};
  LxcContainer out(c, name, lxcpath);
  if (!c->is_defined(c)) {
    return Error{"load config", lxcpath + "/" + name + "/config", ENOENT, "the container is not defined"};
  }
  return out;
}

LxcContainer::LxcContainer(LxcContainer&& other) noexcept
    : c_(std::exchange(other.c_, nullptr)), name_(std::move(other.name_)), lxcpath_(std::move(other.lxcpath_)) {}

LxcContainer& LxcContainer::operator=(LxcContainer&& other) noexcept {
  if (this != &other) {
    if (c_ != nullptr) lxc_container_put(c_);
    c_ = std::exchange(other.c_, nullptr);
    name_ = std::move(other.name_);
    lxcpath_ = std::move(other.lxcpath_);
  }
  return *this;
}

LxcContainer::~LxcContainer() {
  if (c_ != nullptr) lxc_container_put(c_);
}

Result<std::string> LxcContainer::config_item(const std::string& key) const {
  int len = c_->get_config_item(c_, key.c_str(), nullptr, 0);
  if (len < 0) return Error{"get_config_item", key, 0, "liblxc does not know this key"};
  if (len == 0) return std::string();
  std::string buf(static_cast<std::size_t>(len) + 1, '\0');
  int got = c_->get_config_item(c_, key.c_str(), buf.data(), len + 1);
  if (got < 0) return Error{"get_config_item", key, 0, "liblxc failed to return the value"};
  buf.resize(static_cast<std::size_t>(std::min(got, len)));
  return buf;
}

std::string LxcContainer::state() const {
  const char* st = c_->state(c_);
  return st != nullptr ? st : "";
}

bool LxcContainer::is_running() const { return c_->is_running(c_); }

bool LxcContainer::wait(const char* state, int timeout_s) const { return c_->wait(c_, state, timeout_s); }

bool LxcContainer::set_cgroup_item(const std::string& key, const std::string& value) const {
  return c_->set_cgroup_item(c_, key.c_str(), value.c_str());
}

pid_t LxcContainer::init_pid() const { return c_->init_pid(c_); }

UniqueFd LxcContainer::init_pidfd() const { return UniqueFd(c_->init_pidfd(c_)); }

bool LxcContainer::attach(lxc_attach_exec_t fn, void* payload, lxc_attach_options_t& opts, pid_t& pid) const {
  return c_->attach(c_, fn, payload, &opts, &pid) >= 0 && pid > 0;
}

std::set<std::string> running_containers(const std::string& lxcpath) {
  std::set<std::string> out;
  char** names = nullptr;
  const int n = ::list_active_containers(lxcpath.c_str(), &names, nullptr);
  for (int i = 0; i < n; ++i) {
    out.insert(names[i]);
    std::free(names[i]);
  }
  std::free(static_cast<void*>(names));
  return out;
}

std::string lxc_version() { return ::lxc_get_version(); }

std::string lxc_default_path() {
  const char* p = ::lxc_get_global_config_item("lxc.lxcpath");
  return p != nullptr ? p : "/var/lib/lxc";
}

Result<unsigned> mapped_root_uid(const LxcContainer& c) {
  auto maps = c.config_item("lxc.idmap");
  if (!maps) return maps.error();
  std::vector<std::string> items;
  for (auto line : split_lines(*maps)) items.emplace_back(line);
  return mapped_root_uid_of(items);
}

}  // namespace phx
