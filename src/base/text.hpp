// Reading small kernel and config files, and the string handling their
// parsers share.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace phx {

// Files under /proc are small; anything bigger than the limit is malformed
// input, refused before it costs memory.
inline constexpr std::size_t kMaxSmallFile = 1 << 20;

Result<std::string> read_small_file(const std::string& path, std::size_t limit = kMaxSmallFile);
// The same from an open descriptor; `path` names it in errors.
Result<std::string> read_small_fd(int fd, const std::string& path, std::size_t limit = kMaxSmallFile);

std::string_view trim(std::string_view s);
std::vector<std::string_view> split_lines(std::string_view text);
std::vector<std::string> split(std::string_view s, char sep);
std::string to_lower(std::string_view s);
bool starts_with_ci(std::string_view s, std::string_view prefix);

// Strict decimal/hex parsing: the whole string must be the number.
std::optional<long long> parse_int(std::string_view s, int base = 10);

// Text a container controls (file names in its /dev, an installer's
// output), made safe to log and print: every byte outside printable ASCII
// (newlines, escape sequences, bytes that are not ASCII) becomes \xNN and a
// backslash becomes \\, so no line can be forged and no terminal driven.
std::string escape_control(std::string_view s);
// The same for multi-line text: lines stay lines, each escaped (tabs kept)
// and led by `prefix` so that none reads as a line of our own.
std::string escape_lines(std::string_view s, std::string_view prefix);
// True when s is printable ASCII, tabs and newlines only (already escaped).
bool plain_text(std::string_view s);
// s itself when plain_text(s), else escape_lines(s, "").
std::string printable(std::string_view s);

// Durations in config and environment: "30", "30s", "500ms", "2m".
std::optional<long long> parse_duration_ms(std::string_view s);

}  // namespace phx
