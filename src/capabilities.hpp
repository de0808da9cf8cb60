// Capability checks up front (name the one missing) and dropping what a
// long-lived process does not need.
#pragma once

#include <sys/capability.h>

#include <initializer_list>
#include <string>

#include "error.hpp"

namespace phx {

// Error names the first capability that is not effective, and why it is
// needed.
Status require_capabilities(std::initializer_list<cap_value_t> caps, const std::string& why);

// Keep only these capabilities in the effective, permitted and bounding sets.
Status keep_only_capabilities(std::initializer_list<cap_value_t> caps);

}  // namespace phx
