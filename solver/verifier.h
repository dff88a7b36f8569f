// The independent verifier: re-derives every constraint of a request from the snapshot alone.
//
// It shares no code with the backends or with Prepare(): it reads node states, classes, racks,
// sites, switches and tenants directly, so a bug in candidate filtering or in a backend's model
// shows up here. Every answer of every backend passes through it in the tests.
//
// Thread safety: stateless.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "solver/solver.h"

namespace topoplace {

struct Violation {
  std::string constraint;  // same names as ConflictItem::constraint
  std::string detail;      // "node r1-n03 is allocated to cv-lab"
};

// Lists every violated constraint of `request` by the node set `nodes` (node indices). Empty when
// the placement is valid. `current` is the request's present placement for re-solves: those nodes
// may be held by the request's own tenant.
std::vector<Violation> VerifyPlacement(const PlacementProblem& problem, const Request& request,
                                       std::span<const int> nodes,
                                       std::span<const int> current = {});

// A placement that evicts (a request with `preemption:`): each name in `evicted` is a legal victim
// (a holding of the problem, once, of priority strictly below the request's, of the request's own
// tenant unless its scope is all and the provider allows it; no more than maxEvictions of them,
// and none at all without `preemption:`), and `nodes` is a valid placement of `request` once they
// are gone: their nodes free (a node in maintenance or failed stays out), their usage returned to
// their tenant and project, their exclusive domains open. Violations name "preemption".
std::vector<Violation> VerifyPreemptingPlacement(const PlacementProblem& problem,
                                                 const Request& request,
                                                 std::span<const int> nodes,
                                                 std::span<const std::string> evicted);

// Either of the two above, for a solver result: its nodes and the names of its evictions.
std::vector<Violation> VerifyResult(const PlacementProblem& problem, const Request& request,
                                    const PlacementResult& result);

}  // namespace topoplace
