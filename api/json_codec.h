// JSON views of solver results, shared by the CLI's --json output and (later) the HTTP API.
//
// Field names are the contract of DESIGN.md and the placement issue: request, status, nodes
// (names), costPerHour, objective, bound, gap, backend, solveMs, explanation; more fields may be
// added. Thread safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>

#include "model/topology.h"
#include "solver/solver.h"

namespace topoplace {

using Json = nlohmann::ordered_json;

// `j` as text that is always valid UTF-8: bytes that are not (from input that slipped past a
// check) become U+FFFD instead of making the dump throw. `indent` < 0 gives one line.
std::string JsonText(const Json& j, int indent = 2);

// A time in milliseconds since the epoch as ISO 8601 UTC ("2026-11-27T15:23:06Z", or with
// ".123" before the Z when `millis`); empty for 0 or less (never set).
std::string IsoTime(int64_t ms, bool millis = true);

Json PlacementResultToJson(const Snapshot& snapshot, const PlacementResult& result);

// Distinct domains used by `nodes` at each level, e.g. {"leaf": 2, "rack": 2, ...}.
Json DomainsUsedToJson(const Topology& topology, const std::vector<int>& nodes);

}  // namespace topoplace
