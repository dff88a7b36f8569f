// The graph heuristic: domain best-fit over the topology.
//
// The search works on groups of interchangeable candidates (solver/node_groups.h). For each
// pool (all candidates, or one leaf vendor's under roce) and node count k it tries, in order:
//   1. single locality domains, best first by a cheap lower bound, smallest sufficient domain on
//      ties (big holes stay whole for big jobs);
//   2. several domains under one parent (descending LevelsAbove(), then the whole pool), chosen
//      largest first and, separately, cheapest per node first; the last domain is the cheapest one
//      that completes the need, so multi-domain picks stay under one pod/spine/site;
//   3. one greedy pass over the whole pool, with at most maxDomains domains when locality is
//      required.
// Each domain set is filled by the one greedy fill (GreedyFill, node_groups.h: marginal objective,
// spread caps and minDomains honoured on the way); a cost-first fill backs it up when the budget
// is missed. A gpus request tries k from the fewest nodes that could reach the target upward, and
// fills per mix of GPU sizes that reaches the target with no node to spare. Every answer passes CheckPrepared() before it is returned; the
// result is "optimal" only when it meets ObjectiveLowerBound().
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "solver/backends.h"
#include "solver/node_groups.h"
#include "solver/prepared.h"

namespace topoplace {

namespace {

constexpr int kMaxSingleDomainTries = 400;  // single-domain fills per (pool, k)
constexpr int kMaxExtraGpuNodes = 8;        // gpus requests: k tried from the minimum up this far
constexpr int kMaxGpuMixes = 256;           // GPU-size mixes enumerated per (set, k)
constexpr int kMaxGpuMixesFilled = 6;       // of which the cheapest-looking are filled
constexpr double kEps = 1e-9;

struct Candidate {
  std::vector<int> nodes;
  ObjectiveTerms objective;
};

class Search {
 public:
  explicit Search(const PreparedRequest& p)
      : p_(p), r_(*p.request), topo_(p.topology()), ng_(p), fill_(p, ng_), groups_(ng_.groups()) {
    has_locality_ = r_.locality.has_value();
    level_ = has_locality_ ? r_.locality->level : Level::kLeaf;
    if (has_locality_) {
      for (Level l : LevelsAbove(level_)) above_.push_back(l);
    }
    required_ = p.mask.locality && r_.locality && r_.locality->mode == LocalityMode::kRequired;
    max_domains_ = required_ ? r_.locality->max_domains : std::numeric_limits<int>::max();
    spread_ = p.mask.spread && r_.spread.has_value();
    roce_ = p.mask.roce && r_.roce;
    if (spread_) spread_slot_ = ng_.Slot(r_.spread->level);
  }

  std::optional<Candidate> Run() {
    // Pools: one per leaf vendor under roce, else all groups.
    std::vector<std::vector<int>> pools;
    if (roce_) {
      pools.resize(ng_.vendors().size());
      for (int g = 0; g < static_cast<int>(groups_.size()); ++g)
        pools[groups_[g].vendor].push_back(g);
    } else {
      pools.emplace_back(groups_.size());
      for (int g = 0; g < static_cast<int>(groups_.size()); ++g) pools[0][g] = g;
    }
    std::optional<Candidate> best;
    int best_k = std::numeric_limits<int>::max();
    for (const auto& pool : pools) {
      if (pool.empty()) continue;
      const int k_min = MinCount(pool);
      if (k_min < 0) continue;
      int pool_nodes = 0;
      for (int g : pool) pool_nodes += groups_[g].Size();
      const int k_max = r_.gpus ? std::min(pool_nodes, k_min + kMaxExtraGpuNodes) : k_min;
      for (int k = k_min; k <= k_max && k <= best_k; ++k) {
        std::optional<Candidate> found = SolvePool(pool, k);
        if (!found) continue;
        if (k < best_k || !best || found->objective.total < best->objective.total - kEps) {
          best = std::move(found);
          best_k = k;
        }
        break;  // fewest nodes first
      }
    }
    return best;
  }

 private:
  // The fewest nodes of `pool` that can meet the count (see MinimumNodeCount()).
  int MinCount(const std::vector<int>& pool) const {
    if (r_.nodes) return *r_.nodes;
    std::vector<std::pair<int, int>> by_gpus;  // (gpus, nodes)
    by_gpus.reserve(pool.size());
    for (int g : pool) by_gpus.emplace_back(groups_[g].gpus, groups_[g].Size());
    std::sort(by_gpus.begin(), by_gpus.end(), std::greater<>());
    int64_t sum = 0;
    int k = 0;
    for (const auto& [gpus, count] : by_gpus) {
      for (int i = 0; i < count; ++i) {
        sum += gpus;
        ++k;
        if (sum >= *r_.gpus) return k;
      }
    }
    return -1;
  }

  // Fills `set` in each order until one answer passes the checks; keeps the best in `best`.
  void Try(std::span<const int> set, int k, int max_loc_domains, std::optional<Candidate>& best) {
    if (r_.gpus) {
      TryGpuMixes(set, k, max_loc_domains, best);
      return;
    }
    for (FillOrder order : {FillOrder::kObjective, FillOrder::kCostFirst}) {
      if (Keep(fill_.Fill(set, k, order, max_loc_domains, nullptr), best)) return;
    }
  }

  // Keeps `nodes` in `best` when they pass the checks and improve on it; true when they passed.
  bool Keep(std::optional<std::vector<int>> nodes, std::optional<Candidate>& best) const {
    if (!nodes || !CheckPrepared(p_, *nodes).empty()) return false;
    ObjectiveTerms t = EvaluateObjective(p_, *nodes);
    if (!best || t.total < best->objective.total - kEps) best = Candidate{std::move(*nodes), t};
    return true;
  }

  // A gpus request needs k nodes whose GPUs reach the target with none to spare (dropping the
  // smallest node misses it). Which GPU sizes make up the k nodes decides both, so the fill runs
  // per mix of sizes: every mix the set can supply within that band, cheapest-looking first.
  void TryGpuMixes(std::span<const int> set, int k, int max_loc_domains,
                   std::optional<Candidate>& best) {
    const std::vector<int>& gpu_sizes = fill_.gpu_sizes();
    const int sizes = static_cast<int>(gpu_sizes.size());
    std::vector<int> available(sizes, 0);
    std::vector<double> cheapest(sizes, std::numeric_limits<double>::max());
    for (int g : set) {
      const int size = fill_.GpuSize(g);
      available[size] += groups_[g].Size();
      cheapest[size] = std::min(cheapest[size], groups_[g].base);
    }
    // Largest GPU total reachable with `n` nodes from sizes i.. (sizes are in descending order).
    auto reach = [&](int i, int n) {
      int64_t total = 0;
      for (int j = i; j < sizes && n > 0; ++j) {
        const int take = std::min(n, available[j]);
        total += static_cast<int64_t>(take) * gpu_sizes[j];
        n -= take;
      }
      return n > 0 ? int64_t{-1} : total;
    };
    const int64_t target = *r_.gpus;
    std::vector<std::pair<double, std::vector<int>>> mixes;
    std::vector<int> mix(sizes, 0);
    // Depth-first over sizes, largest first; `sum` GPUs and `left` nodes still to place.
    auto walk = [&](auto&& self, int i, int left, int64_t sum) -> void {
      if (static_cast<int>(mixes.size()) >= kMaxGpuMixes) return;
      if (left == 0) {
        int smallest = 0;
        for (int j = 0; j < sizes; ++j) {
          if (mix[j] > 0) smallest = gpu_sizes[j];
        }
        if (sum < target || sum - smallest >= target || smallest == 0) return;
        double estimate = 0;
        for (int j = 0; j < sizes; ++j) estimate += mix[j] * cheapest[j];
        mixes.emplace_back(estimate, mix);
        return;
      }
      if (i == sizes) return;
      const int64_t most = reach(i, left);
      if (most < 0 || sum + most < target) return;
      for (int c = std::min(left, available[i]); c >= 0; --c) {
        mix[i] = c;
        self(self, i + 1, left - c, sum + static_cast<int64_t>(c) * gpu_sizes[i]);
      }
      mix[i] = 0;
    };
    walk(walk, 0, k, 0);
    std::stable_sort(mixes.begin(), mixes.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    int filled = 0;
    for (const auto& [estimate, counts] : mixes) {
      if (++filled > kMaxGpuMixesFilled) break;
      for (FillOrder order : {FillOrder::kObjective, FillOrder::kCostFirst}) {
        if (Keep(fill_.Fill(set, k, order, max_loc_domains, &counts), best)) break;
      }
    }
  }

  // Locality domains of a pool with their capacity (spread-capped) and a cheap objective bound.
  struct DomainInfo {
    int loc = 0;
    std::vector<int> groups;
    int capacity = 0;  // nodes usable under the spread cap
    int64_t gpus = 0;
    double min_base = 0;
    bool all_free_rack = true, all_free_leaf = true;
    double open = 0;  // objective terms opening the domain adds (domain, free rack and leaf)
    std::vector<std::pair<double, int>> by_base;  // (base, nodes) per group, cheapest first
    double bound = 0;                             // lower bound on a single-domain fill
  };

  std::vector<DomainInfo> Domains(const std::vector<int>& pool, int k) const {
    const std::optional<int> cap = spread_ ? r_.spread->CapFor(k) : std::nullopt;
    std::vector<DomainInfo> out;
    // Groups are sorted by locality domain first, so a pool (sorted ids) runs domain by domain.
    for (size_t i = 0; i < pool.size();) {
      DomainInfo d;
      d.loc = Loc(pool[i]);
      d.min_base = std::numeric_limits<double>::max();
      size_t j = i;
      while (j < pool.size() && Loc(pool[j]) == d.loc) {
        const NodeGroup& g = groups_[pool[j]];
        d.groups.push_back(pool[j]);
        d.gpus += static_cast<int64_t>(g.gpus) * g.Size();
        d.min_base = std::min(d.min_base, g.base);
        d.all_free_rack = d.all_free_rack && g.free_rack;
        d.all_free_leaf = d.all_free_leaf && g.free_leaf;
        ++j;
      }
      if (cap) {
        std::vector<std::pair<int, int>> per;  // (spread domain, nodes)
        for (int g : d.groups)
          per.emplace_back(ng_.Domain(groups_[g], spread_slot_), groups_[g].Size());
        std::sort(per.begin(), per.end());
        for (size_t a = 0; a < per.size();) {
          size_t b = a;
          int n = 0;
          while (b < per.size() && per[b].first == per[a].first) n += per[b++].second;
          d.capacity += std::min(n, *cap);
          a = b;
        }
      } else {
        for (int g : d.groups) d.capacity += groups_[g].Size();
      }
      const ObjectiveWeights& w = p_.weights;
      for (int g : d.groups) d.by_base.emplace_back(groups_[g].base, groups_[g].Size());
      std::sort(d.by_base.begin(), d.by_base.end());
      d.open = (d.all_free_rack ? w.fragmentation : 0) + (d.all_free_leaf ? w.fragmentation : 0) +
               (has_locality_ ? w.domains : 0);
      d.bound = k * d.min_base + d.open;
      if (has_locality_) d.bound += w.domains_above * static_cast<double>(above_.size());
      out.push_back(std::move(d));
      i = j;
    }
    return out;
  }

  bool Sufficient(int capacity, int64_t gpus, int k) const {
    return capacity >= k && (!r_.gpus || gpus >= *r_.gpus);
  }

  std::optional<Candidate> SolvePool(const std::vector<int>& pool, int k) {
    std::optional<Candidate> best;
    std::vector<DomainInfo> domains = Domains(pool, k);

    // 1. One locality domain: cheapest bound first, then the smallest sufficient one.
    std::vector<int> order;
    for (int i = 0; i < static_cast<int>(domains.size()); ++i) {
      if (Sufficient(domains[i].capacity, domains[i].gpus, k)) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      const DomainInfo& x = domains[a];
      const DomainInfo& y = domains[b];
      if (x.bound != y.bound) return x.bound < y.bound;
      if (x.capacity != y.capacity) return x.capacity < y.capacity;
      return x.loc < y.loc;
    });
    int tries = 0;
    for (int i : order) {
      if (best && domains[i].bound >= best->objective.total - kEps) break;
      if (++tries > kMaxSingleDomainTries) break;
      Try(domains[i].groups, k, 1, best);
    }
    if (best && domains.size() == 1) return best;

    // 2. Several domains under one parent, nearest parent level first, then the whole pool.
    if (max_domains_ >= 2) {
      std::vector<Level> parents(above_.begin(), above_.end());
      if (!has_locality_) parents = {Level::kPod, Level::kSpine, Level::kSite};
      for (size_t level_i = 0; level_i <= parents.size(); ++level_i) {
        const bool whole_pool = level_i == parents.size();
        std::vector<std::pair<int, int>> by_parent;  // (parent domain, domain index)
        for (int i = 0; i < static_cast<int>(domains.size()); ++i) {
          const int parent = whole_pool
                                 ? 0
                                 : topo_.DomainOf(ng_.nodes()[groups_[domains[i].groups[0]].begin],
                                                  parents[level_i]);
          by_parent.emplace_back(parent, i);
        }
        std::sort(by_parent.begin(), by_parent.end());
        bool single_parent =
            !by_parent.empty() && by_parent.front().first == by_parent.back().first;
        if (single_parent && !whole_pool) continue;  // the whole-pool pass covers it
        for (size_t a = 0; a < by_parent.size();) {
          size_t b = a;
          std::vector<int> members;
          while (b < by_parent.size() && by_parent[b].first == by_parent[a].first) {
            members.push_back(by_parent[b++].second);
          }
          a = b;
          TryUnderParent(domains, members, k, best);
        }
      }
    }

    // 3. One greedy pass over the whole pool, within maxDomains.
    Try(pool, k, max_domains_, best);
    return best;
  }

  // The objective a domain adds when it supplies `n` nodes on its own: opening it plus its `n`
  // cheapest nodes (spread caps aside).
  double CompletionCost(const DomainInfo& d, int n) const {
    double cost = d.open;
    for (const auto& [base, size] : d.by_base) {
      const int take = std::min(n, size);
      cost += take * base;
      n -= take;
      if (n == 0) break;
    }
    return cost;
  }

  // Several domains under one parent, chosen two ways: largest first (fewest domains) and cheapest
  // per node first (opening cost spread over what the domain supplies). Either way the last domain
  // is the cheapest one that completes the need, the smallest on ties (best fit). A choice whose
  // fill fails is widened, up to maxDomains, since spread or budget may need more room.
  void TryUnderParent(const std::vector<DomainInfo>& domains, std::vector<int> members, int k,
                      std::optional<Candidate>& best) {
    if (members.size() < 2) return;
    int64_t total_capacity = 0, total_gpus = 0;
    for (int i : members) {
      total_capacity += domains[i].capacity;
      total_gpus += domains[i].gpus;
    }
    if (total_capacity < k || (r_.gpus && total_gpus < *r_.gpus)) return;
    std::vector<double> unit(domains.size(), 0.0);
    for (int i : members) {
      const int n = std::max(1, std::min(domains[i].capacity, k));
      unit[i] = CompletionCost(domains[i], n) / n;
    }
    auto by_capacity = [&](int a, int b) {
      if (domains[a].capacity != domains[b].capacity)
        return domains[a].capacity > domains[b].capacity;
      if (unit[a] != unit[b]) return unit[a] < unit[b];
      return domains[a].loc < domains[b].loc;
    };
    auto by_unit_cost = [&](int a, int b) {
      if (unit[a] != unit[b]) return unit[a] < unit[b];
      if (domains[a].capacity != domains[b].capacity)
        return domains[a].capacity > domains[b].capacity;
      return domains[a].loc < domains[b].loc;
    };
    std::vector<std::vector<int>> tried;
    for (int ordering = 0; ordering < 2; ++ordering) {
      if (ordering == 0) {
        std::sort(members.begin(), members.end(), by_capacity);
      } else {
        std::sort(members.begin(), members.end(), by_unit_cost);
      }
      std::vector<int> chosen;
      std::vector<uint8_t> used(members.size(), 0);
      int have = 0;
      int64_t have_gpus = 0;
      while (!Sufficient(have, have_gpus, k)) {
        int pick = -1;
        double pick_cost = 0;
        for (int i = 0; i < static_cast<int>(members.size()); ++i) {
          const DomainInfo& d = domains[members[i]];
          if (used[i] || !Sufficient(have + d.capacity, have_gpus + d.gpus, k)) continue;
          const double cost = CompletionCost(d, std::max(1, k - have));
          if (pick < 0 || cost < pick_cost - kEps ||
              (cost < pick_cost + kEps && d.capacity < domains[members[pick]].capacity)) {
            pick = i;
            pick_cost = cost;
          }
        }
        if (pick < 0) {
          for (int i = 0; i < static_cast<int>(members.size()) && pick < 0; ++i) {
            if (!used[i]) pick = i;
          }
        }
        if (pick < 0) break;
        used[pick] = 1;
        chosen.push_back(members[pick]);
        have += domains[members[pick]].capacity;
        have_gpus += domains[members[pick]].gpus;
      }
      while (static_cast<int>(chosen.size()) <= max_domains_) {
        std::vector<int> key = chosen;
        std::sort(key.begin(), key.end());
        if (std::find(tried.begin(), tried.end(), key) != tried.end()) break;
        tried.push_back(key);
        if (best) {
          double min_base = std::numeric_limits<double>::max();
          for (int i : chosen) min_base = std::min(min_base, domains[i].min_base);
          double bound = k * min_base;
          if (has_locality_) bound += p_.weights.domains * static_cast<double>(chosen.size());
          if (bound >= best->objective.total - kEps) break;
        }
        std::vector<int> set;
        for (int i : chosen)
          set.insert(set.end(), domains[i].groups.begin(), domains[i].groups.end());
        std::sort(set.begin(), set.end());
        std::optional<Candidate> found;
        Try(set, k, max_domains_, found);
        if (found) {
          if (!best || found->objective.total < best->objective.total - kEps)
            best = std::move(found);
          break;
        }
        int next = -1;
        for (int i = 0; i < static_cast<int>(members.size()) && next < 0; ++i) {
          if (!used[i]) next = i;
        }
        if (next < 0) break;
        used[next] = 1;
        chosen.push_back(members[next]);
      }
    }
  }

  // The group's domain at the search level (the key's first level).
  int Loc(int g) const { return ng_.Domain(groups_[g], 0); }

  const PreparedRequest& p_;
  const Request& r_;
  const Topology& topo_;
  const NodeGroups ng_;
  GreedyFill fill_;
  const std::vector<NodeGroup>& groups_;
  int spread_slot_ = -1;
  bool has_locality_ = false, required_ = false, spread_ = false, roce_ = false;
  Level level_ = Level::kLeaf;
  int max_domains_ = 1;
  std::vector<Level> above_;  // LevelsAbove(level_), as many as the topology has
};

class HeuristicBackend final : public Backend {
 public:
  std::string_view name() const override { return "heuristic"; }
  // A quick search: it may miss, proves only what ObjectiveLowerBound() and ProveInfeasible()
  // show, and ignores the time limit (it takes milliseconds).
  BackendCapabilities capabilities() const override { return {.uses_warm_start = true}; }

  PlacementResult Solve(const PreparedRequest& p, const SolveOptions& /*options*/,
                        const PlacementResult* warm_start) const override {
    const auto start = std::chrono::steady_clock::now();
    PlacementResult result;
    result.request = p.request->name;
    result.backend = "heuristic";
    std::optional<Candidate> best;
    if (p.keep_current) {
      // Repairs keep every current node; this search does not model that (see backend.h).
      result.status = SolveStatus::kNoSolutionFound;
      return result;
    }
    const bool proven_infeasible = ProveInfeasible(p).has_value();
    if (!proven_infeasible) {
      best = Search(p).Run();
      // A feasible warm start that beats the search is kept: never return worse than given.
      if (warm_start != nullptr && !warm_start->nodes.empty() &&
          CheckPrepared(p, warm_start->nodes).empty()) {
        ObjectiveTerms t = EvaluateObjective(p, warm_start->nodes);
        const bool fewer = p.request->gpus && best && warm_start->nodes.size() < best->nodes.size();
        if (!best || fewer || t.total < best->objective.total - kEps) {
          best = Candidate{warm_start->nodes, t};
        }
      }
    }
    if (best) {
      std::sort(best->nodes.begin(), best->nodes.end());
      result.nodes = std::move(best->nodes);
      result.objective = best->objective;
      result.cost_per_hour = best->objective.cost_per_hour;
      const bool fewest =
          !p.request->gpus || static_cast<int>(result.nodes.size()) == MinimumNodeCount(p);
      const double bound = ObjectiveLowerBound(p);
      result.bound = bound;
      result.gap =
          (result.objective.total - bound) / std::max(1.0, std::abs(result.objective.total));
      result.status = fewest && result.objective.total <= bound + 1e-7 ? SolveStatus::kOptimal
                                                                       : SolveStatus::kFeasible;
      if (result.status == SolveStatus::kOptimal) result.gap = 0.0;
    } else {
      // A miss proves nothing: only the relaxation argument makes it infeasible.
      result.status = proven_infeasible ? SolveStatus::kInfeasible : SolveStatus::kNoSolutionFound;
    }
    result.solve_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return result;
  }
};

}  // namespace

std::unique_ptr<Backend> MakeHeuristicBackend() { return std::make_unique<HeuristicBackend>(); }

}  // namespace topoplace
