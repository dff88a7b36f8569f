// Trace replay: cluster requests arriving and leaving over time, placed by several policies against
// the same inventory, to see which policy wins and when.
//
// A trace is a list of requests with an arrival time and a duration (hours). For each policy the
// replay starts from the scenario's state (its allocations stay as background load), processes
// departures before arrivals at the same time, places each arrival or rejects it (no queue), and
// releases accepted requests when their duration ends. Policies:
// - "auto": the solver (heuristic, then the ILP within the time limit);
// - "heuristic": the solver's graph heuristic alone;
// - "first-fit": what a fulfilment service does today: the free candidate nodes (the request's
//   per-node filters applied) in order of their names, lowest first, taken until the count is met,
//   skipping a node only when it would break a spread cap, the RoCE vendor or the headroom; with
//   required locality it walks the locality domains in the same order and takes the first one(s)
//   that hold the request;
// - "random": the same, with the nodes (and domains) in a random order drawn from the seed.
// Every placement, whatever the policy, must pass the request's hard constraints (CheckPrepared),
// else the request is rejected: baselines differ in how they choose, not in what they may break.
//
// Reported per policy: accepted and rejected, the GPU allocation ratio (held GPUs / GPUs in
// service) and the fragmentation index (capacity.h) over time with their time-weighted means over
// the arrival window (first to last arrival), the mean leaf and rack span of accepted placements,
// solve times, and usage per tenant and class over time for forecasts. Deterministic for a seed,
// except "auto" when its exact solver hits the time limit.
//
// Thread safety: stateless; each policy runs on its own copy of the inventory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/scenario.h"
#include "solver/forecast.h"
#include "solver/solver.h"

namespace topoplace {

struct TraceEntry {
  double time = 0;      // arrival, hours from the start of the trace
  double duration = 0;  // hours
  Request request;
  int line = 0;  // where it was written (0 when built in code)
};

struct Trace {
  std::string source;
  std::vector<TraceEntry> entries;  // by arrival time, then as written
};

enum class ReplayPolicy { kAuto, kHeuristic, kFirstFit, kRandom };
std::string_view ReplayPolicyName(ReplayPolicy p);  // "auto", "heuristic", "first-fit", "random"
std::optional<ReplayPolicy> ParseReplayPolicy(std::string_view s);

struct ReplayOptions {
  uint64_t seed = 1;                // for "random"
  double time_limit_seconds = 0.2;  // per request, for the exact solver under "auto"
  int max_series_points = 400;      // samples kept per series (evenly thinned)
};

struct ReplaySample {
  double time = 0;
  double gpu_ratio = 0;      // held GPUs / GPUs in service
  double fragmentation = 0;  // FragmentationIndex
  int running = 0;           // accepted trace requests holding nodes
  int accepted = 0;          // accepted so far
  int rejected = 0;          // rejected so far
};

struct PolicyReport {
  ReplayPolicy policy = ReplayPolicy::kAuto;
  int accepted = 0, rejected = 0;
  int64_t gpus_accepted = 0;                   // GPUs of accepted placements
  std::vector<std::string> rejected_requests;  // names, in arrival order
  // Accepted requests and their nodes (sorted node indices), in arrival order.
  std::vector<std::pair<std::string, std::vector<int>>> placements;
  double mean_gpu_ratio = 0;                      // time-weighted over the arrival window
  double mean_fragmentation = 0;                  // time-weighted over the arrival window
  double mean_leaf_span = 0, mean_rack_span = 0;  // distinct leaves / racks per accepted request
  double solve_ms_total = 0, solve_ms_mean = 0, solve_ms_max = 0;
  double wall_ms = 0;
  std::vector<ReplaySample> series;
  UsageHistory usage;  // held GPUs and nodes per tenant, held nodes per class, per sample
};

// Replays `trace` against `problem` once per policy. InvalidArgument when a request of the trace is
// not valid for the problem (unknown tenant or class...), naming it and its line.
Result<std::vector<PolicyReport>> Replay(const PlacementProblem& problem, const Trace& trace,
                                         const std::vector<ReplayPolicy>& policies,
                                         const ReplayOptions& options = {});

// Demand over time from a trace alone (no placement), on top of what the inventory's holders hold
// already: per tenant the GPUs and nodes of the requests running at each arrival or departure (a
// request naming one class counts that class's GPUs per node, others the largest class's), per
// class the nodes held plus those requested of it (requests naming one class only).
UsageHistory DemandHistory(const Trace& trace, const Inventory& inventory);

}  // namespace topoplace
