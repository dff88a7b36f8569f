// JSON views of solver results, shared by the CLI's --json output and (later) the HTTP API.
//
// Field names are the contract of DESIGN.md and the placement issue: request, status, nodes (names),
// costPerHour, objective, bound, gap, backend, solveMs, explanation; more fields may be added.
#pragma once

#include <nlohmann/json.hpp>

#include "model/topology.h"
#include "solver/solver.h"

namespace topoplace {

using Json = nlohmann::ordered_json;

Json PlacementResultToJson(const Snapshot& snapshot, const PlacementResult& result);

// Distinct domains used by `nodes` at each level, e.g. {"leaf": 2, "rack": 2, ...}.
Json DomainsUsedToJson(const Topology& topology, const std::vector<int>& nodes);

}  // namespace topoplace
