// The post-start worker: waits for RUNNING, completes the device cgroup,
// hot-plugs nodes that appear late on the host, verifies every node inside
// the container, and on timeout warns with a listing of the container's /dev
// and goes on ("fail later").
#pragma once

#include <string>

namespace phx {

// Exit code 0 in every outcome but a broken invocation: the result is in
// status.json and the logs.
int run_worker(const std::string& name, const std::string& lxcpath);

}  // namespace phx
