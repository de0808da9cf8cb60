// lxc_config_diff CONFIG... : our config reader against liblxc on each
// container config (<lxcpath>/<name>/config). Prints each verdict with -v;
// exits 1 when they disagree on any. The integration harness runs it on
// every config it starts a container from.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "config_diff.hpp"

// Under the sanitizers: liblxc's own allocations are not this program's.
extern "C" const char* __lsan_default_suppressions() { return "leak:liblxc.so\n"; }

int main(int argc, char** argv) {
  bool verbose = false;
  int bad = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-v") == 0) {
      verbose = true;
      continue;
    }
    const std::filesystem::path cfg(argv[i]);
    const std::string dir = cfg.parent_path().string();
    const std::string name = cfg.parent_path().filename().string();
    const std::string lxcpath = cfg.parent_path().parent_path().string();
    if (cfg.filename() != "config" || dir.empty()) {
      std::fprintf(stderr, "%s: not <lxcpath>/<name>/config\n", argv[i]);
      return 2;
    }
    const phx::diff::Verdict v = phx::diff::compare(lxcpath, name);
    if (!v.agree) ++bad;
    if (!v.agree || verbose) {
      std::printf("%s %s: %s\n", v.agree ? "agree" : "DISAGREE", argv[i], v.detail.c_str());
    }
  }
  return bad ? 1 : 0;
}
