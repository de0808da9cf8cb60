// Dropping the capabilities a long-lived process does not need.
#pragma once

#include <sys/capability.h>

#include <initializer_list>
#include <string>

#include "base/error.hpp"

namespace phx {

// Keep only these capabilities in the effective, permitted and bounding sets.
Status keep_only_capabilities(std::initializer_list<cap_value_t> caps);

}  // namespace phx
