// The host's side of "verified": a node that checks fine inside the
// container is still no use when the host no longer backs it (its GPU fell
// off the bus, its module was unloaded or reloaded with another major), and
// a pending node becomes makeable once its module is there.
#pragma once

#include <string>
#include <vector>

#include "host/host_discovery.hpp"
#include "plan/device_plan.hpp"

namespace phx {

// How a host node stands against the planned one: the one test of "is the
// host node the planned char device".
enum class HostNodeMatch { Planned, Missing, NotCharDevice, OtherRdev };
HostNodeMatch match_host_node(const NodeState& st, const PlannedNode& node);

// Fills in a pending node's major from what the host registers now. True
// when the node is no longer pending.
bool resolve_pending(PlannedNode& node, const HostSnapshot& host);

// Why the host no longer backs a planned (not pending) node; empty when it
// does. Reads only the snapshot.
std::string host_node_problem(const PlannedNode& node, const HostSnapshot& host);

}  // namespace phx
