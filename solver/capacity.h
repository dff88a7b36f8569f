// Capacity: how many more copies of a request shape fit now, where they would go, how much quota
// each tenant has left, and how fragmented the free capacity is.
//
// CountCopies() places copies of the shape one after another (each a full solve, verified, its
// nodes taken before the next): a lower bound that is also a concrete plan. An upper bound comes
// from relaxations that every packing must respect (candidate pool, quota and budget, and per
// locality domain the spread caps: with `locality: required` in one domain each copy lives inside
// one domain, so a domain holding n_s candidates per spread domain s fits at most the largest t
// with sum_s min(n_s, t * cap) >= t * k). When the two meet the count is exact. When they do not, a
// joint integer program (all copies at once, on GLPK) decides whether one more copy fits, within a
// time limit; the result says which argument proved it, or that it is only bounded.
//
// Fragmentation: free nodes per leaf, rack and pod; the share of free capacity in fully free
// leaves and racks (big holes for big jobs); the largest request of each class and locality that
// still fits. FragmentationIndex() is the one number the replay plots over time.
//
// Thread safety: stateless functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/scenario.h"
#include "solver/solver.h"

namespace topoplace {

struct CapacityOptions {
  SolveOptions solve;  // per copy; "heuristic" by default (fast); "auto" proves more
  int max_copies = 100000;
  bool prove = true;  // try the joint integer program when the bounds do not meet
  double proof_time_limit_seconds = 10;
  bool explain = true;  // explain why one more copy does not fit

  CapacityOptions() {
    solve.backend = "heuristic";
    solve.explain = false;
  }
};

struct CapacityResult {
  int copies = 0;                            // placed one after another; each passes the verifier
  int upper_bound = 0;                       // proven: no more than this many fit
  bool exact = false;                        // copies == upper_bound
  std::string proof;                         // what proves the upper bound ("pool", "quota", ...)
  std::vector<std::vector<int>> placements;  // node indices per copy
  // Copies touching each domain, per level name ("pod" -> {"pod-1": 3}).
  std::map<std::string, std::map<std::string, int>> domains;
  std::optional<Explanation> why_no_more;  // why the next copy does not fit (solver explanation)
  double solve_ms = 0;
};

// `shape` is a request (its name and tenant are used as given). InvalidArgument when the shape is
// not valid for the problem (unknown class, tenant...).
Result<CapacityResult> CountCopies(const PlacementProblem& problem, const Request& shape,
                                   const CapacityOptions& options = {});

// Quota and spend of one tenant, and how many copies of a shape the quota alone allows.
struct TenantHeadroom {
  std::string tenant;
  TenantUsage used;
  Quota quota;
  std::optional<double> budget_per_hour;
  // Remaining headroom per resource; nullopt = unlimited.
  std::optional<int64_t> nodes, gpus, cpu_cores;
  std::optional<double> memory_gib, storage_gib, cost_per_hour;
  // Copies of the shape the quota admits (nullopt: unlimited or no shape); the smallest per-copy
  // need (the k cheapest candidate nodes' resources) is assumed, so this is an upper bound.
  std::optional<int64_t> shape_copies;
  std::string limiting;  // the resource that limits shape_copies
};
std::vector<TenantHeadroom> TenantHeadrooms(const PlacementProblem& problem,
                                            const Request* shape = nullptr);

struct DomainFree {
  std::string name;
  int free = 0;   // available, unheld nodes
  int total = 0;  // all nodes in the domain
  int free_gpus = 0;
};

struct LargestFit {
  std::string node_class;
  std::string scope;  // "leaf", "rack", "pod", "anywhere"
  int nodes = 0;      // the largest nodes=N request of this class that fits in one such domain
  std::string where;  // a domain that holds it
};

struct FragmentationReport {
  int free_nodes = 0, total_nodes = 0;
  int64_t free_gpus = 0, total_gpus = 0;
  std::vector<DomainFree> leaves, racks, pods;  // sorted by name
  double free_in_free_leaves = 0;  // share of free nodes in leaves with every node free
  double free_in_free_racks = 0;
  double gpu_free_in_free_leaves = 0;  // the same for free GPUs
  std::vector<LargestFit> largest;     // per class and scope
};
FragmentationReport Fragmentation(const Snapshot& snapshot);

// 1 - (free GPUs in fully free leaves) / (free GPUs); 0 when nothing is free. Free nodes without
// GPUs count as one unit each so CPU-only sites still show fragmentation.
double FragmentationIndex(const Snapshot& snapshot);

// The largest node count of `shape` (its count replaced) that fits now, by bisection over the
// solver's answers; nullopt when even one node does not fit.
std::optional<int> LargestShapeThatFits(const PlacementProblem& problem, const Request& shape,
                                        const SolveOptions& options);

}  // namespace topoplace
