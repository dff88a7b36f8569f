// Preemption conformance and explanation cases, on every backend (DESIGN.md section 8).
//
// Three leaves of one rack each (leaf-1/r1, leaf-2/r2, leaf-3/r3), four h100x8 nodes per rack;
// each case lays its own allocations over them. Exact backends must evict exactly the expected
// allocations and prove it (optimal); the heuristic must place every case that has room, with a
// valid set that is never smaller than the least one. Every answer of every backend goes through
// the verifier. Impossible cases are infeasible on exact backends, with an explanation that names
// preemption's limit, and never placed by any backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "model/scenario.h"
#include "solver/backend.h"
#include "solver/solver.h"
#include "solver/verifier.h"
#include "tests/solver/fixtures.h"

namespace topoplace {
namespace {

using fixtures::RequestBuilder;

Allocation Alloc(std::string name, std::string tenant, int priority, std::vector<std::string> nodes,
                 std::string project = "") {
  Allocation a;
  a.name = std::move(name);
  a.tenant = std::move(tenant);
  a.project = std::move(project);
  a.priority = priority;
  a.nodes = std::move(nodes);
  return a;
}

// The four nodes of a rack: "r2" -> r2-n01..r2-n04.
std::vector<std::string> Rack(const std::string& rack) {
  return {rack + "-n01", rack + "-n02", rack + "-n03", rack + "-n04"};
}

struct Layout {
  std::vector<Allocation> allocations;
  std::vector<std::string> exclusive;  // allocations that asked for their rack to themselves
  std::vector<Tenant> tenants = {fixtures::MakeTenant("lab-a"), fixtures::MakeTenant("lab-b")};
  bool across_tenants = true;
};

PlacementProblem Problem(const Layout& layout) {
  fixtures::DataCentreBuilder b;
  b.Site("dc", "US").PowerDomain("pd-a", "dc").PowerDomain("pd-b", "dc");
  b.Spine("spine-1", "vendor-a", "dc");
  for (const std::string n : {"1", "2", "3"}) {
    b.Leaf("leaf-" + n, "vendor-a", {"spine-1"}, "pod-1");
    b.Rack("r" + n, "dc", "row-1", "pod-1", {"pd-a", "pd-b"});
    b.Nodes("r" + n, "leaf-" + n, "h100x8", 4);
  }
  for (const Allocation& a : layout.allocations) {
    const bool exclusive = std::find(layout.exclusive.begin(), layout.exclusive.end(), a.name) !=
                           layout.exclusive.end();
    for (const std::string& node : a.nodes) {
      if (exclusive) {
        b.HoldExclusive(node, a.tenant, Level::kRack);
      } else {
        b.Hold(node, a.tenant);
      }
    }
  }
  const Inventory inv = b.Build();
  PlacementProblem problem = fixtures::MakeProblem(inv, layout.tenants);
  problem.project_usage = ProjectUsages(inv, layout.allocations);
  problem.holdings = HoldingsOf(inv, layout.allocations);
  problem.preempt_across_tenants = layout.across_tenants;
  return problem;
}

Request Preempting(RequestBuilder builder, PreemptionScope scope = PreemptionScope::kTenant,
                   std::optional<int> max_evictions = std::nullopt) {
  Request r = builder.Build();
  Preemption p;
  p.scope = scope;
  p.max_evictions = max_evictions;
  r.preemption = p;
  return r;
}

std::vector<std::string> Evicted(const PlacementResult& r) {
  std::vector<std::string> names;
  for (const Eviction& e : r.evictions) names.push_back(e.allocation);
  return names;
}

std::string Joined(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : " ") + n;
  return s.empty() ? "nothing" : s;
}

const Eviction* FindEviction(const PlacementResult& r, const std::string& name) {
  for (const Eviction& e : r.evictions) {
    if (e.allocation == name) return &e;
  }
  return nullptr;
}

class PreemptionConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  bool Exact() const {
    const Backend* b = BuiltinBackends().Find(GetParam());
    return b == nullptr ? GetParam() == kAutoBackend : b->capabilities().exact;
  }

  SolveOptions Options() const {
    SolveOptions options;
    options.backend = GetParam();
    options.time_limit_seconds = 10;
    return options;
  }

  // Solves, and verifies a placement.
  PlacementResult Run(const PlacementProblem& problem, const Request& request) {
    auto results = Solve(problem, {request}, Options());
    EXPECT_TRUE(results.ok()) << results.status().message();
    if (!results.ok() || results->size() != 1) return {};
    const PlacementResult& r = results->front();
    if (!HasPlacement(r.status)) return r;
    for (const Violation& v : VerifyResult(problem, request, r)) {
      ADD_FAILURE() << v.constraint << ": " << v.detail << " (evicted " << Joined(Evicted(r))
                    << ")";
    }
    return r;
  }

  // Placed, evicting exactly `expected` on exact backends (proven least), and no fewer on the
  // heuristic.
  PlacementResult ExpectEvicts(const PlacementProblem& problem, const Request& request,
                               std::vector<std::string> expected) {
    PlacementResult r = Run(problem, request);
    std::sort(expected.begin(), expected.end());
    const std::vector<std::string> got = Evicted(r);
    EXPECT_TRUE(HasPlacement(r.status))
        << SolveStatusName(r.status) << (r.explanation ? ": " + r.explanation->summary : "");
    if (Exact()) {
      EXPECT_EQ(r.status, SolveStatus::kOptimal) << SolveStatusName(r.status);
      EXPECT_EQ(got, expected) << "evicted " << Joined(got) << ", expected " << Joined(expected);
    } else {
      EXPECT_GE(got.size(), expected.size()) << "evicted " << Joined(got);
    }
    return r;
  }

  // No backend places it; exact ones say infeasible and name preemption in the conflict.
  void ExpectImpossible(const PlacementProblem& problem, const Request& request) {
    const PlacementResult r = Run(problem, request);
    EXPECT_FALSE(HasPlacement(r.status))
        << SolveStatusName(r.status) << ", evicted " << Joined(Evicted(r));
    EXPECT_TRUE(r.nodes.empty());
    EXPECT_TRUE(r.evictions.empty()) << "evicted " << Joined(Evicted(r));
    if (!Exact()) {
      EXPECT_TRUE(r.status == SolveStatus::kInfeasible || Undecided(r.status));
      return;
    }
    ASSERT_EQ(r.status, SolveStatus::kInfeasible) << SolveStatusName(r.status);
    ASSERT_TRUE(r.explanation.has_value());
    EXPECT_FALSE(r.explanation->summary.empty());
    std::string items;
    bool named = false;
    for (const ConflictItem& c : r.explanation->conflict) {
      items += c.constraint + " ";
      named = named || c.constraint == "preemption";
    }
    EXPECT_TRUE(named) << "conflict: " << items << "| " << r.explanation->summary;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, PreemptionConformanceTest,
                         ::testing::ValuesIn(BuiltinBackends().Choices()),
                         [](const ::testing::TestParamInfo<std::string>& backend) {
                           return backend.param;
                         });

// r1 holds two small allocations (priorities 0 and 1), r2 three of lower priority (-1); r3 is
// held above the request.
Layout TwoSmallInOneLeafThreeInAnother() {
  Layout l;
  l.allocations = {
      Alloc("a1", "lab-b", 0, {"r1-n01"}),  Alloc("a2", "lab-b", 1, {"r1-n02"}),
      Alloc("b1", "lab-b", -1, {"r2-n01"}), Alloc("b2", "lab-b", -1, {"r2-n02"}),
      Alloc("b3", "lab-b", -1, {"r2-n03"}), Alloc("top", "lab-b", 9, Rack("r3")),
  };
  return l;
}

TEST_P(PreemptionConformanceTest, FitsAsItIsEvictsNothing) {
  const PlacementProblem problem = Problem(TwoSmallInOneLeafThreeInAnother());
  const Request r =
      Preempting(RequestBuilder("job", "lab-a").Nodes(2).Locality(Level::kLeaf).Priority(5),
                 PreemptionScope::kAll);
  const PlacementResult got = ExpectEvicts(problem, r, {});
  EXPECT_TRUE(got.evictions.empty());
}

TEST_P(PreemptionConformanceTest, WholeLeafEvictsTheTwoSmallAllocationsInIt) {
  const PlacementProblem problem = Problem(TwoSmallInOneLeafThreeInAnother());
  const Request r =
      Preempting(RequestBuilder("job", "lab-a").Nodes(4).Locality(Level::kLeaf).Priority(5),
                 PreemptionScope::kAll);
  const PlacementResult got = ExpectEvicts(problem, r, {"a1", "a2"});
  if (!Exact()) return;
  EXPECT_EQ(fixtures::NodeNames(problem, got.nodes), Rack("r1"));
  const Eviction* a1 = FindEviction(got, "a1");
  ASSERT_NE(a1, nullptr);
  EXPECT_EQ(a1->tenant, "lab-b");
  EXPECT_EQ(a1->priority, 0);
  EXPECT_EQ(a1->domain, "leaf/leaf-1");
  EXPECT_EQ(fixtures::NodeNames(problem, a1->nodes), std::vector<std::string>{"r1-n01"});
  EXPECT_EQ(fixtures::NodeNames(problem, a1->used), std::vector<std::string>{"r1-n01"});

  // What a greedy scheduler does: the lowest priorities first, three evictions in r2.
  SolveOptions options = Options();
  const PlacementResult greedy = GreedyPreemption(problem, r, options);
  ASSERT_TRUE(HasPlacement(greedy.status));
  EXPECT_TRUE(VerifyResult(problem, r, greedy).empty());
  EXPECT_EQ(Evicted(greedy), (std::vector<std::string>{"b1", "b2", "b3"}));
}

TEST_P(PreemptionConformanceTest, PrioritySumBreaksTiesOnCount) {
  Layout l;
  l.allocations = {
      Alloc("a1", "lab-b", 2, {"r1-n01", "r1-n02"}), Alloc("a2", "lab-b", 2, {"r1-n03", "r1-n04"}),
      Alloc("b1", "lab-b", 1, {"r2-n01", "r2-n02"}), Alloc("b2", "lab-b", 0, {"r2-n03", "r2-n04"}),
      Alloc("top", "lab-b", 9, Rack("r3")),
  };
  const Request r =
      Preempting(RequestBuilder("job", "lab-a").Nodes(4).Locality(Level::kLeaf).Priority(5),
                 PreemptionScope::kAll);
  ExpectEvicts(Problem(l), r, {"b1", "b2"});
}

TEST_P(PreemptionConformanceTest, EqualPriorityIsNeverEvicted) {
  // Evicting a1 alone would make room in r1, but it is at the request's own priority.
  Layout l;
  l.allocations = {
      Alloc("a1", "lab-a", 3, {"r1-n01"}),
      Alloc("a2", "lab-a", 2, {"r2-n01"}),
      Alloc("a3", "lab-a", 1, {"r2-n02"}),
      Alloc("top", "lab-a", 9, Rack("r3")),
  };
  const PlacementProblem problem = Problem(l);
  ExpectEvicts(
      problem,
      Preempting(RequestBuilder("job", "lab-a").Nodes(4).Locality(Level::kLeaf).Priority(3)),
      {"a2", "a3"});
  // At priority 2 only a3 is below it: no leaf can be freed.
  ExpectImpossible(
      problem,
      Preempting(RequestBuilder("job", "lab-a").Nodes(4).Locality(Level::kLeaf).Priority(2)));
}

TEST_P(PreemptionConformanceTest, ScopeTenantEvictsOnlyTheRequestersOwn) {
  Layout l;
  l.allocations = {
      Alloc("x1", "lab-b", 0, Rack("r1")),
      Alloc("a1", "lab-a", 0, {"r2-n01", "r2-n02"}),
      Alloc("a2", "lab-a", 0, {"r2-n03", "r2-n04"}),
      Alloc("top", "lab-b", 9, Rack("r3")),
  };
  const PlacementProblem problem = Problem(l);
  RequestBuilder job = RequestBuilder("job", "lab-a").Nodes(4).Locality(Level::kLeaf).Priority(5);
  ExpectEvicts(problem, Preempting(job, PreemptionScope::kTenant), {"a1", "a2"});
  // Across tenants (the provider allows it here) one eviction does.
  ExpectEvicts(problem, Preempting(job, PreemptionScope::kAll), {"x1"});

  // Without the provider's consent scope all is not a valid request.
  Layout strict = l;
  strict.across_tenants = false;
  auto refused = Solve(Problem(strict), {Preempting(job, PreemptionScope::kAll)}, Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("preemption"), std::string::npos)
      << refused.status().message();
}

TEST_P(PreemptionConformanceTest, MaxEvictionsLimits) {
  const PlacementProblem problem = Problem(TwoSmallInOneLeafThreeInAnother());
  RequestBuilder job = RequestBuilder("job", "lab-a").Nodes(4).Locality(Level::kLeaf).Priority(5);
  ExpectEvicts(problem, Preempting(job, PreemptionScope::kAll, 2), {"a1", "a2"});
  ExpectImpossible(problem, Preempting(job, PreemptionScope::kAll, 1));
  // Three nodes: one eviction in r1 does, within a cap of one.
  ExpectEvicts(
      problem,
      Preempting(RequestBuilder("three", "lab-a").Nodes(3).Locality(Level::kLeaf).Priority(5),
                 PreemptionScope::kAll, 1),
      {"a1"});
}

TEST_P(PreemptionConformanceTest, EvictingOwnAllocationElsewhereReturnsQuota) {
  // r1 is free, but lab-a's quota of 4 nodes leaves room for 2: evicting q1 (in r3, not used by
  // the placement) returns the rest.
  Layout l;
  l.tenants = {fixtures::MakeTenant("lab-a", {}, fixtures::MakeQuota(4)),
               fixtures::MakeTenant("lab-b")};
  l.allocations = {
      Alloc("q1", "lab-a", 0, {"r3-n01", "r3-n02"}),
      Alloc("keep", "lab-a", 8, {"r2-n01"}),
      Alloc("top", "lab-b", 9, {"r2-n02", "r2-n03", "r2-n04", "r3-n03", "r3-n04"}),
  };
  const PlacementProblem problem = Problem(l);
  const Request r =
      Preempting(RequestBuilder("job", "lab-a").Nodes(3).Locality(Level::kLeaf).Priority(5));
  const PlacementResult got = ExpectEvicts(problem, r, {"q1"});
  if (!Exact()) return;
  const Eviction* q1 = FindEviction(got, "q1");
  ASSERT_NE(q1, nullptr);
  EXPECT_TRUE(q1->used.empty()) << "evicted for the quota it returns, not for its nodes";
  for (const std::string& name : fixtures::NodeNames(problem, got.nodes))
    EXPECT_EQ(name.rfind("r1-", 0), 0u) << name;
}

TEST_P(PreemptionConformanceTest, ProjectQuotaIsReturnedOnlyByItsOwnProject) {
  // Project train may hold 2 nodes and holds t1; d1 (project default) is of lower priority but
  // returns nothing to train.
  Layout l;
  Tenant lab_a = fixtures::MakeTenant("lab-a");
  Project train;
  train.name = "train";
  train.quota.nodes = 2;
  lab_a.projects = {train};
  l.tenants = {lab_a, fixtures::MakeTenant("lab-b")};
  l.allocations = {
      Alloc("d1", "lab-a", -1, {"r3-n01"}),
      Alloc("t1", "lab-a", 0, {"r3-n02", "r3-n03"}, "train"),
  };
  const PlacementProblem problem = Problem(l);
  Request r =
      Preempting(RequestBuilder("job", "lab-a").Nodes(2).Locality(Level::kLeaf).Priority(5));
  r.project = "train";
  ExpectEvicts(problem, r, {"t1"});
}

TEST_P(PreemptionConformanceTest, ExclusiveRequestEvictsTheOtherTenantInTheRack) {
  // r1 has three free nodes and one of lab-b's; the request wants its rack to itself.
  Layout l;
  l.allocations = {
      Alloc("x1", "lab-b", 0, {"r1-n04"}),
      Alloc("top2", "lab-b", 9, Rack("r2")),
      Alloc("top3", "lab-b", 9, Rack("r3")),
  };
  const PlacementProblem problem = Problem(l);
  RequestBuilder job =
      RequestBuilder("job", "lab-a").Nodes(3).Locality(Level::kRack).Exclusive().Priority(5);
  const PlacementResult got = ExpectEvicts(problem, Preempting(job, PreemptionScope::kAll), {"x1"});
  if (Exact()) {
    const Eviction* x1 = FindEviction(got, "x1");
    ASSERT_NE(x1, nullptr);
    EXPECT_TRUE(x1->used.empty()) << "evicted for the rack it shared, not for its node";
  }
  // Its own tenant's allocations alone cannot open the rack.
  ExpectImpossible(problem, Preempting(job, PreemptionScope::kTenant));
}

TEST_P(PreemptionConformanceTest, AnotherTenantsExclusiveRackIsOpenedByEvictingIt) {
  // x1 holds one node of r1 with the rack to itself: r1's free nodes are closed to lab-a.
  Layout l;
  l.allocations = {
      Alloc("x1", "lab-b", 0, {"r1-n01"}),
      Alloc("top2", "lab-b", 9, Rack("r2")),
      Alloc("top3", "lab-b", 9, Rack("r3")),
  };
  l.exclusive = {"x1"};
  const PlacementProblem problem = Problem(l);
  const Request r =
      Preempting(RequestBuilder("job", "lab-a").Nodes(3).Locality(Level::kRack).Priority(5),
                 PreemptionScope::kAll);
  ExpectEvicts(problem, r, {"x1"});
}

TEST_P(PreemptionConformanceTest, NodesHeldWithoutAnAllocationAreNeverFreed) {
  // r1 is held by lab-b with no allocation on record; r2 by an allocation that may be evicted.
  Layout l;
  l.allocations = {
      Alloc("b1", "lab-b", 0, {"r2-n01", "r2-n02"}),
      Alloc("b2", "lab-b", 0, {"r2-n03", "r2-n04"}),
      Alloc("top", "lab-b", 9, Rack("r3")),
  };
  PlacementProblem problem = Problem(l);
  {
    NodeStates states = problem.snapshot->states;
    for (const std::string& node : Rack("r1"))
      states.Allocate(fixtures::NodeId(problem, node), "lab-b", std::nullopt);
    problem.snapshot = problem.snapshot->WithStates(std::move(states));
  }
  const Request r =
      Preempting(RequestBuilder("job", "lab-a").Nodes(4).Locality(Level::kLeaf).Priority(5),
                 PreemptionScope::kAll);
  ExpectEvicts(problem, r, {"b1", "b2"});
}

TEST_P(PreemptionConformanceTest, BatchSeesEarlierEvictionsAndEvictsNothingForAnUnplacedRequest) {
  Layout l;
  l.allocations = {
      Alloc("a1", "lab-b", 0, Rack("r1")),
      Alloc("top2", "lab-b", 9, Rack("r2")),
      Alloc("top3", "lab-b", 9, Rack("r3")),
  };
  const PlacementProblem problem = Problem(l);
  const std::vector<Request> requests = {
      // Solved last: a1's eviction left two free nodes in r1.
      Preempting(RequestBuilder("second", "lab-a").Nodes(2).Locality(Level::kLeaf).Priority(4),
                 PreemptionScope::kAll),
      // Solved first: no leaf holds 8 nodes, whatever is evicted.
      Preempting(RequestBuilder("impossible", "lab-a").Nodes(8).Locality(Level::kLeaf).Priority(7),
                 PreemptionScope::kAll),
      Preempting(RequestBuilder("first", "lab-a").Nodes(2).Locality(Level::kLeaf).Priority(5),
                 PreemptionScope::kAll),
  };
  auto results = SolveBatch(problem, requests, Options());
  ASSERT_TRUE(results.ok()) << results.status().message();
  ASSERT_EQ(results->size(), 3u);
  const PlacementResult& second = (*results)[0];
  const PlacementResult& impossible = (*results)[1];
  const PlacementResult& first = (*results)[2];
  EXPECT_FALSE(HasPlacement(impossible.status));
  EXPECT_TRUE(impossible.evictions.empty()) << Joined(Evicted(impossible));
  ASSERT_TRUE(HasPlacement(first.status)) << SolveStatusName(first.status);
  EXPECT_EQ(Evicted(first), std::vector<std::string>{"a1"});
  EXPECT_TRUE(VerifyResult(problem, requests[2], first).empty());
  ASSERT_TRUE(HasPlacement(second.status)) << SolveStatusName(second.status);
  EXPECT_TRUE(second.evictions.empty()) << "a1 is gone already: " << Joined(Evicted(second));
  std::set<int> nodes(first.nodes.begin(), first.nodes.end());
  for (int node : second.nodes) EXPECT_TRUE(nodes.insert(node).second) << "node used twice";
  for (const std::string& name : fixtures::NodeNames(problem, second.nodes))
    EXPECT_EQ(name.rfind("r1-", 0), 0u) << name;
}

// ---------------------------------------------------------------------------------------------
// Explanations: impossible even when every legal victim is evicted.

TEST_P(PreemptionConformanceTest, ExplainsWhenNoLegalVictimMakesRoom) {
  // Every leaf is held at or above the request's priority, apart from one node.
  Layout l;
  l.allocations = {
      Alloc("low", "lab-b", 0, {"r1-n01"}),
      Alloc("same", "lab-b", 5, {"r1-n02", "r1-n03", "r1-n04"}),
      Alloc("top2", "lab-b", 9, Rack("r2")),
      Alloc("top3", "lab-b", 9, Rack("r3")),
  };
  const PlacementProblem problem = Problem(l);
  ExpectImpossible(
      problem,
      Preempting(RequestBuilder("job", "lab-a").Nodes(2).Locality(Level::kLeaf).Priority(5),
                 PreemptionScope::kAll));
  // One node is enough: evicting `low` frees it.
  ExpectEvicts(
      problem,
      Preempting(RequestBuilder("one", "lab-a").Nodes(1).Priority(5), PreemptionScope::kAll),
      {"low"});
}

TEST_P(PreemptionConformanceTest, ExplainsWhenTheVictimsAreOtherTenants) {
  const PlacementProblem problem = Problem(TwoSmallInOneLeafThreeInAnother());
  ExpectImpossible(
      problem,
      Preempting(RequestBuilder("job", "lab-a").Nodes(4).Locality(Level::kLeaf).Priority(5),
                 PreemptionScope::kTenant));
}

TEST_P(PreemptionConformanceTest, ExplainsWhenMaxEvictionsIsTooFew) {
  Layout l;
  l.allocations = {
      Alloc("a1", "lab-b", 0, {"r1-n01", "r1-n02"}), Alloc("a2", "lab-b", 0, {"r1-n03", "r1-n04"}),
      Alloc("b1", "lab-b", 0, {"r2-n01", "r2-n02"}), Alloc("b2", "lab-b", 0, {"r2-n03", "r2-n04"}),
      Alloc("top", "lab-b", 9, Rack("r3")),
  };
  const PlacementProblem problem = Problem(l);
  ExpectImpossible(
      problem,
      Preempting(RequestBuilder("job", "lab-a").Nodes(4).Locality(Level::kLeaf).Priority(5),
                 PreemptionScope::kAll, 1));
}

}  // namespace
}  // namespace topoplace
