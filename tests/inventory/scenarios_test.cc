// The example scenarios are user documentation that runs: each loads, says what it shows, is listed
// in scenarios/README.md, and has the shape its comment promises.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "inventory/scenario_codec.h"
#include "model/topology.h"
#include "tests/inventory/test_files.h"

namespace topoplace {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string ScenarioPath(std::string_view file) {
  return testing_files::SourceDir() + "/scenarios/" + std::string(file);
}

const Scenario& LoadOrDie(const std::string& file) {
  static const Scenario kEmpty;
  const Result<Scenario>& r = testing_files::ExampleScenario(file);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : kEmpty;
}

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(testing_files::SourceDir() + "/scenarios")) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

double AllocatedShare(const Scenario& s) {
  const auto allocated =
      std::count_if(s.inventory.nodes.begin(), s.inventory.nodes.end(),
                    [](const Node& n) { return n.state == NodeState::kAllocated; });
  return static_cast<double>(allocated) / static_cast<double>(s.inventory.nodes.size());
}

int HipaaRacks(const Scenario& s) {
  return static_cast<int>(
      std::count_if(s.inventory.racks.begin(), s.inventory.racks.end(), [](const Rack& r) {
        return std::find(r.tags.begin(), r.tags.end(), "hipaa") != r.tags.end();
      }));
}

TEST(ScenariosTest, TheDocumentedScenariosExist) {
  EXPECT_THAT(ScenarioFiles(), ::testing::IsSupersetOf({"moc-small.yaml", "hipaa.yaml",
                                                        "dc-10k.yaml", "dc-100k.yaml"}));
}

TEST(ScenariosTest, EveryScenarioLoadsBuildsATopologyAndSaysWhatItShows) {
  const std::string readme =
      testing_files::ReadFile(testing_files::SourceDir() + "/scenarios/README.md");
  for (const std::string& file : ScenarioFiles()) {
    SCOPED_TRACE(file);
    const std::string text = testing_files::ReadFile(ScenarioPath(file));
    EXPECT_EQ(text.rfind("# ", 0), 0u) << "a scenario opens with a comment saying what it shows";
    EXPECT_THAT(readme, HasSubstr(file)) << "scenarios/README.md lists every scenario";
    const Scenario& s = LoadOrDie(file);
    EXPECT_FALSE(s.requests.empty()) << "every scenario has something to solve";
    Result<Topology> topo = Topology::Build(s.inventory);
    EXPECT_TRUE(topo.ok()) << topo.status().message();
  }
}

TEST(ScenariosTest, MocSmallIsASmallTwoPodSiteWithEveryFeatureOnce) {
  const Scenario& s = LoadOrDie("moc-small.yaml");
  const Inventory& inv = s.inventory;
  ASSERT_TRUE(inv.indexed());
  EXPECT_GE(inv.nodes.size(), 80u);
  EXPECT_LE(inv.nodes.size(), 100u);
  EXPECT_EQ(inv.sites.size(), 1u);
  EXPECT_EQ(inv.racks.size(), 12u);
  Result<Topology> topo = Topology::Build(inv);
  ASSERT_TRUE(topo.ok());
  EXPECT_EQ(topo->DomainCount(Level::kPod), 2);
  EXPECT_EQ(topo->DomainCount(Level::kLeaf), 12) << "a leaf per rack";
  EXPECT_EQ(topo->DomainCount(Level::kPowerDomain), 24) << "A and B feeds per rack";
  EXPECT_EQ(HipaaRacks(s), 2);

  // Leaves of the two pods come from different vendors.
  std::map<std::string, std::set<std::string>> vendors_by_pod;
  for (const Switch& sw : inv.switches) vendors_by_pod[sw.pod].insert(sw.vendor);
  ASSERT_EQ(vendors_by_pod.size(), 2u);
  EXPECT_NE(*vendors_by_pod.begin()->second.begin(), *vendors_by_pod.rbegin()->second.begin());

  std::set<std::string> classes;
  for (const NodeClass& c : inv.node_classes) classes.insert(c.name);
  EXPECT_EQ(classes, (std::set<std::string>{"h100x8", "a100x8", "l40sx4", "cpu"}));

  // Racks: some full, some partly used, some free; nodes alternate between the two feeds.
  std::map<std::string, int> used, total;
  int maintenance = 0, failed = 0, labelled = 0;
  for (size_t i = 0; i < inv.nodes.size(); ++i) {
    const Node& n = inv.nodes[i];
    total[n.rack]++;
    used[n.rack] += !n.holder.empty();
    maintenance += n.state == NodeState::kMaintenance;
    failed += n.state == NodeState::kFailed;
    labelled += !n.labels.empty();
    if (i > 0 && inv.nodes[i - 1].rack == n.rack) {
      EXPECT_NE(inv.nodes[i - 1].power_domain, n.power_domain) << n.name;
    }
  }
  int full = 0, partial = 0, free = 0;
  for (const auto& [rack, n] : total) (used[rack] == n ? full : used[rack] == 0 ? free : partial)++;
  EXPECT_GE(full, 1);
  EXPECT_GE(partial, 2);
  EXPECT_GE(free, 4);
  EXPECT_GT(maintenance, 0);
  EXPECT_GT(failed, 0);
  EXPECT_GT(labelled, 0);

  EXPECT_EQ(s.tenants.size(), 3u);
  for (const Tenant& t : s.tenants) {
    EXPECT_TRUE(t.quota.nodes.has_value()) << t.name;
    EXPECT_TRUE(t.budget_per_hour.has_value()) << t.name;
    EXPECT_FALSE(t.alert_at.empty()) << t.name;
  }
  EXPECT_GE(s.requests.size(), 5u);
  EXPECT_TRUE(std::any_of(s.requests.begin(), s.requests.end(),
                          [](const Request& r) { return r.gpus.has_value(); }));
}

TEST(ScenariosTest, MocSmallsImpossibleRequestReallyCannotFit) {
  const Scenario& s = LoadOrDie("moc-small.yaml");
  const int idx = s.RequestIndex("hipaa-big-train");
  ASSERT_GE(idx, 0);
  const Request& r = s.requests[idx];
  ASSERT_TRUE(r.nodes.has_value());
  ASSERT_TRUE(r.locality.has_value());
  EXPECT_EQ(r.locality->level, Level::kLeaf);
  EXPECT_EQ(r.locality->max_domains, 1);
  // The most available H100 nodes under any one leaf of a HIPAA rack.
  std::map<std::string, int> free_per_leaf;
  for (size_t i = 0; i < s.inventory.nodes.size(); ++i) {
    const Node& n = s.inventory.nodes[i];
    const Rack& rack = s.inventory.racks[s.inventory.RackOf(static_cast<int>(i))];
    const bool hipaa = std::find(rack.tags.begin(), rack.tags.end(), "hipaa") != rack.tags.end();
    if (hipaa && n.node_class == "h100x8" && n.state == NodeState::kAvailable)
      free_per_leaf[n.leaf]++;
  }
  int best = 0;
  for (const auto& [leaf, n] : free_per_leaf) best = std::max(best, n);
  EXPECT_GT(best, 0);
  EXPECT_LT(best, *r.nodes);
}

TEST(ScenariosTest, HipaaHasOneTenantThatMayAskForHipaaAndOneThatMayNot) {
  const Scenario& s = LoadOrDie("hipaa.yaml");
  int may = 0, may_not = 0;
  for (const Tenant& t : s.tenants) {
    (std::find(t.compliance.begin(), t.compliance.end(), "hipaa") != t.compliance.end()
         ? may
         : may_not)++;
  }
  EXPECT_EQ(may, 1);
  EXPECT_EQ(may_not, 1);
  EXPECT_GE(HipaaRacks(s), 2);
  EXPECT_LT(HipaaRacks(s), static_cast<int>(s.inventory.racks.size()));
  EXPECT_GE(std::count_if(s.requests.begin(), s.requests.end(),
                          [](const Request& r) { return r.exclusive == Level::kRack; }),
            2);
}

TEST(ScenariosTest, PreemptionHasFullLeavesOfLowerPriorityWorkAndRequestsThatMayEvict) {
  const Scenario& s = LoadOrDie("preemption.yaml");
  EXPECT_TRUE(s.policy.preempt_across_tenants);
  // Each leaf holds at most one free node: nothing of 3 or more nodes fits under a leaf without
  // evicting.
  std::map<std::string, int> free_per_leaf;
  for (const Node& n : s.inventory.nodes) {
    if (n.state == NodeState::kAvailable) ++free_per_leaf[n.leaf];
  }
  for (const auto& [leaf, n] : free_per_leaf) EXPECT_LE(n, 1) << leaf;
  std::set<std::string> tenants;
  for (const Allocation& a : s.allocations) {
    EXPECT_TRUE(a.priority.has_value()) << a.name;
    tenants.insert(a.tenant);
  }
  EXPECT_EQ(tenants.size(), 2u);
  int across = 0;
  for (const Request& r : s.requests) {
    ASSERT_TRUE(r.preemption.has_value()) << r.name;
    ASSERT_TRUE(r.locality.has_value()) << r.name;
    EXPECT_EQ(r.locality->level, Level::kLeaf);
    EXPECT_GE(*r.nodes, 3) << r.name;
    across += r.preemption->scope == PreemptionScope::kAll ? 1 : 0;
  }
  EXPECT_EQ(across, 1);
}

TEST(ScenariosTest, Dc10kHasAboutTenThousandNodesSixtyPercentAllocated) {
  const Scenario& s = LoadOrDie("dc-10k.yaml");
  EXPECT_GE(s.inventory.nodes.size(), 9500u);
  EXPECT_LE(s.inventory.nodes.size(), 10500u);
  EXPECT_NEAR(AllocatedShare(s), 0.6, 0.01);
  EXPECT_GT(HipaaRacks(s), 0);
}

TEST(ScenariosTest, Dc100kHasAboutAHundredThousandNodesSixtyPercentAllocated) {
  const Scenario& s = LoadOrDie("dc-100k.yaml");
  EXPECT_GE(s.inventory.nodes.size(), 95000u);
  EXPECT_LE(s.inventory.nodes.size(), 105000u);
  EXPECT_NEAR(AllocatedShare(s), 0.6, 0.01);
  EXPECT_GT(HipaaRacks(s), 0);
}

}  // namespace
}  // namespace topoplace
