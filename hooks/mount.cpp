// lxc.hook.mount: in the container's mount namespace, rootfs at
// $LXC_ROOTFS_MOUNT, as the mapped root in unprivileged containers.
#include "stages/hook_runtime.hpp"
#include "stages/mount_stage.hpp"

int main(int argc, char** argv) {
  auto rt = phx::start_hook("mount", argc, argv);
  if (!rt) return 0;
  return phx::run_mount(*rt);
}
