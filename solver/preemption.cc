// Preemption (DESIGN.md section 8): the legal victims of a request, the problem after evictions,
// the search for the fewest evictions that make room, and the greedy baseline others use.
#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <map>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "solver/backend.h"
#include "solver/explain.h"
#include "solver/prepared.h"
#include "solver/solver.h"

namespace topoplace {

std::vector<Holding> HoldingsOf(const Inventory& inventory,
                                const std::vector<Allocation>& allocations) {
  std::vector<Holding> out;
  out.reserve(allocations.size());
  for (const Allocation& a : allocations) {
    Holding h;
    h.name = a.name;
    h.tenant = a.tenant;
    h.project = std::string(ProjectName(a.project));
    h.priority = AllocationPriority(a);
    for (const std::string& name : a.nodes) {
      const int node = inventory.NodeIndex(name);
      if (node >= 0) h.nodes.push_back(node);
    }
    std::sort(h.nodes.begin(), h.nodes.end());
    h.nodes.erase(std::unique(h.nodes.begin(), h.nodes.end()), h.nodes.end());
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<int> LegalVictims(const PlacementProblem& problem, const Request& request) {
  std::vector<int> out;
  if (!request.preemption) return out;
  const bool all = request.preemption->scope == PreemptionScope::kAll;
  for (size_t i = 0; i < problem.holdings.size(); ++i) {
    const Holding& h = problem.holdings[i];
    if (h.priority >= request.priority) continue;
    if (!all && h.tenant != request.tenant) continue;
    if (h.nodes.empty()) continue;
    out.push_back(static_cast<int>(i));
  }
  return out;
}

PlacementProblem AfterEvictions(const PlacementProblem& problem,
                                std::span<const std::string> evicted) {
  PlacementProblem out;
  out.tenants = problem.tenants;
  out.preempt_across_tenants = problem.preempt_across_tenants;
  out.project_usage = problem.project_usage;
  if (problem.snapshot == nullptr) return out;
  const Inventory& inv = problem.snapshot->inventory;
  NodeStates states = problem.snapshot->states;
  out.holdings.reserve(problem.holdings.size());
  for (const Holding& h : problem.holdings) {
    if (std::find(evicted.begin(), evicted.end(), h.name) == evicted.end()) {
      out.holdings.push_back(h);
      continue;
    }
    std::vector<int> freed;
    for (int node : h.nodes) {
      // A node its tenant no longer holds (a stale record) is not the holding's to free.
      if (node < 0 || node >= states.size() || states.holder(node) != h.tenant) continue;
      freed.push_back(node);
      const NodeState s = states.state(node);
      const bool keeps_state = s == NodeState::kMaintenance || s == NodeState::kFailed;
      states.Set(node, keeps_state ? s : NodeState::kAvailable, "", std::nullopt);
    }
    // Its project holds its nodes no more.
    for (ProjectUsage& u : out.project_usage) {
      if (u.tenant != h.tenant || u.project != ProjectName(h.project)) continue;
      for (int node : freed) AddNodeUsage(u.usage, inv.ClassOf(node), -1);
    }
  }
  out.snapshot = problem.snapshot->WithStates(std::move(states));
  return out;
}

namespace {

const Holding* FindHolding(const PlacementProblem& problem, std::string_view name) {
  for (const Holding& h : problem.holdings) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

// The request as the solver places it once the evictions are decided: without `preemption:`, so
// the solve it is handed to does not search for evictions again.
Request Plain(const Request& request) {
  Request r = request;
  r.preemption.reset();
  return r;
}

PlacementResult SolvePlain(const PlacementProblem& problem, const Request& request,
                           const SolveOptions& options) {
  SolveOptions quiet = options;
  quiet.requests_validated = true;
  Result<std::vector<PlacementResult>> r = Solve(problem, {Plain(request)}, quiet);
  if (!r.ok()) {
    PlacementResult out;
    out.request = request.name;
    out.status = SolveStatus::kNoSolutionFound;
    return out;
  }
  return std::move(r.value().front());
}

}  // namespace

std::vector<Eviction> DescribeEvictions(const PlacementProblem& problem, const Request& request,
                                        std::span<const int> nodes,
                                        std::span<const std::string> evicted) {
  std::vector<Eviction> out;
  if (problem.snapshot == nullptr) return out;
  const Topology& topo = problem.snapshot->topology;
  const Level level =
      request.locality ? request.locality->level : Level::kLeaf;
  for (const std::string& name : evicted) {
    const Holding* h = FindHolding(problem, name);
    if (h == nullptr) continue;
    Eviction e;
    e.allocation = h->name;
    e.tenant = h->tenant;
    e.project = std::string(ProjectName(h->project));
    e.priority = h->priority;
    e.nodes = h->nodes;
    std::set_intersection(h->nodes.begin(), h->nodes.end(), nodes.begin(), nodes.end(),
                          std::back_inserter(e.used));
    std::map<int, int> per_domain;
    for (int node : e.used.empty() ? e.nodes : e.used) ++per_domain[topo.DomainOf(node, level)];
    int best = -1, most = 0;
    for (const auto& [d, count] : per_domain) {
      if (count > most) best = d, most = count;
    }
    if (best >= 0) e.domain = std::string(LevelName(level)) + "/" + topo.DomainName(level, best);
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(),
            [](const Eviction& a, const Eviction& b) { return a.allocation < b.allocation; });
  return out;
}

PlacementResult GreedyPreemption(const PlacementProblem& problem, const Request& request,
                                 const SolveOptions& options) {
  SolveOptions quiet = options;
  quiet.explain = false;
  PlacementResult fit = SolvePlain(problem, request, quiet);
  if (HasPlacement(fit.status)) return fit;
  std::vector<int> order = LegalVictims(problem, request);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const Holding& x = problem.holdings[a];
    const Holding& y = problem.holdings[b];
    if (x.priority != y.priority) return x.priority < y.priority;
    return x.nodes.size() > y.nodes.size();
  });
  const int limit = request.preemption && request.preemption->max_evictions
                        ? *request.preemption->max_evictions
                        : static_cast<int>(order.size());
  std::vector<std::string> evicted;
  for (int v : order) {
    if (static_cast<int>(evicted.size()) >= limit) break;
    evicted.push_back(problem.holdings[v].name);
    fit = SolvePlain(AfterEvictions(problem, evicted), request, quiet);
    if (HasPlacement(fit.status)) break;
  }
  if (!HasPlacement(fit.status)) {
    PlacementResult out;
    out.request = request.name;
    out.status = SolveStatus::kNoSolutionFound;
    out.backend = "greedy";
    return out;
  }
  // Give back what the fit does not need, the most important victim first.
  std::vector<std::string> by_importance = evicted;
  std::stable_sort(by_importance.begin(), by_importance.end(),
                   [&](const std::string& a, const std::string& b) {
                     return FindHolding(problem, a)->priority > FindHolding(problem, b)->priority;
                   });
  for (const std::string& name : by_importance) {
    std::vector<std::string> without = evicted;
    std::erase(without, name);
    PlacementResult r = SolvePlain(AfterEvictions(problem, without), request, quiet);
    if (HasPlacement(r.status)) {
      evicted = std::move(without);
      fit = std::move(r);
    }
  }
  fit.status = SolveStatus::kFeasible;
  fit.bound.reset();
  fit.gap.reset();
  fit.backend = "greedy";
  fit.evictions = DescribeEvictions(problem, request, fit.nodes, evicted);
  return fit;
}

PreparedRequest PreparePreempting(const PlacementProblem& problem, const Request& request,
                                  const SolveOptions& options, std::span<const int> victims,
                                  const ConstraintMask& mask) {
  std::vector<std::string> names;
  names.reserve(victims.size());
  for (int v : victims) names.push_back(problem.holdings[v].name);
  // Candidates, closed domains and the relaxed headroom: as if every legal victim were gone.
  const PlacementProblem after = AfterEvictions(problem, names);
  PreparedRequest p = Prepare(after, request, options, mask);
  auto space = std::make_shared<PreemptionSpace>();
  space->after_all = after.snapshot;
  // `after` goes out of scope: point at the caller's tenants instead of its copies.
  p.tenant = nullptr;
  for (const Tenant& t : problem.tenants) {
    if (t.name == request.tenant) p.tenant = &t;
  }
  p.project = p.tenant != nullptr ? FindProject(*p.tenant, request.project) : nullptr;

  const Inventory& inv = problem.snapshot->inventory;
  const Topology& topo = problem.snapshot->topology;
  const NodeStates& states = problem.snapshot->states;
  const int n = static_cast<int>(inv.nodes.size());

  // Which legal victim holds each node (as the node states agree).
  std::vector<int> victim_at(n, -1);
  const std::string_view project = ProjectName(request.project);
  for (size_t i = 0; i < victims.size(); ++i) {
    const Holding& h = problem.holdings[victims[i]];
    PreemptionSpace::Victim v;
    v.holding = victims[i];
    v.name = h.name;
    v.priority = h.priority;
    v.same_tenant = h.tenant == request.tenant;
    v.same_project = v.same_tenant && ProjectName(h.project) == project;
    for (int node : h.nodes) {
      if (node < 0 || node >= n || states.holder(node) != h.tenant) continue;
      victim_at[node] = static_cast<int>(i);
      const std::array<double, 6> r = NodeResources(inv.ClassOf(node));
      for (size_t k = 0; k < r.size(); ++k) v.returns[k] += r[k];
    }
    space->victims.push_back(std::move(v));
  }

  // Domains a victim of another tenant keeps closed: the request's exclusive level, and the
  // levels the victims themselves hold exclusively.
  std::vector<std::vector<int>> closing;  // per domain of the request's exclusive level
  const bool exclusive = mask.exclusive && request.exclusive.has_value();
  if (exclusive) {
    closing.resize(topo.DomainCount(*request.exclusive));
    for (int node = 0; node < n; ++node) {
      const int v = victim_at[node];
      if (v < 0 || space->victims[v].same_tenant) continue;
      std::vector<int>& list = closing[topo.DomainOf(node, *request.exclusive)];
      if (list.empty() || list.back() != v) list.push_back(v);
    }
  }
  struct Fence {
    Level level;
    int domain;
    int victim;
    auto operator<=>(const Fence&) const = default;
  };
  std::vector<Fence> fences;
  for (int node = 0; states.exclusive_count() > 0 && node < n; ++node) {
    const std::optional<Level> fence = states.exclusive(node);
    const int v = victim_at[node];
    if (!fence || v < 0 || space->victims[v].same_tenant) continue;
    fences.push_back({*fence, topo.DomainOf(node, *fence), v});
  }
  std::sort(fences.begin(), fences.end());
  fences.erase(std::unique(fences.begin(), fences.end()), fences.end());

  space->need_sets.push_back({});
  space->need_of.assign(n, -1);
  std::map<std::vector<int>, int> interned;
  std::vector<int> needs;
  for (int node : p.candidates) {
    needs.clear();
    if (victim_at[node] >= 0) needs.push_back(victim_at[node]);
    if (exclusive) {
      const std::vector<int>& list = closing[topo.DomainOf(node, *request.exclusive)];
      needs.insert(needs.end(), list.begin(), list.end());
    }
    for (const Fence& f : fences) {
      if (topo.DomainOf(node, f.level) == f.domain) needs.push_back(f.victim);
    }
    if (needs.empty()) {
      space->need_of[node] = 0;
      continue;
    }
    std::sort(needs.begin(), needs.end());
    needs.erase(std::unique(needs.begin(), needs.end()), needs.end());
    auto [it, added] = interned.emplace(needs, static_cast<int>(space->need_sets.size()));
    if (added) space->need_sets.push_back(needs);
    space->need_of[node] = it->second;
  }

  // The headroom parts before any eviction.
  const TenantUsage usage = UsageOf(inv, states, request.tenant);
  auto limits = [](const Quota& q, const TenantUsage& used) {
    std::array<std::optional<double>, 6> out;
    if (q.nodes) out[0] = static_cast<double>(*q.nodes - used.nodes);
    if (q.gpus) out[1] = static_cast<double>(*q.gpus - used.gpus);
    if (q.cpu_cores) out[2] = static_cast<double>(*q.cpu_cores - used.cpu_cores);
    if (q.memory_gib) out[3] = *q.memory_gib - used.memory_gib;
    if (q.storage_gib) out[4] = *q.storage_gib - used.storage_gib;
    return out;
  };
  if (p.tenant != nullptr && mask.quota) space->tenant = limits(p.tenant->quota, usage);
  if (p.tenant != nullptr && mask.tenant_budget && p.tenant->budget_per_hour)
    space->tenant[5] = *p.tenant->budget_per_hour - usage.cost_per_hour;
  if (p.project != nullptr && mask.project_quota) {
    const ProjectUsage* held =
        FindProjectUsage(problem.project_usage, request.tenant, request.project);
    space->project = limits(p.project->quota, held != nullptr ? held->usage : TenantUsage{});
  }
  if (mask.budget && request.max_cost_per_hour) space->request_budget = *request.max_cost_per_hour;
  if (request.preemption) space->max_evictions = request.preemption->max_evictions;
  p.preemption = std::move(space);
  return p;
}

namespace {

using Clock = std::chrono::steady_clock;

// One eviction set and what it costs: the count, then the priority sum.
struct Evicting {
  std::vector<int> victims;  // PreemptionSpace indices, ascending
  int priority_sum = 0;
};

std::vector<std::string> NamesOf(const PreemptionSpace& space, const std::vector<int>& victims) {
  std::vector<std::string> out;
  for (int v : victims) out.push_back(space.victims[v].name);
  return out;
}

// Lexicographic: fewer evictions, then a lower priority sum.
bool Cheaper(const PlacementResult& a, const PlacementResult& b) {
  if (!HasPlacement(a.status)) return false;
  if (!HasPlacement(b.status)) return true;
  if (a.evictions.size() != b.evictions.size()) return a.evictions.size() < b.evictions.size();
  int pa = 0, pb = 0;
  for (const Eviction& e : a.evictions) pa += e.priority;
  for (const Eviction& e : b.evictions) pb += e.priority;
  return pa < pb;
}

// What the candidates offer per domain of `level` (all in domain 0 without one): the free
// capacity (nodes, or GPUs for a gpus request), and what each victim would unlock there. A node
// that needs several victims counts for each of them: an overestimate, so the bounds built on it
// stay valid.
struct DomainCapacity {
  std::map<int, double> free;
  std::map<int, std::map<int, double>> unlock;
  std::set<int> domains;  // every domain with a candidate
};

DomainCapacity CapacityByDomain(const PreparedRequest& p, std::optional<Level> level) {
  const PreemptionSpace& space = *p.preemption;
  const Inventory& inv = p.inventory();
  const Topology& topo = p.topology();
  const bool gpus = p.request->gpus.has_value();
  DomainCapacity out;
  for (int node : p.candidates) {
    const double w = gpus ? inv.ClassOf(node).gpu.count : 1;
    const int d = level ? topo.DomainOf(node, *level) : 0;
    out.domains.insert(d);
    const int set = space.need_of[node];
    if (set <= 0) {
      out.free[d] += w;
    } else {
      for (int v : space.need_sets[set]) out.unlock[d][v] += w;
    }
  }
  return out;
}

// The quick search: per domain of the request's required locality level (else the whole data
// centre), the victims that free the most usable capacity there first; each proposal confirmed by
// solving the request once they are gone, then thinned (a victim the placement does not need is
// given back, the most important first).
class QuickPreemption {
 public:
  QuickPreemption(const PlacementProblem& problem, const Request& request,
                  const PreparedRequest& p, const SolveOptions& options)
      : problem_(problem), request_(request), p_(p), space_(*p.preemption), options_(options) {}

  // A placement with its evictions (names only), or kNoSolutionFound.
  PlacementResult Run() {
    const Request& r = request_;
    const double need = r.gpus ? *r.gpus : r.nodes.value_or(0);
    const bool by_domain =
        r.locality && r.locality->mode == LocalityMode::kRequired && p_.mask.locality;
    DomainCapacity capacity =
        CapacityByDomain(p_, by_domain ? std::optional<Level>(r.locality->level) : std::nullopt);
    std::map<int, double>& free = capacity.free;
    std::map<int, std::map<int, double>>& unlock = capacity.unlock;
    const std::set<int>& domains = capacity.domains;
    std::vector<double> unlock_all(space_.victims.size(), 0);
    for (const auto& [d, per_victim] : unlock) {
      for (const auto& [v, u] : per_victim) unlock_all[v] += u;
    }
    // Proposals: per domain, the victims by what they unlock there (then lowest priority).
    std::vector<Evicting> proposals;
    for (int d : domains) {
      std::vector<std::pair<double, int>> order;
      for (const auto& [v, u] : unlock[d]) order.emplace_back(u, v);
      std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
        if (a.first != b.first) return a.first > b.first;
        return space_.victims[a.second].priority < space_.victims[b.second].priority;
      });
      double have = free[d];
      Evicting e;
      for (const auto& [u, v] : order) {
        if (have >= need) break;
        e.victims.push_back(v);
        e.priority_sum += space_.victims[v].priority;
        have += u;
      }
      if (have < need && by_domain && r.locality->max_domains == 1) continue;
      std::sort(e.victims.begin(), e.victims.end());
      proposals.push_back(std::move(e));
    }
    std::sort(proposals.begin(), proposals.end(), [](const Evicting& a, const Evicting& b) {
      if (a.victims.size() != b.victims.size()) return a.victims.size() < b.victims.size();
      return a.priority_sum < b.priority_sum;
    });
    // Victims overall, by what they unlock: to grow a proposal that did not confirm.
    std::vector<int> overall(space_.victims.size());
    std::iota(overall.begin(), overall.end(), 0);
    std::stable_sort(overall.begin(), overall.end(), [&](int a, int b) {
      if (unlock_all[a] != unlock_all[b]) return unlock_all[a] > unlock_all[b];
      return space_.victims[a].priority < space_.victims[b].priority;
    });

    constexpr size_t kProposals = 6;
    constexpr int kGrowth = 24;
    const int limit = space_.max_evictions.value_or(static_cast<int>(space_.victims.size()));
    for (size_t i = 0; i < proposals.size() && i < kProposals; ++i) {
      std::vector<int> set = proposals[i].victims;
      if (static_cast<int>(set.size()) > limit) continue;
      PlacementResult fit = Confirm(set);
      for (int grown = 0, next = 0; !HasPlacement(fit.status) && grown < kGrowth &&
                                    next < static_cast<int>(overall.size()) &&
                                    static_cast<int>(set.size()) < limit;
           ++next) {
        if (std::find(set.begin(), set.end(), overall[next]) != set.end()) continue;
        set.push_back(overall[next]);
        ++grown;
        fit = Confirm(set);
      }
      if (!HasPlacement(fit.status)) continue;
      return Thin(std::move(set), std::move(fit));
    }
    PlacementResult none;
    none.status = SolveStatus::kNoSolutionFound;
    return none;
  }

 private:
  PlacementResult Confirm(const std::vector<int>& set) {
    SolveOptions quick = options_;
    quick.explain = false;
    quick.time_limit_seconds = std::min(options_.time_limit_seconds, 1.0);
    PlacementResult r = SolvePlain(AfterEvictions(problem_, NamesOf(space_, set)), request_, quick);
    r.evictions.clear();
    for (int v : set) {
      Eviction e;
      e.allocation = space_.victims[v].name;
      e.priority = space_.victims[v].priority;
      r.evictions.push_back(std::move(e));
    }
    return r;
  }

  PlacementResult Thin(std::vector<int> set, PlacementResult fit) {
    std::vector<int> by_importance = set;
    std::stable_sort(by_importance.begin(), by_importance.end(), [&](int a, int b) {
      return space_.victims[a].priority > space_.victims[b].priority;
    });
    for (int v : by_importance) {
      std::vector<int> without = set;
      std::erase(without, v);
      PlacementResult r = Confirm(without);
      if (HasPlacement(r.status)) {
        set = std::move(without);
        fit = std::move(r);
      }
    }
    return fit;
  }

  const PlacementProblem& problem_;
  const Request& request_;
  const PreparedRequest& p_;
  const PreemptionSpace& space_;
  SolveOptions options_;
};

// The explanation of a request that even every legal victim's eviction does not place: the usual
// one, found with all of them gone, and preemption's own limit among the groups.
Explanation ExplainPreempting(const PlacementProblem& problem, const Request& request,
                              const SolveOptions& options, const std::vector<int>& victims,
                              std::optional<int> fewest_beyond_limit) {
  const bool all = request.preemption && request.preemption->scope == PreemptionScope::kAll;
  std::string scope = all ? "any tenant's" : "tenant " + request.tenant + "'s own";
  std::string limit;
  int64_t freed = 0;
  for (int v : victims) freed += static_cast<int64_t>(problem.holdings[v].nodes.size());
  ConflictItem item{"preemption",
                    std::to_string(victims.size()) + " allocations of " + scope +
                        " with priority below " + std::to_string(request.priority) +
                        " may be evicted, holding " + std::to_string(freed) + " nodes"};
  Explanation e;
  std::vector<std::string> names;
  for (int v : victims) names.push_back(problem.holdings[v].name);
  if (fewest_beyond_limit) {
    item.detail += "; maxEvictions is " +
                   std::to_string(request.preemption->max_evictions.value_or(0)) +
                   " and the fewest evictions that make room are " +
                   std::to_string(*fewest_beyond_limit);
    e.summary = "preemption: maxEvictions " +
                std::to_string(request.preemption->max_evictions.value_or(0)) +
                " is too few; placing needs " + std::to_string(*fewest_beyond_limit) +
                " evictions";
    e.conflict.push_back(std::move(item));
    e.relaxations.push_back("preemption.maxEvictions: " + std::to_string(*fewest_beyond_limit));
    return e;
  }
  e = Explain(AfterEvictions(problem, names), Plain(request), options);
  e.summary = "even evicting every legal victim (" + std::to_string(victims.size()) +
              "): " + e.summary;
  e.conflict.insert(e.conflict.begin(), std::move(item));
  if (!all && problem.preempt_across_tenants) e.relaxations.push_back("preemption.scope: all");
  return e;
}

bool OneDomain(const Request& request, const ConstraintMask& mask) {
  return mask.locality && request.locality &&
         request.locality->mode == LocalityMode::kRequired && request.locality->max_domains == 1;
}

int PrioritySum(const PlacementResult& r) {
  int sum = 0;
  for (const Eviction& e : r.evictions) sum += e.priority;
  return sum;
}

struct DomainSearch {
  PlacementResult best;
  bool improved = false;
  bool proven = false;  // every domain that could beat `best` was searched to the end
};

// The exact search one locality domain at a time, in the order of a lower bound on (evictions,
// priority sum) per domain: the fewest victims whose unlockable capacity there (a node that needs
// several victims counted for each of them) reaches what the free capacity lacks, and the lowest
// priorities any that many legal victims have. A domain whose bound cannot beat the best found is
// never searched.
DomainSearch SearchByDomain(const PreparedRequest& p, const Backend& exact,
                            const SolveOptions& options, Clock::time_point start,
                            const PlacementResult& incumbent) {
  DomainSearch out;
  out.best = incumbent;
  const PreemptionSpace& space = *p.preemption;
  const Request& r = *p.request;
  const Topology& topo = p.topology();
  const Level level = r.locality->level;
  const double need = r.gpus ? *r.gpus : r.nodes.value_or(0);
  DomainCapacity capacity = CapacityByDomain(p, level);
  std::map<int, double>& free = capacity.free;
  std::map<int, std::map<int, double>>& unlock = capacity.unlock;
  std::vector<int> priorities;
  for (const PreemptionSpace::Victim& v : space.victims) priorities.push_back(v.priority);
  std::sort(priorities.begin(), priorities.end());
  struct Bound {
    int count = 0;
    int priority_sum = 0;
    int domain = 0;
  };
  std::vector<Bound> bounds;
  for (int d : capacity.domains) {
    std::vector<double> unlocks;
    for (const auto& [v, u] : unlock[d]) unlocks.push_back(u);
    std::sort(unlocks.begin(), unlocks.end(), std::greater<>());
    double have = free[d];
    int count = 0;
    while (have < need - 1e-9 && count < static_cast<int>(unlocks.size())) have += unlocks[count++];
    if (have < need - 1e-9) continue;  // even every victim here does not make room
    Bound b;
    b.count = count;
    b.domain = d;
    for (int i = 0; i < count; ++i) b.priority_sum += priorities[i];
    bounds.push_back(b);
  }
  std::sort(bounds.begin(), bounds.end(), [](const Bound& a, const Bound& b) {
    if (a.count != b.count) return a.count < b.count;
    return a.priority_sum < b.priority_sum;
  });
  bool complete = true;
  for (const Bound& b : bounds) {
    if (HasPlacement(out.best.status)) {
      const int count = static_cast<int>(out.best.evictions.size());
      const int sum = PrioritySum(out.best);
      if (b.count > count || (b.count == count && b.priority_sum >= sum)) break;
    }
    const double left =
        options.time_limit_seconds - std::chrono::duration<double>(Clock::now() - start).count();
    if (left <= 0) {
      complete = false;
      break;
    }
    PreparedRequest within = p;
    std::erase_if(within.candidates,
                  [&](int node) { return topo.DomainOf(node, level) != b.domain; });
    SolveOptions here = options;
    here.time_limit_seconds = left;
    PlacementResult found = exact.Solve(within, here, nullptr);
    if (found.status == SolveStatus::kInfeasible) continue;
    if (found.status != SolveStatus::kOptimal) complete = false;
    if (Cheaper(found, out.best)) {
      out.best = std::move(found);
      out.improved = true;
    }
  }
  out.proven = complete;
  return out;
}

}  // namespace

PlacementResult SolvePreempting(const PlacementProblem& problem, const Request& request,
                                const SolveOptions& options, const Backend* backend,
                                PlacementResult plain) {
  const auto start = Clock::now();
  const std::vector<int> victims = LegalVictims(problem, request);
  auto explain = [&](PlacementResult& r, std::optional<int> beyond) {
    if (r.status == SolveStatus::kInfeasible && options.explain)
      r.explanation = ExplainPreempting(problem, request, options, victims, beyond);
  };
  if (victims.empty()) {
    explain(plain, std::nullopt);
    return plain;
  }
  const PreparedRequest p = PreparePreempting(problem, request, options, victims, {});

  // The backends: the named one, or a quick search then an exact one ("auto").
  const Backend* exact = nullptr;
  bool quick = false;
  if (backend != nullptr) {
    if (backend->capabilities().preempts) {
      exact = backend;
    } else {
      quick = true;
    }
  } else {
    quick = true;
    for (const Backend* b : options.backends->All()) {
      if (b->capabilities().preempts && b->capabilities().exact) {
        exact = b;
        break;
      }
    }
  }
  std::string name = backend != nullptr ? std::string(backend->name()) : "auto(";
  PlacementResult best;
  best.status = SolveStatus::kNoSolutionFound;
  if (quick) {
    SolveOptions quick_options = options;
    if (backend != nullptr) quick_options.backend = std::string(backend->name());
    best = QuickPreemption(problem, request, p, quick_options).Run();
    if (backend == nullptr) name += "quick";
  }
  bool proven = false;
  if (exact != nullptr && OneDomain(request, p.mask)) {
    // Required locality in one domain: each domain is its own, much smaller search, and a bound
    // per domain (what its victims could unlock at best) says which ones can still beat the best.
    SolveOptions exact_options = options;
    const DomainSearch found = SearchByDomain(p, *exact, exact_options, start, best);
    if (backend == nullptr) name += std::string(quick ? "+" : "") + std::string(exact->name());
    if (found.improved) best = found.best;
    proven = found.proven;
    if (!HasPlacement(best.status) && found.proven) best.status = SolveStatus::kInfeasible;
  } else if (exact != nullptr) {
    SolveOptions exact_options = options;
    exact_options.time_limit_seconds = std::max(
        0.05, options.time_limit_seconds -
                  std::chrono::duration<double>(Clock::now() - start).count());
    PlacementResult e = exact->Solve(p, exact_options, HasPlacement(best.status) ? &best : nullptr);
    if (backend == nullptr) name += std::string(quick ? "+" : "") + std::string(exact->name());
    for (Eviction& ev : e.evictions) {
      for (const PreemptionSpace::Victim& v : p.preemption->victims) {
        if (v.name == ev.allocation) ev.priority = v.priority;
      }
    }
    if (e.status == SolveStatus::kOptimal) {
      best = std::move(e);
      proven = true;
    } else if (e.status == SolveStatus::kInfeasible && !HasPlacement(best.status)) {
      best = std::move(e);
    } else if (Cheaper(e, best)) {
      best = std::move(e);
    } else if (!HasPlacement(best.status) && e.status == SolveStatus::kTimeout) {
      best.status = SolveStatus::kTimeout;
    }
  }
  if (backend == nullptr) name += ")";

  PlacementResult out;
  if (!HasPlacement(best.status)) {
    out = plain;
    out.status = best.status == SolveStatus::kInfeasible ? SolveStatus::kInfeasible
                 : best.status == SolveStatus::kTimeout  ? SolveStatus::kTimeout
                 : Undecided(plain.status)               ? plain.status
                                                         : SolveStatus::kNoSolutionFound;
    out.explanation.reset();
    std::optional<int> beyond;
    if (out.status == SolveStatus::kInfeasible && exact != nullptr &&
        p.preemption->max_evictions && options.explain) {
      // Would more evictions do? Then the limit is what stands in the way.
      auto unlimited = std::make_shared<PreemptionSpace>(*p.preemption);
      unlimited->max_evictions.reset();
      PreparedRequest q = p;
      q.preemption = unlimited;
      const PlacementResult more = exact->Solve(q, options, nullptr);
      if (HasPlacement(more.status)) beyond = static_cast<int>(more.evictions.size());
    }
    explain(out, beyond);
    out.backend = name;
    return out;
  }
  std::vector<std::string> evicted;
  for (const Eviction& e : best.evictions) evicted.push_back(e.allocation);
  // The placement itself: the best one once the victims are gone.
  SolveOptions final_options = options;
  final_options.explain = false;
  // At least half a second: the victims are settled, and the placement among their nodes is
  // usually proven well within it.
  final_options.time_limit_seconds =
      std::max(std::min(0.5, options.time_limit_seconds),
               options.time_limit_seconds -
                   std::chrono::duration<double>(Clock::now() - start).count());
  out = SolvePlain(AfterEvictions(problem, evicted), request, final_options);
  if (!HasPlacement(out.status)) {
    // The search's own placement stands (it was found against the same evictions).
    out = best;
    out.status = SolveStatus::kFeasible;
    out.bound.reset();
    out.gap.reset();
  } else if (!(proven && out.status == SolveStatus::kOptimal)) {
    out.status = SolveStatus::kFeasible;
  }
  out.request = request.name;
  out.backend = name;
  out.evictions = DescribeEvictions(problem, request, out.nodes, evicted);
  return out;
}

}  // namespace topoplace
