#include "plan/status_file.hpp"

#include <nlohmann/json.hpp>

#include "base/atomic_file.hpp"
#include "base/json_field.hpp"
#include "base/text.hpp"

namespace phx {

using nlohmann::json;

std::string status_to_json(const GpuStatus& s, bool pretty) {
  json nodes = json::array();
  for (const auto& n : s.nodes) {
    nodes.push_back({{"path", n.path},
                     {"result", to_string(n.result)},
                     {"errno", n.err ? errno_name(n.err) : ""},
                     {"detail", n.detail},
                     {"hotplugged", n.hotplugged}});
  }
  json j = {{"format", "phoenix-gpu-status"},
            {"version", kStatusFormatVersion},
            {"container", s.container},
            {"lxcpath", s.lxcpath},
            {"state", to_string(s.state)},
            {"message", s.message},
            {"worker_pid", s.worker_pid},
            {"cgroup", s.cgroup},
            {"started_unix_ms", s.started_unix_ms},
            {"running_unix_ms", s.running_unix_ms},
            {"finished_unix_ms", s.finished_unix_ms},
            {"ms_to_verified", s.ms_to_verified},
            {"nodes", nodes},
            {"hotplugged", s.hotplugged},
            {"dev_listing", s.dev_listing},
            {"driver",
             {{"state", to_string(s.driver.state)},
              {"strategy", s.driver.strategy},
              {"host_version", s.driver.host_version},
              {"container_version", s.driver.container_version},
              {"exit_code", s.driver.exit_code},
              {"duration_ms", s.driver.duration_ms},
              {"message", s.driver.message},
              {"output_tail", s.driver.output_tail}}}};
  return j.dump(pretty ? 2 : -1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<GpuStatus> status_from_json(const std::string& text, const std::string& path) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return parse_error(path, "not valid JSON (corrupt or truncated status)");
  try {
    if (j.at("format").get<std::string>() != "phoenix-gpu-status") return parse_error(path, "not a status file");
    if (json_int<int>(j, "version") != kStatusFormatVersion) return parse_error(path, "unsupported status version");
    GpuStatus s;
    s.container = j.at("container").get<std::string>();
    s.lxcpath = j.at("lxcpath").get<std::string>();
    const auto state = parse_gpu_state(j.at("state").get<std::string>());
    if (!state) return parse_error(path, "bad field: unknown state '" + j.at("state").get<std::string>() + "'");
    s.state = *state;
    s.message = j.at("message").get<std::string>();
    s.worker_pid = json_int<int>(j, "worker_pid");
    s.cgroup = j.at("cgroup").get<std::string>();
    s.started_unix_ms = json_int<long long>(j, "started_unix_ms");
    s.running_unix_ms = json_int<long long>(j, "running_unix_ms");
    s.finished_unix_ms = json_int<long long>(j, "finished_unix_ms");
    s.ms_to_verified = json_int<long long>(j, "ms_to_verified");
    for (const auto& n : j.at("nodes")) {
      NodeCheck c;
      c.path = n.at("path").get<std::string>();
      const auto result = parse_node_result(n.at("result").get<std::string>());
      if (!result)
        return parse_error(path, "bad field: unknown node result '" + n.at("result").get<std::string>() + "'");
      c.result = *result;
      c.detail = n.at("detail").get<std::string>();
      c.hotplugged = n.at("hotplugged").get<bool>();
      s.nodes.push_back(std::move(c));
    }
    s.hotplugged = j.at("hotplugged").get<std::vector<std::string>>();
    s.dev_listing = j.at("dev_listing").get<std::string>();
    const auto& d = j.at("driver");
    const auto dstate = parse_driver_state(d.at("state").get<std::string>());
    if (!dstate) return parse_error(path, "bad field: unknown driver state '" + d.at("state").get<std::string>() + "'");
    s.driver.state = *dstate;
    s.driver.strategy = d.at("strategy").get<std::string>();
    s.driver.host_version = d.at("host_version").get<std::string>();
    s.driver.container_version = d.at("container_version").get<std::string>();
    s.driver.exit_code = json_int<int>(d, "exit_code");
    s.driver.duration_ms = json_int<long long>(d, "duration_ms");
    s.driver.message = d.at("message").get<std::string>();
    s.driver.output_tail = d.at("output_tail").get<std::string>();
    return s;
  } catch (const json::exception& e) {
    return parse_error(path, std::string("bad field: ") + e.what());
  } catch (const JsonFieldError& e) {
    return parse_error(path, std::string("bad field: ") + e.what());
  }
}

std::string first_problem(const GpuStatus& s) {
  if (s.state == GpuState::Verified) return "";
  if (!s.message.empty()) return s.message;
  for (const auto& n : s.nodes) {
    if (n.result != NodeResult::Ok && n.result != NodeResult::NoDriver) {
      return n.path + " " + std::string(to_string(n.result)) + (n.detail.empty() ? "" : ": " + n.detail);
    }
  }
  return "";
}

Status write_status(const std::string& path, const GpuStatus& s) { return write_file_atomic(path, status_to_json(s)); }

Result<GpuStatus> read_status(const std::string& path) {
  auto text = read_small_file(path, 4 << 20);
  if (!text) return text.error();
  return status_from_json(*text, path);
}

}  // namespace phx
