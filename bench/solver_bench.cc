// Solver benchmark: time and quality of the heuristic, ILP and auto backends on generated data
// centres of 1,000, 10,000 and 100,000 nodes with 60% of nodes allocated.
//
// Request shapes, each at 8, 64 and 256 nodes:
//   leaf-pref   locality leaf, preferred;
//   rack-spread locality rack, required, maxDomains ceil(n/8)+1; spread powerDomain maxFraction
//   0.5; hipaa-roce  compliance hipaa, roce, budget 60/h per node.
// Each (size, shape, count) runs on several generated data centres (seeds). The first table gives,
// per size and backend: median and p95 solve time (milliseconds, including candidate filtering),
// how many answers were feasible, the share of feasible answers proven optimal, the share of all
// solves settled within one second (`settled1s`: proven optimal or infeasible, or placed with a
// proven gap of at most 0.5%), and the heuristic's
// gap to the proven optimum where the ILP or auto proved one (mean and max of (h - opt) / opt, and
// how often the heuristic missed a placement that exists). The second table lists median times per
// shape and count. Explanations are off (they are not part of solving).
//
// Run: solver_bench [--quick] [--size 1k|10k|100k]   (--quick: one seed per size, no 100k; for a
// smoke run; --size: only that size)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "inventory/generator.h"
#include "model/scenario.h"
#include "solver/solver.h"

namespace topoplace {
namespace {

struct SizeSpec {
  std::string label;
  int pods = 0, racks_per_pod = 0, nodes_per_rack = 0;
  int seeds = 1;
  bool run_ilp = true;  // the ILP alone; skipped where it cannot finish in time
  double time_limit_seconds = 5;
};

struct Shape {
  std::string name;
  int nodes = 0;
};

struct Sample {
  std::string size, backend, shape;
  int nodes = 0;
  uint64_t seed = 0;
  double ms = 0;
  SolveStatus status = SolveStatus::kInfeasible;
  double objective = 0;
  std::optional<double> gap;
};

constexpr char kTenant[] = "bench-lab";

Result<PlacementProblem> MakeDataCentre(const SizeSpec& size, uint64_t seed) {
  GenerateSpec spec;
  spec.name = "dc";
  spec.pods = size.pods;
  spec.racks_per_pod = size.racks_per_pod;
  spec.nodes_per_rack = size.nodes_per_rack;
  spec.racks_per_row = 8;
  spec.power_domains_per_row = 2;
  spec.class_mix = {{"h100x8", 0.4}, {"a100x8", 0.4}, {"l40sx4", 0.2}};
  spec.hipaa_racks = 0.1;
  spec.allocated = 0.6;
  spec.leaf_vendors = {"vendor-a", "vendor-b"};
  spec.seed = seed;
  Scenario scenario;
  Status st = Generate(spec, scenario);
  if (!st.ok()) return st;
  Tenant lab;
  lab.name = kTenant;
  lab.compliance = {"hipaa"};
  scenario.tenants.push_back(lab);
  auto snapshot = MakeSnapshot(std::move(scenario.inventory));
  if (!snapshot.ok()) return snapshot.status();
  return PlacementProblem{std::move(snapshot).value(), std::move(scenario.tenants)};
}

Request MakeRequest(const std::string& shape, int nodes) {
  Request r;
  r.name = shape + "-" + std::to_string(nodes);
  r.tenant = kTenant;
  r.nodes = nodes;
  if (shape == "leaf-pref") {
    r.locality = Locality{Level::kLeaf, LocalityMode::kPreferred, 1};
  } else if (shape == "rack-spread") {
    r.locality = Locality{Level::kRack, LocalityMode::kRequired, (nodes + 7) / 8 + 1};
    Spread s;
    s.level = Level::kPowerDomain;
    s.max_fraction = 0.5;
    r.spread = s;
  } else {
    r.compliance = {"hipaa"};
    r.roce = true;
    r.max_cost_per_hour = 60.0 * nodes;
  }
  return r;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

bool Placed(SolveStatus s) { return s == SolveStatus::kOptimal || s == SolveStatus::kFeasible; }

// Settled within a second: proven optimal or infeasible, or placed with a proven gap of at most
// 0.5%.
constexpr double kSettledMs = 1000;
constexpr double kSettledGap = 0.005;
bool SettledInASecond(const Sample& s) {
  if (s.ms > kSettledMs) return false;
  if (s.status == SolveStatus::kOptimal || s.status == SolveStatus::kInfeasible) return true;
  return s.status == SolveStatus::kFeasible && s.gap && *s.gap <= kSettledGap;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown cpu";
}

int Run(bool quick, const std::string& only_size) {
  std::vector<SizeSpec> sizes = {
      {"1k", 2, 16, 32, 5, true, 10},
      {"10k", 8, 40, 32, 2, true, 3},
      {"100k", 78, 40, 32, 2, true, 4},
  };
  if (quick) {
    sizes.pop_back();
    for (auto& s : sizes) s.seeds = 1;
  }
  if (!only_size.empty()) {
    std::erase_if(sizes, [&](const SizeSpec& s) { return s.label != only_size; });
  }
  const std::vector<std::string> shapes = {"leaf-pref", "rack-spread", "hipaa-roce"};
  const std::vector<int> counts = {8, 64, 256};

  std::printf("topoplace solver benchmark\n");
  std::printf("machine: %s, %u hardware threads; one solve at a time\n", CpuModel().c_str(),
              std::thread::hardware_concurrency());
  std::printf(
      "data centres: 32 nodes per rack, 8 racks per row, 2 power domains per row, classes "
      "h100x8/a100x8/l40sx4 40/40/20%%, 10%% hipaa racks, 60%% of nodes allocated\n");
  for (const SizeSpec& s : sizes) {
    std::printf("  %-5s %d pods x %d racks x %d nodes, %d seed(s), time limit %.0f s%s\n",
                s.label.c_str(), s.pods, s.racks_per_pod, s.nodes_per_rack, s.seeds,
                s.time_limit_seconds,
                s.run_ilp ? "" : ", ilp alone skipped (too slow at this size)");
  }
  std::fflush(stdout);

  std::vector<Sample> samples;
  for (const SizeSpec& size : sizes) {
    for (int seed_i = 0; seed_i < size.seeds; ++seed_i) {
      const uint64_t seed = 11 + static_cast<uint64_t>(seed_i);
      auto problem = MakeDataCentre(size, seed);
      if (!problem.ok()) {
        std::fprintf(stderr, "generate %s seed %llu: %s\n", size.label.c_str(),
                     static_cast<unsigned long long>(seed), problem.status().ToString().c_str());
        return 1;
      }
      for (const std::string backend : {"heuristic", "ilp", "auto"}) {
        if (backend == "ilp" && !size.run_ilp) continue;
        for (const std::string& shape : shapes) {
          for (int n : counts) {
            SolveOptions options;
            options.backend = backend;
            options.explain = false;
            options.time_limit_seconds = size.time_limit_seconds;
            auto results = Solve(*problem, {MakeRequest(shape, n)}, options);
            if (!results.ok()) {
              std::fprintf(stderr, "solve: %s\n", results.status().ToString().c_str());
              return 1;
            }
            const PlacementResult& r = results->front();
            samples.push_back({size.label, backend, shape, n, seed, r.solve_ms, r.status,
                               r.objective.total, r.gap});
          }
        }
      }
    }
  }

  std::printf("\n%-5s %-9s %7s %10s %10s %9s %8s %9s %10s %10s %7s\n", "size", "backend", "solves",
              "median_ms", "p95_ms", "feasible", "optimal", "settled1s", "h_gap_mean", "h_gap_max",
              "h_miss");
  for (const SizeSpec& size : sizes) {
    // The proven optimum per instance, from whichever backend proved it.
    std::map<std::tuple<std::string, int, uint64_t>, double> optimum;
    std::map<std::tuple<std::string, int, uint64_t>, const Sample*> heuristic;
    for (const Sample& s : samples) {
      if (s.size != size.label) continue;
      const auto key = std::make_tuple(s.shape, s.nodes, s.seed);
      if (s.status == SolveStatus::kOptimal && s.backend != "heuristic") optimum[key] = s.objective;
      if (s.backend == "heuristic") heuristic[key] = &s;
    }
    for (const std::string backend : {"heuristic", "ilp", "auto"}) {
      std::vector<double> ms;
      int feasible = 0, optimal = 0, settled = 0;
      for (const Sample& s : samples) {
        if (s.size != size.label || s.backend != backend) continue;
        ms.push_back(s.ms);
        settled += SettledInASecond(s) ? 1 : 0;
        feasible += Placed(s.status) ? 1 : 0;
        optimal += s.status == SolveStatus::kOptimal ? 1 : 0;
      }
      if (ms.empty()) {
        std::printf("%-5s %-9s %7s\n", size.label.c_str(), backend.c_str(), "skipped");
        continue;
      }
      std::string gap_mean = "-", gap_max = "-", miss = "-";
      if (backend == "heuristic") {
        double sum = 0, worst = 0;
        int compared = 0, missed = 0;
        for (const auto& [key, opt] : optimum) {
          const Sample* h = heuristic[key];
          if (h == nullptr) continue;
          if (!Placed(h->status)) {
            ++missed;
            continue;
          }
          const double gap = (h->objective - opt) / std::max(1.0, std::abs(opt));
          sum += gap;
          worst = std::max(worst, gap);
          ++compared;
        }
        char buf[32];
        if (compared > 0) {
          std::snprintf(buf, sizeof buf, "%.4f%%", 100 * sum / compared);
          gap_mean = buf;
          std::snprintf(buf, sizeof buf, "%.4f%%", 100 * worst);
          gap_max = buf;
        }
        miss = std::to_string(missed) + "/" + std::to_string(optimum.size());
      }
      char optimal_share[32];
      std::snprintf(optimal_share, sizeof optimal_share, "%.0f%%",
                    feasible > 0 ? 100.0 * optimal / feasible : 0.0);
      char settled_share[32];
      std::snprintf(settled_share, sizeof settled_share, "%.0f%%", 100.0 * settled / ms.size());
      std::printf("%-5s %-9s %7zu %10.2f %10.2f %5d/%-3zu %8s %9s %10s %10s %7s\n",
                  size.label.c_str(), backend.c_str(), ms.size(), Percentile(ms, 0.5),
                  Percentile(ms, 0.95), feasible, ms.size(), optimal_share, settled_share,
                  gap_mean.c_str(), gap_max.c_str(), miss.c_str());
    }
  }

  std::printf(
      "\nmedian ms per shape (status counts: o optimal, f feasible, i infeasible, n no solution "
      "found, t timeout)\n");
  std::printf("%-5s %-12s %5s  %-22s %-22s %-22s\n", "size", "shape", "n", "heuristic", "ilp",
              "auto");
  for (const SizeSpec& size : sizes) {
    for (const std::string& shape : shapes) {
      for (int n : counts) {
        std::printf("%-5s %-12s %5d", size.label.c_str(), shape.c_str(), n);
        for (const std::string backend : {"heuristic", "ilp", "auto"}) {
          std::vector<double> ms;
          int counts_by_status[std::size(kAllSolveStatuses)] = {};
          for (const Sample& s : samples) {
            if (s.size != size.label || s.backend != backend || s.shape != shape || s.nodes != n)
              continue;
            ms.push_back(s.ms);
            ++counts_by_status[static_cast<int>(s.status)];
          }
          char cell[64] = "-";
          if (!ms.empty()) {
            std::string status;
            const char letters[] = {'o', 'f', 'i', 'n', 't'};
            static_assert(std::size(letters) == std::size(kAllSolveStatuses));
            for (size_t k = 0; k < std::size(letters); ++k) {
              if (counts_by_status[k] > 0)
                status += std::to_string(counts_by_status[k]) + letters[k];
            }
            std::snprintf(cell, sizeof cell, "%9.2f %s", Percentile(ms, 0.5), status.c_str());
          }
          std::printf("  %-22s", cell);
        }
        std::printf("\n");
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace topoplace

int main(int argc, char** argv) {
  bool quick = false;
  std::string only_size;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    if (std::strcmp(argv[i], "--size") == 0 && i + 1 < argc) only_size = argv[++i];
  }
  return topoplace::Run(quick, only_size);
}
