// Node state apart from the topology: copies are independent, share storage until they change,
// and a snapshot with new states shares its inventory and topology with the old one.
#include "model/node_states.h"

#include <gtest/gtest.h>

#include <string>

#include "model/scenario.h"
#include "model/topology.h"

namespace topoplace {
namespace {

TEST(NodeStatesTest, StartsFreeAndRecordsHolderStateAndExclusivity) {
  NodeStates s(3);
  ASSERT_EQ(s.size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(s.free(i));
    EXPECT_EQ(s.holder(i), "");
    EXPECT_FALSE(s.exclusive(i).has_value());
  }
  s.Allocate(1, "nlp-lab", Level::kRack);
  EXPECT_FALSE(s.free(1));
  EXPECT_EQ(s.state(1), NodeState::kAllocated);
  EXPECT_EQ(s.holder(1), "nlp-lab");
  EXPECT_EQ(s.exclusive(1), Level::kRack);
  EXPECT_EQ(s.exclusive_count(), 1);
  EXPECT_EQ(s.HolderName(s.FindHolder("nlp-lab")), "nlp-lab");
  EXPECT_EQ(s.FindHolder("cv-lab"), NodeStates::kNoHolder);

  s.SetState(2, NodeState::kMaintenance);
  EXPECT_FALSE(s.free(2)) << "a node in maintenance is not free even though nobody holds it";
  EXPECT_FALSE(s.held(2));

  s.SetGeneration(1, 41);
  s.Free(1);
  EXPECT_TRUE(s.free(1));
  EXPECT_FALSE(s.exclusive(1).has_value());
  EXPECT_EQ(s.exclusive_count(), 0);
  EXPECT_EQ(s.generation(1), 41) << "freeing a node keeps its generation";
}

TEST(NodeStatesTest, CopiesAreIndependentAndShareAllButTheChangedBlock) {
  const int n = 100'000;
  NodeStates original(n);
  original.Allocate(5, "a", std::nullopt);
  NodeStates copy = original;
  EXPECT_EQ(copy.BlocksSharedWith(original), original.block_count());
  EXPECT_GE(original.block_count(), n / 1024);

  copy.Allocate(70'000, "b", Level::kLeaf);  // one block of the copy is now its own
  copy.Free(5);                              // and a second one
  EXPECT_EQ(copy.BlocksSharedWith(original), original.block_count() - 2);
  // The original did not move.
  EXPECT_EQ(original.holder(5), "a");
  EXPECT_TRUE(original.free(70'000));
  EXPECT_EQ(original.FindHolder("b"), NodeStates::kNoHolder);
  // The copy did.
  EXPECT_TRUE(copy.free(5));
  EXPECT_EQ(copy.holder(70'000), "b");
  // Setting a node to what it already is copies nothing.
  NodeStates same = original;
  same.Allocate(5, "a", std::nullopt);
  EXPECT_EQ(same.BlocksSharedWith(original), original.block_count());
}

Inventory SmallInventory() {
  Inventory inv;
  inv.sites.push_back({"s", "r", "US", {}});
  inv.power_domains.push_back({"pd", "s"});
  inv.switches.push_back({"leaf", SwitchRole::kLeaf, "v", "s", "", {}, std::nullopt});
  NodeClass c;
  c.name = "cpu";
  c.cpu.cores = 8;
  inv.node_classes.push_back(c);
  inv.racks.push_back({"r1", "s", "", "", {"pd"}, {}});
  for (int i = 0; i < 4; ++i) {
    Node node;
    node.name = "n" + std::to_string(i);
    node.node_class = "cpu";
    node.rack = "r1";
    node.power_domain = "pd";
    node.leaf = "leaf";
    inv.nodes.push_back(node);
  }
  inv.nodes[1].state = NodeState::kAllocated;
  inv.nodes[1].holder = "lab";
  inv.nodes[3].state = NodeState::kFailed;
  return inv;
}

TEST(NodeStatesTest, SnapshotStartsFromTheInventorysStatesAndSharesItsTopology) {
  auto snap = MakeSnapshot(SmallInventory());
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  const Snapshot& a = **snap;
  EXPECT_EQ(a.states.holder(1), "lab");
  EXPECT_EQ(a.states.state(3), NodeState::kFailed);
  EXPECT_TRUE(a.states.free(0));
  EXPECT_EQ(UsageOf(a.inventory, a.states, "lab").nodes, 1);
  EXPECT_EQ(UsageOf(a.inventory, a.states, "lab").cpu_cores, 8);

  NodeStates next = a.states;
  next.Allocate(0, "lab", std::nullopt);
  auto b = a.WithStates(next);
  EXPECT_EQ(&b->inventory, &a.inventory) << "the inventory is shared, not copied";
  EXPECT_EQ(&b->topology, &a.topology) << "the topology is shared, not rebuilt";
  EXPECT_EQ(UsageOf(b->inventory, b->states, "lab").nodes, 2);
  EXPECT_EQ(UsageOf(a.inventory, a.states, "lab").nodes, 1) << "the old version is unchanged";
  // A copy of a snapshot is a version of its own that still shares the immutable parts.
  Snapshot c(*b);
  c.states.Free(0);
  EXPECT_EQ(&c.inventory, &a.inventory);
  EXPECT_EQ(b->states.holder(0), "lab");
  EXPECT_TRUE(c.states.free(0));
}

}  // namespace
}  // namespace topoplace
