// Private to solver/: the candidates of a prepared request in groups of interchangeable nodes, and
// the one greedy fill over those groups. The heuristic searches on them, the ILP has one integer
// count per group, and both build placements with the same fill.
//
// The key. Two candidates share a group when nothing the request's constraints or the objective
// can see tells them apart:
//   1. their domain at every level of GroupLevels(p), in that order: the locality level (leaf
//      when the request names none) and the levels above it (LevelsAbove()), the spread level,
//      then rack and leaf (the fragmentation term looks at both);
//   2. their node class (cost, GPUs and every quota resource come from it);
//   3. whether they are in the request's current placement (the moves term);
//   4. for a preempting request, the victims that must be evicted to use them (PreemptionSpace).
// The leaf vendor (RoCE) is a function of the leaf, so it needs no place in the key. Groups are
// sorted by the key in that order, so the groups of one domain of the first level are contiguous;
// within a group nodes ascend, and a placement that takes n nodes of a group takes its first n.
// For a gpus request, candidates without GPUs are left out: such a node is always redundant.
//
// Repairs use the same groups and the same fill: the kept nodes are the request's current ones
// (their own groups, never filled), and GreedyFill::Keep() makes the fill start from them.
//
// Thread safety: immutable after construction; GreedyFill is per thread (it keeps scratch state).
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "solver/backend.h"

namespace topoplace {

struct NodeGroup {
  int begin = 0, end = 0;  // range in NodeGroups::nodes()
  int key_at = 0;          // its domains, one per GroupLevels() entry: NodeGroups::Domain()
  int node_class = 0;
  bool current = false;
  int needs = 0;  // PreemptionSpace::need_sets index (0: nothing to evict)
  int vendor = 0;  // index into NodeGroups::vendors()
  int gpus = 0;
  double cost = 0;  // class cost per hour
  // weights.cost * cost + weights.moves when not current: what one more node of it always adds.
  double base = 0;
  bool free_rack = false, free_leaf = false;  // PreparedRequest::free_rack / free_leaf of it
  int Size() const { return end - begin; }
};

// What opening domain `d` of `level` adds to the objective (EvaluateObjective(), prepared.h): the
// domains weight at the request's locality level, domains_above at each level above it, and the
// fragmentation weight for a free rack or a free leaf.
double DomainOpeningCost(const PreparedRequest& p, Level level, int d);

// The levels whose domains are part of the key (see above), without repeats.
std::vector<Level> GroupLevels(const PreparedRequest& p);

class NodeGroups {
 public:
  explicit NodeGroups(const PreparedRequest& p);

  const std::vector<Level>& levels() const { return levels_; }
  // The position of `level` in levels(); -1 when it is not part of the key.
  int Slot(Level level) const;
  int Domain(const NodeGroup& g, int slot) const { return domains_[g.key_at + slot]; }
  // The key's first level: the request's locality level, or leaf.
  Level first_level() const { return levels_.front(); }

  const std::vector<NodeGroup>& groups() const { return groups_; }
  const std::vector<int>& nodes() const { return nodes_; }
  std::span<const int> NodesOf(const NodeGroup& g) const {
    return {nodes_.data() + g.begin, static_cast<size_t>(g.Size())};
  }
  const std::vector<std::string>& vendors() const { return vendors_; }
  // The group of a node; -1 when the node is not in any (not a candidate, or left out).
  int GroupOf(int node) const;
  // The nodes that `counts` (one per group) stands for: the first counts[g] of each group, sorted.
  std::vector<int> Take(std::span<const int> counts) const;

 private:
  std::vector<Level> levels_;
  std::vector<NodeGroup> groups_;
  std::vector<int> nodes_;    // candidates, group by group
  std::vector<int> domains_;  // levels_.size() per group
  std::vector<int> group_of_;
  std::vector<std::string> vendors_;
};

// What the fill ranks nodes by: the marginal objective alone, the class cost first (a backup
// when the objective-first fill misses the budget), or the most GPUs per node first (a gpus
// request's repair: the fewest replacements that reach the GPUs again).
enum class FillOrder { kObjective, kCostFirst, kGpusFirst };

// The one greedy fill. It picks k nodes from a set of groups one at a time, each time from the
// group whose marginal objective is least (its base, plus the locality-domain, domains-above,
// free-rack and free-leaf terms the node would open), honouring on the way the spread cap and
// minDomains, at most `max_loc_domains` domains of the first level, and optionally a number of
// nodes per GPU size. Ties go to the group nearest the kept nodes (see Keep()), then to the lower
// group id. It does not check roce: callers pass a set within one vendor. Headroom is checked
// on the answer (CheckPrepared()) unless CheckHeadroom() asks for it at every step.
class GreedyFill {
 public:
  GreedyFill(const PreparedRequest& p, const NodeGroups& groups);

  // Makes every later Fill() start from `kept` (sorted node ids, e.g. a repair's surviving nodes;
  // empty: start from nothing). The fill never returns them, but they are part of the placement
  // it builds: their locality, above, rack and leaf domains count as open (a node there adds no
  // domain or fragmentation term, and `max_loc_domains` counts only domains beyond theirs), they
  // count towards the spread cap (of kept + k nodes) and minDomains and towards the headroom, and
  // among groups of equal marginal the one whose leaf is fewest hops from a kept node's leaf
  // comes first, so new nodes gather near them.
  void Keep(std::span<const int> kept);
  // Hops from the leaf of group `g` to the nearest kept node's leaf: 0 without kept nodes, the
  // largest int when no kept leaf reaches it.
  int HopsFromKept(int g) const { return hops_.empty() ? 0 : hops_[g]; }
  // When on, Fill() takes a node only while the placement (kept nodes included) stays within the
  // request's headroom (PreparedRequest::headroom: nodes, GPUs, cores, memory, storage, cost).
  void CheckHeadroom(bool on) { check_headroom_ = on; }

  // Distinct GPU counts per node among the groups, descending; `GpuSize(g)` indexes into it.
  const std::vector<int>& gpu_sizes() const { return gpu_sizes_; }
  int GpuSize(int group) const { return gpu_size_[group]; }

  // k nodes from the groups `set` (group ids); nullopt when the limits stop the fill first.
  // `per_size` (may be null): how many nodes of each GPU size (gpu_sizes() order) to take.
  // With kept nodes (Keep()) the k nodes are the new ones only, in the order taken.
  std::optional<std::vector<int>> Fill(std::span<const int> set, int k, FillOrder order,
                                       int max_loc_domains, const std::vector<int>* per_size);

  // The fill over every group, within maxDomains when locality is required, objective first and
  // then cost first: a starting placement for a search; nullopt when both miss.
  std::optional<std::vector<int>> FillAll(int k);

 private:
  // Lists group ids per domain of one level (CSR), over all groups.
  struct GroupIndex {
    std::vector<int> offsets, members;
    std::span<const int> Of(int d) const {
      return {members.data() + offsets[d], static_cast<size_t>(offsets[d + 1] - offsets[d])};
    }
  };
  // A flag/counter array that resets only the entries it touched.
  struct Marks {
    std::vector<int> value;
    std::vector<int> touched;
    void Init(size_t n) { value.assign(n, 0); }
    int Get(int i) const { return value[i]; }
    void Add(int i, int delta = 1) {
      if (value[i] == 0) touched.push_back(i);
      value[i] += delta;
    }
    void Reset() {
      for (int i : touched) value[i] = 0;
      touched.clear();
    }
  };

  // The resources of the nodes a fill has placed so far, kept nodes included, in the order of
  // limits_: nodes, GPUs, cores, memory, storage, cost per hour.
  using Load = std::array<double, 6>;
  bool Fits(const Load& load, const NodeClass& c) const;

  GroupIndex Index(int slot, int domains) const;
  double Marginal(int g) const;
  // Opens the kept nodes' domains and counts them in the spread counters and `load`; returns the
  // spread domains they use.
  int OpenKept(Load& load);
  void Reset();

  const PreparedRequest& p_;
  const NodeGroups& ng_;
  bool has_locality_ = false, spread_ = false;
  int loc_slot_ = 0, rack_slot_ = 0, leaf_slot_ = 0, spread_slot_ = -1;
  std::vector<int> above_slots_;
  std::vector<int> gpu_sizes_, gpu_size_;
  GroupIndex by_loc_, by_rack_, by_leaf_;
  std::vector<GroupIndex> by_above_;
  Marks loc_open_, rack_open_, leaf_open_, spread_count_, taken_, in_set_;
  std::vector<Marks> above_open_;
  std::vector<int> kept_;  // Keep()
  std::vector<int> hops_;  // per group; empty without kept nodes
  bool check_headroom_ = false;
  std::array<std::optional<double>, 6> limits_;  // p.headroom, as a Load
};

}  // namespace topoplace
