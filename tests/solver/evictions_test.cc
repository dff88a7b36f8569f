// The fewest evictions (issue 13): small hand-made data centres where the minimum is plain to see.
// Every answer goes through the independent verifier.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "solver/verifier.h"
#include "tests/solver/fixtures.h"

namespace topoplace {
namespace {

using fixtures::DataCentreBuilder;
using fixtures::MakeProblem;
using fixtures::MakeQuota;
using fixtures::MakeTenant;
using fixtures::NodeIds;
using fixtures::RequestBuilder;

// Two leaves of 8 nodes (one rack each). Leaf a: 2 free nodes, allocation a-big (4 nodes,
// priority 1) and a-small (2 nodes, priority 0). Leaf b: 8 nodes in four allocations of 2
// (priorities 0). A request for a whole leaf of 8 nodes needs a-big and a-small (2 evictions)
// rather than the four in leaf b.
PlacementProblem TwoLeaves() {
  DataCentreBuilder b;
  b.Site("s1", "US").PowerDomain("pd1", "s1").Spine("sp1", "v1", "s1");
  b.Leaf("leaf-a", "v1", {"sp1"}).Leaf("leaf-b", "v1", {"sp1"});
  b.Rack("ra", "s1", "row1", "pod1", {"pd1"}).Rack("rb", "s1", "row1", "pod1", {"pd1"});
  b.Nodes("ra", "leaf-a", "cpu", 8).Nodes("rb", "leaf-b", "cpu", 8);
  std::vector<Allocation> allocations = {
      {"a-big", "lab", "", {"ra-n03", "ra-n04", "ra-n05", "ra-n06"}, std::nullopt, 1},
      {"a-small", "lab", "", {"ra-n07", "ra-n08"}, std::nullopt, 0},
      {"b1", "lab", "", {"rb-n01", "rb-n02"}, std::nullopt, 0},
      {"b2", "lab", "", {"rb-n03", "rb-n04"}, std::nullopt, 0},
      {"b3", "lab", "", {"rb-n05", "rb-n06"}, std::nullopt, 0},
      {"b4", "lab", "", {"rb-n07", "rb-n08"}, std::nullopt, 0},
  };
  for (const Allocation& a : allocations) {
    for (const std::string& n : a.nodes) b.Hold(n, a.tenant);
  }
  PlacementProblem problem = MakeProblem(b, {MakeTenant("lab"), MakeTenant("other")});
  problem.holdings = HoldingsOf(problem.snapshot->inventory, allocations);
  return problem;
}

Request WholeLeaf(int priority) {
  Request r = RequestBuilder("urgent", "lab").Nodes(8).Locality(Level::kLeaf).Build();
  r.priority = priority;
  r.preemption = Preemption{};
  return r;
}

std::vector<std::string> Evicted(const PlacementResult& r) {
  std::vector<std::string> out;
  for (const Eviction& e : r.evictions) out.push_back(e.allocation);
  return out;
}

TEST(Evictions, WholeLeafTakesTheFewestVictims) {
  const PlacementProblem problem = TwoLeaves();
  const Request request = WholeLeaf(5);
  for (const std::string backend : {"auto", "ilp", "heuristic"}) {
    SolveOptions options;
    options.backend = backend;
    auto solved = Solve(problem, {request}, options);
    ASSERT_TRUE(solved.ok()) << solved.status().ToString();
    const PlacementResult& r = solved.value()[0];
    ASSERT_TRUE(HasPlacement(r.status)) << backend;
    EXPECT_TRUE(VerifyResult(problem, request, r).empty()) << backend;
    EXPECT_EQ(Evicted(r), (std::vector<std::string>{"a-big", "a-small"})) << backend;
    if (backend != "heuristic") {
      EXPECT_EQ(r.status, SolveStatus::kOptimal) << backend;
    }
    EXPECT_EQ(r.nodes, NodeIds(problem, {"ra-n01", "ra-n02", "ra-n03", "ra-n04", "ra-n05",
                                         "ra-n06", "ra-n07", "ra-n08"}));
    ASSERT_EQ(r.evictions.size(), 2u);
    EXPECT_EQ(r.evictions[0].domain, "leaf/leaf-a");
    EXPECT_EQ(r.evictions[0].priority, 1);
    EXPECT_EQ(r.evictions[0].used.size(), 4u);
  }
}

TEST(Evictions, EqualPriorityIsNeverEvicted) {
  const PlacementProblem problem = TwoLeaves();
  // Priority 1: only the priority-0 allocations are candidates; leaf b's four then.
  const Request request = WholeLeaf(1);
  auto solved = Solve(problem, {request}, SolveOptions{});
  ASSERT_TRUE(solved.ok());
  const PlacementResult& r = solved.value()[0];
  ASSERT_EQ(r.status, SolveStatus::kOptimal);
  EXPECT_TRUE(VerifyResult(problem, request, r).empty());
  EXPECT_EQ(Evicted(r), (std::vector<std::string>{"b1", "b2", "b3", "b4"}));
}

TEST(Evictions, MaxEvictionsTooFewIsExplained) {
  const PlacementProblem problem = TwoLeaves();
  Request request = WholeLeaf(1);
  request.preemption->max_evictions = 3;
  auto solved = Solve(problem, {request}, SolveOptions{});
  ASSERT_TRUE(solved.ok());
  const PlacementResult& r = solved.value()[0];
  EXPECT_EQ(r.status, SolveStatus::kInfeasible);
  EXPECT_TRUE(r.evictions.empty());
  ASSERT_TRUE(r.explanation.has_value());
  ASSERT_FALSE(r.explanation->conflict.empty());
  EXPECT_EQ(r.explanation->conflict[0].constraint, "preemption");
  EXPECT_NE(r.explanation->summary.find("4"), std::string::npos) << r.explanation->summary;
}

TEST(Evictions, FitsWithoutEvictingEvictsNothing) {
  const PlacementProblem problem = TwoLeaves();
  Request request = WholeLeaf(5);
  request.nodes = 2;
  auto solved = Solve(problem, {request}, SolveOptions{});
  ASSERT_TRUE(solved.ok());
  const PlacementResult& r = solved.value()[0];
  EXPECT_EQ(r.status, SolveStatus::kOptimal);
  EXPECT_TRUE(r.evictions.empty());
  EXPECT_TRUE(VerifyResult(problem, request, r).empty());
}

TEST(Evictions, QuotaReturnedByAnEvictionElsewhere) {
  PlacementProblem problem = TwoLeaves();
  // lab holds 14 nodes with a quota of 14: the 2 free nodes need 2 nodes of quota back.
  problem.tenants[0].quota = MakeQuota(14);
  Request request = WholeLeaf(5);
  request.nodes = 2;
  auto solved = Solve(problem, {request}, SolveOptions{});
  ASSERT_TRUE(solved.ok());
  const PlacementResult& r = solved.value()[0];
  ASSERT_EQ(r.status, SolveStatus::kOptimal);
  EXPECT_TRUE(VerifyResult(problem, request, r).empty());
  ASSERT_EQ(r.evictions.size(), 1u);
  EXPECT_EQ(r.evictions[0].priority, 0);  // a priority-0 allocation of 2 nodes
  EXPECT_EQ(r.evictions[0].nodes.size(), 2u);
}

}  // namespace
}  // namespace topoplace
