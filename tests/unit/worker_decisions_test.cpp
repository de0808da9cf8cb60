#include "stages/worker_decisions.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fs/device_cgroup.hpp"

namespace phx {
namespace {

using ::testing::ElementsAre;

PlannedNode uvm() {
  PlannedNode n;
  n.host_path = n.container_path = "/dev/nvidia-uvm";
  n.major = 238;
  n.minor = 0;
  return n;
}
NodeCheck check(NodeResult r) { return NodeCheck{"/dev/nvidia-uvm", r, 0, "", false}; }
NodeState host_char(int major, int minor) {
  NodeState s;
  s.kind = NodeState::Kind::CharDevice;
  s.rdev = makedev(static_cast<unsigned>(major), static_cast<unsigned>(minor));
  return s;
}
NodeState host_missing() { return NodeState{}; }

TEST(DecideFix, MissingInsideWaitsUntilTheHostHasThePlannedNode) {
  EXPECT_EQ(decide_fix(check(NodeResult::Missing), uvm(), host_missing(), false, true), FixAction::WaitForHost);
  // A node of another major:minor on the host (a driver reload under way)
  // is not the planned one: not bound in.
  EXPECT_EQ(decide_fix(check(NodeResult::Missing), uvm(), host_char(238, 1), false, true), FixAction::WaitForHost);
  NodeState link;
  link.kind = NodeState::Kind::Other;
  EXPECT_EQ(decide_fix(check(NodeResult::Missing), uvm(), link, false, true), FixAction::WaitForHost);
}

TEST(DecideFix, MissingOrPlaceholderInsideWithTheNodeOnTheHostIsHotPlugged) {
  EXPECT_EQ(decide_fix(check(NodeResult::Missing), uvm(), host_char(238, 0), false, true), FixAction::HotPlug);
  EXPECT_EQ(decide_fix(check(NodeResult::WrongType), uvm(), host_char(238, 0), false, false), FixAction::HotPlug);
}

TEST(DecideFix, NoSecondHotPlugAfterAStalledOne) {
  EXPECT_EQ(decide_fix(check(NodeResult::Missing), uvm(), host_char(238, 0), true, true), FixAction::None);
}

TEST(DecideFix, DeniedGetsARuleOnlyWithACgroupToAddItTo) {
  EXPECT_EQ(decide_fix(check(NodeResult::Denied), uvm(), host_char(238, 0), false, true), FixAction::AllowRule);
  EXPECT_EQ(decide_fix(check(NodeResult::Denied), uvm(), host_char(238, 0), false, false), FixAction::None);
}

TEST(DecideFix, OtherResultsAreLeftAlone) {
  for (NodeResult r : {NodeResult::Ok, NodeResult::NoDriver, NodeResult::WrongRdev, NodeResult::Error,
                       NodeResult::Pending, NodeResult::HostChanged}) {
    EXPECT_EQ(decide_fix(check(r), uvm(), host_char(238, 0), false, true), FixAction::None) << to_string(r);
  }
}

TEST(WaitingOnlyForHost, PendingAndHostMissingNodesOnly) {
  const std::vector<PlannedNode> nodes{uvm(), uvm()};
  auto missing_on_host = [](const PlannedNode&) { return host_missing(); };
  auto on_host = [](const PlannedNode&) { return host_char(238, 0); };
  EXPECT_TRUE(
      waiting_only_for_host({check(NodeResult::Ok), check(NodeResult::Missing)}, nodes, missing_on_host, false));
  EXPECT_TRUE(
      waiting_only_for_host({check(NodeResult::Pending), check(NodeResult::Ok)}, nodes, missing_on_host, false));
  // The node is on the host now: check again (hot-plug).
  EXPECT_FALSE(waiting_only_for_host({check(NodeResult::Ok), check(NodeResult::Missing)}, nodes, on_host, false));
  // Denied is the container's side: check again.
  EXPECT_FALSE(
      waiting_only_for_host({check(NodeResult::Denied), check(NodeResult::Missing)}, nodes, missing_on_host, false));
  // Nothing failing: not waiting.
  EXPECT_FALSE(waiting_only_for_host({check(NodeResult::Ok), check(NodeResult::Ok)}, nodes, on_host, false));
  // no-driver passes only on a simulated host.
  EXPECT_FALSE(waiting_only_for_host({check(NodeResult::NoDriver)}, {uvm()}, missing_on_host, true));
  EXPECT_FALSE(waiting_only_for_host({check(NodeResult::NoDriver)}, {uvm()}, missing_on_host, false));
}

TEST(RecheckBudget, BoundedWithoutProgressResetByIt) {
  RecheckBudget b(3);
  EXPECT_TRUE(b.another(1));
  EXPECT_TRUE(b.another(1));
  EXPECT_TRUE(b.another(1));
  EXPECT_FALSE(b.another(1));  // a rule that does not take: no busy loop
  EXPECT_TRUE(b.another(2));   // a node passed: every step that makes progress goes on
  EXPECT_TRUE(b.another(2));
  EXPECT_TRUE(b.another(2));
  EXPECT_FALSE(b.another(2));
}

// The rule the worker adds for a node, through a device cgroup: a fake that
// records, as the worker's cgroup2 and v1 paths see it.
class FakeCgroup final : public DeviceCgroup {
 public:
  explicit FakeCgroup(bool readable) : readable_(readable) {}
  std::string describe() const override { return "fake"; }
  Result<RuleChanges> allow_missing(const std::vector<CgroupRule>& wanted) override {
    RuleChanges c;
    if (!readable_) return c;  // cgroup2: nothing is known to be missing
    for (const auto& r : wanted) {
      if (std::find(allowed.begin(), allowed.end(), r) != allowed.end()) continue;
      allowed.push_back(r);
      c.added.push_back(r);
    }
    return c;
  }
  Status allow(const CgroupRule& r) override {
    allowed.push_back(r);
    return {};
  }
  std::vector<CgroupRule> allowed;

 private:
  bool readable_;
};

TEST(WorkerRules, HotPluggedNodeGetsARuleOnlyWhereRulesCanBeRead) {
  // cgroup2: the hot-plug adds no rule (an allow-all container stays one);
  // only a later check that finds the node denied does.
  FakeCgroup v2(false);
  allow_missing_logged(v2, {rule_for(uvm())});
  EXPECT_TRUE(v2.allowed.empty());
  ASSERT_EQ(decide_fix(check(NodeResult::Denied), uvm(), host_char(238, 0), false, true), FixAction::AllowRule);
  ASSERT_TRUE(v2.allow(rule_for(uvm())));
  EXPECT_THAT(v2.allowed, ElementsAre(CgroupRule{'c', 238, 0, "rw"}));

  // cgroup v1: the missing rule is added with the hot-plug, once.
  FakeCgroup v1(true);
  allow_missing_logged(v1, {rule_for(uvm())});
  allow_missing_logged(v1, {rule_for(uvm())});
  EXPECT_THAT(v1.allowed, ElementsAre(CgroupRule{'c', 238, 0, "rw"}));
}

}  // namespace
}  // namespace phx
