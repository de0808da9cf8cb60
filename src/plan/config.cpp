#include "plan/config.hpp"

#include <cstdlib>
#include <set>

#include <toml++/toml.h>

#include "base/env_vars.hpp"
#include "base/text.hpp"

namespace phx {
namespace {

struct Loader {
  const toml::table& root;
  const std::string& path;
  std::string err;
  std::vector<std::string> unknown;

  // Durations: a number of seconds (integer or float) or a string "500ms", "2m".
  void duration(const char* table, const char* key, Millis& out, long long max_ms) {
    auto node = root[table][key];
    if (!node || !err.empty()) return;
    long long ms = -1;
    if (auto i = node.value<long long>(); i && node.is_integer()) {
      ms = (*i < 0 || *i > max_ms / 1000) ? -1 : *i * 1000;
    } else if (auto f = node.value<double>(); f && node.is_floating_point()) {
      // Range-check before the conversion: casting inf, nan or 1e300 is UB.
      ms = (*f >= 0.0 && *f * 1000.0 <= static_cast<double>(max_ms)) ? static_cast<long long>(*f * 1000.0) : -1;
    } else if (auto s = node.value<std::string>()) {
      ms = parse_duration_ms(*s).value_or(-1);
    }
    if (ms < 0 || ms > max_ms) {
      err = std::string("[") + table + "] " + key + ": expected a duration (seconds, or \"500ms\", \"2m\") up to " +
            std::to_string(max_ms / 1000) + " s";
      return;
    }
    out = Millis(ms);
  }
  void boolean(const char* table, const char* key, bool& out) {
    auto node = root[table][key];
    if (!node || !err.empty()) return;
    if (!node.is_boolean()) {
      err = std::string("[") + table + "] " + key + ": expected true or false";
      return;
    }
    out = *node.value<bool>();
  }
  void string(const char* table, const char* key, std::string& out, const std::set<std::string>& allowed = {}) {
    auto node = root[table][key];
    if (!node || !err.empty()) return;
    if (!node.is_string()) {
      err = std::string("[") + table + "] " + key + ": expected a string";
      return;
    }
    std::string v = *node.value<std::string>();
    if (!allowed.empty() && !allowed.count(v)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      err = std::string("[") + table + "] " + key + ": '" + v + "' is not one of " + list;
      return;
    }
    out = v;
  }
  void absolute_path(const char* table, const char* key, std::string& out) {
    std::string v = out;
    string(table, key, v);
    if (!err.empty()) return;
    if (v.empty() || v.front() != '/') {
      err = std::string("[") + table + "] " + key + ": expected an absolute path";
      return;
    }
    out = v;
  }
};

const std::map<std::string, std::set<std::string>>& known_keys() {
  static const std::map<std::string, std::set<std::string>> keys = {
      {"driver", {"wait_timeout", "load_modules", "create_nodes"}},
      {"verify", {"timeout", "poll_interval"}},
      {"defaults", {"visible_devices", "capabilities"}},
      {"driver_install", {"strategy", "installer_dir", "command", "timeout"}},
      {"log", {"level", "dir"}},
      {"state", {"dir"}},
      {"hooks", {"budget"}},
  };
  return keys;
}

// toml++ 3.3 (Debian 12) reaches __builtin_unreachable() for some non-ASCII
// code points where it looks for whitespace (between tokens, or after a
// line-ending backslash in a multi-line string): undefined behaviour on a
// malformed file. No value this file takes needs non-ASCII text, so it is
// refused everywhere but in comments, before toml++ sees the file.
Status check_ascii_outside_comments(std::string_view text, const std::string& path) {
  enum class In { Code, Comment, Basic, Literal, MultiBasic, MultiLiteral };
  In in = In::Code;
  int line = 1;
  auto at = [&](size_t i, std::string_view what) { return text.compare(i, what.size(), what) == 0; };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      if (in != In::MultiBasic && in != In::MultiLiteral) in = In::Code;
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80 && in != In::Comment) {
      return parse_error(path, "line " + std::to_string(line) +
                                   ": a non-ASCII character outside a comment (only comments may hold them)");
    }
    switch (in) {
      case In::Code:
        if (c == '#') {
          in = In::Comment;
        } else if (at(i, R"(""")")) {
          in = In::MultiBasic;
          i += 2;
        } else if (at(i, "'''")) {
          in = In::MultiLiteral;
          i += 2;
        } else if (c == '"') {
          in = In::Basic;
        } else if (c == '\'') {
          in = In::Literal;
        }
        break;
      case In::Comment:
        break;
      case In::Basic:
      case In::MultiBasic:
        if (c == '\\') {
          if (i + 1 < text.size() && text[i + 1] != '\n') ++i;  // an escape: the next byte is not a quote
        } else if (in == In::Basic && c == '"') {
          in = In::Code;
        } else if (in == In::MultiBasic && at(i, R"(""")")) {
          in = In::Code;
          i += 2;
        }
        break;
      case In::Literal:
        if (c == '\'') in = In::Code;
        break;
      case In::MultiLiteral:
        if (at(i, "'''")) {
          in = In::Code;
          i += 2;
        }
        break;
    }
  }
  return {};
}

}  // namespace

std::string config_path() {
  const char* env = env_value(EnvVar::Config);
  return env != nullptr && *env != '\0' ? env : kDefaultConfigPath;
}

Result<HostConfig> parse_host_config(const std::string& text, const std::string& path) {
  if (auto ok = check_ascii_outside_comments(text, path); !ok) return ok.error();
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return parse_error(path, "line " + std::to_string(where.line) + ": " + std::string(e.description()));
  }
  HostConfig cfg;
  for (const auto& [key, node] : root) {
    auto known = known_keys().find(std::string(key.str()));
    if (known == known_keys().end() || !node.is_table()) {
      cfg.warnings.push_back(path + ": unknown key or table '" + std::string(key.str()) + "' ignored");
      continue;
    }
    for (const auto& [sub, _] : *node.as_table()) {
      if (!known->second.count(std::string(sub.str()))) {
        cfg.warnings.push_back(path + ": unknown key '" + known->first + "." + std::string(sub.str()) + "' ignored");
      }
    }
  }
  Loader l{root, path, {}, {}};
  constexpr long long kHour = 3600'000;
  l.duration("driver", "wait_timeout", cfg.driver_wait, 300'000);
  l.boolean("driver", "load_modules", cfg.load_modules);
  l.boolean("driver", "create_nodes", cfg.create_nodes);
  l.duration("verify", "timeout", cfg.verify_timeout, kHour);
  l.duration("verify", "poll_interval", cfg.poll_interval, 10'000);
  l.string("defaults", "visible_devices", cfg.visible_devices);
  l.string("defaults", "capabilities", cfg.capabilities);
  l.string("driver_install", "strategy", cfg.install_strategy, {"bind", "runfile", "command", "none"});
  l.absolute_path("driver_install", "installer_dir", cfg.installer_dir);
  l.string("driver_install", "command", cfg.install_command);
  l.duration("driver_install", "timeout", cfg.install_timeout, 4 * kHour);
  l.string("log", "level", cfg.log_level, {"trace", "debug", "info", "warn", "error", "off"});
  l.absolute_path("log", "dir", cfg.log_dir);
  l.absolute_path("state", "dir", cfg.state_dir);
  l.duration("hooks", "budget", cfg.hook_budget, 300'000);
  if (!l.err.empty()) return parse_error(path, l.err);
  if (cfg.poll_interval.count() == 0) return parse_error(path, "[verify] poll_interval: must be above 0");
  return cfg;
}

Result<HostConfig> load_host_config(const std::string& path) {
  auto text = read_small_file(path, 256 * 1024);
  if (!text) {
    if (text.error().err == ENOENT) return HostConfig{};
    return text.error();
  }
  return parse_host_config(*text, path);
}

std::string effective_log_dir(const HostConfig& cfg) {
  const char* env = env_value(EnvVar::LogDir);
  return env != nullptr && *env == '/' ? env : cfg.log_dir;
}

}  // namespace phx
