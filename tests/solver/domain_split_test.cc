// The ILP's domain split (ilp_backend.cc, domain_relaxation.h) against the whole model: on the
// same prepared requests, an ILP that always splits (starting from a single domain, so the set
// has to grow and the outside bound has to hold) and one that never does must agree on what the
// request is (optimal with the same objective, or infeasible), and every placement must pass the
// independent verifier. Large data centres take the split path in production; these small ones
// make every case comparable with the whole model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "solver/backend.h"
#include "solver/backends.h"
#include "solver/prepared.h"
#include "solver/solver.h"
#include "solver/verifier.h"
#include "tests/solver/fixtures.h"

namespace topoplace {
namespace {

constexpr double kTolerance = 1e-6;

struct Tally {
  int optimal = 0, infeasible = 0;
};

// Solves `request` both ways, cold and warm-started from the heuristic, and compares.
void ExpectSplitAgrees(const PlacementProblem& problem, const Request& request, Tally& tally) {
  SolveOptions options;
  options.time_limit_seconds = 60;
  const PreparedRequest p = Prepare(problem, request, options);
  const auto whole = MakeIlpBackend({.split_groups = std::numeric_limits<size_t>::max()});
  const auto split = MakeIlpBackend({.split_groups = 0, .first_domains = 1});
  const PlacementResult truth = whole->Solve(p, options, nullptr);
  if (truth.status != SolveStatus::kOptimal && truth.status != SolveStatus::kInfeasible) return;

  const PlacementResult hint = BuiltinBackends().Find("heuristic")->Solve(p, options, nullptr);
  const bool hinted = HasPlacement(hint.status) && CheckPrepared(p, hint.nodes).empty();
  for (const PlacementResult* warm : {static_cast<const PlacementResult*>(nullptr), &hint}) {
    if (warm != nullptr && !hinted) continue;
    SCOPED_TRACE(warm == nullptr ? "cold" : "warm-started");
    const PlacementResult got = split->Solve(p, options, warm);
    ASSERT_EQ(got.status, truth.status)
        << SolveStatusName(got.status) << " vs " << SolveStatusName(truth.status);
    if (truth.status == SolveStatus::kInfeasible) {
      EXPECT_TRUE(got.nodes.empty());
      continue;
    }
    EXPECT_NEAR(got.objective.total, truth.objective.total, kTolerance);
    ASSERT_TRUE(got.bound.has_value());
    EXPECT_NEAR(*got.bound, truth.objective.total, kTolerance);
    EXPECT_TRUE(CheckPrepared(p, got.nodes).empty());
    const auto violations = VerifyPlacement(problem, request, got.nodes);
    for (const auto& v : violations) ADD_FAILURE() << v.constraint << ": " << v.detail;
  }
  ++(truth.status == SolveStatus::kOptimal ? tally.optimal : tally.infeasible);
}

TEST(DomainSplitTest, AgreesWithTheWholeModelOnRandomDataCentres) {
  Tally tally;
  for (uint64_t seed = 1; seed <= 120; ++seed) {
    const PlacementProblem problem = fixtures::RandomDataCentre(seed);
    const Request request = fixtures::RandomRequest(seed, problem);
    if (!request.nodes) continue;  // the split serves `nodes` requests
    SCOPED_TRACE("seed " + std::to_string(seed));
    ExpectSplitAgrees(problem, request, tally);
  }
  // Not vacuous: both kinds of answer were compared many times.
  EXPECT_GE(tally.optimal, 20);
  EXPECT_GE(tally.infeasible, 3);
}

// Racks with their own leaf (two levels, one partition, whose opening costs add up, numbered in
// opposite orders), some of them free (the fragmentation term), most of them partly held.
class DomainSplitGeneratedTest : public ::testing::TestWithParam<int> {};

TEST_P(DomainSplitGeneratedTest, AgreesWithTheWholeModel) {
  fixtures::GeneratedOptions o;
  o.pods = 2;
  o.racks_per_pod = 24;
  o.nodes_per_rack = 16;
  o.held_percent = GetParam();
  const PlacementProblem generated = fixtures::GeneratedDataCentre(o);
  // Racks listed in the opposite order from their leaves, so the two levels number the same
  // domains differently.
  Inventory inv = generated.snapshot->inventory;
  std::reverse(inv.racks.begin(), inv.racks.end());
  ASSERT_TRUE(inv.BuildIndex().ok());
  const PlacementProblem problem = fixtures::MakeProblem(std::move(inv), generated.tenants);
  int free_racks = 0;
  for (int rack = 0; rack < problem.snapshot->topology.DomainCount(Level::kRack); ++rack) {
    bool held = false;
    for (int node : problem.snapshot->topology.NodesIn(Level::kRack, rack))
      held = held || !problem.snapshot->inventory.nodes[node].holder.empty();
    free_racks += held ? 0 : 1;
  }
  if (GetParam() <= 30) {
    EXPECT_GT(free_racks, 0) << "the fragmentation term takes part";
  }
  Tally tally;
  for (int nodes : {4, 12, 30}) {
    const Request leaf = fixtures::RequestBuilder("leaf-" + std::to_string(nodes), "big-lab")
                             .Nodes(nodes)
                             .Locality(Level::kLeaf, LocalityMode::kPreferred);
    const Request rack = fixtures::RequestBuilder("rack-" + std::to_string(nodes), "big-lab")
                             .Nodes(nodes)
                             .Locality(Level::kRack, LocalityMode::kRequired, (nodes + 7) / 8 + 1)
                             .SpreadMaxFraction(Level::kPowerDomain, 0.5);
    for (const Request& request : {leaf, rack}) {
      SCOPED_TRACE(request.name);
      ExpectSplitAgrees(problem, request, tally);
    }
  }
  EXPECT_EQ(tally.optimal, 6);
}

INSTANTIATE_TEST_SUITE_P(HeldPercent, DomainSplitGeneratedTest, ::testing::Values(20, 60));

}  // namespace
}  // namespace topoplace
