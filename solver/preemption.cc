// Preemption (DESIGN.md section 8): the legal victims of a request, the problem after evictions,
// the search for the fewest evictions that make room, and the greedy baseline others use.
#include <algorithm>
#include <map>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "solver/backend.h"
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
    for (int node : h.nodes) {
      if (node < 0 || node >= states.size()) continue;
      const NodeState s = states.state(node);
      const bool keeps_state = s == NodeState::kMaintenance || s == NodeState::kFailed;
      states.Set(node, keeps_state ? s : NodeState::kAvailable, "", std::nullopt);
    }
    // Its project holds its nodes no more.
    for (ProjectUsage& u : out.project_usage) {
      if (u.tenant != h.tenant || u.project != ProjectName(h.project)) continue;
      for (int node : h.nodes) {
        if (node >= 0 && node < static_cast<int>(inv.nodes.size()))
          AddNodeUsage(u.usage, inv.ClassOf(node), -1);
      }
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

PlacementResult SolvePreempting(const PlacementProblem& problem, const Request& request,
                                const SolveOptions& options, const Backend* backend,
                                PlacementResult plain) {
  (void)backend;
  PlacementResult r = GreedyPreemption(problem, request, options);
  if (!HasPlacement(r.status)) return plain;
  return r;
}

}  // namespace topoplace
