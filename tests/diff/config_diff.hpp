// Our LXC config reader against liblxc on the same file tree: shared by the
// unit test, the fuzz target and the tool the integration harness runs on
// every container config it writes. Where liblxc knows lxc.environment.runtime
// and .hooks (LXC 7.0), all four lists are compared; where it does not, a
// config that uses them must be one liblxc refuses.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "lxc/container_config.hpp"
#include "lxc/lxc_config_reader.hpp"

namespace phx::diff {

struct Verdict {
  bool agree = false;
  LxcConfigRead::Outcome outcome = LxcConfigRead::Outcome::Read;
  std::string detail;
};

inline std::string show(const LxcConfigValues& v) {
  std::string out;
  for (int k = 0; k < static_cast<int>(ListKey::Count); ++k) {
    out += std::string(k == 0 ? "" : "] ") + key_name(static_cast<ListKey>(k)) + "[";
    for (const auto& item : v.lists[k]) out += "'" + item + "' ";
  }
  return out + "]";
}

// liblxc in a child: an include loop makes it recurse until it crashes. True
// when liblxc refused the config (an error, a crash, or no answer in 5 s).
inline bool liblxc_refuses_in_child(const std::string& lxcpath, const std::string& name) {
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    // Its crash report (a stack overflow under the sanitizers) is expected.
    int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, STDERR_FILENO);
    ::alarm(5);
    auto r = read_config_with_liblxc(name, lxcpath, lxcpath + "/" + name + "/config");
    ::_exit(r ? 0 : 3);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

// The config is <lxcpath>/<name>/config. check_invalid: confirm in a child
// that liblxc refuses what the reader calls invalid (the fuzz target leaves
// that to the unit test: a child crashing under libFuzzer writes a crash
// artifact of its own).
inline Verdict compare(const std::string& lxcpath, const std::string& name, bool check_invalid = true) {
  const std::string path = lxcpath + "/" + name + "/config";
  Verdict v;
  LxcConfigRead ours = read_lxc_config(path);
  v.outcome = ours.outcome;
  switch (ours.outcome) {
    case LxcConfigRead::Outcome::Fallback:
      // liblxc itself answers these: nothing to disagree on.
      v.agree = true;
      v.detail = "fallback: " + ours.reason;
      return v;
    case LxcConfigRead::Outcome::Invalid:
      v.agree = !check_invalid || liblxc_refuses_in_child(lxcpath, name);
      v.detail = v.agree ? "invalid, liblxc refuses too: " + ours.reason
                         : "reader says invalid (" + ours.reason + ") but liblxc loads it";
      return v;
    case LxcConfigRead::Outcome::Read:
      break;
  }
  auto theirs = read_config_with_liblxc(name, lxcpath, path);
  if (!theirs && ours.values.environment_subkeys && !liblxc_support().environment_subkeys) {
    // A liblxc without lxc.environment.runtime and .hooks (LXC 5.0, upstream
    // 6.0) has no answer to compare the subkeys' items with: it refuses the
    // config, as lxc-start will, and that is what is checked here. How the
    // reader reads the subkeys is compared where liblxc knows them (LXC 7.0)
    // and fixed by the unit test's expected values.
    v.agree = true;
    v.detail = "read " + show(ours.values) +
               "; this liblxc refuses the subkeys, as LXC will at start: " + theirs.error().message();
    return v;
  }
  if (!theirs) {
    v.detail = "reader read " + show(ours.values) + " but liblxc refuses: " + theirs.error().message();
    return v;
  }
  for (int k = 0; k < static_cast<int>(ListKey::Count); ++k) {
    if (ours.values.lists[k] != theirs->lists[k]) {
      v.detail = "reader " + show(ours.values) + " != liblxc " + show(*theirs);
      return v;
    }
  }
  v.agree = true;
  v.detail = "read: " + show(ours.values);
  return v;
}

}  // namespace phx::diff
