// Private to solver/: a lower bound on the objective of a `nodes` request, split by the domains a
// placement uses, so the ILP can solve a request over a few promising domains and prove that no
// placement touching the others is better (ilp_backend.cc).
//
// The relaxation keeps the count and the objective and drops every other constraint (spread,
// roce, headroom; required locality's maxDomains enters through a Lagrange multiplier). Its
// objective keeps each node's base (cost and moves) and the opening costs of the domains at the
// levels that nest into one chain with the first grouping level (NodeGroups::first_level()), e.g.
// rack in row in pod in site; a level that cuts across the chain (a power domain spanning racks)
// keeps only the one domain every placement opens. Over a chain the relaxation is solved exactly
// by a dynamic program over (nodes taken, whether a first-level domain outside the set was used),
// domain by domain: O(k * (groups + domains)) per multiplier.
//
// Thread safety: stateless functions.
#pragma once

#include <optional>
#include <vector>

#include "solver/node_groups.h"

namespace topoplace {

struct DomainSplitBound {
  // A lower bound on every placement that uses at least one first-level domain outside the set;
  // nullopt when every domain is in the set.
  std::optional<double> outside;
  // A lower bound on every placement.
  double all = 0;
  // With `want_placement`: nodes per group of an optimum of the relaxation behind `all` (empty
  // when it has none). When it passes CheckPrepared() and its objective meets `all`, it is optimal.
  std::vector<int> placement;
};

// `inside[d]` != 0 marks the first-level domains of the set. `k` is the request's node count.
DomainSplitBound BoundByDomains(const PreparedRequest& p, const NodeGroups& groups, int k,
                                const std::vector<uint8_t>& inside, bool want_placement = false);

}  // namespace topoplace
