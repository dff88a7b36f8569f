#include "model/topology.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/visitors.hpp>

namespace topoplace {

namespace {

// Assigns dense ids to domains as they are first seen. A domain is known by a key and shown by a
// name; they differ only for rows, whose names are scoped to their site.
class DomainTable {
 public:
  int Intern(const std::string& name, std::vector<std::string>& names) {
    return Intern(name, name, names);
  }
  int Intern(const std::string& key, const std::string& name, std::vector<std::string>& names) {
    auto [it, inserted] = ids_.emplace(key, static_cast<int>(names.size()));
    if (inserted) names.push_back(name);
    return it->second;
  }

 private:
  std::unordered_map<std::string, int> ids_;
};

// Every domain of a level lies inside one domain of each level listed above it. A row holds whole
// racks (a rack names its row) and lies in one site, but may cut across pods, so a rack has both
// its row and its pod above it while a row has only its site.
constexpr Level kAboveNvlink[] = {Level::kLeaf, Level::kRack,  Level::kRow,
                                  Level::kPod,  Level::kSpine, Level::kSite};
constexpr Level kAboveLeaf[] = {Level::kPod, Level::kSpine, Level::kSite};
constexpr Level kAboveRack[] = {Level::kRow, Level::kPod, Level::kSite};
constexpr Level kAboveRow[] = {Level::kSite};
constexpr Level kAbovePod[] = {Level::kSite};
constexpr Level kAboveSpine[] = {Level::kSite};
constexpr Level kAbovePowerDomain[] = {Level::kSite};

}  // namespace

std::span<const Level> LevelsAbove(Level level) {
  switch (level) {
    case Level::kNvlink: return kAboveNvlink;
    case Level::kLeaf: return kAboveLeaf;
    case Level::kRack: return kAboveRack;
    case Level::kRow: return kAboveRow;
    case Level::kPod: return kAbovePod;
    case Level::kSpine: return kAboveSpine;
    case Level::kSite: return {};
    case Level::kPowerDomain: return kAbovePowerDomain;
  }
  return {};
}

Result<Topology> Topology::Build(const Inventory& inv) {
  if (!inv.indexed()) return FailedPreconditionError("Topology::Build needs an indexed inventory");
  Topology t;
  const int n = static_cast<int>(inv.nodes.size());
  const int s = static_cast<int>(inv.switches.size());
  t.node_count_ = n;
  t.switch_count_ = s;
  for (auto& d : t.domain_of_) d.assign(n, -1);

  // Spine group of each leaf: the sorted set of its uplinks; a leaf without uplinks is its own group.
  std::vector<std::string> spine_group(s);
  for (int i = 0; i < s; ++i) {
    std::vector<std::string> ups = inv.switches[i].uplinks;
    std::sort(ups.begin(), ups.end());
    ups.erase(std::unique(ups.begin(), ups.end()), ups.end());
    if (ups.empty()) {
      spine_group[i] = inv.switches[i].name;
    } else {
      for (size_t k = 0; k < ups.size(); ++k) spine_group[i] += (k ? "+" : "") + ups[k];
    }
  }

  std::array<DomainTable, kLevelCount> tables;
  auto set = [&](int node, Level level, const std::string& name) {
    t.domain_of_[Idx(level)][node] = tables[Idx(level)].Intern(name, t.names_[Idx(level)]);
  };

  // NVLink domains span several nodes only when the class's NVLink fabric is larger than one node:
  // then consecutive nodes (by name) of that class in one rack share a domain.
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    if (inv.RackOf(a) != inv.RackOf(b)) return inv.RackOf(a) < inv.RackOf(b);
    if (inv.NodeClassOf(a) != inv.NodeClassOf(b)) return inv.NodeClassOf(a) < inv.NodeClassOf(b);
    return inv.nodes[a].name < inv.nodes[b].name;
  });
  int run_rack = -1, run_class = -1, run_pos = 0, run_group = 0;
  for (int node : order) {
    const NodeClass& c = inv.ClassOf(node);
    const int per_domain = (c.gpu.count > 0 && c.gpu.nvlink_domain_size > c.gpu.count)
                               ? c.gpu.nvlink_domain_size / c.gpu.count
                               : 1;
    if (inv.RackOf(node) != run_rack || inv.NodeClassOf(node) != run_class) {
      run_rack = inv.RackOf(node);
      run_class = inv.NodeClassOf(node);
      run_pos = 0;
    }
    if (per_domain <= 1) {
      set(node, Level::kNvlink, inv.nodes[node].name);
    } else {
      if (run_pos % per_domain == 0) run_group = run_pos / per_domain;
      set(node, Level::kNvlink,
          inv.racks[run_rack].name + "/" + c.name + "/nvl" + std::to_string(run_group));
    }
    ++run_pos;
  }

  for (int i = 0; i < n; ++i) {
    const Rack& rack = inv.racks[inv.RackOf(i)];
    const Switch& leaf = inv.switches[inv.LeafOf(i)];
    set(i, Level::kLeaf, leaf.name);
    set(i, Level::kRack, rack.name);
    // Rows are scoped to their site; a rack that names no row is a row of its own.
    const std::string row_key =
        rack.row.empty() ? "\x1e" + rack.name : rack.site + "\x1f" + rack.row;
    t.domain_of_[Idx(Level::kRow)][i] = tables[Idx(Level::kRow)].Intern(
        row_key, rack.row.empty() ? rack.name : rack.row, t.names_[Idx(Level::kRow)]);
    set(i, Level::kPod, PodOfRack(rack, &leaf));
    set(i, Level::kSpine, spine_group[inv.LeafOf(i)]);
    set(i, Level::kSite, rack.site);
    set(i, Level::kPowerDomain, inv.nodes[i].power_domain);
  }

  // Members per domain, CSR layout.
  for (int l = 0; l < kLevelCount; ++l) {
    const int domains = static_cast<int>(t.names_[l].size());
    auto& offsets = t.member_offsets_[l];
    offsets.assign(domains + 1, 0);
    for (int i = 0; i < n; ++i) ++offsets[t.domain_of_[l][i] + 1];
    for (int d = 0; d < domains; ++d) offsets[d + 1] += offsets[d];
    auto& members = t.members_[l];
    members.assign(n, 0);
    std::vector<int> fill(offsets.begin(), offsets.end() - 1);
    for (int i = 0; i < n; ++i) members[fill[t.domain_of_[l][i]]++] = i;
  }

  // The fabric graph: switches, then nodes hanging off their leaves.
  auto graph = std::make_shared<Graph>(s + n);
  t.switch_neighbours_.assign(s, {});
  for (int i = 0; i < s; ++i) {
    for (const auto& up : inv.switches[i].uplinks) {
      const int j = inv.SwitchIndex(up);
      boost::add_edge(i, j, *graph);
      t.switch_neighbours_[i].push_back(j);
      t.switch_neighbours_[j].push_back(i);
    }
  }
  for (int i = 0; i < n; ++i) boost::add_edge(s + i, inv.LeafOf(i), *graph);

  // Distances from every non-leaf switch over the switches alone (nodes never lie on a path
  // between two switches, so leaving them out changes no distance and saves most of the work).
  Graph fabric(s);
  for (int i = 0; i < s; ++i) {
    for (int j : t.switch_neighbours_[i]) {
      if (i < j) boost::add_edge(i, j, fabric);
    }
  }
  for (int i = 0; i < s; ++i) {
    if (inv.switches[i].role != SwitchRole::kLeaf) t.hubs_.push_back(i);
  }
  for (int hub : t.hubs_) {
    std::vector<int> dist(s, -1);
    dist[hub] = 0;
    boost::breadth_first_search(
        fabric, boost::vertex(hub, fabric),
        boost::visitor(boost::make_bfs_visitor(boost::record_distances(
            boost::make_iterator_property_map(dist.begin(), boost::get(boost::vertex_index, fabric)),
            boost::on_tree_edge()))));
    t.hub_dist_.push_back(std::move(dist));
  }
  t.graph_ = std::move(graph);
  return t;
}

std::span<const int> Topology::NodesIn(Level level, int domain) const {
  const auto& off = member_offsets_[Idx(level)];
  const auto& mem = members_[Idx(level)];
  return std::span<const int>(mem.data() + off[domain], off[domain + 1] - off[domain]);
}

int Topology::FindDomain(Level level, std::string_view name) const {
  const auto& names = names_[Idx(level)];
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

int Topology::ParentDomain(Level lower, int domain, Level upper) const {
  auto above = LevelsAbove(lower);
  if (std::find(above.begin(), above.end(), upper) == above.end()) return -1;
  auto nodes = NodesIn(lower, domain);
  return nodes.empty() ? -1 : DomainOf(nodes.front(), upper);
}

int Topology::LeafDistance(int a, int b) const {
  if (a == b) return 0;
  const auto& na = switch_neighbours_[a];
  if (std::find(na.begin(), na.end(), b) != na.end()) return 1;
  int best = -1;
  for (const auto& dist : hub_dist_) {
    if (dist[a] < 0 || dist[b] < 0) continue;
    const int d = dist[a] + dist[b];
    if (best < 0 || d < best) best = d;
  }
  return best;
}

int Topology::HopDistance(int node_a, int node_b) const {
  if (node_a == node_b) return 0;
  // A node's only neighbour is its leaf.
  auto leaf_of = [&](int node) {
    auto [it, end] = boost::adjacent_vertices(switch_count_ + node, *graph_);
    return it == end ? -1 : static_cast<int>(*it);
  };
  const int la = leaf_of(node_a), lb = leaf_of(node_b);
  if (la < 0 || lb < 0) return -1;
  const int d = LeafDistance(la, lb);
  return d < 0 ? -1 : 2 + d;
}

Snapshot::Snapshot(std::shared_ptr<const Inventory> inventory,
                   std::shared_ptr<const Topology> topology, NodeStates states)
    : inventory(*inventory),
      topology(*topology),
      states(std::move(states)),
      inventory_owner_(std::move(inventory)),
      topology_owner_(std::move(topology)) {}

Snapshot::Snapshot(const Snapshot& other)
    : inventory(other.inventory),
      topology(other.topology),
      states(other.states),
      inventory_owner_(other.inventory_owner_),
      topology_owner_(other.topology_owner_) {}

std::shared_ptr<const Snapshot> Snapshot::WithStates(NodeStates new_states) const {
  return std::make_shared<const Snapshot>(inventory_owner_, topology_owner_, std::move(new_states));
}

Result<std::shared_ptr<const Snapshot>> MakeSnapshot(Inventory inv) {
  auto inventory = std::make_shared<Inventory>(std::move(inv));
  if (!inventory->indexed()) {
    Status st = inventory->BuildIndex();
    if (!st.ok()) return st;
  }
  auto topo = Topology::Build(*inventory);
  if (!topo.ok()) return topo.status();
  NodeStates states = NodeStates::FromInventory(*inventory);
  return std::make_shared<const Snapshot>(std::move(inventory),
                                          std::make_shared<const Topology>(std::move(topo).value()),
                                          std::move(states));
}

}  // namespace topoplace
