// lxc.hook.pre-start: host side, before the container's cgroups exist.
#include "stages/hook_runtime.hpp"
#include "stages/pre_start.hpp"

int main(int argc, char** argv) {
  auto rt = phx::start_hook("pre-start", argc, argv);
  if (!rt) return 0;  // logged; a misconfigured hook line never stops a container
  return phx::run_pre_start(*rt);
}
