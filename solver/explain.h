// Private to solver/: explanations for infeasible requests.
//
// Explain() runs a deletion filter over the request's constraint groups (select, locality, spread,
// compliance, exclusive, roce, budget, quota, tenantBudget; count is always kept): starting from
// every group the request uses, it turns each group off in turn and drops it for good when the
// request stays infeasible. What remains is a minimal conflicting set: infeasible together,
// feasible without any one of them. Feasibility is decided exactly by the "ilp" backend (short time
// limit); when it is absent or times out the heuristic and the cheap relaxation proofs decide, and
// the summary says that minimality is not proven. Every relaxation listed has been solved feasible
// with all other constraints in force.
//
// Thread safety: stateless; runs solves of its own.
#pragma once

#include <span>

#include "solver/solver.h"

namespace topoplace {

// `request` must be valid for `problem` (ValidateRequest()) and is expected to be infeasible; when
// it turns out feasible the summary says so and the conflict is empty.
Explanation Explain(const PlacementProblem& problem, const Request& request,
                    const SolveOptions& options, std::span<const int> current = {});

}  // namespace topoplace
