// Load -> dump -> load gives the same scenario: for every example scenario, for generated data
// centres, and for values that are easy to get wrong in YAML (strings that look like numbers,
// nulls or booleans; quotes and colons; doubles that need all their digits).
#include <gtest/gtest.h>

#include <filesystem>

#include "inventory/generator.h"
#include "inventory/scenario_codec.h"
#include "tests/inventory/test_files.h"

namespace topoplace {
namespace {

namespace fs = std::filesystem;

// Dumps, reloads and compares; also checks that dumping the reloaded scenario gives the same text.
void ExpectRoundTrip(const Scenario& s, const std::string& what) {
  const std::string yaml = DumpScenario(s);
  Result<Scenario> again = LoadScenarioString(yaml, what + " (dumped)");
  ASSERT_TRUE(again.ok()) << what << ":\n" << again.status().message();
  EXPECT_TRUE(*again == s) << what << ": the reloaded scenario differs";
  EXPECT_EQ(DumpScenario(*again), yaml) << what;
}

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> files;
  for (const auto& entry :
       fs::directory_iterator(fs::path(testing_files::SourceDir()) / "scenarios")) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class ScenarioFileRoundTripTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioFileRoundTripTest, DumpThenLoadGivesTheSameScenario) {
  const Result<Scenario>& s = testing_files::ExampleScenario(GetParam());
  ASSERT_TRUE(s.ok()) << s.status().message();
  ExpectRoundTrip(*s, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ScenarioFileRoundTripTest, ::testing::ValuesIn(ScenarioFiles()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name = fs::path(param_info.param).stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

struct GeneratedCase {
  std::string label;
  GenerateSpec spec;
};

// Test names and failure messages show the label, not the bytes of the spec.
void PrintTo(const GeneratedCase& c, std::ostream* os) { *os << c.label; }

std::vector<GeneratedCase> GeneratedCases() {
  std::vector<GeneratedCase> cases;
  for (uint64_t seed : {1, 7, 20240601}) {
    GenerateSpec small;
    small.name = "small";
    small.pods = 1;
    small.racks_per_pod = 4;
    small.nodes_per_rack = 8;
    small.allocated = 0.5;
    small.hipaa_racks = 0.25;
    small.seed = seed;
    cases.push_back({"small_seed" + std::to_string(seed), small});

    GenerateSpec mid;
    mid.name = "mid";
    mid.site = "bos";
    mid.jurisdiction = "DE";
    mid.pods = 2;
    mid.racks_per_pod = 32;
    mid.nodes_per_rack = 32;
    mid.racks_per_row = 6;
    mid.power_domains_per_row = 3;
    mid.class_mix = {{"h100x8", 3}, {"gb200x4", 1}, {"l40sx4", 1}, {"cpu", 2}};
    mid.hipaa_racks = 0.1;
    mid.allocated = 0.6;
    mid.maintenance = 0.02;
    mid.failed = 0.01;
    mid.leaf_vendors = {"arista", "nvidia", "cisco"};
    mid.seed = seed;
    cases.push_back({"mid_seed" + std::to_string(seed), mid});
  }
  return cases;
}

class GeneratedRoundTripTest : public ::testing::TestWithParam<GeneratedCase> {};

TEST_P(GeneratedRoundTripTest, DumpThenLoadGivesTheSameDataCentre) {
  Scenario s;
  ASSERT_TRUE(Generate(GetParam().spec, s).ok());
  ExpectRoundTrip(s, GetParam().label);
}

INSTANTIATE_TEST_SUITE_P(SeedsAndSizes, GeneratedRoundTripTest,
                         ::testing::ValuesIn(GeneratedCases()),
                         [](const ::testing::TestParamInfo<GeneratedCase>& param_info) {
                           return param_info.param.label;
                         });

TEST(RoundTripTest, AwkwardStringsAndDoublesSurvive) {
  Scenario s;
  Inventory& inv = s.inventory;
  inv.sites.push_back(
      {"null", "yes", "123", {"true", "-tag", "a: b", "#hash", "quote\"d", "back\\slash"}});
  inv.power_domains.push_back({"pd 1", "null"});
  inv.switches.push_back({"[spine]", SwitchRole::kSpine, "ven,dor", "null", "", {}, std::nullopt});
  inv.switches.push_back({"leaf{1}",
                          SwitchRole::kLeaf,
                          "",
                          "",
                          "*pod:1",
                          {"[spine]"},
                          SwitchManagement{"ovs: x", "br #0"}});
  inv.racks.push_back({"r&1", "null", "~", "*pod:1", {"pd 1"}, {"hipaa", "tab\there"}});
  NodeClass c;
  c.name = "0x10";
  c.cpu = {7, "model 'x'"};
  c.memory_gib = 0.1 + 0.2;  // 0.30000000000000004: needs 17 digits
  c.storage_gib = 1e-7;
  c.gpu = {"ünïcödé-GPU", 3, 1.0 / 3.0, 0};
  c.cost_per_hour = 123456.789e-3;
  inv.node_classes.push_back(c);
  Node n;
  n.name = "n:1";
  n.node_class = "0x10";
  n.rack = "r&1";
  n.power_domain = "pd 1";
  n.leaf = "leaf{1}";
  n.labels = {{"empty", ""}, {"num", "2.10"}, {"key with space", "v"}, {"multi\nline", "x\ny"}};
  n.bmc = BmcSpec{"redfish", "[::1]:8443", "lab, bmc", "true"};
  n.mac = "0A:0b:0C:0d:0E:0f";
  n.ports = {{"eth0: a", "0a:0b:0c:0d:0e:0f", "leaf{1}", "Ethernet1/1"},
             {"null", "0a:0b:0c:0d:0e:10", "leaf{1}", "123"}};
  inv.networks = NetworkPolicy{1, 2, 4094, "0.0.0.0/0", 30};
  n.state = NodeState::kReserved;
  inv.nodes.push_back(n);
  Node held = n;
  held.name = "n2";
  held.mac.clear();
  held.bmc.reset();
  held.ports.clear();
  held.labels.clear();
  held.state = NodeState::kMaintenance;
  inv.nodes.push_back(held);
  s.tenants.push_back(
      {"t 1", {5, std::nullopt, 99, 1.5, std::nullopt}, {}, {"gdpr"}, 0.25, {0.1, 0.7}});
  s.tenants.back().projects = {{"p: 1", {2, std::nullopt, 50, std::nullopt, 0.5}, {0.5}},
                               {"null", {}, {}}};
  s.allocations.push_back({"a/1", "t 1", "p: 1", {"n2"}, std::nullopt, std::nullopt});
  Request r;
  r.name = "r\"1";
  r.tenant = "t 1";
  r.project = "null";
  r.gpus = 3;
  r.select.classes = {"0x10"};
  r.select.gpu_models = {"*GPU?"};
  r.select.gpu_count = NumericPredicate{NumericPredicate::Op::kNe, 0};
  r.select.memory_gib = NumericPredicate{NumericPredicate::Op::kGt, 0.30000000000000004};
  r.select.cpu_cores = NumericPredicate{NumericPredicate::Op::kLe, 7};
  r.select.storage_gib = NumericPredicate{NumericPredicate::Op::kEq, 1e-7};
  using Op = LabelPredicate::Op;
  r.select.labels = {{"num", Op::kIn, {"2.10"}},         {"empty", Op::kIn, {""}},
                     {"a b", Op::kNotIn, {"x", "null"}}, {"k", Op::kExists, {}},
                     {"z", Op::kDoesNotExist, {}},       {"w", Op::kIn, {"1", "2"}}};
  r.locality = Locality{Level::kNvlink, LocalityMode::kPreferred, 3};
  r.spread = Spread{Level::kSite, 4, 1.0 / 3.0, 2};
  r.compliance = {"gdpr"};
  r.exclusive = Level::kLeaf;
  r.roce = true;
  r.max_cost_per_hour = 0.1;
  r.purpose = Purpose::kSlurm;
  r.priority = -5;
  s.requests.push_back(r);
  Request rows = r;
  rows.name = "rows";
  rows.locality = Locality{Level::kRow, LocalityMode::kRequired, 2};
  rows.spread = Spread{Level::kRow, std::nullopt, 0.5, std::nullopt};
  rows.exclusive.reset();
  rows.purpose = Purpose::kBaremetal;
  rows.priority = 0;
  s.requests.push_back(rows);
  s.ApplyAllocations();
  ASSERT_TRUE(s.inventory.BuildIndex().ok());
  ExpectRoundTrip(s, "awkward");
}

TEST(RoundTripTest, PrioritiesPolicyAndPreemptionSurvive) {
  Result<Scenario> s = LoadScenarioString(R"(apiVersion: topoplace/v1
policy: {preemptAcrossTenants: true}
inventory:
  sites: [{name: s1, region: us-east, jurisdiction: US}]
  powerDomains: [{name: pd, site: s1}]
  switches:
    - {name: spine, role: spine, vendor: arista, site: s1, pod: p1}
    - {name: leaf, role: leaf, vendor: arista, site: s1, pod: p1, uplinks: [spine]}
  racks: [{name: r1, site: s1, row: row-1, pod: p1, powerDomains: [pd]}]
  nodeClasses: [{name: c, cpu: {cores: 8}, memoryGiB: 64, costPerHour: 1}]
  nodes:
    - {name: n1, class: c, rack: r1, powerDomain: pd, leaf: leaf}
    - {name: n2, class: c, rack: r1, powerDomain: pd, leaf: leaf}
    - {name: n3, class: c, rack: r1, powerDomain: pd, leaf: leaf}
tenants: [{name: t}]
allocations:
  - {name: low, tenant: t, nodes: [n1], priority: -3}
  - {name: zero, tenant: t, nodes: [n2], priority: 0}
  - name: recorded
    tenant: t
    nodes: [n3]
    priority: 7
    request: {nodes: 1, priority: 40, preemption: {maxEvictions: 1}}
requests:
  - {name: defaults, tenant: t, nodes: 1, priority: 5, preemption: {}}
  - {name: across, tenant: t, nodes: 2, priority: 9, preemption: {scope: all, maxEvictions: 4}}
  - {name: explicit, tenant: t, nodes: 1, priority: 9, preemption: {policy: lowerPriority, scope: tenant}}
  - {name: none, tenant: t, nodes: 1}
)",
                                          "preemption.yaml");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->allocations.size(), 3u);
  EXPECT_EQ(s->allocations[1].priority, 0) << "an explicit 0 is kept";
  ASSERT_TRUE(s->allocations[2].request.has_value());
  EXPECT_EQ(s->allocations[2].request->preemption, (Preemption{PreemptionScope::kTenant, 1}));
  ExpectRoundTrip(*s, "preemption");
  const std::string yaml = DumpScenario(*s);
  EXPECT_NE(yaml.find("policy: {preemptAcrossTenants: true}"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("preemption: {}"), std::string::npos) << yaml;

  // A scenario that says nothing of preemption writes nothing of it.
  Scenario plain = *s;
  plain.policy = {};
  for (Allocation& a : plain.allocations) {
    a.priority.reset();
    if (a.request) a.request->preemption.reset();
  }
  for (Request& r : plain.requests) r.preemption.reset();
  ExpectRoundTrip(plain, "without preemption");
  const std::string plain_yaml = DumpScenario(plain);
  EXPECT_EQ(plain_yaml.find("policy"), std::string::npos) << plain_yaml;
  EXPECT_EQ(plain_yaml.find("preempt"), std::string::npos) << plain_yaml;
  EXPECT_EQ(plain_yaml.find("priority: 7"), std::string::npos) << plain_yaml;
}

TEST(RoundTripTest, AnEmptyScenarioSurvives) {
  Scenario s;
  ExpectRoundTrip(s, "empty");
}

}  // namespace
}  // namespace topoplace
