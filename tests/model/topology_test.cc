#include "model/topology.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "model/scenario.h"

namespace topoplace {
namespace {

// Two pods; pod-1 has leaves l1, l2 under spines s1, s2; pod-2 has leaf l3 under s3, which with s1
// and s2 hangs off a super-spine. One rack per leaf, two power domains per rack, 4 nodes per rack.
Inventory MakeInventory() {
  Inventory inv;
  inv.sites.push_back({"site-a", "us-east", "US", {}});
  inv.switches.push_back({"core", SwitchRole::kSpine, "arista", "site-a", "", {}, std::nullopt});
  inv.switches.push_back(
      {"s1", SwitchRole::kSpine, "arista", "site-a", "pod-1", {"core"}, std::nullopt});
  inv.switches.push_back(
      {"s2", SwitchRole::kSpine, "arista", "site-a", "pod-1", {"core"}, std::nullopt});
  inv.switches.push_back(
      {"s3", SwitchRole::kSpine, "arista", "site-a", "pod-2", {"core"}, std::nullopt});
  inv.switches.push_back({"l1", SwitchRole::kLeaf, "arista", "", "", {"s1", "s2"}, std::nullopt});
  inv.switches.push_back({"l2", SwitchRole::kLeaf, "arista", "", "", {"s2", "s1"}, std::nullopt});
  inv.switches.push_back({"l3", SwitchRole::kLeaf, "nvidia", "", "", {"s3"}, std::nullopt});
  NodeClass gb;
  gb.name = "gb200";
  gb.gpu = {"GB200", 4, 192, 72};  // 18 nodes per NVLink domain
  NodeClass h100;
  h100.name = "h100x8";
  h100.gpu = {"H100-SXM5-80GB", 8, 80, 8};
  inv.node_classes = {h100, gb};
  const char* racks[] = {"r1", "r2", "r3"};
  const char* leaves[] = {"l1", "l2", "l3"};
  const char* pods[] = {"pod-1", "pod-1", "pod-2"};
  for (int r = 0; r < 3; ++r) {
    std::string a = std::string(racks[r]) + "-a", b = std::string(racks[r]) + "-b";
    inv.power_domains.push_back({a, "site-a"});
    inv.power_domains.push_back({b, "site-a"});
    inv.racks.push_back({racks[r], "site-a", "row-1", pods[r], {a, b}, {}});
    for (int k = 0; k < 4; ++k) {
      Node n;
      n.name = std::string(racks[r]) + "-n" + std::to_string(k);
      n.node_class = r == 2 ? "gb200" : "h100x8";
      n.rack = racks[r];
      n.leaf = leaves[r];
      n.power_domain = k % 2 ? b : a;
      inv.nodes.push_back(n);
    }
  }
  return inv;
}

class TopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto snap = MakeSnapshot(MakeInventory());
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    snap_ = *snap;
  }
  int N(const char* name) const { return snap_->inventory.NodeIndex(name); }
  const Topology& T() const { return snap_->topology; }
  std::shared_ptr<const Snapshot> snap_;
};

TEST_F(TopologyTest, DomainsPerLevel) {
  EXPECT_EQ(T().DomainCount(Level::kLeaf), 3);
  EXPECT_EQ(T().DomainCount(Level::kRack), 3);
  EXPECT_EQ(T().DomainCount(Level::kPod), 2);
  EXPECT_EQ(T().DomainCount(Level::kSite), 1);
  EXPECT_EQ(T().DomainCount(Level::kPowerDomain), 6);
  // l1 and l2 uplink to the same spines (in another order): one spine group; l3 another.
  EXPECT_EQ(T().DomainCount(Level::kSpine), 2);
  EXPECT_EQ(T().DomainOf(N("r1-n0"), Level::kSpine), T().DomainOf(N("r2-n3"), Level::kSpine));
  EXPECT_NE(T().DomainOf(N("r1-n0"), Level::kSpine), T().DomainOf(N("r3-n0"), Level::kSpine));
}

TEST_F(TopologyTest, NvlinkDomainsSpanNodesOnlyForLargeFabrics) {
  // 8-GPU nodes with an 8-GPU NVLink domain: each node alone.
  EXPECT_NE(T().DomainOf(N("r1-n0"), Level::kNvlink), T().DomainOf(N("r1-n1"), Level::kNvlink));
  // 4-GPU nodes with a 72-GPU domain: the whole rack of 4 shares one.
  EXPECT_EQ(T().DomainOf(N("r3-n0"), Level::kNvlink), T().DomainOf(N("r3-n3"), Level::kNvlink));
}

TEST_F(TopologyTest, MembersMatchDomainOf) {
  for (Level l : kAllLevels) {
    int total = 0;
    for (int d = 0; d < T().DomainCount(l); ++d) {
      for (int node : T().NodesIn(l, d)) {
        EXPECT_EQ(T().DomainOf(node, l), d);
        ++total;
      }
      EXPECT_EQ(T().FindDomain(l, T().DomainName(l, d)), d);
    }
    EXPECT_EQ(total, T().NodeCount()) << LevelName(l);
  }
}

TEST_F(TopologyTest, HopDistances) {
  EXPECT_EQ(T().HopDistance(N("r1-n0"), N("r1-n0")), 0);
  EXPECT_EQ(T().HopDistance(N("r1-n0"), N("r1-n3")), 2);  // node-leaf-node
  EXPECT_EQ(T().HopDistance(N("r1-n0"), N("r2-n0")), 4);  // via a shared spine
  EXPECT_EQ(T().HopDistance(N("r1-n0"), N("r3-n0")), 6);  // leaf-spine-core-spine-leaf
  EXPECT_EQ(T().HopDistance(N("r3-n1"), N("r2-n2")), 6);  // symmetric case
}

TEST_F(TopologyTest, ParentsAndLevelsAbove) {
  const int leaf = T().DomainOf(N("r2-n1"), Level::kLeaf);
  EXPECT_EQ(T().DomainName(Level::kPod, T().ParentDomain(Level::kLeaf, leaf, Level::kPod)),
            "pod-1");
  EXPECT_EQ(T().ParentDomain(Level::kPod, 0, Level::kLeaf), -1);  // not upward
  ASSERT_FALSE(LevelsAbove(Level::kLeaf).empty());
  EXPECT_EQ(LevelsAbove(Level::kLeaf).front(), Level::kPod);
  EXPECT_TRUE(LevelsAbove(Level::kSite).empty());
}

TEST_F(TopologyTest, RowsHoldWholeRacksAndSitUnderTheSite) {
  // All three racks name row-1 of site-a, across both pods: one row.
  EXPECT_EQ(T().DomainCount(Level::kRow), 1);
  EXPECT_EQ(T().DomainName(Level::kRow, 0), "row-1");
  EXPECT_EQ(T().DomainOf(N("r1-n0"), Level::kRow), T().DomainOf(N("r3-n3"), Level::kRow));
  const int rack = T().DomainOf(N("r3-n0"), Level::kRack);
  EXPECT_EQ(T().DomainName(Level::kRow, T().ParentDomain(Level::kRack, rack, Level::kRow)),
            "row-1");
  const int row = T().DomainOf(N("r3-n0"), Level::kRow);
  EXPECT_EQ(T().DomainName(Level::kSite, T().ParentDomain(Level::kRow, row, Level::kSite)),
            "site-a");
  // A row may cut across pods, so neither is above the other.
  EXPECT_EQ(T().ParentDomain(Level::kRow, row, Level::kPod), -1);
  const auto above_rack = LevelsAbove(Level::kRack);
  EXPECT_EQ(std::vector<Level>(above_rack.begin(), above_rack.end()),
            (std::vector<Level>{Level::kRow, Level::kPod, Level::kSite}));
  const auto above_nvlink = LevelsAbove(Level::kNvlink);
  EXPECT_NE(std::find(above_nvlink.begin(), above_nvlink.end(), Level::kRow), above_nvlink.end());
  const auto above_row = LevelsAbove(Level::kRow);
  EXPECT_EQ(std::vector<Level>(above_row.begin(), above_row.end()),
            std::vector<Level>{Level::kSite});
  for (Level l : {Level::kLeaf, Level::kPod, Level::kSpine, Level::kPowerDomain}) {
    const auto above = LevelsAbove(l);
    EXPECT_EQ(std::find(above.begin(), above.end(), Level::kRow), above.end()) << LevelName(l);
  }
}

TEST(RowTest, RowNamesAreScopedToTheirSiteAndARacklessRowIsItsOwn) {
  Inventory inv = MakeInventory();
  inv.sites.push_back({"site-b", "eu", "DE", {}});
  inv.power_domains.push_back({"b-pd", "site-b"});
  inv.switches.push_back({"lb", SwitchRole::kLeaf, "arista", "site-b", "pod-b", {}, std::nullopt});
  inv.racks.push_back({"rb", "site-b", "row-1", "pod-b", {"b-pd"}, {}});  // another site's row-1
  inv.racks.push_back({"rc", "site-b", "", "pod-b", {"b-pd"}, {}});       // no row
  for (const char* rack : {"rb", "rc"}) {
    Node n;
    n.name = std::string(rack) + "-n0";
    n.node_class = "h100x8";
    n.rack = rack;
    n.leaf = "lb";
    n.power_domain = "b-pd";
    inv.nodes.push_back(n);
  }
  auto snap = MakeSnapshot(std::move(inv));
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  const Topology& t = (*snap)->topology;
  const Inventory& i = (*snap)->inventory;
  EXPECT_EQ(t.DomainCount(Level::kRow), 3);  // site-a/row-1, site-b/row-1, rc
  const int a = t.DomainOf(i.NodeIndex("r1-n0"), Level::kRow);
  const int b = t.DomainOf(i.NodeIndex("rb-n0"), Level::kRow);
  const int c = t.DomainOf(i.NodeIndex("rc-n0"), Level::kRow);
  EXPECT_NE(a, b);
  EXPECT_EQ(t.DomainName(Level::kRow, b), "row-1");
  EXPECT_NE(c, b);
  EXPECT_EQ(t.DomainName(Level::kRow, c), "rc");
  EXPECT_EQ(t.NodesIn(Level::kRow, c).size(), 1u);
}

TEST(InventoryIndexTest, ReportsEveryDanglingReference) {
  Inventory inv = MakeInventory();
  inv.nodes[0].rack = "r9";
  inv.nodes[1].leaf = "s1";  // a spine
  inv.nodes[2].node_class = "nope";
  inv.nodes.push_back(inv.nodes[3]);  // duplicate name
  Status st = inv.BuildIndex();
  ASSERT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.messages().size(), 4u) << st.message();
  EXPECT_NE(st.message().find("rack \"r9\" does not exist"), std::string::npos);
  EXPECT_NE(st.message().find("is a spine, not a leaf"), std::string::npos);
  EXPECT_FALSE(inv.indexed());
}

TEST(ScenarioTest, AllocationsMarkNodesAndUsage) {
  Scenario s;
  s.inventory = MakeInventory();
  s.tenants.push_back({"lab", {}, {}, {}, {}, {}});
  s.allocations.push_back({"job", "lab", "", {"r1-n0", "r3-n1"}, std::nullopt, std::nullopt});
  s.ApplyAllocations();
  ASSERT_TRUE(s.inventory.BuildIndex().ok());
  const int n0 = s.inventory.NodeIndex("r1-n0");
  EXPECT_EQ(s.inventory.nodes[n0].state, NodeState::kAllocated);
  EXPECT_EQ(s.inventory.nodes[n0].holder, "lab");
  TenantUsage u = UsageOf(s.inventory, "lab");
  EXPECT_EQ(u.nodes, 2);
  EXPECT_EQ(u.gpus, 8 + 4);
}

}  // namespace
}  // namespace topoplace
