// Reading small kernel and config files, and the string handling their
// parsers share.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"

namespace phx {

// Files under /proc are small; anything bigger than the limit is malformed
// input, refused before it costs memory.
inline constexpr std::size_t kMaxSmallFile = 1 << 20;

Result<std::string> read_small_file(const std::string& path, std::size_t limit = kMaxSmallFile);

std::string_view trim(std::string_view s);
std::vector<std::string_view> split_lines(std::string_view text);
std::vector<std::string> split(std::string_view s, char sep);
std::string to_lower(std::string_view s);
bool starts_with_ci(std::string_view s, std::string_view prefix);

// Strict decimal/hex parsing: the whole string must be the number.
std::optional<long long> parse_int(std::string_view s, int base = 10);

// Durations in config and environment: "30", "30s", "500ms", "2m".
std::optional<long long> parse_duration_ms(std::string_view s);

}  // namespace phx
