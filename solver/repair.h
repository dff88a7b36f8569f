// Repair: after nodes, racks, leaves, pods or power domains fail (or are removed), re-place only
// what is affected, with the fewest moves.
//
// An allocation is affected when the change takes at least one of its nodes. Its repair keeps every
// surviving node where it is and picks replacements for the lost ones, so the moves are exactly the
// replacements and no unaffected node ever moves:
// - with the allocation's original request (Allocation::request), the kept nodes plus the
//   replacements satisfy every constraint of that request (count, select, locality, spread,
//   compliance, exclusive, RoCE, budget, quota), checked by the independent verifier; for a `gpus`
//   request the replacements are the fewest that reach the GPUs again with no node to spare;
// - without a request, each lost node is replaced by a free node of the same class, nearest first
//   (same leaf, then same rack, same pod, fewest hops, lowest name). The report says so: nothing
//   else about the original intent is known.
// A repair is searched greedily (domain by domain, near the kept nodes) and, when that finds
// nothing or cannot prove the fewest moves, by the exact backend of options.solve.backends with the
// kept nodes fixed. An allocation that cannot be repaired in place gets the reason, an explanation
// (the smallest set of its request's constraints that cannot hold together with the kept nodes,
// found by the same deletion filter, group order, names and statements as place's explanations,
// with "repairable with the kept nodes fixed" as its test) and, when one exists, the relocation of
// the whole allocation with the fewest moves.
//
// Repairs run one after another, by priority (higher first), then in the given order; each
// repair's replacements are taken before the next one looks.
//
// An allocation with a request that cannot be repaired as things are is offered the preemption
// that would repair it, when one exists (DESIGN.md section 8): the fewest allocations of priority
// strictly below its own (its own tenant's, or any tenant's when the problem allows preemption
// across tenants), then the least sum of their priorities, whose eviction lets the same repair
// (kept nodes fixed, every constraint of its request) succeed. The repair's own search is the
// oracle, on AfterEvictions() of the problem as the repairs before it left it; eviction sets are
// tried by increasing size, then priority sum, within a bound on the sets tried and the time, and
// the offer says whether it is proven minimal. An offer changes nothing: the repairs after it do
// not see its evictions.
//
// Thread safety: stateless functions; each call works on its own copy of the inventory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/scenario.h"
#include "solver/solver.h"
#include "solver/verifier.h"

namespace topoplace {

// A node an allocation lost, as it was before the change (it may no longer exist).
struct LostNode {
  std::string name;
  std::string node_class;
  std::string rack;
  std::string leaf;
  std::string pod;
  bool changed = true;  // false: it was already failed before the change
};

// One affected allocation, against the problem the repair runs on.
struct RepairCase {
  std::string allocation;
  std::string tenant;
  std::optional<Request> request;  // the original request, named after the allocation
  // The allocation's priority (AllocationPriority()); unset: its request's, else 0. It orders the
  // repairs and bounds the victims of a preemption offer.
  std::optional<int> priority;
  std::vector<int> kept;  // surviving nodes: indices into the problem's inventory
  std::vector<LostNode> lost;
};

// The whole allocation placed afresh, keeping as many of its nodes as possible.
struct Relocation {
  std::vector<int> nodes;  // the full new placement, sorted
  int moves = 0;           // nodes of the new placement that the allocation did not hold
  int kept_moved = 0;      // surviving (unaffected) nodes that would have to move
  SolveStatus status = SolveStatus::kFeasible;
};

// The preemption that would repair an allocation the repair could not repair as things are.
struct RepairPreemption {
  std::vector<Eviction>
      evictions;                  // sorted by allocation name; `used` = the replacements they free
  std::vector<int> replacements;  // sorted: the repair once they are gone (kept nodes stay)
  int moves = 0;                  // replacements
  int priority_sum = 0;           // of the evicted allocations
  // Proven: every smaller set of lower-priority allocations, and every set of the same size with a
  // smaller priority sum, leaves the allocation unrepairable.
  bool minimal = false;
  int candidates = 0;  // lower-priority allocations it could choose from
  int sets_tried = 0;  // eviction sets the repair was tried on
  std::string note;    // why the minimum is not proven, when it is not
};

struct AllocationRepair {
  std::string allocation;
  std::string tenant;
  bool by_request = false;  // false: the same-class rule (no request recorded)
  std::vector<LostNode> lost;
  std::vector<int> kept;          // sorted
  std::vector<int> replacements;  // sorted; empty unless repaired
  bool repaired = false;
  // kOptimal: repaired with the fewest moves proven; kFeasible: repaired, fewest not proven;
  // kInfeasible: proven impossible in place; kTimeout: nothing found within the time limit.
  SolveStatus status = SolveStatus::kInfeasible;
  int moves = 0;                           // replacements
  std::string method;                      // "greedy", "ilp", "same-class"
  std::string reason;                      // when not repaired: one line a person can act on
  std::optional<Explanation> explanation;  // when not repaired and by request
  std::optional<Relocation> relocation;    // when not repaired in place but movable as a whole
  // When not repaired and by request: the preemption that would repair it, when one was found.
  std::optional<RepairPreemption> preemption;
  // When not repaired, by request and no preemption is offered: why ("no allocation of lower
  // priority than 50 to evict", "even evicting all 3 lower-priority allocations would not repair
  // it", "none found within 256 eviction sets"). Empty when no offer was looked for.
  std::string no_preemption;
  std::vector<Violation> violations;  // verifier on kept + replacements; empty when repaired
  double solve_ms = 0;
};

struct RepairOptions {
  // backend is ignored; backends names the registry to solve with; time_limit_seconds bounds each
  // exact solve.
  SolveOptions solve;
  bool explain = true;    // explanations for allocations that cannot be repaired
  bool relocate = true;   // look for a whole-allocation relocation when repair fails
  bool use_exact = true;  // prove the fewest moves / infeasibility with the exact backend
  // Offer the preemption that would repair an allocation that cannot be repaired (problem's
  // holdings; nothing to offer without them).
  bool offer_preemption = true;
  // Bounds on that search: eviction sets tried, and seconds in all (each repair tried within the
  // least of it and solve.time_limit_seconds).
  int max_preemption_sets = 256;
  double preemption_seconds = 10;
};

// The repair problem for a change: `after` is `before` with the change applied (nodes failed,
// drained, added or removed). Nodes an allocation loses (removed, or failed after the change) are
// released in the returned problem, so quota counts only what the tenant keeps; kept nodes in
// maintenance stay held. Allocations that lose nothing to the change are not listed. The problem's
// holdings are `after`'s allocations as they stand once the lost nodes are released (an affected
// allocation holds its kept nodes), and it allows preemption across tenants as `after.policy` says.
struct RepairInput {
  PlacementProblem problem;
  std::vector<RepairCase> cases;
};
Result<RepairInput> PrepareRepair(const Scenario& before, const Scenario& after);

// Repairs every case against `problem` in priority order. Results come back in the order of
// `cases`. When `after_repairs` is not null it receives the problem with the replacements held
// (and, in its holdings, the repaired allocations holding them).
Result<std::vector<AllocationRepair>> RepairAllocations(const PlacementProblem& problem,
                                                        const std::vector<RepairCase>& cases,
                                                        const RepairOptions& options,
                                                        PlacementProblem* after_repairs = nullptr);

}  // namespace topoplace
