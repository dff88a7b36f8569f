// Prepare(): candidate filtering and headroom, once per request; EvaluateObjective(): the one
// definition of the objective every backend reports (the ILP models the same function).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "solver/backend.h"
#include "solver/prepared.h"

namespace topoplace {

namespace {

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The part of `select` a node class decides on its own (everything but labels).
bool ClassPassesSelect(const NodeClass& c, const NodeSelector& select) {
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
  return true;
}

bool LabelsPassSelect(const Node& n, const NodeSelector& select) {
  for (const auto& label : select.labels) {
    if (!label.Matches(n.labels)) return false;
  }
  return true;
}

// "gdpr" holds on sites of an EU/EEA jurisdiction; any other item is a rack tag or a site tag.
bool RackPassesCompliance(const Inventory& inv, int rack, const std::vector<std::string>& items) {
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

std::string Num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", x);
  std::string s = buf;
  // Trim ".00" so whole numbers read naturally.
  if (s.size() > 3 && s.compare(s.size() - 3, 3, ".00") == 0) s.resize(s.size() - 3);
  return s;
}

// Sum of the `k` smallest (or largest) of `values`; `values` is reordered.
template <typename T>
T SumOfExtreme(std::vector<T>& values, size_t k, bool largest) {
  k = std::min(k, values.size());
  auto cmp = [largest](const T& a, const T& b) { return largest ? a > b : a < b; };
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end(),
                   cmp);
  T sum = 0;
  for (size_t i = 0; i < k; ++i) sum += values[i];
  return sum;
}

// The fewest domains (of sizes `sizes`) that together reach `need`; -1 when all do not.
int FewestDomainsFor(std::vector<double> sizes, double need) {
  if (need <= 0) return 0;
  std::sort(sizes.begin(), sizes.end(), std::greater<>());
  double sum = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    sum += sizes[i];
    if (sum >= need - 1e-9) return static_cast<int>(i) + 1;
  }
  return -1;
}

// Per-domain totals of `value(node)` over `nodes` at `level`, for domains that occur.
template <typename F>
std::vector<double> DomainTotals(const Topology& topo, std::span<const int> nodes, Level level,
                                 F&& value) {
  std::vector<double> per(topo.DomainCount(level), 0.0);
  std::vector<uint8_t> seen(per.size(), 0);
  for (int node : nodes) {
    const int d = topo.DomainOf(node, level);
    per[d] += value(node);
    seen[d] = 1;
  }
  std::vector<double> out;
  for (size_t d = 0; d < per.size(); ++d) {
    if (seen[d]) out.push_back(per[d]);
  }
  return out;
}

bool RequiredLocality(const PreparedRequest& p) {
  const Request& r = *p.request;
  return p.mask.locality && r.locality && r.locality->mode == LocalityMode::kRequired;
}

bool SpreadActive(const PreparedRequest& p) {
  return p.mask.spread && p.request->spread.has_value();
}

bool RoceActive(const PreparedRequest& p) { return p.mask.roce && p.request->roce; }

int MinimumNodeCountOf(const PreparedRequest& p, std::span<const int> nodes) {
  const Request& r = *p.request;
  if (r.nodes) return *r.nodes;
  if (!r.gpus) return -1;
  std::vector<int> gpus;
  gpus.reserve(nodes.size());
  for (int node : nodes) gpus.push_back(p.inventory().ClassOf(node).gpu.count);
  std::sort(gpus.begin(), gpus.end(), std::greater<>());
  int64_t sum = 0;
  for (size_t i = 0; i < gpus.size(); ++i) {
    sum += gpus[i];
    if (sum >= *r.gpus) return static_cast<int>(i) + 1;
  }
  return -1;
}

// ProveInfeasible() for one pool of candidates (all of them, or one leaf vendor's under roce).
std::optional<std::string> ProvePoolInfeasible(const PreparedRequest& p,
                                               std::span<const int> pool) {
  const Request& r = *p.request;
  const Inventory& inv = p.inventory();
  const Topology& topo = p.topology();
  const Headroom& h = p.headroom;
  const std::string pool_size =
      std::to_string(pool.size()) + " candidate node" + (pool.size() == 1 ? "" : "s");

  int64_t total_gpus = 0;
  for (int node : pool) total_gpus += inv.ClassOf(node).gpu.count;
  if (r.gpus) {
    if (total_gpus < *r.gpus) {
      return pool_size + " hold " + std::to_string(total_gpus) + " GPUs; " +
             std::to_string(*r.gpus) + " requested";
    }
    if (h.gpus && *h.gpus < *r.gpus) {
      return "quota leaves " + std::to_string(*h.gpus) + " GPUs; " + std::to_string(*r.gpus) +
             " requested";
    }
  }
  const int k = MinimumNodeCountOf(p, pool);
  if (r.nodes && static_cast<int>(pool.size()) < k) {
    return "only " + pool_size + "; " + std::to_string(k) + " requested";
  }
  if (h.nodes && *h.nodes < k) {
    return "quota leaves " + std::to_string(*h.nodes) + " nodes; at least " + std::to_string(k) +
           " needed";
  }
  // Per-node sums of the k smallest values against the headroom.
  auto smallest = [&](auto&& field) {
    std::vector<double> v;
    v.reserve(pool.size());
    for (int node : pool) v.push_back(field(inv.ClassOf(node)));
    return SumOfExtreme(v, static_cast<size_t>(k), /*largest=*/false);
  };
  if (r.nodes && h.gpus) {
    const double need = smallest([](const NodeClass& c) { return c.gpu.count; });
    if (need > static_cast<double>(*h.gpus)) {
      return "quota leaves " + std::to_string(*h.gpus) + " GPUs; " + std::to_string(k) +
             " nodes hold at least " + Num(need) + " GPUs";
    }
  }
  if (h.cpu_cores) {
    const double need = smallest([](const NodeClass& c) { return c.cpu.cores; });
    if (need > static_cast<double>(*h.cpu_cores)) {
      return "quota leaves " + std::to_string(*h.cpu_cores) + " CPU cores; " + std::to_string(k) +
             " nodes hold at least " + Num(need) + " cores";
    }
  }
  if (h.memory_gib) {
    const double need = smallest([](const NodeClass& c) { return c.memory_gib; });
    if (need > *h.memory_gib + kCostTolerance) {
      return "quota leaves " + Num(*h.memory_gib) + " GiB of memory; " + std::to_string(k) +
             " nodes hold at least " + Num(need) + " GiB";
    }
  }
  if (h.storage_gib) {
    const double need = smallest([](const NodeClass& c) { return c.storage_gib; });
    if (need > *h.storage_gib + kCostTolerance) {
      return "quota leaves " + Num(*h.storage_gib) + " GiB of storage; " + std::to_string(k) +
             " nodes hold at least " + Num(need) + " GiB";
    }
  }
  if (h.cost_per_hour) {
    const double need = smallest([](const NodeClass& c) { return c.cost_per_hour; });
    if (need > *h.cost_per_hour + kCostTolerance) {
      return "the " + std::to_string(k) + " cheapest candidates cost " + Num(need) +
             "/h; the cap is " + Num(*h.cost_per_hour) + "/h";
    }
  }

  const bool spread = SpreadActive(p);
  // A plain int (0 = uncapped) rather than an optional keeps the loops below simple.
  const int cap = spread ? r.spread->CapFor(k).value_or(0) : 0;
  if (spread) {
    const Level s = r.spread->level;
    const std::vector<double> per = DomainTotals(topo, pool, s, [](int) { return 1.0; });
    if (r.spread->min_domains && static_cast<int>(per.size()) < *r.spread->min_domains) {
      return "candidates lie in " + std::to_string(per.size()) + " " + std::string(LevelName(s)) +
             " domains; minDomains is " + std::to_string(*r.spread->min_domains);
    }
    if (r.nodes && r.spread->min_domains && *r.spread->min_domains > k) {
      return "minDomains " + std::to_string(*r.spread->min_domains) + " exceeds the " +
             std::to_string(k) + " nodes requested";
    }
    if (r.nodes && cap > 0) {
      double capped = 0;
      for (double c : per) capped += std::min<double>(c, cap);
      if (capped < k) {
        return "at most " + std::to_string(cap) + " per " + std::string(LevelName(s)) +
               " leaves room for " + Num(capped) + " nodes; " + std::to_string(k) + " requested";
      }
    }
  }

  if (RequiredLocality(p)) {
    const Level l = r.locality->level;
    const int m = r.locality->max_domains;
    const std::string what = "the " + (m == 1 ? std::string("largest ") + std::string(LevelName(l))
                                              : std::to_string(m) + " largest " +
                                                    std::string(LevelName(l)) + " domains");
    if (r.nodes) {
      // Capacity of a locality domain, with the spread cap applied inside it when there is one.
      std::vector<double> per;
      if (cap > 0) {
        std::vector<std::pair<int, int>> pairs;
        for (int node : pool) {
          pairs.emplace_back(topo.DomainOf(node, l), topo.DomainOf(node, r.spread->level));
        }
        std::sort(pairs.begin(), pairs.end());
        double dom_total = 0;
        for (size_t i = 0; i < pairs.size();) {
          size_t j = i;
          while (j < pairs.size() && pairs[j] == pairs[i]) ++j;
          dom_total += std::min<double>(static_cast<double>(j - i), cap);
          if (j == pairs.size() || pairs[j].first != pairs[i].first) {
            per.push_back(dom_total);
            dom_total = 0;
          }
          i = j;
        }
      } else {
        per = DomainTotals(topo, pool, l, [](int) { return 1.0; });
      }
      std::vector<double> sorted = per;
      const double best = SumOfExtreme(sorted, static_cast<size_t>(m), /*largest=*/true);
      if (best < k) {
        return what + (m == 1 ? " holds " : " hold ") + Num(best) + " candidate nodes" +
               (cap > 0 ? " within the spread cap" : "") + "; " + std::to_string(k) + " requested";
      }
    } else {
      std::vector<double> per = DomainTotals(topo, pool, l, [&](int node) {
        return static_cast<double>(inv.ClassOf(node).gpu.count);
      });
      const double best = SumOfExtreme(per, static_cast<size_t>(m), /*largest=*/true);
      if (best < *r.gpus) {
        return what + (m == 1 ? " holds " : " hold ") + Num(best) + " candidate GPUs; " +
               std::to_string(*r.gpus) + " requested";
      }
    }
  }
  return std::nullopt;
}

}  // namespace

const std::string& LeafVendor(const Inventory& inv, int node) {
  return inv.switches[inv.LeafOf(node)].vendor;
}

std::vector<std::string> CheckPrepared(const PreparedRequest& p, std::span<const int> nodes) {
  std::vector<std::string> out;
  const Request& r = *p.request;
  const Inventory& inv = p.inventory();
  const Topology& topo = p.topology();
  std::vector<int> sorted(nodes.begin(), nodes.end());
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    out.emplace_back("a node is chosen twice");
  }
  for (int node : sorted) {
    if (!std::binary_search(p.candidates.begin(), p.candidates.end(), node)) {
      out.push_back("node " +
                    (node >= 0 && node < static_cast<int>(inv.nodes.size())
                         ? inv.nodes[node].name
                         : std::to_string(node)) +
                    " is not a candidate");
    }
  }
  if (p.keep_current) {
    for (int node : p.current) {
      if (!std::binary_search(sorted.begin(), sorted.end(), node)) {
        out.push_back("repair: current node " +
                      (node >= 0 && node < static_cast<int>(inv.nodes.size())
                           ? inv.nodes[node].name
                           : std::to_string(node)) +
                      " is not kept");
      }
    }
  }
  const int k = static_cast<int>(sorted.size());
  int64_t gpus = 0, cores = 0;
  double memory = 0, storage = 0, cost = 0;
  for (int node : sorted) {
    const NodeClass& c = inv.ClassOf(node);
    gpus += c.gpu.count;
    cores += c.cpu.cores;
    memory += c.memory_gib;
    storage += c.storage_gib;
    cost += c.cost_per_hour;
  }
  if (r.nodes && k != *r.nodes) {
    out.push_back("count: " + std::to_string(k) + " nodes chosen, " + std::to_string(*r.nodes) +
                  " requested");
  }
  if (r.gpus && gpus < *r.gpus) {
    out.push_back("count: " + std::to_string(gpus) + " GPUs chosen, " + std::to_string(*r.gpus) +
                  " requested");
  }
  if (r.gpus && k > 0) {
    // Whole nodes, no spare: without the node holding the fewest GPUs the target is missed.
    int fewest = std::numeric_limits<int>::max();
    for (int node : sorted) fewest = std::min(fewest, inv.ClassOf(node).gpu.count);
    if (gpus - fewest >= *r.gpus)
      out.emplace_back("count: a chosen node is not needed to reach the GPUs");
  }
  if (k == 0) return out;
  auto distinct = [&](Level level) {
    std::vector<int> ids;
    ids.reserve(sorted.size());
    for (int node : sorted) ids.push_back(topo.DomainOf(node, level));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  };
  if (RequiredLocality(p)) {
    const int used = static_cast<int>(distinct(r.locality->level).size());
    if (used > r.locality->max_domains) {
      out.push_back("locality: " + std::to_string(used) + " " +
                    std::string(LevelName(r.locality->level)) + " domains used, at most " +
                    std::to_string(r.locality->max_domains) + " allowed");
    }
  }
  if (SpreadActive(p)) {
    const Level s = r.spread->level;
    std::vector<int> ids;
    ids.reserve(sorted.size());
    for (int node : sorted) ids.push_back(topo.DomainOf(node, s));
    std::sort(ids.begin(), ids.end());
    const std::optional<int> cap = r.spread->CapFor(k);
    int domains = 0;
    for (size_t i = 0; i < ids.size();) {
      size_t j = i;
      while (j < ids.size() && ids[j] == ids[i]) ++j;
      ++domains;
      if (cap && static_cast<int>(j - i) > *cap) {
        out.push_back("spread: " + std::to_string(j - i) + " nodes in " +
                      std::string(LevelName(s)) + " " + topo.DomainName(s, ids[i]) + ", at most " +
                      std::to_string(*cap) + " allowed");
      }
      i = j;
    }
    if (r.spread->min_domains && domains < *r.spread->min_domains) {
      out.push_back("spread: " + std::to_string(domains) + " " + std::string(LevelName(s)) +
                    " domains used, at least " + std::to_string(*r.spread->min_domains) +
                    " required");
    }
  }
  if (RoceActive(p)) {
    const std::string& vendor = LeafVendor(inv, sorted.front());
    for (int node : sorted) {
      if (LeafVendor(inv, node) != vendor) {
        out.push_back("roce: leaves of vendors " + vendor + " and " + LeafVendor(inv, node));
        break;
      }
    }
  }
  const Headroom& h = p.headroom;
  if (h.nodes && k > *h.nodes) out.push_back("quota: nodes " + std::to_string(k));
  if (h.gpus && gpus > *h.gpus) out.push_back("quota: gpus " + std::to_string(gpus));
  if (h.cpu_cores && cores > *h.cpu_cores)
    out.push_back("quota: cpu cores " + std::to_string(cores));
  if (h.memory_gib && memory > *h.memory_gib + kCostTolerance)
    out.push_back("quota: memory " + Num(memory));
  if (h.storage_gib && storage > *h.storage_gib + kCostTolerance)
    out.push_back("quota: storage " + Num(storage));
  if (h.cost_per_hour && cost > *h.cost_per_hour + kCostTolerance) {
    out.push_back("budget: " + Num(cost) + "/h over the cap of " + Num(*h.cost_per_hour) + "/h");
  }
  return out;
}

std::optional<std::string> ProveInfeasible(const PreparedRequest& p) {
  if (!RoceActive(p)) return ProvePoolInfeasible(p, p.candidates);
  // Under roce a placement lives within one vendor's leaves: every vendor's pool must fail.
  std::vector<std::pair<std::string, std::vector<int>>> pools;
  for (int node : p.candidates) {
    const std::string& vendor = LeafVendor(p.inventory(), node);
    auto it =
        std::find_if(pools.begin(), pools.end(), [&](const auto& e) { return e.first == vendor; });
    if (it == pools.end()) {
      pools.emplace_back(vendor, std::vector<int>{});
      it = pools.end() - 1;
    }
    it->second.push_back(node);
  }
  if (pools.empty()) return ProvePoolInfeasible(p, p.candidates);
  std::string reasons;
  for (const auto& [vendor, pool] : pools) {
    std::optional<std::string> why = ProvePoolInfeasible(p, pool);
    if (!why) return std::nullopt;
    if (pools.size() == 1) return why;
    reasons += (reasons.empty() ? "" : "; ") + std::string("vendor ") + vendor + ": " + *why;
  }
  return "within one leaf vendor: " + reasons;
}

int MinimumNodeCount(const PreparedRequest& p) { return MinimumNodeCountOf(p, p.candidates); }

double ObjectiveLowerBound(const PreparedRequest& p) {
  const int k = MinimumNodeCount(p);
  if (k <= 0 || k > static_cast<int>(p.candidates.size())) return 0;
  const Inventory& inv = p.inventory();
  const Topology& topo = p.topology();
  const ObjectiveWeights& w = p.weights;
  std::vector<double> base;
  base.reserve(p.candidates.size());
  for (int node : p.candidates) {
    const bool moved = !std::binary_search(p.current.begin(), p.current.end(), node);
    base.push_back(w.cost * inv.ClassOf(node).cost_per_hour + (moved ? w.moves : 0.0));
  }
  double bound = SumOfExtreme(base, static_cast<size_t>(k), /*largest=*/false);
  auto fewest = [&](Level level) {
    return std::max(
        0, FewestDomainsFor(DomainTotals(topo, p.candidates, level, [](int) { return 1.0; }), k));
  };
  if (p.request->locality) {
    const Level l = p.request->locality->level;
    bound += w.domains * fewest(l);
    for (Level above : LevelsAbove(l)) bound += w.domains_above * fewest(above);
  }
  // Free racks (leaves) that must be broken: those needed once the partly used ones are full.
  auto free_needed = [&](Level level, const std::vector<uint8_t>& is_free) {
    std::vector<double> free_sizes;
    std::vector<double> per(topo.DomainCount(level), 0.0);
    double in_used = 0;
    for (int node : p.candidates) {
      const int d = topo.DomainOf(node, level);
      if (is_free[d]) {
        per[d] += 1;
      } else {
        in_used += 1;
      }
    }
    for (double c : per) {
      if (c > 0) free_sizes.push_back(c);
    }
    return std::max(0, FewestDomainsFor(free_sizes, k - in_used));
  };
  bound += w.fragmentation *
           (free_needed(Level::kRack, p.free_rack) + free_needed(Level::kLeaf, p.free_leaf));
  return bound;
}

PreparedRequest Prepare(const PlacementProblem& problem, const Request& request,
                        const SolveOptions& options, const ConstraintMask& mask,
                        std::span<const int> current) {
  PreparedRequest p;
  p.snapshot = problem.snapshot.get();
  p.request = &request;
  p.mask = mask;
  p.weights = options.weights;
  // Moves only mean something when re-solving an existing placement; on a fresh solve every node
  // would count as moved and the term would swamp the others in objectives and gaps.
  if (current.empty()) p.weights.moves = 0;
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
  const NodeStates& states = p.snapshot->states;
  const int n = static_cast<int>(inv.nodes.size());
  const int32_t own = states.FindHolder(request.tenant);  // kNoHolder: the tenant holds nothing

  std::vector<uint8_t> is_current(n, 0);
  for (int node : p.current) {
    if (node >= 0 && node < n) is_current[node] = 1;
  }

  // Free racks and leaves: nothing in them is held by anyone (the fragmentation term).
  p.free_rack.assign(topo.DomainCount(Level::kRack), 1);
  p.free_leaf.assign(topo.DomainCount(Level::kLeaf), 1);
  for (int i = 0; i < n; ++i) {
    if (!states.held(i)) continue;
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
      if (states.held(i) && states.holder_id(i) != own) closed[topo.DomainOf(i, level)] = 1;
    }
  }

  // Other tenants' exclusive domains: a tenant whose allocation asked for its racks (leaves, ...)
  // to itself keeps everyone else out of them, so their free nodes are not available here.
  std::vector<std::pair<Level, std::vector<uint8_t>>> fenced;
  for (int i = 0; states.exclusive_count() > 0 && i < n; ++i) {
    const std::optional<Level> fence = states.exclusive(i);
    if (!fence || !states.held(i) || states.holder_id(i) == own) continue;
    auto it = std::find_if(fenced.begin(), fenced.end(),
                           [&](const auto& f) { return f.first == *fence; });
    if (it == fenced.end()) {
      fenced.emplace_back(*fence, std::vector<uint8_t>(topo.DomainCount(*fence), 0));
      it = std::prev(fenced.end());
    }
    it->second[topo.DomainOf(i, it->first)] = 1;
  }
  const auto in_fenced_domain = [&](int i) {
    for (const auto& [level, closed_here] : fenced) {
      if (closed_here[topo.DomainOf(i, level)]) return true;
    }
    return false;
  };

  // Select (but labels) is decided per class and compliance per rack, once each, so the loop over
  // the nodes below does no string work unless the request selects by label.
  std::vector<uint8_t> class_ok(inv.node_classes.size(), 1);
  if (mask.select) {
    for (size_t c = 0; c < class_ok.size(); ++c)
      class_ok[c] = ClassPassesSelect(inv.node_classes[c], request.select) ? 1 : 0;
  }
  std::vector<uint8_t> rack_ok(inv.racks.size(), 1);
  if (mask.compliance && !request.compliance.empty()) {
    for (size_t r = 0; r < rack_ok.size(); ++r)
      rack_ok[r] = RackPassesCompliance(inv, static_cast<int>(r), request.compliance) ? 1 : 0;
  }
  const bool by_label = mask.select && !request.select.labels.empty();
  for (int i = 0; i < n; ++i) {
    const NodeState state = states.state(i);
    const bool usable = states.free(i) || (is_current[i] && state != NodeState::kMaintenance &&
                                           state != NodeState::kFailed);
    if (!usable) continue;
    if (!class_ok[inv.NodeClassOf(i)] || !rack_ok[inv.RackOf(i)]) continue;
    if (by_label && !LabelsPassSelect(inv.nodes[i], request.select)) continue;
    if (exclusive && closed[topo.DomainOf(i, *request.exclusive)]) continue;
    if (!fenced.empty() && in_fenced_domain(i)) continue;
    p.candidates.push_back(i);
  }

  // Headroom: what the tenant (and the request's project) holds now, minus the request's own
  // current nodes (a re-solve may keep them, so they must not count twice).
  p.project = p.tenant != nullptr ? FindProject(*p.tenant, request.project) : nullptr;
  if (mask.quota || mask.tenant_budget || mask.project_quota) {
    TenantUsage usage = UsageOf(inv, states, request.tenant);
    TenantUsage kept;
    for (int node : p.current) {
      if (node < 0 || node >= n || own == NodeStates::kNoHolder || states.holder_id(node) != own)
        continue;
      AddNodeUsage(usage, inv.ClassOf(node), -1);
      AddNodeUsage(kept, inv.ClassOf(node));
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
    // The project's share binds as well: the least of the two headrooms is what is left.
    if (mask.project_quota && p.project != nullptr) {
      const ProjectUsage* held =
          FindProjectUsage(problem.project_usage, request.tenant, request.project);
      TenantUsage used = held != nullptr ? held->usage : TenantUsage{};
      used.nodes -= kept.nodes;
      used.gpus -= kept.gpus;
      used.cpu_cores -= kept.cpu_cores;
      used.memory_gib -= kept.memory_gib;
      used.storage_gib -= kept.storage_gib;
      const Quota& q = p.project->quota;
      auto tighten = [](auto& slot, auto left) { slot = slot ? std::min(*slot, left) : left; };
      if (q.nodes) tighten(p.headroom.nodes, *q.nodes - used.nodes);
      if (q.gpus) tighten(p.headroom.gpus, *q.gpus - used.gpus);
      if (q.cpu_cores) tighten(p.headroom.cpu_cores, *q.cpu_cores - used.cpu_cores);
      if (q.memory_gib) tighten(p.headroom.memory_gib, *q.memory_gib - used.memory_gib);
      if (q.storage_gib) tighten(p.headroom.storage_gib, *q.storage_gib - used.storage_gib);
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
  if (!p.current.empty()) {  // a fresh solve moves nothing
    for (int node : nodes) {
      if (!std::binary_search(p.current.begin(), p.current.end(), node)) ++t.moves;
    }
  }
  const ObjectiveWeights& w = p.weights;
  t.total = w.cost * t.cost_per_hour + w.domains * t.locality_domains +
            w.domains_above * t.domains_above + w.fragmentation * t.broken_free_domains +
            w.moves * t.moves;
  return t;
}

}  // namespace topoplace
