#include "cli/status_report.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "base/text.hpp"
#include "fixture_host.hpp"
#include "plan/plan_file.hpp"
#include "plan/state_dir.hpp"

namespace phx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class StatusReport : public ::testing::Test {
 protected:
  void record(const std::string& lxcpath, const std::string& name, const GpuStatus* st, std::vector<int> gpus,
              bool plan = true) {
    const StateDir sd{d.root(), lxcpath, name};
    const std::string rel = sd.dir().substr(d.root().size() + 1);
    d.mkdir(rel);
    if (plan) {
      PlanFile pf;
      pf.container = name;
      pf.lxcpath = lxcpath;
      pf.plan.enabled = true;
      for (int i : gpus) {
        GpuInfo g;
        g.index = i;
        g.uuid = "GPU-" + std::to_string(i);
        g.device_minor = i;
        pf.plan.gpus.push_back(g);
      }
      d.write(rel + "/plan.json", plan_to_json(pf));
    }
    if (st) d.write(rel + "/status.json", status_to_json(*st));
  }
  static GpuStatus status(GpuState s, const std::string& message = "", long long ms = -1,
                          DriverState drv = DriverState::Pending) {
    GpuStatus st;
    st.state = s;
    st.message = message;
    st.ms_to_verified = ms;
    st.driver.state = drv;
    return st;
  }
  test::TempDir d;
};

TEST_F(StatusReport, EveryRecordAcrossLxcpathsSorted) {
  GpuStatus ok = status(GpuState::Verified, "", 11, DriverState::Current);
  GpuStatus late = status(GpuState::Timeout, "/dev/nvidia-uvm pending: the nvidia_uvm module is not loaded");
  GpuStatus noplan = status(GpuState::NoPlan, "no GPU plan: NVIDIA_VISIBLE_DEVICES names GPU 7; the host has 0, 1");
  record("/var/lib/lxc", "110", &ok, {0, 1});
  record("/var/lib/lxc", "99", &late, {2});
  record("/srv/lxc-pool", "web", &noplan, {}, /*plan=*/false);
  record("/var/lib/lxc", "101", nullptr, {0});  // a plan, no status
  d.mkdir("var-lib-lxc/empty");                 // no record in it: not listed
  d.mkdir("not%zzescaped/x");                   // not a name the hooks make
  d.write("var-lib-lxc/102", "a file, not a directory");

  auto rows = collect_reports(d.root());
  std::vector<std::string> names;
  for (const auto& r : rows) names.push_back(r.lxcpath + " " + r.name);
  EXPECT_THAT(names, ElementsAre("/srv/lxc-pool web", "/var/lib/lxc 99", "/var/lib/lxc 101", "/var/lib/lxc 110"));
  EXPECT_EQ(rows[0].state_name(), "no-plan");
  EXPECT_FALSE(rows[0].has_plan);
  EXPECT_EQ(rows[1].state_name(), "timeout");
  EXPECT_EQ(rows[2].state_name(), "unknown");
  EXPECT_THAT(rows[2].problem(), HasSubstr("no status.json"));
  EXPECT_TRUE(rows[3].verified());
  EXPECT_THAT(rows[3].gpus, ElementsAre(0, 1));

  const std::string table = report_table(rows);
  auto lines = split(table, '\n');
  ASSERT_GE(lines.size(), 6u);
  EXPECT_THAT(lines[0], HasSubstr("CONTAINER"));
  EXPECT_THAT(lines[0], HasSubstr("PROBLEM"));
  EXPECT_THAT(lines[1], HasSubstr("no-plan"));
  EXPECT_THAT(lines[1], HasSubstr("names GPU 7"));
  EXPECT_THAT(lines[2], HasSubstr("timeout"));
  EXPECT_THAT(lines[2], HasSubstr("nvidia_uvm module is not loaded"));
  EXPECT_THAT(lines[4], HasSubstr("verified"));
  EXPECT_THAT(lines[4], HasSubstr("0,1"));
  EXPECT_THAT(lines[4], HasSubstr("11 ms"));
  EXPECT_THAT(lines[4], HasSubstr("current"));
  EXPECT_EQ(lines[5], "4 container(s), 3 not verified while running");
}

TEST_F(StatusReport, JsonCarriesItsFormatAndEveryContainer) {
  GpuStatus ok = status(GpuState::Verified, "", 7, DriverState::Installed);
  GpuStatus bad = status(GpuState::Failed, "cannot load the container");
  record("/var/lib/lxc", "a", &ok, {0});
  record("/var/lib/lxc", "b", &bad, {1});
  auto j = nlohmann::json::parse(report_json(collect_reports(d.root())));
  EXPECT_EQ(j["format"], "phoenix-gpu-status-all");
  EXPECT_EQ(j["version"], kReportFormatVersion);
  EXPECT_EQ(j["status_version"], kStatusFormatVersion);
  EXPECT_EQ(j["all_verified"], false);
  ASSERT_EQ(j["containers"].size(), 2u);
  EXPECT_EQ(j["containers"][0]["container"], "a");
  EXPECT_EQ(j["containers"][0]["state"], "verified");
  EXPECT_EQ(j["containers"][0]["ms_to_verified"], 7);
  EXPECT_EQ(j["containers"][0]["driver_state"], "installed");
  EXPECT_EQ(j["containers"][0]["driver_match"], true);
  EXPECT_EQ(j["containers"][0]["gpus"], nlohmann::json::array({0}));
  EXPECT_EQ(j["containers"][1]["state"], "failed");
  EXPECT_EQ(j["containers"][1]["problem"], "cannot load the container");
  EXPECT_EQ(j["containers"][1]["driver_match"], false);
}

TEST_F(StatusReport, EmptyStateDir) {
  auto rows = collect_reports(d.path("does-not-exist"));
  EXPECT_TRUE(rows.empty());
  EXPECT_THAT(report_table(rows), HasSubstr("no container has started with a GPU policy"));
  EXPECT_EQ(nlohmann::json::parse(report_json(rows))["all_verified"], true);
}

// Each sample line as node_exporter's text format wants it; one state gauge
// at 1 per container; label values escaped.
TEST_F(StatusReport, PrometheusTextfileFormat) {
  GpuStatus ok = status(GpuState::Verified, "", 1500, DriverState::Current);
  GpuStatus late = status(GpuState::Timeout, "x");
  record("/var/lib/lxc", "100", &ok, {0});
  record("/srv/odd\"path\\x", "ct", &late, {1});
  const std::string text = report_prometheus(collect_reports(d.root()));

  const std::regex sample(R"re(^([a-z_]+)(\{(([a-z_]+)="(([^"\\]|\\["\\n])*)",?)*\})? -?[0-9]+(\.[0-9]+)?$)re");
  const std::regex help(R"re(^# (HELP [a-z_]+ .+|TYPE [a-z_]+ gauge)$)re");
  std::map<std::string, int> ones;  // container -> state gauges at 1
  std::set<std::string> typed;
  for (auto line : split_lines(text)) {
    const std::string l(line);
    if (l.starts_with("#")) {
      EXPECT_TRUE(std::regex_match(l, help)) << l;
      if (l.starts_with("# TYPE ")) typed.insert(split(l, ' ')[2]);
      continue;
    }
    ASSERT_TRUE(std::regex_match(l, sample)) << l;
    EXPECT_TRUE(typed.count(l.substr(0, l.find_first_of("{ ")))) << "no TYPE before " << l;
    if (l.starts_with("phoenix_gpu_container_state{") && l.ends_with(" 1")) {
      ++ones[l.substr(0, l.find(",lxcpath"))];
    }
  }
  ASSERT_EQ(ones.size(), 2u) << text;
  for (const auto& [ct, n] : ones) EXPECT_EQ(n, 1) << ct;
  EXPECT_THAT(text,
              HasSubstr(R"(phoenix_gpu_container_state{container="100",lxcpath="/var/lib/lxc",state="verified"} 1)"));
  EXPECT_THAT(
      text, HasSubstr(R"(phoenix_gpu_container_state{container="ct",lxcpath="/srv/odd\"path\\x",state="timeout"} 1)"));
  EXPECT_THAT(text,
              HasSubstr(R"(phoenix_gpu_container_verified_seconds{container="100",lxcpath="/var/lib/lxc"} 1.500)"));
  EXPECT_THAT(text, Not(HasSubstr(R"(phoenix_gpu_container_verified_seconds{container="ct")")));
  EXPECT_THAT(text, HasSubstr(R"(phoenix_gpu_container_driver_match{container="100",lxcpath="/var/lib/lxc"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(phoenix_gpu_container_driver_match{container="ct",lxcpath="/srv/odd\"path\\x"} 0)"));
  EXPECT_THAT(text, HasSubstr("phoenix_gpu_containers_not_verified 1\n"));
}

// A record stays after its container stops: a stopped container is shown as
// such, whatever its last start gave, and asks for no GPU now.
TEST_F(StatusReport, StoppedContainersAreShownAsStoppedAndDoNotCount) {
  GpuStatus ok = status(GpuState::Verified, "", 9, DriverState::Current);
  GpuStatus late = status(GpuState::Timeout, "/dev/nvidia-uvm is missing");
  record("/var/lib/lxc", "100", &ok, {0});
  record("/var/lib/lxc", "101", &late, {1});
  record("/var/lib/lxc", "102", &late, {2});
  auto rows = collect_reports(d.root());
  ASSERT_EQ(rows.size(), 3u);
  rows[0].running = false;  // verified at its last start, stopped since
  rows[1].running = false;  // timed out, stopped since
  rows[2].running = true;   // timed out, still running
  EXPECT_FALSE(rows[0].needs_attention());
  EXPECT_FALSE(rows[1].needs_attention());
  EXPECT_TRUE(rows[2].needs_attention());
  EXPECT_EQ(rows[0].problem(), "not running; its last start: verified");
  EXPECT_EQ(rows[1].problem(), "not running; its last start: /dev/nvidia-uvm is missing");

  auto lines = split(report_table(rows), '\n');
  ASSERT_GE(lines.size(), 5u);
  EXPECT_THAT(lines[0], HasSubstr("RUNNING"));
  EXPECT_THAT(lines[1], HasSubstr("  no  "));
  EXPECT_THAT(lines[3], HasSubstr("  yes  "));
  EXPECT_EQ(lines[4], "3 container(s), 1 not verified while running");

  auto j = nlohmann::json::parse(report_json(rows));
  EXPECT_EQ(j["all_verified"], false);
  EXPECT_EQ(j["containers"][0]["running"], false);
  EXPECT_EQ(j["containers"][0]["verified"], true);
  EXPECT_EQ(j["containers"][2]["running"], true);

  const std::string prom = report_prometheus(rows);
  EXPECT_THAT(prom, HasSubstr(R"(phoenix_gpu_container_running{container="100",lxcpath="/var/lib/lxc"} 0)"));
  EXPECT_THAT(prom, HasSubstr(R"(phoenix_gpu_container_running{container="102",lxcpath="/var/lib/lxc"} 1)"));
  EXPECT_THAT(prom, HasSubstr("phoenix_gpu_containers_not_verified 1\n"));

  rows.pop_back();  // only stopped containers left: nothing needs attention
  EXPECT_EQ(nlohmann::json::parse(report_json(rows))["all_verified"], true);
}

}  // namespace
}  // namespace phx
