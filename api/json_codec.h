// JSON views of solver results and of plans, shared by the CLI's --json output and the HTTP API.
//
// Field names are the contract of DESIGN.md and the placement issue: request, status, nodes
// (names), costPerHour, objective, bound, gap, backend, solveMs, explanation, evict (the evicted
// allocations' names) and evictions (each with tenant, project, priority, nodes, used, domain);
// more fields may be added. A plan is shown the same way by GET /v1/clusters/{id} and `topoplace plan show --json`:
// the functions below are its one description. Thread safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>

#include "model/plan.h"
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

// The steps of a plan, in order: id, layer, driver, action, phase, state, attempts, log, and node,
// startedAt, updatedAt when set.
Json PlanStepsJson(const Plan& plan);
// A tenant network: id, vlan, subnet, gateway and the addresses (node, port, mac, address) of the
// nodes in `plan_nodes` only (a tenant network may carry several plans of its tenant).
Json NetworkJson(const TenantNetwork& net, const std::vector<std::string>& plan_nodes);
// Sets in `j` how far a plan has got: status, milestones ({name, at}), steps, error (when it
// failed) and network (when `network`, the plan's network, is given). A cluster's JSON is its own
// fields plus these.
void AddPlanProgressJson(const Plan& plan, const TenantNetwork* network, Json& j);
// A plan: id, allocation, tenant, project, purpose, then AddPlanProgressJson's fields, access
// (when the cluster was handed over), createdAt, updatedAt.
Json PlanToJson(const Plan& plan, const TenantNetwork* network);
// A plan in a list: id, allocation, tenant, project, purpose, status, stepsDone, stepsTotal, error
// (when it failed), createdAt, updatedAt.
Json PlanSummaryJson(const Plan& plan);

// Distinct domains used by `nodes` at each level, e.g. {"leaf": 2, "rack": 2, ...}.
Json DomainsUsedToJson(const Topology& topology, const std::vector<int>& nodes);

}  // namespace topoplace
