// Private to solver/: facts about a prepared request that the heuristic, the "auto" composition and
// the explanations share. All of them read only the PreparedRequest (its candidates, headroom and
// mask), so they agree with each other and with the backends on what "feasible" means; the
// independent verifier (verifier.h) is the separate oracle.
//
// Thread safety: stateless functions.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "solver/backend.h"

namespace topoplace {

// Tolerance for money sums against the cost cap.
inline constexpr double kCostTolerance = 1e-6;

// The constraints of `p` that `nodes` violates, as short sentences; empty when `nodes` is a valid
// answer for the prepared request (count, candidates only, locality, spread, roce, headroom). For
// a gpus request it checks that the GPUs reach the target and that no chosen node is redundant
// (dropping any one misses it), not that the count is the fewest possible.
std::vector<std::string> CheckPrepared(const PreparedRequest& p, std::span<const int> nodes);

// A cheap relaxation argument (counts, capacities of the best domains, cheapest nodes against the
// cost cap, quota) proving that `p` has no placement; nullopt when none of them applies. The text
// carries the numbers: "the largest leaf holds 6 candidate nodes; 16 requested".
std::optional<std::string> ProveInfeasible(const PreparedRequest& p);

// The fewest candidates that can satisfy the count: `nodes` for a nodes request; for a gpus request
// the smallest k whose k GPU-richest candidates reach the target (-1 when even all do not).
int MinimumNodeCount(const PreparedRequest& p);

// A lower bound on the objective of every feasible placement of `p` (each term bounded on its own:
// the cheapest MinimumNodeCount() candidates, the fewest domains that can hold them, ...).
double ObjectiveLowerBound(const PreparedRequest& p);

// What one node of class `c` takes, in the order every per-resource array of solver/ uses
// (GreedyFill's load, PreemptionSpace's returns and headroom parts): nodes, GPUs, CPU cores,
// memory GiB, storage GiB, cost per hour.
inline std::array<double, 6> NodeResources(const NodeClass& c) {
  return {1.0,
          static_cast<double>(c.gpu.count),
          static_cast<double>(c.cpu.cores),
          c.memory_gib,
          c.storage_gib,
          c.cost_per_hour};
}

// The leaf-switch vendor of a node.
const std::string& LeafVendor(const Inventory& inv, int node);

// Preemption (preemption.cc). The evictions of a placement, described for its result: each
// holding named in `evicted`, the nodes of it the placement uses, the domain it was freed from.
std::vector<Eviction> DescribeEvictions(const PlacementProblem& problem, const Request& request,
                                        std::span<const int> nodes,
                                        std::span<const std::string> evicted);
// The search space of a preempting request with legal victims `victims` (LegalVictims()): the
// prepared request of the problem with every victim gone, and PreparedRequest::preemption set.
PreparedRequest PreparePreempting(const PlacementProblem& problem, const Request& request,
                                  const SolveOptions& options, std::span<const int> victims,
                                  const ConstraintMask& mask);
// A request with `preemption:` that does not fit as things are (`plain` is its answer without
// evicting): the fewest evictions that make room, by `backend` (null: the auto composition).
PlacementResult SolvePreempting(const PlacementProblem& problem, const Request& request,
                                const SolveOptions& options, const Backend* backend,
                                PlacementResult plain);

}  // namespace topoplace
