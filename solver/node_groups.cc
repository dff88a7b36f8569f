// Groups of interchangeable candidates and the greedy fill over them (node_groups.h).
#include "solver/node_groups.h"

#include <algorithm>
#include <limits>
#include <queue>
#include <utility>

#include "solver/prepared.h"

namespace topoplace {

namespace {

constexpr double kEps = 1e-9;

void AddLevel(std::vector<Level>& levels, Level level) {
  if (std::find(levels.begin(), levels.end(), level) == levels.end()) levels.push_back(level);
}

void Add(std::array<double, 6>& load, const NodeClass& c) {
  const std::array<double, 6> r = NodeResources(c);
  for (size_t i = 0; i < load.size(); ++i) load[i] += r[i];
}

}  // namespace

double DomainOpeningCost(const PreparedRequest& p, Level level, int d) {
  const ObjectiveWeights& w = p.weights;
  double c = 0;
  if (p.request->locality) {
    const Level loc = p.request->locality->level;
    if (level == loc) c += w.domains;
    for (Level above : LevelsAbove(loc)) c += level == above ? w.domains_above : 0;
  }
  if (level == Level::kRack && p.free_rack[d]) c += w.fragmentation;
  if (level == Level::kLeaf && p.free_leaf[d]) c += w.fragmentation;
  return c;
}

std::vector<Level> GroupLevels(const PreparedRequest& p) {
  const Request& r = *p.request;
  std::vector<Level> levels;
  AddLevel(levels, r.locality ? r.locality->level : Level::kLeaf);
  if (r.locality) {
    for (Level above : LevelsAbove(r.locality->level)) AddLevel(levels, above);
  }
  if (p.mask.spread && r.spread) AddLevel(levels, r.spread->level);
  AddLevel(levels, Level::kRack);
  AddLevel(levels, Level::kLeaf);
  return levels;
}

NodeGroups::NodeGroups(const PreparedRequest& p) : levels_(GroupLevels(p)) {
  const Inventory& inv = p.inventory();
  const Topology& topo = p.topology();
  const bool gpu_request = p.request->gpus.has_value();
  const size_t width = levels_.size() + 3;  // domains, class, not-current, victims needed
  // One flat row per candidate: its key, then the node; sorting the rows sorts by key, then node.
  std::vector<int> rows;
  rows.reserve(p.candidates.size() * (width + 1));
  for (int node : p.candidates) {
    if (gpu_request && inv.ClassOf(node).gpu.count <= 0) continue;
    for (Level level : levels_) rows.push_back(topo.DomainOf(node, level));
    rows.push_back(inv.NodeClassOf(node));
    rows.push_back(std::binary_search(p.current.begin(), p.current.end(), node) ? 0 : 1);
    rows.push_back(p.preemption ? std::max(0, p.preemption->need_of[node]) : 0);
    rows.push_back(node);
  }
  const size_t stride = width + 1;
  const size_t count = rows.size() / stride;
  std::vector<int> order(count);
  for (size_t i = 0; i < count; ++i) order[i] = static_cast<int>(i);
  auto row = [&](int i) { return rows.begin() + static_cast<ptrdiff_t>(i * stride); };
  auto less = [&](int a, int b) {
    return std::lexicographical_compare(row(a), row(a) + static_cast<ptrdiff_t>(stride), row(b),
                                        row(b) + static_cast<ptrdiff_t>(stride));
  };
  // Inventories are usually written rack by rack, so candidates in node order are often already in
  // key order (domain ids follow the nodes): one linear check saves the sort at 100,000 nodes.
  if (!std::is_sorted(order.begin(), order.end(), less))
    std::sort(order.begin(), order.end(), less);

  group_of_.assign(inv.nodes.size(), -1);
  nodes_.reserve(count);
  const ObjectiveWeights& w = p.weights;
  const int rack_slot = Slot(Level::kRack), leaf_slot = Slot(Level::kLeaf);
  for (size_t i = 0; i < count; ++i) {
    const auto key = row(order[i]);
    const int node = key[static_cast<ptrdiff_t>(width)];
    const bool same =
        i > 0 && std::equal(key, key + static_cast<ptrdiff_t>(width), row(order[i - 1]));
    if (!same) {
      NodeGroup g;
      g.begin = static_cast<int>(nodes_.size());
      g.key_at = static_cast<int>(domains_.size());
      domains_.insert(domains_.end(), key, key + static_cast<ptrdiff_t>(levels_.size()));
      g.node_class = key[static_cast<ptrdiff_t>(levels_.size())];
      g.current = key[static_cast<ptrdiff_t>(levels_.size()) + 1] == 0;
      g.needs = key[static_cast<ptrdiff_t>(levels_.size()) + 2];
      const NodeClass& c = inv.node_classes[g.node_class];
      g.gpus = c.gpu.count;
      g.cost = c.cost_per_hour;
      g.base = w.cost * c.cost_per_hour + (g.current ? 0.0 : w.moves);
      g.free_rack = p.free_rack[key[rack_slot]] != 0;
      g.free_leaf = p.free_leaf[key[leaf_slot]] != 0;
      const std::string& vendor = LeafVendor(inv, node);
      auto it = std::find(vendors_.begin(), vendors_.end(), vendor);
      g.vendor = static_cast<int>(it - vendors_.begin());
      if (it == vendors_.end()) vendors_.push_back(vendor);
      groups_.push_back(g);
    }
    nodes_.push_back(node);
    groups_.back().end = static_cast<int>(nodes_.size());
    group_of_[node] = static_cast<int>(groups_.size()) - 1;
  }
}

int NodeGroups::Slot(Level level) const {
  for (size_t i = 0; i < levels_.size(); ++i) {
    if (levels_[i] == level) return static_cast<int>(i);
  }
  return -1;
}

int NodeGroups::GroupOf(int node) const {
  return node >= 0 && node < static_cast<int>(group_of_.size()) ? group_of_[node] : -1;
}

std::vector<int> NodeGroups::Take(std::span<const int> counts) const {
  std::vector<int> out;
  for (size_t g = 0; g < groups_.size() && g < counts.size(); ++g) {
    const std::span<const int> members = NodesOf(groups_[g]);
    const int take = std::clamp(counts[g], 0, static_cast<int>(members.size()));
    out.insert(out.end(), members.begin(), members.begin() + take);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// --- the greedy fill ----------------------------------------------------------------------------

GreedyFill::GreedyFill(const PreparedRequest& p, const NodeGroups& groups) : p_(p), ng_(groups) {
  const Request& r = *p.request;
  const Topology& topo = p.topology();
  has_locality_ = r.locality.has_value();
  spread_ = p.mask.spread && r.spread.has_value();
  loc_slot_ = 0;
  rack_slot_ = ng_.Slot(Level::kRack);
  leaf_slot_ = ng_.Slot(Level::kLeaf);
  if (spread_) spread_slot_ = ng_.Slot(r.spread->level);
  if (has_locality_) {
    for (Level above : LevelsAbove(r.locality->level)) above_slots_.push_back(ng_.Slot(above));
  }
  const std::vector<NodeGroup>& gs = ng_.groups();
  for (const NodeGroup& g : gs) gpu_sizes_.push_back(g.gpus);
  std::sort(gpu_sizes_.begin(), gpu_sizes_.end(), std::greater<>());
  gpu_sizes_.erase(std::unique(gpu_sizes_.begin(), gpu_sizes_.end()), gpu_sizes_.end());
  gpu_size_.reserve(gs.size());
  for (const NodeGroup& g : gs) {
    gpu_size_.push_back(static_cast<int>(std::find(gpu_sizes_.begin(), gpu_sizes_.end(), g.gpus) -
                                         gpu_sizes_.begin()));
  }
  const int loc_domains = topo.DomainCount(ng_.first_level());
  by_loc_ = Index(loc_slot_, loc_domains);
  by_rack_ = Index(rack_slot_, topo.DomainCount(Level::kRack));
  by_leaf_ = Index(leaf_slot_, topo.DomainCount(Level::kLeaf));
  loc_open_.Init(loc_domains);
  rack_open_.Init(topo.DomainCount(Level::kRack));
  leaf_open_.Init(topo.DomainCount(Level::kLeaf));
  for (int slot : above_slots_) {
    const int domains = topo.DomainCount(ng_.levels()[slot]);
    by_above_.push_back(Index(slot, domains));
    above_open_.emplace_back().Init(domains);
  }
  if (spread_) spread_count_.Init(topo.DomainCount(r.spread->level));
  taken_.Init(gs.size());
  in_set_.Init(gs.size());
  const Headroom& h = p.headroom;
  auto limit = [](const auto& v) -> std::optional<double> {
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
  };
  limits_ = {limit(h.nodes),      limit(h.gpus),        limit(h.cpu_cores),
             limit(h.memory_gib), limit(h.storage_gib), limit(h.cost_per_hour)};
}

GreedyFill::GroupIndex GreedyFill::Index(int slot, int domains) const {
  const std::vector<NodeGroup>& gs = ng_.groups();
  GroupIndex index;
  index.offsets.assign(domains + 1, 0);
  for (const NodeGroup& g : gs) ++index.offsets[ng_.Domain(g, slot) + 1];
  for (int d = 0; d < domains; ++d) index.offsets[d + 1] += index.offsets[d];
  index.members.assign(gs.size(), 0);
  std::vector<int> fill(index.offsets.begin(), index.offsets.end() - 1);
  for (int i = 0; i < static_cast<int>(gs.size()); ++i)
    index.members[fill[ng_.Domain(gs[i], slot)]++] = i;
  return index;
}

void GreedyFill::Keep(std::span<const int> kept) {
  kept_.assign(kept.begin(), kept.end());
  hops_.clear();
  if (kept_.empty()) return;
  const Inventory& inv = p_.inventory();
  const Topology& topo = p_.topology();
  std::vector<int> kept_leaves;
  for (int node : kept_) kept_leaves.push_back(inv.LeafOf(node));
  std::sort(kept_leaves.begin(), kept_leaves.end());
  kept_leaves.erase(std::unique(kept_leaves.begin(), kept_leaves.end()), kept_leaves.end());
  const std::vector<NodeGroup>& gs = ng_.groups();
  hops_.reserve(gs.size());
  for (const NodeGroup& g : gs) {
    const int leaf = inv.LeafOf(ng_.nodes()[g.begin]);
    int nearest = std::numeric_limits<int>::max();
    for (int kept_leaf : kept_leaves) {
      const int d = topo.LeafDistance(kept_leaf, leaf);
      if (d >= 0) nearest = std::min(nearest, d);
    }
    hops_.push_back(nearest);
  }
}

bool GreedyFill::Fits(const Load& load, const NodeClass& c) const {
  const Load r = NodeResources(c);
  for (size_t i = 0; i < load.size(); ++i) {
    // Counts are whole numbers (exact in a double); memory, storage and money get the tolerance.
    const double tolerance = i < 3 ? 0.0 : kCostTolerance;
    if (limits_[i] && load[i] + r[i] > *limits_[i] + tolerance) return false;
  }
  return true;
}

int GreedyFill::OpenKept(Load& load) {
  const Inventory& inv = p_.inventory();
  const Topology& topo = p_.topology();
  const std::vector<Level>& levels = ng_.levels();
  int spread_used = 0;
  for (int node : kept_) {
    auto open = [&](Marks& marks, int slot) {
      const int d = topo.DomainOf(node, levels[slot]);
      if (marks.Get(d) == 0) marks.Add(d);
    };
    open(loc_open_, loc_slot_);
    open(rack_open_, rack_slot_);
    open(leaf_open_, leaf_slot_);
    for (size_t a = 0; a < above_slots_.size(); ++a) open(above_open_[a], above_slots_[a]);
    if (spread_) {
      const int d = topo.DomainOf(node, levels[spread_slot_]);
      if (spread_count_.Get(d) == 0) ++spread_used;
      spread_count_.Add(d);
    }
    Add(load, inv.ClassOf(node));
  }
  return spread_used;
}

double GreedyFill::Marginal(int gi) const {
  const NodeGroup& g = ng_.groups()[gi];
  const ObjectiveWeights& w = p_.weights;
  double m = g.base;
  if (has_locality_) {
    if (loc_open_.Get(ng_.Domain(g, loc_slot_)) == 0) m += w.domains;
    for (size_t a = 0; a < above_slots_.size(); ++a) {
      if (above_open_[a].Get(ng_.Domain(g, above_slots_[a])) == 0) m += w.domains_above;
    }
  }
  if (g.free_rack && rack_open_.Get(ng_.Domain(g, rack_slot_)) == 0) m += w.fragmentation;
  if (g.free_leaf && leaf_open_.Get(ng_.Domain(g, leaf_slot_)) == 0) m += w.fragmentation;
  return m;
}

std::optional<std::vector<int>> GreedyFill::Fill(std::span<const int> set, int k, FillOrder order,
                                                 int max_loc_domains,
                                                 const std::vector<int>* per_size) {
  const std::vector<NodeGroup>& gs = ng_.groups();
  const Request& r = *p_.request;
  std::vector<int> size_left = per_size != nullptr ? *per_size : std::vector<int>{};
  struct Entry {
    double primary, marginal;
    int hops, group;
    bool operator>(const Entry& o) const {
      if (primary != o.primary) return primary > o.primary;
      if (marginal != o.marginal) return marginal > o.marginal;
      if (hops != o.hops) return hops > o.hops;
      return group > o.group;
    }
  };
  auto primary = [&](int g) {
    switch (order) {
      case FillOrder::kObjective: return 0.0;
      case FillOrder::kCostFirst: return gs[g].cost;
      case FillOrder::kGpusFirst: return -static_cast<double>(gs[g].gpus);
    }
    return 0.0;
  };
  Load load{};
  int spread_used = OpenKept(load);  // before the marginals: kept domains are open
  std::vector<Entry> heap_storage;
  heap_storage.reserve(set.size());
  for (int g : set) {
    in_set_.Add(g);
    heap_storage.push_back({primary(g), Marginal(g), HopsFromKept(g), g});
  }
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap(std::greater<>(),
                                                                      std::move(heap_storage));
  auto push = [&](int g) {
    if (in_set_.Get(g) && taken_.Get(g) < gs[g].Size())
      heap.push({primary(g), Marginal(g), HopsFromKept(g), g});
  };
  // Re-queues the groups of one newly opened domain: the smaller of the set and the domain list.
  auto push_domain = [&](std::span<const int> members, int slot, int d) {
    if (set.size() < members.size()) {
      for (int g : set) {
        if (ng_.Domain(gs[g], slot) == d) push(g);
      }
    } else {
      for (int g : members) push(g);
    }
  };

  const int total = static_cast<int>(kept_.size()) + k;
  const std::optional<int> cap = spread_ ? r.spread->CapFor(total) : std::nullopt;
  const int min_domains = spread_ && r.spread->min_domains ? *r.spread->min_domains : 0;
  int need = k, loc_used = 0;
  std::vector<int> chosen;
  chosen.reserve(k);
  while (need > 0 && !heap.empty()) {
    const Entry e = heap.top();
    heap.pop();
    const NodeGroup& g = gs[e.group];
    if (taken_.Get(e.group) >= g.Size()) continue;
    if (Marginal(e.group) < e.marginal - kEps) continue;  // stale: a cheaper entry is queued
    const int spread_domain = spread_ ? ng_.Domain(g, spread_slot_) : 0;
    if (spread_) {
      const int in_domain = spread_count_.Get(spread_domain);
      if (cap && in_domain >= *cap) continue;
      if (in_domain > 0 && need <= min_domains - spread_used) continue;
    }
    const int loc = ng_.Domain(g, loc_slot_);
    const bool new_loc = loc_open_.Get(loc) == 0;
    if (new_loc && loc_used >= max_loc_domains) continue;
    if (per_size != nullptr && size_left[gpu_size_[e.group]] == 0) continue;
    const NodeClass& node_class = p_.inventory().node_classes[g.node_class];
    // Totals only grow, so a group that does not fit now never will.
    if (check_headroom_ && !Fits(load, node_class)) continue;
    if (per_size != nullptr) --size_left[gpu_size_[e.group]];
    Add(load, node_class);

    chosen.push_back(ng_.nodes()[g.begin + taken_.Get(e.group)]);
    taken_.Add(e.group);
    --need;
    if (spread_) {
      if (spread_count_.Get(spread_domain) == 0) ++spread_used;
      spread_count_.Add(spread_domain);
    }
    if (new_loc) {
      ++loc_used;
      loc_open_.Add(loc);
      if (has_locality_) push_domain(by_loc_.Of(loc), loc_slot_, loc);
    }
    for (size_t a = 0; a < above_slots_.size(); ++a) {
      const int d = ng_.Domain(g, above_slots_[a]);
      if (above_open_[a].Get(d) != 0) continue;
      above_open_[a].Add(d);
      push_domain(by_above_[a].Of(d), above_slots_[a], d);
    }
    const int rack = ng_.Domain(g, rack_slot_);
    if (rack_open_.Get(rack) == 0) {
      rack_open_.Add(rack);
      if (g.free_rack) push_domain(by_rack_.Of(rack), rack_slot_, rack);
    }
    const int leaf = ng_.Domain(g, leaf_slot_);
    if (leaf_open_.Get(leaf) == 0) {
      leaf_open_.Add(leaf);
      if (g.free_leaf) push_domain(by_leaf_.Of(leaf), leaf_slot_, leaf);
    }
    push(e.group);
  }
  Reset();
  if (need > 0) return std::nullopt;
  if (spread_used < min_domains) return std::nullopt;
  return chosen;
}

std::optional<std::vector<int>> GreedyFill::FillAll(int k) {
  const Request& r = *p_.request;
  const bool required =
      p_.mask.locality && r.locality && r.locality->mode == LocalityMode::kRequired;
  const int max_loc = required ? r.locality->max_domains : std::numeric_limits<int>::max();
  std::vector<int> all(ng_.groups().size());
  for (size_t g = 0; g < all.size(); ++g) all[g] = static_cast<int>(g);
  for (FillOrder order : {FillOrder::kObjective, FillOrder::kCostFirst}) {
    std::optional<std::vector<int>> nodes = Fill(all, k, order, max_loc, nullptr);
    if (nodes && CheckPrepared(p_, *nodes).empty()) return nodes;
  }
  return std::nullopt;
}

void GreedyFill::Reset() {
  loc_open_.Reset();
  rack_open_.Reset();
  leaf_open_.Reset();
  for (auto& m : above_open_) m.Reset();
  spread_count_.Reset();
  taken_.Reset();
  in_set_.Reset();
}

}  // namespace topoplace
