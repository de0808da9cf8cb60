#include "lxc/cgroup_v2.hpp"

#include "lxc/lxc_container.hpp"

namespace phx {
namespace {

class CgroupV2 final : public DeviceCgroup {
 public:
  explicit CgroupV2(LxcContainer& c) : c_(c) {}
  std::string describe() const override { return "cgroup2 (through the LXC monitor)"; }
  Result<RuleChanges> allow_missing(const std::vector<CgroupRule>&) override { return RuleChanges{}; }
  Status allow(const CgroupRule& rule) override {
    if (!c_.set_cgroup_item("devices.allow", rule.str())) {
      return Error{"set_cgroup_item devices.allow", c_.name(), errno, "rule '" + rule.str() + "'"};
    }
    return {};
  }

 private:
  LxcContainer& c_;
};

}  // namespace

std::unique_ptr<DeviceCgroup> make_cgroup_v2(LxcContainer& c) { return std::make_unique<CgroupV2>(c); }

}  // namespace phx
