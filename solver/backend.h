// The contract every solver backend implements, and the prepared form of one request.
//
// solver.cc validates a request once, then Prepare() filters the candidates (available nodes that
// pass every per-node predicate: select, compliance, exclusivity against other tenants) and
// computes the tenant's headroom. A backend receives a PreparedRequest it may assume valid and
// returns a PlacementResult whose status says what the request turned out to be.
//
// Semantics backends share (DESIGN.md section 3):
// - count: exactly `nodes`, or the fewest whole nodes whose GPUs reach `gpus` (fewest first, then
//   the objective among placements of that size);
// - locality required: at most max_domains domains of the level; preferred: objective only;
// - spread: per-domain cap Spread::CapFor(count), and at least min_domains domains;
// - roce: all chosen nodes' leaves share one vendor;
// - headroom: quota (nodes, gpus, cores, memory, storage) left after current holdings, the least
//   of the tenant's and the request's project's (PlacementProblem::project_usage), and the cost
//   cap min(request budget, tenant budget - current spend);
// - objective: ObjectiveWeights in solver.h, computed by EvaluateObjective().
//
// Thread safety: backends are stateless; Solve() may run concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "solver/solver.h"

namespace topoplace {

// Which of the request's constraint groups are enforced; the explanation's deletion filter turns
// groups off one at a time. All on by default.
struct ConstraintMask {
  bool select = true;
  bool locality = true;
  bool spread = true;
  bool compliance = true;
  bool exclusive = true;
  bool roce = true;
  bool budget = true;         // the request's own maxCostPerHour
  bool quota = true;          // tenant quota headroom
  bool project_quota = true;  // the request's project's quota headroom
  bool tenant_budget = true;  // tenant budgetPerHour headroom
};

struct Headroom {
  std::optional<int64_t> nodes, gpus, cpu_cores;
  std::optional<double> memory_gib, storage_gib;
  std::optional<double> cost_per_hour;  // min(request budget, tenant budget - current spend)
};

// A preempting request's search space (PreparePreempting(), preemption.cc): the legal victims, what
// evicting each returns to the request's headroom, and for every candidate the victims that must
// all be evicted for it to be used: its own holder, and the other tenants' holdings that keep its
// domain closed (the request's `exclusive`, or their own).
struct PreemptionSpace {
  struct Victim {
    int holding = 0;    // index into PlacementProblem::holdings
    std::string name;   // the holding's
    int priority = 0;
    bool same_tenant = false;   // evicting it returns the tenant's quota and budget
    bool same_project = false;  // and the project's quota
    // What it returns: its nodes' resources (nodes, GPUs, cores, memory, storage, cost per hour).
    std::array<double, 6> returns{};
  };
  std::vector<Victim> victims;
  // need_sets[0] is empty (a free candidate); every candidate's set is need_sets[need_of[node]].
  std::vector<std::vector<int>> need_sets;  // victim indices, ascending
  std::vector<int> need_of;                 // per inventory node; -1 when not a candidate
  // The headroom before any eviction, per part (nullopt = no limit): the tenant's quota and
  // budget, the project's quota, the request's own budget. Resources in the order of `returns`.
  std::array<std::optional<double>, 6> tenant, project;
  std::optional<double> request_budget;
  std::optional<int> max_evictions;
  // Keeps alive the snapshot the prepared request points at: every legal victim gone.
  std::shared_ptr<const Snapshot> after_all;
};

struct PreparedRequest {
  const Snapshot* snapshot = nullptr;
  const Request* request = nullptr;
  const Tenant* tenant = nullptr;  // null when the tenant is not in the problem
  // The request's project when the tenant declares it (FindProject()), else null.
  const Project* project = nullptr;
  ConstraintMask mask;
  std::vector<int> candidates;  // sorted node indices
  Headroom headroom;
  // Per rack / leaf domain (Topology ids): 1 when no node in it is allocated or reserved (no node
  // has a holder, whatever its state).
  std::vector<uint8_t> free_rack, free_leaf;
  std::vector<int> current;  // the request's current nodes (re-solve/repair), sorted; else empty
  // Repair: every node of `current` must stay chosen, so only replacements are picked. Honoured by
  // CheckPrepared() and the backends whose capabilities say so (the "ilp"); the "heuristic" does
  // not search under it and answers kNoSolutionFound. solver/repair.cc has its own search for it.
  bool keep_current = false;
  ObjectiveWeights weights;
  // Set for a preempting request (PreparePreempting()): the candidates are the free ones and the
  // legal victims' nodes, and `headroom` is what is left once every legal victim is evicted (a
  // relaxation); a backend whose capabilities say `preempts` chooses the victims as well.
  std::shared_ptr<const PreemptionSpace> preemption;

  const Topology& topology() const { return snapshot->topology; }
  const Inventory& inventory() const { return snapshot->inventory; }
};

// Builds the prepared form. `current` is the request's present placement for re-solves.
PreparedRequest Prepare(const PlacementProblem& problem, const Request& request,
                        const SolveOptions& options, const ConstraintMask& mask = {},
                        std::span<const int> current = {});

// The objective of a node set (which need not be feasible), per the weights in `p`:
//   cost_per_hour     = sum of the chosen nodes' class costPerHour;
//   locality_domains  = distinct domains at request->locality->level (0 without locality); counted
//                       whenever the request names a locality, in either mode and whatever the
//                       mask;
//   domains_above     = sum over LevelsAbove(locality level) of the distinct domains used there;
//   broken_free_domains = distinct chosen racks with free_rack == 1 plus distinct chosen leaves
//                       with free_leaf == 1;
//   moves             = chosen nodes not in `current`;
//   total             = weights.cost * cost_per_hour + weights.domains * locality_domains +
//                       weights.domains_above * domains_above +
//                       weights.fragmentation * broken_free_domains + weights.moves * moves.
ObjectiveTerms EvaluateObjective(const PreparedRequest& p, std::span<const int> nodes);

// What a backend can establish and honour. The "auto" composition and the what-if solvers choose
// backends by these, never by name, so a registry may hold other backends than the built-in ones.
struct BackendCapabilities {
  // Searches the whole space when given the time: its kOptimal and kInfeasible are proofs, and
  // running out of time is kTimeout. A backend without it is a quick search that may miss
  // (kNoSolutionFound) and proves only what a cheap bound shows.
  bool exact = false;
  // Searches under PreparedRequest::keep_current (repairs); without it the backend answers
  // kNoSolutionFound for such a request.
  bool honours_keep_current = false;
  // Starts from `warm_start` and never returns worse than it.
  bool uses_warm_start = false;
  // Stops at SolveOptions::time_limit_seconds; without it the backend takes the time its search
  // takes (milliseconds for the built-in heuristic).
  bool honours_time_limit = false;
  // Chooses the victims of a preempting request (PreparedRequest::preemption): the fewest, then
  // the lowest priority sum, named in its answer's evictions (allocation names only).
  bool preempts = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  virtual BackendCapabilities capabilities() const = 0;
  // `warm_start` (may be null) is a feasible placement of the same prepared request to improve on.
  virtual PlacementResult Solve(const PreparedRequest& p, const SolveOptions& options,
                                const PlacementResult* warm_start) const = 0;
};

// The name that selects the composition of the registry's backends (solver.cc), accepted wherever
// a backend name is.
inline constexpr std::string_view kAutoBackend = "auto";

// Backends by name; RegisterBuiltinBackends() adds "heuristic" and "ilp" ("auto" is solver.cc's
// composition of a quick and an exact backend, not a backend).
class BackendRegistry {
 public:
  void Register(std::unique_ptr<Backend> backend);
  const Backend* Find(std::string_view name) const;  // null when absent
  std::vector<std::string> Names() const;
  // What a caller may name: Names() and then "auto".
  std::vector<std::string> Choices() const;
  bool Accepts(std::string_view name) const {
    return name == kAutoBackend || Find(name) != nullptr;
  }
  // Every backend, in registration order (callers pick by capabilities()).
  std::vector<const Backend*> All() const;

 private:
  std::vector<std::unique_ptr<Backend>> backends_;
};

void RegisterBuiltinBackends(BackendRegistry& registry);
// The process-wide registry with the built-in backends.
const BackendRegistry& BuiltinBackends();

}  // namespace topoplace
