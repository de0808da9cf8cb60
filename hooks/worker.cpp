// The detached post-start worker: "worker NAME LXCPATH". Started by the
// post-start hook; not meant to be run by hand (phoenix-gpu verify is).
#include <cstdio>

#include "stages/worker.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    (void)std::fprintf(stderr, "usage: %s NAME LXCPATH (started by the post-start hook)\n", argv[0]);
    return 2;
  }
  return phx::run_worker(argv[1], argv[2]);
}
