// The topology of an indexed inventory: for every node its domain at each level, the nodes under
// any domain, the parent chain between levels, and hop distances through the switch fabric.
//
// The fabric is a Boost graph whose vertices are the switches followed by the nodes; a node hangs
// off its leaf, a leaf off its uplinks. Domains at each level are dense integer ids, so the solver's
// hot loops index arrays instead of hashing names. Every query below is O(1) or O(answer), except
// HopDistance, which is O(number of non-leaf switches) thanks to distances precomputed from every
// non-leaf switch (exact for leaf-spine and multi-tier Clos fabrics, where every path between two
// leaves that are not directly cabled climbs through a non-leaf switch).
//
// Domain rules: nvlink = the node itself, or consecutive nodes of one class in one rack when the
// class's nvlinkDomainSize exceeds its GPU count (e.g. 72-GPU racks of 4-GPU nodes); leaf = the
// node's leaf switch; rack; row = the rack's row (row names are scoped to their site: two sites may
// each have a "row-1"; a rack that names no row is a row of its own, named after the rack); pod =
// the rack's pod, else the leaf's pod, else the site; spine = the set of spines the node's leaf
// uplinks to (leaves with the same uplinks share it); site; powerDomain. FindDomain finds a row by
// name in the first site that has it.
//
// Thread safety: immutable after Build(); share freely.
#pragma once

#include <array>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "model/entities.h"
#include "model/node_states.h"
#include "model/request.h"
#include "model/status.h"

namespace topoplace {

class Topology {
 public:
  // Vertices: [0, switches) are switches in inventory order, [switches, switches + nodes) nodes.
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS>;

  // Needs inv.indexed(). The inventory must outlive the Topology (see Snapshot).
  static Result<Topology> Build(const Inventory& inv);

  int NodeCount() const { return node_count_; }
  int DomainOf(int node, Level level) const { return domain_of_[Idx(level)][node]; }
  std::span<const int> NodesIn(Level level, int domain) const;
  int DomainCount(Level level) const { return static_cast<int>(names_[Idx(level)].size()); }
  const std::string& DomainName(Level level, int domain) const { return names_[Idx(level)][domain]; }
  int FindDomain(Level level, std::string_view name) const;  // -1 when absent
  // The domain at `upper` that contains `domain` at `lower` (every node of a lower domain shares its
  // upper domain for the chains LevelsAbove() lists); -1 if the pair is not a chain.
  int ParentDomain(Level lower, int domain, Level upper) const;

  // Hops through the fabric: 0 for the same node, 2 under one leaf, 2 + leaf-to-leaf hops otherwise;
  // -1 when not connected.
  int HopDistance(int node_a, int node_b) const;
  int LeafDistance(int leaf_switch_a, int leaf_switch_b) const;

  const Graph& graph() const { return *graph_; }

 private:
  static int Idx(Level l) { return static_cast<int>(l); }
  int node_count_ = 0;
  int switch_count_ = 0;
  std::array<std::vector<int>, kLevelCount> domain_of_;
  std::array<std::vector<std::string>, kLevelCount> names_;
  std::array<std::vector<int>, kLevelCount> member_offsets_;  // CSR: size = domains + 1
  std::array<std::vector<int>, kLevelCount> members_;
  // Held by pointer: the graph is immutable and large, and adjacency_list copies where it could move.
  std::shared_ptr<const Graph> graph_;
  std::vector<std::vector<int>> switch_neighbours_;  // the switch-only fabric, for distances
  std::vector<int> hubs_;                    // non-leaf switch indices
  std::vector<std::vector<int>> hub_dist_;   // hub_dist_[h][switch] hops, -1 unreachable
};

// The levels strictly above `level` in its hierarchies, nearest first: every domain of `level` lies
// inside one domain of each. Used to break ties in preferred locality ("two leaves under one pod
// beat two leaves under two pods"). nvlink: leaf, rack, row, pod, spine, site; leaf: pod, spine,
// site; rack: row, pod, site; row, pod, spine, powerDomain: site; site: none. Rows and pods are
// not nested in each other (a row may cut across pods), so neither is above the other.
std::span<const Level> LevelsAbove(Level level);

// What the solver reads: an inventory and its topology, both immutable and shared by every
// version of the data centre, and the nodes' live state (model/node_states.h), which each version
// has on its own. The Node::state, holder and exclusive fields of `inventory` are the values it was
// written with; what a node is now is `states`, and solver/ reads only that.
//
// Copying a Snapshot copies two pointers and the blocks of NodeStates: cheap at any size. A new
// state of a few nodes is a copy with `states` changed (see WithStates).
class Snapshot {
 public:
  Snapshot(std::shared_ptr<const Inventory> inventory, std::shared_ptr<const Topology> topology,
           NodeStates states);
  Snapshot(const Snapshot& other);
  Snapshot& operator=(const Snapshot&) = delete;

  const Inventory& inventory;
  const Topology& topology;
  NodeStates states;

  // This inventory and topology with other node states.
  std::shared_ptr<const Snapshot> WithStates(NodeStates states) const;

 private:
  std::shared_ptr<const Inventory> inventory_owner_;
  std::shared_ptr<const Topology> topology_owner_;
};

// Indexes `inv` (if needed) and builds its topology; the node states are the inventory's own.
Result<std::shared_ptr<const Snapshot>> MakeSnapshot(Inventory inv);

}  // namespace topoplace
