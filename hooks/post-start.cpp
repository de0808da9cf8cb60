// lxc.hook.start-host (the snippet registers it), or a Proxmox hookscript,
// which is called as "<script> VMID PHASE".
#include <cctype>
#include <string>

#include "stages/hook_runtime.hpp"
#include "stages/post_start.hpp"

namespace {

bool is_hookscript_call(int argc, char** argv) {
  if (argc != 3 || std::getenv("LXC_NAME") != nullptr) return false;
  for (const char* p = argv[1]; *p != '\0'; ++p)
    if (!std::isdigit(static_cast<unsigned char>(*p))) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (is_hookscript_call(argc, argv)) return phx::run_hookscript(argv[1], argv[2]);
  auto rt = phx::start_hook("start-host", argc, argv);
  if (!rt) return 0;
  return phx::run_post_start(*rt);
}
