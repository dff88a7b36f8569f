// What-if benchmark: repairs after a power-domain failure, capacity counts, and trace replay, on
// the generated data centres scenarios/dc-10k.yaml (about 10,000 nodes) and dc-100k.yaml (about
// 100,000), as a user runs them. Prints plain tables:
//
//   whatif    one power domain failed (the one holding the most allocated nodes): load (YAML and
//             snapshot); changes (apply the failure, find the affected allocations, snapshot the
//             result); repairs; whatif = changes + repairs; report = whatif plus capacity before
//             and after and the file's pending requests placed before and after; allocations
//             affected and repaired, moves. "requests" rows give every generated allocation a
//             request (its node count and class, pod-local), so repairs take the request path, not
//             the same-class rule. Target: under 2 s for the 10k failure (changes + repairs +
//             report).
//   capacity  copies of a shape that fit, with the time and whether the count is proven exact.
//   replay    scenarios/traces/dc10k-week.csv (about 3,000 requests over a week) on dc-10k, per
//             policy: wall time, requests per second, accepted. Target: under a minute per policy.
//
// Run: whatif_bench [--quick]   (--quick: 10k only, and the replay without "auto")
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "inventory/changes.h"
#include "inventory/scenario_codec.h"
#include "inventory/short_request.h"
#include "inventory/trace_codec.h"
#include "solver/capacity.h"
#include "solver/repair.h"
#include "solver/replay.h"

namespace topoplace {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string Path(const std::string& relative) {
  return std::string(TOPOPLACE_SOURCE_DIR) + "/" + relative;
}

// The power domain holding the most allocated nodes.
std::string BusiestPowerDomain(const Scenario& s) {
  std::map<std::string, int> held;
  for (const Node& n : s.inventory.nodes) {
    if (!n.holder.empty()) ++held[n.power_domain];
  }
  std::string best;
  int most = -1;
  for (const auto& [pd, n] : held) {
    if (n > most) {
      most = n;
      best = pd;
    }
  }
  return best;
}

// Gives every allocation a request it satisfies: its node count and class, in one pod.
void RecordRequests(Scenario& s) {
  for (Allocation& a : s.allocations) {
    const int first = s.inventory.NodeIndex(a.nodes.front());
    if (first < 0) continue;
    Request r;
    r.name = a.name;
    r.tenant = a.tenant;
    r.nodes = static_cast<int>(a.nodes.size());
    r.select.classes = {s.inventory.nodes[first].node_class};
    r.locality = Locality{Level::kPod, LocalityMode::kRequired, 1};
    a.request = r;
  }
}

void WhatIfRow(const std::string& label, const std::string& file, bool with_requests) {
  const auto load_start = Clock::now();
  Result<Scenario> loaded = LoadScenarioFile(Path(file));
  if (!loaded.ok()) {
    std::printf("%-16s load failed: %s\n", label.c_str(), loaded.status().message().c_str());
    return;
  }
  Scenario before = std::move(*loaded);
  if (with_requests) RecordRequests(before);
  auto snap = MakeSnapshot(before.inventory);
  const double load_s = Seconds(load_start);
  const std::string pd = BusiestPowerDomain(before);

  const auto start = Clock::now();
  Scenario after = before;
  auto change = ParseChange(ChangeKind::kFail, "powerDomain:" + pd);
  auto applied = ApplyChanges(after, {*change});
  auto input = PrepareRepair(before, after);
  const double prepare_s = Seconds(start);
  const auto repair_start = Clock::now();
  RepairOptions ro;
  ro.solve.time_limit_seconds = 2;
  PlacementProblem repaired;
  auto repairs = RepairAllocations(input->problem, input->cases, ro, &repaired);
  const double only_repairs_s = Seconds(repair_start);
  const double repair_s = Seconds(start);
  // The rest of the report: capacity before and after, the pending requests before and after.
  const PlacementProblem before_problem{*snap, before.tenants};
  Fragmentation(**snap);
  Fragmentation(*repaired.snapshot);
  SolveOptions so;
  so.explain = false;
  so.time_limit_seconds = 2;
  SolveBatch(before_problem, before.requests, so);
  SolveBatch(repaired, after.requests, so);
  const double total_s = Seconds(start);
  int ok = 0, moves = 0;
  for (const AllocationRepair& r : *repairs) {
    ok += r.repaired;
    moves += r.repaired ? r.moves : 0;
  }
  std::printf("%-14s %7zu %-20s %6.2f %8.3f %8.3f %8.3f %8.3f %6zu/%-5zu %8d %6d\n", label.c_str(),
              before.inventory.nodes.size(), pd.c_str(), load_s, prepare_s, only_repairs_s,
              repair_s, total_s, repairs->size(), before.allocations.size(), ok, moves);
}

void CapacityRow(const std::string& label, const PlacementProblem& problem,
                 const std::string& shape_text) {
  Result<Request> shape = ParseShortRequest(shape_text, "shape");
  shape->name = "shape";
  shape->tenant = "gpu-tenant-1";  // no budget: the structure, not money, bounds the count
  CapacityOptions co;
  co.proof_time_limit_seconds = 10;
  co.explain = false;
  const auto start = Clock::now();
  Result<CapacityResult> r = CountCopies(problem, *shape, co);
  const double s = Seconds(start);
  if (!r.ok()) {
    std::printf("%-8s %-52s error: %s\n", label.c_str(), shape_text.c_str(),
                r.status().message().c_str());
    return;
  }
  std::printf("%-8s %-52s %6d %6d %-6s %8.2f\n", label.c_str(), shape_text.c_str(), r->copies,
              r->upper_bound, r->exact ? "yes" : "no", s);
}

int Main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  std::printf("whatif: one power domain fails (times in seconds)\n");
  std::printf("%-14s %7s %-20s %6s %8s %8s %8s %8s %12s %8s %6s\n", "scenario", "nodes",
              "power domain", "load", "changes", "repairs", "whatif", "report", "affected",
              "repaired", "moves");
  WhatIfRow("10k", "scenarios/dc-10k.yaml", false);
  WhatIfRow("10k requests", "scenarios/dc-10k.yaml", true);
  if (!quick) {
    WhatIfRow("100k", "scenarios/dc-100k.yaml", false);
    WhatIfRow("100k requests", "scenarios/dc-100k.yaml", true);
  }

  std::printf("\ncapacity: copies of a shape for gpu-tenant-1 (times in seconds)\n");
  std::printf("%-8s %-52s %6s %6s %-6s %8s\n", "size", "shape", "copies", "bound", "exact", "time");
  for (const char* file : {"scenarios/dc-10k.yaml", "scenarios/dc-100k.yaml"}) {
    const bool big = std::strstr(file, "100k") != nullptr;
    if (big && quick) continue;
    Result<Scenario> s = LoadScenarioFile(Path(file));
    if (!s.ok()) continue;
    auto snap = MakeSnapshot(s->inventory);
    const PlacementProblem problem{*snap, s->tenants};
    const std::string label = big ? "100k" : "10k";
    CapacityRow(label, problem, "nodes=8,class=h100x8,locality=leaf:required");
    CapacityRow(label, problem,
                "nodes=8,class=a100x8,locality=leaf:required,spread=powerDomain:0.5");
    CapacityRow(label, problem,
                "nodes=64,class=h100x8,locality=pod:required,spread=powerDomain:0.5");
  }

  std::printf("\nreplay: scenarios/traces/dc10k-week.csv on dc-10k\n");
  Result<Scenario> s = LoadScenarioFile(Path("scenarios/dc-10k.yaml"));
  Result<Trace> trace = LoadTraceFile(Path("scenarios/traces/dc10k-week.csv"), &*s);
  if (!s.ok() || !trace.ok()) {
    std::printf("cannot load: %s\n", (!s.ok() ? s.status() : trace.status()).message().c_str());
    return 1;
  }
  auto snap = MakeSnapshot(s->inventory);
  const PlacementProblem problem{*snap, s->tenants};
  std::printf("%-10s %8s %8s %10s %10s %10s %10s %12s\n", "policy", "requests", "accepted",
              "wall s", "req/s", "GPU ratio", "fragment.", "leaf span");
  std::vector<ReplayPolicy> policies = {ReplayPolicy::kHeuristic, ReplayPolicy::kFirstFit,
                                        ReplayPolicy::kRandom};
  if (!quick) policies.insert(policies.begin(), ReplayPolicy::kAuto);
  for (ReplayPolicy p : policies) {
    ReplayOptions ro;
    ro.time_limit_seconds = 0.2;
    auto r = Replay(problem, *trace, {p}, ro);
    if (!r.ok()) continue;
    const PolicyReport& rep = (*r)[0];
    const double wall = rep.wall_ms / 1000;
    std::printf("%-10s %8zu %8d %10.2f %10.0f %9.1f%% %9.1f%% %12.2f\n",
                std::string(ReplayPolicyName(p)).c_str(), trace->entries.size(), rep.accepted, wall,
                trace->entries.size() / std::max(wall, 1e-9), 100 * rep.mean_gpu_ratio,
                100 * rep.mean_fragmentation, rep.mean_leaf_span);
  }
  return 0;
}

}  // namespace
}  // namespace topoplace

int main(int argc, char** argv) { return topoplace::Main(argc, argv); }
