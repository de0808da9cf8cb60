#include "base/capabilities.hpp"

#include <sys/prctl.h>

#include <memory>
#include <vector>

namespace phx {
namespace {

struct CapFree {
  void operator()(void* p) const { cap_free(p); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

std::string cap_name(cap_value_t c) {
  std::unique_ptr<char, CapFree> name(cap_to_name(c));
  std::string s = name ? name.get() : std::to_string(c);
  for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

Status keep_only_capabilities(std::initializer_list<cap_value_t> caps) {
  std::vector<cap_value_t> keep(caps);
  for (cap_value_t c = 0; c <= CAP_LAST_CAP; ++c) {
    bool wanted = false;
    for (cap_value_t k : keep) wanted = wanted || k == c;
    if (!wanted && CAP_IS_SUPPORTED(c)) {
      if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL && errno != EPERM) {
        return sys_error("prctl PR_CAPBSET_DROP", cap_name(c));
      }
    }
  }
  // Keep only what we hold now: asking for a capability outside the
  // permitted set (a host whose bounding set lacks one) fails the whole call.
  CapPtr cur(cap_get_proc());
  if (!cur) return sys_error("cap_get_proc", "");
  std::erase_if(keep, [&](cap_value_t c) {
    cap_flag_value_t v = CAP_CLEAR;
    return cap_get_flag(cur.get(), c, CAP_PERMITTED, &v) != 0 || v != CAP_SET;
  });
  CapPtr next(cap_init());
  if (!next) return sys_error("cap_init", "");
  if (!keep.empty()) {
    if (cap_set_flag(next.get(), CAP_EFFECTIVE, static_cast<int>(keep.size()), keep.data(), CAP_SET) != 0 ||
        cap_set_flag(next.get(), CAP_PERMITTED, static_cast<int>(keep.size()), keep.data(), CAP_SET) != 0) {
      return sys_error("cap_set_flag", "");
    }
  }
  if (cap_set_proc(next.get()) != 0) return sys_error("cap_set_proc", "");
  return {};
}

}  // namespace phx
