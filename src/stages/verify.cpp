#include "stages/verify.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/file_write.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "host/host_discovery.hpp"
#include "lxc/container_exec.hpp"
#include "lxc/lxc_container.hpp"
#include "plan/host_check.hpp"

namespace phx {
namespace {

std::string rdev_str(dev_t d) { return std::to_string(major(d)) + ":" + std::to_string(minor(d)); }

// Names and link targets come from the container: escaped where they are
// read, so that one check stays one line on the pipe and one entry one line
// of the listing, and no control byte reaches a log or a terminal.
std::string flat(const std::string& s) { return escape_control(s); }

// What the check inside may answer: pending and host-changed are the
// host side's to say.
bool inside_result(NodeResult r) { return r != NodeResult::Pending && r != NodeResult::HostChanged; }

struct VerifyPayload {
  const std::vector<PlannedNode>* nodes;
};

int verify_fn(void* payload) {
  const auto* p = static_cast<VerifyPayload*>(payload);
  std::string out;
  for (const auto& n : *p->nodes) {
    NodeCheck c = check_node(n);
    out += flat(c.path) + "\t" + std::string(to_string(c.result)) + "\t" + std::to_string(c.err) + "\t" +
           flat(c.detail) + "\n";
  }
  return write_all(STDOUT_FILENO, out, "the check's output pipe") ? 0 : 1;
}

int list_fn(void*) {
  std::string out = "/dev:\n" + list_directory("/dev");
  // One level of subdirectories (nvidia-caps, pts, ...), never via symlinks.
  if (DIR* d = ::opendir("/dev")) {
    std::vector<std::string> subs;
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
        subs.emplace_back(e->d_name);
      }
    }
    ::closedir(d);
    std::sort(subs.begin(), subs.end());
    for (const auto& s : subs) out += "\n/dev/" + s + ":\n" + list_directory("/dev/" + s, 100);
  }
  if (out.size() > 32 * 1024) out = out.substr(0, 32 * 1024) + "\n... (listing truncated)\n";
  return write_all(STDOUT_FILENO, out, "the listing's output pipe") ? 0 : 1;
}

// Runs fn inside the container and returns what it wrote to stdout.
Result<std::string> attach_capture(LxcContainer& c, lxc_attach_exec_t fn, void* payload) {
  auto run = attach_run(c, fn, payload, Millis(10'000));
  if (!run) return run.error();
  if (run->exit_code != 0) return Error{"attach", c.name(), 0, "the check inside the container did not finish"};
  return std::move(run->output);
}

char type_char(mode_t m) {
  if (S_ISCHR(m)) return 'c';
  if (S_ISBLK(m)) return 'b';
  if (S_ISDIR(m)) return 'd';
  if (S_ISLNK(m)) return 'l';
  if (S_ISFIFO(m)) return 'p';
  if (S_ISSOCK(m)) return 's';
  return '-';
}

std::string mode_string(mode_t m) {
  std::string s(10, '-');
  s[0] = type_char(m);
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (m & (1 << (8 - i))) s[static_cast<std::size_t>(i) + 1] = rwx[i];
  if (m & S_ISUID) s[3] = (m & S_IXUSR) ? 's' : 'S';
  if (m & S_ISGID) s[6] = (m & S_IXGRP) ? 's' : 'S';
  if (m & S_ISVTX) s[9] = (m & S_IXOTH) ? 't' : 'T';
  return s;
}

}  // namespace

NodeCheck check_node(const PlannedNode& node) {
  NodeCheck c;
  c.path = node.container_path;
  struct stat st {};
  if (::lstat(node.container_path.c_str(), &st) != 0) {
    c.err = errno;
    c.result = errno == ENOENT ? NodeResult::Missing : NodeResult::Error;
    c.detail = std::strerror(errno);
    return c;
  }
  if (!S_ISCHR(st.st_mode)) {
    c.result = NodeResult::WrongType;
    c.detail = S_ISREG(st.st_mode) ? "a regular file (an unfilled placeholder)" : "not a character device";
    return c;
  }
  const dev_t want = node.rdev();
  if (st.st_rdev != want) {
    c.result = NodeResult::WrongRdev;
    c.detail = "is " + rdev_str(st.st_rdev) + ", planned " + rdev_str(want);
    return c;
  }
  // Read-only nodes (MIG caps, 0400/0444) open read-only; the rest as CUDA
  // opens them.
  const int flags = (node.mode & 0222) ? O_RDWR : O_RDONLY;
  UniqueFd fd(::open(node.container_path.c_str(), flags | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (fd) {
    c.result = NodeResult::Ok;
    return c;
  }
  c.err = errno;
  c.detail = std::strerror(errno);
  if (errno == EPERM) {
    c.result = NodeResult::Denied;
  } else if (errno == ENXIO || errno == ENODEV) {
    c.result = NodeResult::NoDriver;
  } else {
    c.result = NodeResult::Error;
  }
  return c;
}

std::string list_directory(const std::string& dir, std::size_t max_entries) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return "  (cannot list: " + std::string(std::strerror(errno)) + ")\n";
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  std::string out;
  std::size_t shown = 0;
  for (const auto& name : names) {
    if (shown++ == max_entries) {
      out += "  ... " + std::to_string(names.size() - max_entries) + " more\n";
      break;
    }
    const std::string path = dir + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      out += "  ?????????? " + flat(name) + "\n";
      continue;
    }
    char line[512];
    std::string size = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)
                           ? std::to_string(major(st.st_rdev)) + ", " + std::to_string(minor(st.st_rdev))
                           : std::to_string(st.st_size);
    (void)std::snprintf(line, sizeof line, "  %s %3lu %5u %5u %9s %s", mode_string(st.st_mode).c_str(),
                        static_cast<unsigned long>(st.st_nlink), st.st_uid, st.st_gid, size.c_str(),
                        flat(name).c_str());
    out += line;
    if (S_ISLNK(st.st_mode)) {
      char target[256];
      ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
      if (n >= 0) out += " -> " + flat(std::string(target, static_cast<std::size_t>(n)));
    }
    out += "\n";
  }
  return out;
}

Result<std::vector<NodeCheck>> verify_in_container(LxcContainer& c, const std::vector<PlannedNode>& nodes) {
  VerifyPayload payload{&nodes};
  auto out = attach_capture(c, verify_fn, &payload);
  if (!out) return out.error();
  std::vector<NodeCheck> checks;
  for (auto line : split_lines(*out)) {
    auto f = split(line, '\t');
    if (f.size() != 4) continue;
    NodeCheck nc;
    nc.path = escape_control(f[0]);
    const auto r = parse_node_result(f[1]);
    nc.result = r && inside_result(*r) ? *r : NodeResult::Error;
    nc.err = static_cast<int>(parse_int(f[2]).value_or(0));
    nc.detail = escape_control(f[3]);
    checks.push_back(std::move(nc));
  }
  for (std::size_t i = 0; i < checks.size() && i < nodes.size(); ++i) {
    if (checks[i].path != nodes[i].container_path) {
      return Error{"verify", c.name(), 0, "the check inside the container answered for another path"};
    }
  }
  if (checks.size() != nodes.size()) {
    return Error{"verify", c.name(), 0,
                 "the check inside the container returned " + std::to_string(checks.size()) + " results for " +
                     std::to_string(nodes.size()) + " nodes"};
  }
  return checks;
}

std::vector<NodeCheck> merge_checks(const std::vector<PlannedNode>& nodes, const std::vector<NodeCheck>& ready,
                                    const HostSnapshot& host) {
  std::vector<NodeCheck> out;
  std::size_t next = 0;
  for (const auto& n : nodes) {
    if (!n.pending.empty()) {
      out.push_back(NodeCheck{n.container_path, NodeResult::Pending, 0, n.pending, false});
      continue;
    }
    NodeCheck c =
        next < ready.size() ? ready[next] : NodeCheck{n.container_path, NodeResult::Error, 0, "not checked", false};
    ++next;
    // A node that checks fine inside (or has no driver behind it on a
    // simulated host) must also still be backed by the host.
    if (c.result == NodeResult::Ok || c.result == NodeResult::NoDriver) {
      if (std::string why = host_node_problem(n, host); !why.empty()) {
        c.result = NodeResult::HostChanged;
        c.err = 0;
        c.detail = why;
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<NodeCheck>> verify_plan(LxcContainer& c, const std::vector<PlannedNode>& nodes,
                                           const HostRoot& root) {
  std::vector<PlannedNode> ready;
  for (const auto& n : nodes)
    if (n.pending.empty()) ready.push_back(n);
  std::vector<NodeCheck> inside;
  if (!ready.empty()) {
    auto res = verify_in_container(c, ready);
    if (!res) return res.error();
    inside = std::move(*res);
  }
  return merge_checks(nodes, inside, discover_host(root, DiscoverScope::Planning));
}

Result<std::string> list_dev_in_container(LxcContainer& c) {
  auto out = attach_capture(c, list_fn, nullptr);
  // Our own code wrote it, escaped; unless someone in the container
  // tampered with the process.
  if (out) *out = printable(*out);
  return out;
}

std::string explain(const NodeCheck& c) {
  if (c.result == NodeResult::Missing) {
    return c.path +
           " does not exist in the container: the host node was missing at start and did not appear. "
           "Fix: load the driver module that provides it on the host (nvidia_uvm for /dev/nvidia-uvm*), "
           "then 'phoenix-gpu doctor'";
  }
  if (c.result == NodeResult::WrongType) {
    return c.path + " is " + c.detail + ". Fix: restart the container once the host node exists";
  }
  if (c.result == NodeResult::WrongRdev) {
    return c.path + " " + c.detail + " (stale after a driver reload?). Fix: restart the container";
  }
  if (c.result == NodeResult::Denied) {
    return c.path +
           " is denied by the device cgroup (EPERM) although the hooks allow a denied node at every "
           "start: an lxc.cgroup*.devices.deny line for it, a missing start-host hook (the snippet not "
           "included), or rules changed while the container runs (on cgroup2 a live devices.allow turns a "
           "container that allowed every device into an allow-list). Fix: remove the deny line, include the "
           "snippet, or restart the container";
  }
  if (c.result == NodeResult::NoDriver) {
    return c.path + " is allowed but has no driver behind it (" + c.detail +
           "). Fix: check the host driver with "
           "'phoenix-gpu doctor'";
  }
  if (c.result == NodeResult::Pending) return c.path + " is pending: " + c.detail;
  if (c.result == NodeResult::HostChanged) return c.path + ": " + c.detail;
  return c.path + ": " + c.detail;
}

}  // namespace phx
