#pragma once

#include <chrono>

namespace phx {

// Wall-clock milliseconds since the epoch: what state files record, so that
// timestamps from different processes compare.
inline long long unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace phx
