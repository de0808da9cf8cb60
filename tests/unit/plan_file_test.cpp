#include "plan/plan_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "fixture_host.hpp"

namespace phx {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kPath = "/run/phoenix-gpu-hooks/var-lib-lxc/101/plan.json";

PlanFile make_sample_plan() {
  test::FixtureHost h;
  test::FixtureHost::multi_gpu(h);
  h.add_cap("gpu0/mig/gi1/access", 12, 0444);
  auto plan = make_plan(h.discover(), PlanRequest{"1,2", "all", false, false});
  EXPECT_TRUE(plan) << plan.error().message();
  PlanFile pf;
  pf.container = "101";
  pf.lxcpath = "/var/lib/lxc";
  pf.host_root = "/";
  pf.required = true;
  pf.created_unix_ms = 1764139200123;
  pf.plan = *plan;
  pf.plan.warnings.push_back("a warning");
  return pf;
}

// Three GPUs' worth of nodes, two of them selected, with a MIG cap.
const PlanFile& sample_plan() {
  static const PlanFile pf = make_sample_plan();
  return pf;
}

TEST(PlanFile, RoundTrip) {
  const PlanFile pf = sample_plan();
  ASSERT_EQ(pf.plan.nodes.size(), 7u);  // ctl, 2 GPUs, uvm x2, modeset, cap
  auto back = plan_from_json(plan_to_json(pf), kPath);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->container, pf.container);
  EXPECT_EQ(back->lxcpath, pf.lxcpath);
  EXPECT_EQ(back->host_root, pf.host_root);
  EXPECT_EQ(back->required, pf.required);
  EXPECT_EQ(back->created_unix_ms, pf.created_unix_ms);
  EXPECT_EQ(back->plan.enabled, pf.plan.enabled);
  EXPECT_EQ(back->plan.visible_devices, pf.plan.visible_devices);
  EXPECT_EQ(back->plan.capabilities, pf.plan.capabilities);
  EXPECT_EQ(back->plan.driver_version, pf.plan.driver_version);
  EXPECT_EQ(back->plan.nodes, pf.plan.nodes);
  EXPECT_EQ(back->plan.rules, pf.plan.rules);
  EXPECT_EQ(back->plan.warnings, pf.plan.warnings);
  ASSERT_EQ(back->plan.gpus.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back->plan.gpus[i].index, pf.plan.gpus[i].index);
    EXPECT_EQ(back->plan.gpus[i].uuid, pf.plan.gpus[i].uuid);
    EXPECT_EQ(back->plan.gpus[i].bus_location, pf.plan.gpus[i].bus_location);
    EXPECT_EQ(back->plan.gpus[i].device_minor, pf.plan.gpus[i].device_minor);
    EXPECT_EQ(back->plan.gpus[i].model, pf.plan.gpus[i].model);
  }
  EXPECT_EQ(plan_to_json(*back, false), plan_to_json(pf, false));
}

TEST(PlanFile, WriteIsAtomicWithMode0644) {
  test::TempDir d;
  const std::string path = d.path("plan.json");
  const mode_t old_umask = ::umask(077);  // the file mode must not depend on it
  Status st = write_plan(path, sample_plan());
  ::umask(old_umask);
  ASSERT_TRUE(st) << st.error().message();
  struct stat s {};
  ASSERT_EQ(::stat(path.c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0644u);
  EXPECT_THAT(d.list(), ElementsAre("plan.json"));  // no temporary left behind

  PlanFile second = sample_plan();
  second.container = "102";
  ASSERT_TRUE(write_plan(path, second));
  EXPECT_THAT(d.list(), ElementsAre("plan.json"));
  auto back = read_plan(path);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->container, "102");
}

TEST(PlanFile, WriteIntoMissingDirectoryFails) {
  test::TempDir d;
  Status st = write_plan(d.path("nope/plan.json"), sample_plan());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().err, ENOENT);
  EXPECT_THAT(st.error().message(), HasSubstr(d.path("nope/")));
}

TEST(PlanFile, ReadMissingNamesPath) {
  auto r = read_plan("/nonexistent/plan.json");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("open '/nonexistent/plan.json': ENOENT"));
}

// Every rejection names the file and the problem.
void expect_rejected(const std::string& text, const std::string& problem) {
  auto r = plan_from_json(text, kPath);
  ASSERT_FALSE(r) << text;
  EXPECT_THAT(r.error().message(), HasSubstr("'" + kPath + "'"));
  EXPECT_THAT(r.error().message(), HasSubstr(problem));
}

json sample_json() { return json::parse(plan_to_json(sample_plan())); }

TEST(PlanFile, CorruptAndTruncated) {
  expect_rejected("{\"format\": \"phoenix-gpu-plan\", \"vers", "not valid JSON");
  expect_rejected("", "not valid JSON");
  expect_rejected(std::string("\x00\x01\x02", 3), "not valid JSON");
  const std::string full = plan_to_json(sample_plan());
  expect_rejected(full.substr(0, full.size() / 2), "not valid JSON (corrupt or truncated plan)");
  expect_rejected("[1, 2]", "not a JSON object");
}

TEST(PlanFile, ForeignFormatAndVersion) {
  expect_rejected(R"({"format": "oci-hooks", "version": 1})", "not a plan file (format 'oci-hooks')");
  expect_rejected(R"({"version": 1})", "missing field 'format'");
  json j = sample_json();
  j["version"] = 1;
  expect_rejected(j.dump(), "plan format version 1, this program reads version 2");
}

TEST(PlanFile, WrongFieldTypes) {
  struct Case {
    json::json_pointer ptr;
    json value;
    const char* problem;
  };
  const std::vector<Case> cases = {
      {json::json_pointer("/required"), "yes", "plan: field 'required' has the wrong type"},
      {json::json_pointer("/container"), 101, "plan: field 'container' has the wrong type"},
      {json::json_pointer("/nodes/1/major"), "195", "nodes[1]: field 'major' has the wrong type"},
      {json::json_pointer("/gpus/0/uuid"), json::array(), "gpus[0]: field 'uuid' has the wrong type"},
      {json::json_pointer("/nodes"), json::object(), "must be arrays"},
      {json::json_pointer("/nodes/0/type"), "b", "nodes[0]: type must be \"c\""},
      {json::json_pointer("/nodes/0/mode"), "0999", "nodes[0]: bad mode '0999'"},
      {json::json_pointer("/nodes/0/uid"), -1, "nodes[0]: bad owner"},
      {json::json_pointer("/cgroup_rules/0"), 5, "cgroup_rules: entries must be strings"},
      {json::json_pointer("/cgroup_rules/0"), "a *:* rwm", "cgroup_rules: bad rule 'a *:* rwm'"},
      {json::json_pointer("/cgroup_rules/0"), "c 195:0 rwx", "cgroup_rules: bad rule"},
  };
  for (const auto& c : cases) {
    json j = sample_json();
    j[c.ptr] = c.value;
    expect_rejected(j.dump(), c.problem);
  }
  json j = sample_json();
  j["nodes"][0].erase("gpu_uuid");
  expect_rejected(j.dump(), "nodes[0]: missing field 'gpu_uuid'");
}

TEST(PlanFile, PendingNodeKeepsMajorZeroAndItsReason) {
  PlanFile pf = sample_plan();
  pf.plan.nodes[3].major = 0;
  pf.plan.nodes[3].pending = "the nvidia_uvm module is not loaded";
  auto back = plan_from_json(plan_to_json(pf), kPath);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->plan.nodes[3].major, 0);
  EXPECT_EQ(back->plan.nodes[3].pending, "the nvidia_uvm module is not loaded");
  EXPECT_EQ(back->plan.nodes, pf.plan.nodes);

  // Major 0 only for a pending node.
  json j = sample_json();
  j["nodes"][1]["major"] = 0;
  expect_rejected(j.dump(), "nodes[1]: major:minor out of range");
}

TEST(PlanFile, NodePathsMustStayInDev) {
  for (const char* bad : {"/dev/../etc/shadow", "/etc/passwd", "/dev/nvidia-caps/../../root", "dev/nvidia0", "/dev/",
                          "/dev/nvidia0/", "/dev/./nvidia0"}) {
    for (const char* field : {"host_path", "container_path"}) {
      json j = sample_json();
      j["nodes"][1][field] = bad;
      expect_rejected(j.dump(), "nodes[1]: node paths must be plain /dev/ paths");
    }
  }
}

TEST(PlanFile, OutOfRangeMajorMinor) {
  for (long long major : {0LL, -1LL, 4096LL}) {
    json j = sample_json();
    j["nodes"][0]["major"] = major;
    expect_rejected(j.dump(), "nodes[0]: major:minor out of range");
  }
  json j = sample_json();
  j["nodes"][0]["minor"] = 0x100000;
  expect_rejected(j.dump(), "nodes[0]: major:minor out of range");
  j = sample_json();
  j["cgroup_rules"][0] = "c 5000:1 rwm";
  expect_rejected(j.dump(), "cgroup_rules: bad rule 'c 5000:1 rwm'");
}

TEST(PlanFile, NumbersMustBeIntegersInRange) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"/version", true},
      {"/version", 1.9},
      {"/nodes/0/major", true},
      {"/nodes/0/major", 195.9},
      {"/nodes/0/major", 4294967491LL},
      {"/nodes/0/minor", 4294967296LL},
  };
  for (const auto& [ptr, value] : cases) {
    json j = sample_json();
    j[json::json_pointer(ptr)] = value;
    expect_rejected(j.dump(), ptr == "/version" ? "version" : "nodes[0]");
  }
}

TEST(PlanFile, WildcardRuleRoundTrips) {
  json j = sample_json();
  j["cgroup_rules"] = json::array({"c 195:* rw"});
  auto r = plan_from_json(j.dump(), kPath);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->plan.rules.size(), 1u);
  EXPECT_EQ(r->plan.rules[0].minor, -1);
  EXPECT_EQ(r->plan.rules[0].str(), "c 195:* rw");
}

// --- one entry at a time -----------------------------------------------------------

json node_entry() {
  return {{"host_path", "/dev/nvidia3"},
          {"container_path", "/dev/nvidia0"},
          {"type", "c"},
          {"major", 195},
          {"minor", 3},
          {"mode", "0660"},
          {"uid", 0},
          {"gid", 44},
          {"role", "gpu"},
          {"gpu_uuid", test::kMultiUuids[0]},
          {"pending", ""}};
}

TEST(PlanEntries, Gpu) {
  const json entry = {{"index", 1},
                      {"uuid", test::kMultiUuids[1]},
                      {"bus_location", "0000:41:00.0"},
                      {"device_minor", 0},
                      {"model", "NVIDIA H200"}};
  auto g = plan_gpu_from_json(entry, 4, kPath);
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(*g, test::gpu(1, test::kMultiUuids[1], "0000:41:00.0", 0));  // model "NVIDIA H200"

  json no_model = entry;
  no_model.erase("model");
  auto r = plan_gpu_from_json(no_model, 4, kPath);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "parse '" + kPath + "': gpus[4]: missing field 'model'");
  // Not an object: the first field is what it lacks.
  r = plan_gpu_from_json(json(7), 0, kPath);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("gpus[0]: missing field 'index'"));
}

TEST(PlanEntries, Node) {
  auto n = plan_node_from_json(node_entry(), 2, kPath);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(n->host_path, "/dev/nvidia3");
  EXPECT_EQ(n->container_path, "/dev/nvidia0");
  EXPECT_EQ(n->major, 195);
  EXPECT_EQ(n->minor, 3);
  EXPECT_EQ(n->mode, 0660u);  // the string is octal
  EXPECT_EQ(n->gid, 44u);
  EXPECT_EQ(n->role, "gpu");

  json highest_owner = node_entry();
  highest_owner["uid"] = 0xfffffffeLL;  // (uid_t)-1 means "no change" to chown: never a real owner
  EXPECT_TRUE(plan_node_from_json(highest_owner, 2, kPath));
  highest_owner["uid"] = 0xffffffffLL;
  auto r = plan_node_from_json(highest_owner, 2, kPath);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "parse '" + kPath + "': nodes[2]: bad owner");
}

TEST(PlanEntries, NodeReportsItsFirstProblem) {
  // Fields before checks, then type, paths, numbers, mode, owner: each case
  // also breaks everything checked after it.
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"type", 5}, {"mode", "9"}}, "nodes[0]: field 'type' has the wrong type"},
      {{{"type", "b"}, {"host_path", "/etc/shadow"}}, "nodes[0]: type must be \"c\""},
      {{{"container_path", "/dev/../x"}, {"major", 0}}, "nodes[0]: node paths must be plain /dev/ paths"},
      {{{"minor", -1}, {"mode", "x"}}, "nodes[0]: major:minor out of range"},
      {{{"mode", "010000"}, {"gid", -1}}, "nodes[0]: bad mode '010000'"},
      {{{"gid", 0x100000000LL}}, "nodes[0]: bad owner"},
  };
  for (const auto& [changes, problem] : cases) {
    json entry = node_entry();
    entry.update(changes);
    auto r = plan_node_from_json(entry, 0, kPath);
    ASSERT_FALSE(r) << changes.dump();
    EXPECT_EQ(r.error().message(), "parse '" + kPath + "': " + problem) << changes.dump();
  }
}

TEST(PlanEntries, PendingNodeMayHaveMajorZero) {
  json entry = node_entry();
  entry["major"] = 0;
  EXPECT_FALSE(plan_node_from_json(entry, 0, kPath));
  entry["pending"] = "the nvidia_uvm module is not loaded";
  auto n = plan_node_from_json(entry, 0, kPath);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(n->major, 0);
  EXPECT_EQ(n->pending, "the nvidia_uvm module is not loaded");
}

TEST(PlanEntries, Rule) {
  auto r = plan_rule_from_json("c 195:7 rwm", kPath);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, (CgroupRule{'c', 195, 7, "rwm"}));
  r = plan_rule_from_json("c 4095:* m", kPath);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, (CgroupRule{'c', 4095, -1, "m"}));
  r = plan_rule_from_json("c 1:1048575 r", kPath);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->minor, 0xfffff);

  for (const char* bad : {"c 195:7", "c 195:7 ", "c  195:7 r", "b 8:0 r", "c *:* rwm", "c 195 r", "c 195:7:1 r",
                          "c 0:1 r", "c 4096:1 r", "c 195:1048576 r", "c 195:x r", "c 195:7 rwx", "c 195:7 r w"}) {
    auto e = plan_rule_from_json(bad, kPath);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().message(), "parse '" + kPath + "': cgroup_rules: bad rule '" + bad + "'");
  }
  auto e = plan_rule_from_json(json::array(), kPath);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(), "parse '" + kPath + "': cgroup_rules: entries must be strings");
}

TEST(ValidDevPath, Cases) {
  EXPECT_TRUE(valid_dev_path("/dev/nvidia0"));
  EXPECT_TRUE(valid_dev_path("/dev/nvidia-caps/nvidia-cap12"));
  EXPECT_FALSE(valid_dev_path("/dev"));
  EXPECT_FALSE(valid_dev_path("/dev/"));
  EXPECT_FALSE(valid_dev_path("/dev//nvidia0"));
  EXPECT_FALSE(valid_dev_path("/dev/nvidia0/"));
  EXPECT_FALSE(valid_dev_path("/dev/.."));
  EXPECT_FALSE(valid_dev_path("/dev/./x"));
  EXPECT_FALSE(valid_dev_path("/dev/a/../../etc"));
  EXPECT_FALSE(valid_dev_path("/devices/x"));
  EXPECT_FALSE(valid_dev_path("/sys/dev/x"));
  EXPECT_FALSE(valid_dev_path("/dev/nvidia 0"));
  EXPECT_FALSE(valid_dev_path("/dev/nvidia\n0"));
  EXPECT_FALSE(valid_dev_path("/dev/" + std::string(300, 'a')));
  EXPECT_FALSE(valid_dev_path("/dev/a/b/c/d"));
}

}  // namespace
}  // namespace phx
