// Prepare(): candidate filtering and headroom, once per request; EvaluateObjective(): the one
// definition of the objective every backend reports (the ILP models the same function).
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "solver/backend.h"

namespace topoplace {

namespace {

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool PassesSelect(const Inventory& inv, int node, const NodeSelector& select) {
  const Node& n = inv.nodes[node];
  const NodeClass& c = inv.ClassOf(node);
  if (!select.classes.empty() && !Contains(select.classes, c.name)) return false;
  if (!select.gpu_models.empty()) {
    bool any = false;
    for (const auto& pattern : select.gpu_models) {
      if (WildcardMatch(pattern, c.gpu.model)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (select.gpu_count && !select.gpu_count->Matches(c.gpu.count)) return false;
  if (select.memory_gib && !select.memory_gib->Matches(c.memory_gib)) return false;
  if (select.cpu_cores && !select.cpu_cores->Matches(c.cpu.cores)) return false;
  if (select.storage_gib && !select.storage_gib->Matches(c.storage_gib)) return false;
  for (const auto& label : select.labels) {
    if (!label.Matches(n.labels)) return false;
  }
  return true;
}

// "gdpr" holds on sites of an EU/EEA jurisdiction; any other item is a rack tag or a site tag.
bool PassesCompliance(const Inventory& inv, int node, const std::vector<std::string>& items) {
  const int rack = inv.RackOf(node);
  const Rack& r = inv.racks[rack];
  const int site = inv.SiteOfRack(rack);
  for (const auto& item : items) {
    if (item == "gdpr") {
      if (site < 0 || !IsGdprJurisdiction(inv.sites[site].jurisdiction)) return false;
    } else if (!Contains(r.tags, item) && (site < 0 || !Contains(inv.sites[site].tags, item))) {
      return false;
    }
  }
  return true;
}

}  // namespace

PreparedRequest Prepare(const PlacementProblem& problem, const Request& request,
                        const SolveOptions& options, const ConstraintMask& mask,
                        std::span<const int> current) {
  PreparedRequest p;
  p.snapshot = problem.snapshot.get();
  p.request = &request;
  p.mask = mask;
  p.weights = options.weights;
  for (const Tenant& t : problem.tenants) {
    if (t.name == request.tenant) {
      p.tenant = &t;
      break;
    }
  }
  p.current.assign(current.begin(), current.end());
  std::sort(p.current.begin(), p.current.end());
  p.current.erase(std::unique(p.current.begin(), p.current.end()), p.current.end());

  const Inventory& inv = p.inventory();
  const Topology& topo = p.topology();
  const int n = static_cast<int>(inv.nodes.size());

  std::vector<uint8_t> is_current(n, 0);
  for (int node : p.current) {
    if (node >= 0 && node < n) is_current[node] = 1;
  }

  // Free racks and leaves: nothing in them is held by anyone (the fragmentation term).
  p.free_rack.assign(topo.DomainCount(Level::kRack), 1);
  p.free_leaf.assign(topo.DomainCount(Level::kLeaf), 1);
  for (int i = 0; i < n; ++i) {
    if (inv.nodes[i].holder.empty()) continue;
    p.free_rack[topo.DomainOf(i, Level::kRack)] = 0;
    p.free_leaf[topo.DomainOf(i, Level::kLeaf)] = 0;
  }

  // Exclusive: domains holding a node of another tenant are closed to this request.
  std::vector<uint8_t> closed;
  const bool exclusive = mask.exclusive && request.exclusive.has_value();
  if (exclusive) {
    const Level level = *request.exclusive;
    closed.assign(topo.DomainCount(level), 0);
    for (int i = 0; i < n; ++i) {
      const std::string& holder = inv.nodes[i].holder;
      if (!holder.empty() && holder != request.tenant) closed[topo.DomainOf(i, level)] = 1;
    }
  }

  for (int i = 0; i < n; ++i) {
    const Node& node = inv.nodes[i];
    const bool usable =
        (node.state == NodeState::kAvailable && node.holder.empty()) ||
        (is_current[i] && node.state != NodeState::kMaintenance && node.state != NodeState::kFailed);
    if (!usable) continue;
    if (mask.select && !PassesSelect(inv, i, request.select)) continue;
    if (mask.compliance && !PassesCompliance(inv, i, request.compliance)) continue;
    if (exclusive && closed[topo.DomainOf(i, *request.exclusive)]) continue;
    p.candidates.push_back(i);
  }

  // Headroom: what the tenant holds now, minus the request's own current nodes (a re-solve may
  // keep them, so they must not count twice).
  if (mask.quota || mask.tenant_budget) {
    TenantUsage usage = UsageOf(inv, request.tenant);
    for (int node : p.current) {
      if (node < 0 || node >= n || inv.nodes[node].holder != request.tenant) continue;
      const NodeClass& c = inv.ClassOf(node);
      usage.nodes -= 1;
      usage.gpus -= c.gpu.count;
      usage.cpu_cores -= c.cpu.cores;
      usage.memory_gib -= c.memory_gib;
      usage.storage_gib -= c.storage_gib;
      usage.cost_per_hour -= c.cost_per_hour;
    }
    if (mask.quota && p.tenant != nullptr) {
      const Quota& q = p.tenant->quota;
      if (q.nodes) p.headroom.nodes = *q.nodes - usage.nodes;
      if (q.gpus) p.headroom.gpus = *q.gpus - usage.gpus;
      if (q.cpu_cores) p.headroom.cpu_cores = *q.cpu_cores - usage.cpu_cores;
      if (q.memory_gib) p.headroom.memory_gib = *q.memory_gib - usage.memory_gib;
      if (q.storage_gib) p.headroom.storage_gib = *q.storage_gib - usage.storage_gib;
    }
    if (mask.tenant_budget && p.tenant != nullptr && p.tenant->budget_per_hour) {
      p.headroom.cost_per_hour = *p.tenant->budget_per_hour - usage.cost_per_hour;
    }
  }
  if (mask.budget && request.max_cost_per_hour) {
    p.headroom.cost_per_hour = p.headroom.cost_per_hour
                                   ? std::min(*p.headroom.cost_per_hour, *request.max_cost_per_hour)
                                   : *request.max_cost_per_hour;
  }
  return p;
}

ObjectiveTerms EvaluateObjective(const PreparedRequest& p, std::span<const int> nodes) {
  ObjectiveTerms t;
  const Inventory& inv = p.inventory();
  const Topology& topo = p.topology();
  for (int node : nodes) t.cost_per_hour += inv.ClassOf(node).cost_per_hour;

  // Distinct domains of a level among `nodes`: sort-unique on a small vector (k is small).
  std::vector<int> ids;
  ids.reserve(nodes.size());
  auto distinct = [&](Level level, auto&& keep) {
    ids.clear();
    for (int node : nodes) {
      const int d = topo.DomainOf(node, level);
      if (keep(d)) ids.push_back(d);
    }
    std::sort(ids.begin(), ids.end());
    return static_cast<int>(std::unique(ids.begin(), ids.end()) - ids.begin());
  };
  auto all = [](int) { return true; };

  if (p.request->locality) {
    const Level level = p.request->locality->level;
    t.locality_domains = distinct(level, all);
    for (Level above : LevelsAbove(level)) t.domains_above += distinct(above, all);
  }
  t.broken_free_domains = distinct(Level::kRack, [&](int d) { return p.free_rack[d] != 0; }) +
                          distinct(Level::kLeaf, [&](int d) { return p.free_leaf[d] != 0; });
  for (int node : nodes) {
    if (!std::binary_search(p.current.begin(), p.current.end(), node)) ++t.moves;
  }
  const ObjectiveWeights& w = p.weights;
  t.total = w.cost * t.cost_per_hour + w.domains * t.locality_domains +
            w.domains_above * t.domains_above + w.fragmentation * t.broken_free_domains +
            w.moves * t.moves;
  return t;
}

}  // namespace topoplace
