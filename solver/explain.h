// Private to solver/: explanations for infeasible requests.
//
// Explain() runs the deletion filter of deletion_filter.h over the request's constraint groups
// (count is always kept), in the one order that repair's explanations use too: what remains is a
// minimal conflicting set, infeasible together and feasible without any one of them. Feasibility
// is decided exactly by the exact backend of options.backends (short time limit); when it is
// absent or times out the quick backend and the cheap relaxation proofs decide, and the summary
// says that minimality is not proven. Every relaxation listed has been solved feasible with all
// other constraints in force.
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
