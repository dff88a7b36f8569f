// Pieces the what-if reports (api/whatif.h: whatif, capacity, over the CLI and HTTP) and the replay
// command print alike (names of node sets, explanations, capacity and fragmentation summaries,
// forecasts), as text and as JSON. Thread safety: stateless functions.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "api/json_codec.h"
#include "solver/capacity.h"
#include "solver/forecast.h"
#include "solver/solver.h"

namespace topoplace {

std::vector<std::string> NodeNames(const Snapshot& snapshot, const std::vector<int>& nodes);
// "r02-n04, r02-n06 (leaf-r02)" style: names, then the leaves they sit under.
std::string NodeListText(const Snapshot& snapshot, const std::vector<int>& nodes,
                         size_t max_names = 12);
std::string FixedText(double v, int decimals = 2);
std::string PercentText(double share);

// An evicted allocation (a what-if placement's, a repair's preemption offer), with the JSON keys
// of a placement result's `evictions`: allocation, tenant, project, priority, nodes, used, domain.
Json EvictionsJson(const Snapshot& snapshot, const std::vector<Eviction>& evictions);
// "batch-low (tenant t1, project default, priority 0, 2 nodes: r1-n01, r1-n02 (leaf-1); freed
// from leaf/leaf-1)"
std::string EvictionText(const Snapshot& snapshot, const Eviction& e);

Json ExplanationJson(const Explanation& e);
void PrintExplanation(std::ostream& out, const Explanation& e, const std::string& indent);

// Free capacity of a snapshot: free nodes and GPUs per class, fragmentation shares.
struct CapacitySummary {
  int free_nodes = 0;
  int64_t free_gpus = 0;
  std::vector<std::pair<std::string, int>> free_by_class;  // class -> free nodes
  double free_in_free_leaves = 0, free_in_free_racks = 0;
};
CapacitySummary SummariseCapacity(const Snapshot& snapshot);
Json CapacitySummaryJson(const CapacitySummary& c);

Json CapacityResultJson(const Snapshot& snapshot, const CapacityResult& r, bool with_nodes);
Json FragmentationJson(const FragmentationReport& f, size_t max_domains);
Json TenantHeadroomJson(const TenantHeadroom& h);
Json ForecastJson(const Forecast& f);
void PrintForecasts(std::ostream& out, const std::vector<Forecast>& forecasts,
                    const std::string& time_unit);

}  // namespace topoplace
