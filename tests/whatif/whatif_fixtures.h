// Helpers for the what-if tests: scenarios built from the solver fixtures, failures, and an
// exhaustive repair oracle that shares no search code with solver/repair.cc.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/scenario.h"
#include "solver/repair.h"
#include "solver/verifier.h"
#include "tests/solver/fixtures.h"

namespace topoplace::whatif_testing {

// A scenario holding the problem's inventory and tenants, with `allocations` applied.
inline Scenario ScenarioOf(const PlacementProblem& problem, std::vector<Allocation> allocations) {
  Scenario s;
  s.inventory = problem.snapshot->inventory;
  s.tenants = problem.tenants;
  s.allocations = std::move(allocations);
  s.ApplyAllocations();
  return s;
}

// An allocation named after `request` holding `nodes` (names), with the request recorded.
inline Allocation AllocationFor(const Request& request, std::vector<std::string> nodes,
                                bool with_request = true) {
  Allocation a;
  a.name = request.name;
  a.tenant = request.tenant;
  a.nodes = std::move(nodes);
  if (with_request) a.request = request;
  return a;
}

// `s` with every node of domain `name` at `level` failed.
inline Scenario FailDomain(const Scenario& s, Level level, const std::string& name) {
  Scenario out = s;
  auto snap = MakeSnapshot(s.inventory);
  const Topology& topo = (*snap)->topology;
  const int d = topo.FindDomain(level, name);
  if (d < 0) throw std::runtime_error("no " + std::string(LevelName(level)) + " " + name);
  for (int node : topo.NodesIn(level, d)) out.inventory.nodes[node].state = NodeState::kFailed;
  return out;
}

inline Scenario FailNodes(const Scenario& s, const std::vector<std::string>& names) {
  Scenario out = s;
  for (const auto& n : names) {
    const int i = out.inventory.NodeIndex(n);
    if (i < 0) throw std::runtime_error("no node " + n);
    out.inventory.nodes[i].state = NodeState::kFailed;
  }
  return out;
}

inline std::vector<std::string> Names(const PlacementProblem& p, const std::vector<int>& ids) {
  std::vector<std::string> out;
  for (int i : ids) out.push_back(p.snapshot->inventory.nodes[i].name);
  std::sort(out.begin(), out.end());
  return out;
}

// The fewest replacements that make kept + replacements pass the verifier for the case's
// request, by enumerating subsets of the free nodes that pass the per-node rules. -1 when none
// does; nullopt when the enumeration would exceed `max_subsets`.
inline std::optional<int> FewestMovesExhaustive(const PlacementProblem& problem,
                                                const RepairCase& c, int64_t max_subsets = 60000) {
  const Inventory& inv = problem.snapshot->inventory;
  Request r = *c.request;
  r.name = c.allocation;
  r.tenant = c.tenant;
  std::vector<int> pool;
  for (int i = 0; i < static_cast<int>(inv.nodes.size()); ++i) {
    if (std::binary_search(c.kept.begin(), c.kept.end(), i)) continue;
    bool ok = true;
    for (const Violation& v : VerifyPlacement(problem, r, std::vector<int>{i})) {
      if (v.constraint == "availability" || v.constraint == "select" ||
          v.constraint == "compliance" || v.constraint == "exclusive")
        ok = false;
    }
    if (ok) pool.push_back(i);
  }
  const int kept = static_cast<int>(c.kept.size());
  int lo = 0, hi = static_cast<int>(pool.size());
  if (r.nodes) {
    lo = hi = *r.nodes - kept;
    if (lo < 0 || lo > static_cast<int>(pool.size())) return -1;
  }
  auto choose = [](int n, int k) {
    double x = 1;
    for (int i = 0; i < k; ++i) x = x * (n - i) / (i + 1);
    return x;
  };
  for (int k = lo; k <= hi; ++k) {
    if (choose(static_cast<int>(pool.size()), k) > static_cast<double>(max_subsets))
      return std::nullopt;
    std::vector<int> idx(k);
    for (int i = 0; i < k; ++i) idx[i] = i;
    while (true) {
      std::vector<int> nodes = c.kept;
      for (int i : idx) nodes.push_back(pool[i]);
      if (VerifyPlacement(problem, r, nodes, c.kept).empty()) return k;
      int i = k - 1;
      while (i >= 0 && idx[i] == static_cast<int>(pool.size()) - k + i) --i;
      if (i < 0) break;
      ++idx[i];
      for (int j = i + 1; j < k; ++j) idx[j] = idx[j - 1] + 1;
    }
  }
  return -1;
}

}  // namespace topoplace::whatif_testing
