// The placement solver: the one public entry of solver/.
//
// Given an immutable snapshot (inventory + topology), the tenants, and requests, it returns for
// each request a PlacementResult: a status for what the request turned out to be (SolveStatus
// below; infeasible is an answer, not an error), the chosen nodes, the cost and the objective with
// its terms, a proven lower bound and the gap, and for a proven infeasible request an explanation a
// person can act on. A Status that is not OK means the call itself failed (bad input, unknown
// backend), never that no placement exists.
//
// Backends ("heuristic", "ilp", "auto") implement one interface (solver/backend.h) and are
// registered by name. Validation of requests against the snapshot happens once, here or at the
// caller's entry (SolveOptions::requests_validated), so backends may assume valid input. Every
// answer can be checked by the independent verifier (verifier.h).
//
// Thread safety: Solve() is reentrant; snapshots are shared read-only.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/request.h"
#include "model/scenario.h"
#include "model/status.h"
#include "model/topology.h"

namespace topoplace {

// What a solve established about one request. A status never claims more than was proven:
// - kOptimal: a placement, proven to have the least objective (bound == objective);
// - kFeasible: a placement that passes every constraint, not proven optimal (bound and gap say
//   how far it may be from the optimum when a bound is known);
// - kInfeasible: proven that no placement exists, by an exact backend or a relaxation argument
//   (counts, capacities, cost cap); only this status gets an explanation;
// - kNoSolutionFound: a search that ran to its end found no placement and proved nothing (a
//   heuristic's miss, or a backend that cannot search a request of this kind); a placement may
//   exist, and a backend that can prove infeasibility (or more time) may settle it;
// - kTimeout: the time limit ended an exact search before it found a placement or a proof.
// kNoSolutionFound and kTimeout are the two "undecided" answers: nothing placed, nothing proven.
enum class SolveStatus { kOptimal, kFeasible, kInfeasible, kNoSolutionFound, kTimeout };
// "optimal", "feasible", "infeasible", "noSolutionFound", "timeout"
std::string_view SolveStatusName(SolveStatus s);
inline constexpr SolveStatus kAllSolveStatuses[] = {
    SolveStatus::kOptimal, SolveStatus::kFeasible, SolveStatus::kInfeasible,
    SolveStatus::kNoSolutionFound, SolveStatus::kTimeout};
// kOptimal or kFeasible: the result carries a placement.
inline bool HasPlacement(SolveStatus s) {
  return s == SolveStatus::kOptimal || s == SolveStatus::kFeasible;
}
// kNoSolutionFound or kTimeout: nothing placed and nothing proven.
inline bool Undecided(SolveStatus s) {
  return s == SolveStatus::kNoSolutionFound || s == SolveStatus::kTimeout;
}

// Provider policy: the weights of the objective terms (all >= 0). The objective is
//   cost * costPerHour + domains * D + domains_above * A + fragmentation * B + moves * M
// where, when the request names a locality level (either mode), D counts the distinct domains used
// at that level and A the distinct domains used at every level above it (LevelsAbove(), summed);
// B counts the racks and leaves that held no allocated or reserved node before and are used after
// (breaking a fully free rack or leaf keeps big holes from big jobs); M counts chosen nodes that
// are not in the request's current placement (re-solves and repairs only).
struct ObjectiveWeights {
  double cost = 1.0;
  double domains = 100.0;
  double domains_above = 10.0;
  double fragmentation = 5.0;
  double moves = 1000.0;
};

class BackendRegistry;                     // solver/backend.h
const BackendRegistry& BuiltinBackends();  // the built-in backends (solver/registry.cc)

struct SolveOptions {
  // The backends to solve with; the caller chooses (the built-in ones unless it says otherwise).
  // Nothing inside solver/ reaches for a process-wide registry: the explainer, repair and "auto"
  // all use this one.
  const BackendRegistry* backends = &BuiltinBackends();
  std::string backend = "auto";  // a registered backend's name, or "auto"
  double time_limit_seconds = 10.0;
  ObjectiveWeights weights;
  bool explain = true;  // build explanations for proven infeasible requests
  // Set by a caller that has already run ValidateRequest() on every request against this problem
  // (the service at its entry, capacity and replay before their loops): Solve() then trusts the
  // requests instead of checking them again. A request that is not valid is undefined behaviour.
  bool requests_validated = false;
};

// The unweighted terms (D, A, B, M above) and the weighted total.
struct ObjectiveTerms {
  double cost_per_hour = 0;
  int locality_domains = 0;
  int domains_above = 0;
  int broken_free_domains = 0;
  int moves = 0;
  double total = 0;
};

// One constraint group of a request that takes part in a conflict, with the numbers behind it.
struct ConflictItem {
  std::string constraint;  // "count", "select", "locality", "spread", "compliance", "exclusive",
                           // "roce", "budget", "quota", "projectQuota", "tenantBudget",
                           // "availability"
  std::string detail;      // "hipaa racks hold 6 available h100x8 nodes"
};

struct Explanation {
  std::string summary;  // "hipaa + select + locality(leaf,1) leaves at most 6 nodes; 16 requested"
  std::vector<ConflictItem>
      conflict;  // the smallest set of constraint groups that cannot hold together
  std::vector<std::string> relaxations;  // nearest relaxations that would succeed
};

// One allocation a preempting request evicted (DESIGN.md section 8), and why it was needed.
struct Eviction {
  std::string allocation;
  std::string tenant;
  std::string project;  // ProjectName()
  int priority = 0;
  std::vector<int> nodes;  // all of its nodes (inventory indices, sorted): it is evicted whole
  // The nodes of it the placement uses (sorted); empty when it was evicted for what it returns
  // (the tenant's quota or budget) or for the domain it kept closed (exclusivity).
  std::vector<int> used;
  // Where it was freed from: the domain of the request's locality level (else leaf) that holds
  // most of `used`, or of its own nodes when `used` is empty: "leaf/leaf-a3".
  std::string domain;
};

struct PlacementResult {
  std::string request;
  SolveStatus status = SolveStatus::kInfeasible;
  std::vector<int> nodes;  // node indices into the snapshot's inventory, sorted
  double cost_per_hour = 0;
  ObjectiveTerms objective;
  std::optional<double> bound;  // proven lower bound on the objective
  std::optional<double> gap;    // (objective - bound) / max(1, |objective|)
  std::string backend;
  double solve_ms = 0;
  std::optional<Explanation> explanation;
  // A request with `preemption:` that was placed by evicting: the allocations evicted, sorted by
  // name. Empty when it fits without evicting (then nothing is). For kOptimal the count, and then
  // the sum of their priorities, is proven the least any placement needs; the placement is then
  // the best one after those evictions.
  std::vector<Eviction> evictions;
};

// What the solver reads: the snapshot, and the tenants for quota headroom, budget and compliance.
// `project_usage` is what each project of a tenant holds (ProjectUsages() over a scenario's
// allocations; the service adds its holds): a request for a project with its own quota may use
// the least of the tenant's headroom and the project's. A project absent from it holds nothing.
// An allocation as a preempting request sees it: who holds which nodes, at what priority.
struct Holding {
  std::string name;
  std::string tenant;
  std::string project;  // ProjectName()
  int priority = 0;     // AllocationPriority()
  std::vector<int> nodes;  // inventory indices, sorted
};
// The allocations as holdings (node names resolved; names not in the inventory skipped). Needs an
// indexed inventory.
std::vector<Holding> HoldingsOf(const Inventory& inventory,
                                const std::vector<Allocation>& allocations);

struct PlacementProblem {
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<Tenant> tenants;
  // Defaulted so that a problem built as {snapshot, tenants} says "no project holds anything".
  std::vector<ProjectUsage> project_usage = {};
  // The allocations a request with `preemption:` may choose its victims from (only those of
  // priority strictly below its own, and in its scope, are legal). Nodes held by no holding here
  // are never freed. Empty: nothing can be evicted.
  std::vector<Holding> holdings = {};
  // The provider allows `preemption: {scope: all}` (scenario `policy.preemptAcrossTenants`; over
  // HTTP, a provider-admin's request). Without it such a request is not valid.
  bool preempt_across_tenants = false;
};

// The problem after evicting `evicted` (names of holdings): their nodes freed (a node in
// maintenance or failed keeps its state, without a holder), their usage taken off their projects,
// the holdings gone. Names that are not holdings are ignored.
PlacementProblem AfterEvictions(const PlacementProblem& problem,
                                std::span<const std::string> evicted);

// The legal victims of `request` in `problem` (indices into problem.holdings, ascending): priority
// strictly below the request's, the request's own tenant unless its scope is all. Empty without
// `preemption:`.
std::vector<int> LegalVictims(const PlacementProblem& problem, const Request& request);

// What schedulers without an exact solver do, for comparison (bench/, tests): evict legal victims
// lowest priority first (then the largest first) until the request fits, then give back every
// victim the fit does not need, the most important first. Solved with options' backend after each
// change. Same result shape as Solve(); kNoSolutionFound when even every legal victim is not
// enough (it proves nothing).
PlacementResult GreedyPreemption(const PlacementProblem& problem, const Request& request,
                                 const SolveOptions& options);

// Solves each request independently against the same snapshot.
Result<std::vector<PlacementResult>> Solve(const PlacementProblem& problem,
                                           const std::vector<Request>& requests,
                                           const SolveOptions& options);

// Places the requests jointly, by priority (higher first, then file order), all-or-nothing per
// request: each placed request's nodes are unavailable to the ones after it and count against its
// tenant's and its project's quota for them, and the allocations it evicted (`preemption:`) are
// gone for them. Nothing is evicted for a request that is not placed. Results come back in the
// order of `requests`.
Result<std::vector<PlacementResult>> SolveBatch(const PlacementProblem& problem,
                                                const std::vector<Request>& requests,
                                                const SolveOptions& options);

// What placing a cluster template found: every node set placed, or none.
struct TemplateResult {
  // kFeasible when every set is placed (the sets are placed one after another, so the whole is
  // not proven optimal); kInfeasible when a set is proven impossible, whatever the other sets
  // take (alone against the problem, or the sets' sum against the quota); kNoSolutionFound when
  // each set fits on its own but no order found room for all of them; kTimeout likewise when a
  // set's solve ran out of time.
  SolveStatus status = SolveStatus::kInfeasible;
  // One per node set, in the template's order; request names are "<cluster>/<set>". All carry
  // nodes when the template is placed; none does otherwise: the failed set then has its own
  // status and explanation, every other set kNoSolutionFound.
  std::vector<PlacementResult> sets;
  // The order the sets were placed in (indices into `sets`): each set was solved, and verifies,
  // against the problem with the sets before it taken by the tenant's project.
  std::vector<int> placement_order;
  std::vector<int> nodes;  // every set's nodes, sorted
  double cost_per_hour = 0;
  int failed_set = -1;                     // the set that could not be placed, when not placed
  std::optional<Explanation> explanation;  // why that set could not be placed
};

// Places `cluster_template`'s node sets for `tenant`'s `project` (ExpandTemplate(): one request
// per set, named "<cluster>/<set>") in one call, all or nothing: each set by its own class, size
// and topology, the sets on disjoint nodes, the tenant's and the project's quota and budget
// holding for their sum. Sets are placed most constrained first (the largest first); when an
// order leaves a later set no room, the other orders are tried (up to 4 sets: all of them).
// InvalidArgument when a set's request is not valid for the problem (ValidateRequest) or the
// template has no node sets.
Result<TemplateResult> SolveTemplate(const PlacementProblem& problem,
                                     const ClusterTemplate& cluster_template,
                                     const std::string& cluster, const std::string& tenant,
                                     const std::string& project, const SolveOptions& options);

// Checks a request before solving: the request schema's bounds, values and cross-field rules
// (ValidateRequestFields, model/request_schema.h), then against the problem: unknown tenant
// (unknown_tenant), a project that is not one of the tenant's (unknown_project), unknown node
// class (unknown_class), compliance the tenant may not ask for (compliance_not_allowed), preemption
// scope all without the provider's consent (preemption_not_allowed).
// InvalidArgument with one message per error, `request "NAME": PATH: WHAT`, and one ErrorDetail per
// error whose path is the key path in the request
// ("select.class[1]"), so callers can point at it (a JSON pointer: KeyPathToPointer).
Status ValidateRequest(const PlacementProblem& problem, const Request& request);
// Only the checks against the problem (tenant, classes, compliance), for callers whose decoder has
// already run ValidateRequestFields (the service's JSON decoding). Same messages and details.
Status ValidateRequestAgainst(const PlacementProblem& problem, const Request& request);

}  // namespace topoplace
