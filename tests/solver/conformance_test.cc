// One conformance suite, run on every backend ("heuristic", "ilp", "auto") through Solve().
//
// Every answer must pass the verifier. Where the optimum is known by hand it is checked: exact
// backends ("ilp", "auto") must hit it and prove it; the heuristic must not beat it. Infeasible
// requests must come back infeasible with an explanation from the exact backends; the heuristic
// may also answer timeout (it cannot always prove infeasibility) but never a placement.
//
// The reference data centre (fixtures.h) has, with default weights, every placement paying
// 5 per fully free rack or leaf it touches (a fresh solve moves nothing); with locality, 100 per
// domain at the level and 10 per domain at each level above it (LevelsAbove: a rack has its row,
// pod and site above it).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "solver/backend.h"
#include "solver/solver.h"
#include "solver/verifier.h"
#include "tests/solver/fixtures.h"

namespace topoplace {
namespace {

using fixtures::DataCentreBuilder;
using fixtures::MakeProblem;
using fixtures::MakeQuota;
using fixtures::MakeTenant;
using fixtures::ReferenceDataCentre;
using fixtures::ReferenceTenants;
using fixtures::RequestBuilder;

constexpr double kTolerance = 1e-6;

class ConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  // "auto" is exact when the registry holds an exact backend, as the built-in one does.
  bool Exact() const {
    const Backend* b = BuiltinBackends().Find(GetParam());
    return b == nullptr ? GetParam() == kAutoBackend : b->capabilities().exact;
  }

  PlacementResult Run(const PlacementProblem& problem, const Request& request) {
    SolveOptions options;
    options.backend = GetParam();
    options.time_limit_seconds = 10;
    auto results = Solve(problem, {request}, options);
    EXPECT_TRUE(results.ok()) << results.status().message();
    if (!results.ok() || results->size() != 1) return {};
    return results->front();
  }

  // A feasible request: the answer verifies; exact backends prove `optimum`, the heuristic may
  // only match or exceed it.
  void ExpectOptimum(const PlacementProblem& problem, const Request& request, double optimum,
                     size_t expected_nodes = 0) {
    const PlacementResult r = Run(problem, request);
    ASSERT_TRUE(r.status == SolveStatus::kOptimal || r.status == SolveStatus::kFeasible)
        << SolveStatusName(r.status) << (r.explanation ? ": " + r.explanation->summary : "");
    for (const Violation& v : VerifyPlacement(problem, request, r.nodes)) {
      ADD_FAILURE() << v.constraint << ": " << v.detail;
    }
    std::string names;
    for (const auto& n : fixtures::NodeNames(problem, r.nodes)) names += n + " ";
    if (expected_nodes > 0) {
      EXPECT_EQ(r.nodes.size(), expected_nodes) << names;
    }
    if (Exact()) {
      EXPECT_EQ(r.status, SolveStatus::kOptimal);
      EXPECT_NEAR(r.objective.total, optimum, kTolerance) << names;
      ASSERT_TRUE(r.bound.has_value());
      EXPECT_NEAR(*r.bound, optimum, kTolerance);
    } else {
      EXPECT_GE(r.objective.total, optimum - kTolerance) << names;
    }
    EXPECT_NEAR(r.cost_per_hour, r.objective.cost_per_hour, kTolerance);
  }

  // An infeasible request: no backend may place it; exact ones say infeasible and explain why.
  void ExpectInfeasible(const PlacementProblem& problem, const Request& request,
                        const std::string& expected_in_conflict = "") {
    const PlacementResult r = Run(problem, request);
    std::string names;
    for (const auto& n : fixtures::NodeNames(problem, r.nodes)) names += n + " ";
    if (Exact()) {
      ASSERT_EQ(r.status, SolveStatus::kInfeasible) << SolveStatusName(r.status) << " " << names;
    } else {
      ASSERT_TRUE(r.status == SolveStatus::kInfeasible || Undecided(r.status))
          << SolveStatusName(r.status) << " " << names;
    }
    EXPECT_TRUE(r.nodes.empty());
    if (r.status != SolveStatus::kInfeasible) return;
    ASSERT_TRUE(r.explanation.has_value());
    EXPECT_FALSE(r.explanation->summary.empty());
    if (!expected_in_conflict.empty()) {
      bool found = false;
      std::string items;
      for (const ConflictItem& c : r.explanation->conflict) {
        found = found || c.constraint == expected_in_conflict;
        items += c.constraint + " ";
      }
      EXPECT_TRUE(found) << "conflict: " << items << "| " << r.explanation->summary;
    }
  }

  PlacementProblem Reference() { return MakeProblem(ReferenceDataCentre(), ReferenceTenants()); }
};

INSTANTIATE_TEST_SUITE_P(Backends, ConformanceTest,
                         ::testing::ValuesIn(BuiltinBackends().Choices()),
                         [](const ::testing::TestParamInfo<std::string>& backend) {
                           return backend.param;
                         });

TEST_P(ConformanceTest, CountOfOneClassPacksIntoOneRack) {
  // 2 x 98.32 + one free rack and leaf (10).
  ExpectOptimum(Reference(), RequestBuilder("c", "cv-lab").Nodes(2).Classes({"h100x8"}), 206.64, 2);
}

TEST_P(ConformanceTest, TooManyNodesIsInfeasible) {
  ExpectInfeasible(Reference(), RequestBuilder("c", "cv-lab").Nodes(21), "count");
}

TEST_P(ConformanceTest, SelectByPredicates) {
  // a100x8 is the only class with 128 cores: 3 x 32.77 + 10.
  ExpectOptimum(Reference(),
                RequestBuilder("s", "cv-lab").Nodes(3).CpuCores(">=128").GpuModels({"A100*"}),
                108.31, 3);
  // fw=1 holds on two nodes only.
  ExpectOptimum(Reference(), RequestBuilder("s", "cv-lab").Nodes(2).LabelIn("fw", {"1"}), 206.64,
                2);
  ExpectInfeasible(Reference(), RequestBuilder("s", "cv-lab").Nodes(3).LabelIn("fw", {"1"}),
                   "select");
}

TEST_P(ConformanceTest, RequiredLocalityLimitsDomains) {
  // Each leaf has 4 h100x8: 5 need two leaves, best under one pod (pod, spine, site above: 30).
  ExpectInfeasible(
      Reference(),
      RequestBuilder("l", "cv-lab").Nodes(5).Classes({"h100x8"}).Locality(Level::kLeaf),
      "locality");
  ExpectOptimum(Reference(),
                RequestBuilder("l", "cv-lab")
                    .Nodes(5)
                    .Classes({"h100x8"})
                    .Locality(Level::kLeaf, LocalityMode::kRequired, 2),
                5 * 98.32 + 200 + 30 + 20, 5);
}

TEST_P(ConformanceTest, NvlinkLocalityKeepsPairsTogether) {
  DataCentreBuilder b = ReferenceDataCentre();
  b.Nodes("r4", "leaf-4", "gb200x4", 4);  // r4-n05..n08: nvlink pairs (n05,n06), (n07,n08)
  const PlacementProblem problem = MakeProblem(b, ReferenceTenants());
  // 2 x 60 + one nvlink domain (100) + leaf, rack, row, pod, spine, site above (60) + 10.
  ExpectOptimum(
      problem,
      RequestBuilder("nv", "cv-lab").Nodes(2).Classes({"gb200x4"}).Locality(Level::kNvlink), 290,
      2);
  ExpectInfeasible(
      problem,
      RequestBuilder("nv", "cv-lab").Nodes(3).Classes({"gb200x4"}).Locality(Level::kNvlink),
      "locality");
}

TEST_P(ConformanceTest, PackByNetworkSpreadByPower) {
  // One leaf, at most half the nodes per power feed: r1 alternates feeds a, b, a, b.
  ExpectOptimum(Reference(),
                RequestBuilder("ps", "cv-lab")
                    .Nodes(4)
                    .Classes({"h100x8"})
                    .Locality(Level::kLeaf)
                    .SpreadMaxFraction(Level::kPowerDomain, 0.5),
                4 * 98.32 + 100 + 30 + 10, 4);
  // Three feeds under one site: us-east has two, eu-central one.
  ExpectInfeasible(Reference(),
                   RequestBuilder("ps", "cv-lab")
                       .Nodes(3)
                       .Locality(Level::kSite)
                       .SpreadMinDomains(Level::kPowerDomain, 3),
                   "spread");
  // Three feeds anywhere: one eu-central node joins two us-east nodes of different feeds.
  ExpectOptimum(Reference(),
                RequestBuilder("ps", "cv-lab").Nodes(3).SpreadMinDomains(Level::kPowerDomain, 3),
                2 * 2.40 + 98.32 + 20, 3);
}

TEST_P(ConformanceTest, SpreadCapPerRack) {
  ExpectOptimum(Reference(),
                RequestBuilder("sp", "cv-lab")
                    .Nodes(3)
                    .Classes({"h100x8"})
                    .SpreadMaxPerDomain(Level::kRack, 1),
                3 * 98.32 + 30, 3);
  ExpectInfeasible(Reference(),
                   RequestBuilder("sp", "cv-lab")
                       .Nodes(3)
                       .Classes({"a100x8"})
                       .SpreadMaxPerDomain(Level::kRack, 1),
                   "spread");
}

TEST_P(ConformanceTest, RoceAndCompliance) {
  // hipaa racks: r1 (vendor-a, h100x8) and r3 (vendor-b, a100x8), four nodes each.
  ExpectOptimum(Reference(), RequestBuilder("rc", "nlp-lab").Nodes(4).Compliance({"hipaa"}).Roce(),
                4 * 32.77 + 10, 4);
  ExpectInfeasible(Reference(),
                   RequestBuilder("rc", "nlp-lab").Nodes(5).Compliance({"hipaa"}).Roce());
  // Without RoCE five hipaa nodes mix both racks.
  ExpectOptimum(Reference(), RequestBuilder("rc", "nlp-lab").Nodes(5).Compliance({"hipaa"}),
                4 * 32.77 + 98.32 + 20, 5);
}

TEST_P(ConformanceTest, RoceKeepsOneVendor) {
  // Six 8-GPU nodes: vendor-a alone has the h100x8s; mixing in the a100x8s would be cheaper.
  ExpectOptimum(Reference(), RequestBuilder("r", "cv-lab").Nodes(6).GpuCount(">=8").Roce(),
                6 * 98.32 + 20, 6);
  ExpectOptimum(Reference(), RequestBuilder("r", "cv-lab").Nodes(6).GpuCount(">=8"),
                4 * 32.77 + 2 * 98.32 + 20, 6);
}

TEST_P(ConformanceTest, GdprMeansAnEuSite) {
  ExpectOptimum(Reference(), RequestBuilder("g", "nlp-lab").Nodes(2).Compliance({"gdpr"}), 206.64,
                2);
  ExpectInfeasible(Reference(), RequestBuilder("g", "nlp-lab").Nodes(5).Compliance({"gdpr"}),
                   "compliance");
}

TEST_P(ConformanceTest, BudgetWithPreferredLocality) {
  // Five 8-GPU nodes span two leaves at least. Four a100x8 (r3) + one h100x8 cost 229.40 and span
  // two pods (2 leaves: 200; 2 pods + 2 spines + 1 site: 50); five h100x8 under pod-1 would save
  // 20 in domains but cost 262.20 more.
  const double best = 4 * 32.77 + 98.32 + 200 + 50 + 20;
  auto request = [](double budget) {
    return RequestBuilder("b", "cv-lab")
        .Nodes(5)
        .GpuCount(">=8")
        .PreferLocality(Level::kLeaf)
        .Budget(budget)
        .Build();
  };
  ExpectOptimum(Reference(), request(300), best, 5);
  ExpectOptimum(Reference(), request(229.40), best, 5);  // exactly the cost
  ExpectInfeasible(Reference(), request(229.39), "budget");
}

TEST_P(ConformanceTest, GpusCountWithMixedClasses) {
  // 12 GPUs from A100 and L40S nodes: two nodes at least; a100 + l40s (45.27, two racks) beats
  // two a100 (65.54, one rack) by more than the 10 of fragmentation.
  ExpectOptimum(Reference(), RequestBuilder("g", "cv-lab").Gpus(12).GpuModels({"A100*", "L40?"}),
                32.77 + 12.50 + 20, 2);
  // The fewest nodes come first: one a100 (8 GPUs) beats two cheaper l40s.
  ExpectOptimum(Reference(), RequestBuilder("g", "cv-lab").Gpus(8), 32.77 + 10, 1);
  ExpectInfeasible(Reference(), RequestBuilder("g", "cv-lab").Gpus(16).Classes({"l40sx4"}));
}

TEST_P(ConformanceTest, GpusCountWithSpreadFraction) {
  // 24 GPUs, at most half per rack: three 8-GPU nodes, cap ceil(1.5) = 2 per rack. Two a100x8
  // from r3 (the only a100 rack) and one h100x8 from another rack.
  ExpectOptimum(
      Reference(),
      RequestBuilder("g", "cv-lab").Gpus(24).GpuCount("==8").SpreadMaxFraction(Level::kRack, 0.5),
      2 * 32.77 + 98.32 + 20, 3);
}

TEST_P(ConformanceTest, ExclusiveRack) {
  DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r3-n04", "cv-lab");
  const PlacementProblem shared = MakeProblem(b, ReferenceTenants());
  ExpectInfeasible(
      shared, RequestBuilder("x", "nlp-lab").Nodes(2).Classes({"a100x8"}).Exclusive(Level::kRack),
      "exclusive");
  // Without exclusivity r3 serves; it is no longer a free rack, so no fragmentation.
  ExpectOptimum(shared, RequestBuilder("x", "nlp-lab").Nodes(2).Classes({"a100x8"}), 2 * 32.77, 2);
  // The tenant's own node does not close the rack.
  ExpectOptimum(shared,
                RequestBuilder("x", "cv-lab").Nodes(2).Classes({"a100x8"}).Exclusive(Level::kRack),
                2 * 32.77, 2);
}

TEST_P(ConformanceTest, AnotherTenantsExclusiveRackIsClosed) {
  // cv-lab holds r3-n04 for a request that asked for its rack to itself: r3, the only a100 rack,
  // is closed to every other tenant, exclusive or not, and still open to cv-lab.
  DataCentreBuilder b = ReferenceDataCentre();
  b.HoldExclusive("r3-n04", "cv-lab", Level::kRack);
  const PlacementProblem fenced = MakeProblem(b, ReferenceTenants());
  ExpectInfeasible(fenced, RequestBuilder("x", "nlp-lab").Nodes(1).Classes({"a100x8"}));
  ExpectOptimum(fenced, RequestBuilder("x", "cv-lab").Nodes(2).Classes({"a100x8"}), 2 * 32.77, 2);
  // A leaf-level hold closes leaf-3, r3's only leaf, the same way.
  DataCentreBuilder leaf = ReferenceDataCentre();
  leaf.HoldExclusive("r3-n04", "cv-lab", Level::kLeaf);
  ExpectInfeasible(MakeProblem(leaf, ReferenceTenants()),
                   RequestBuilder("x", "bio-lab").Nodes(1).Classes({"a100x8"}));
}

TEST_P(ConformanceTest, QuotaHeadroom) {
  DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r2-n04", "bio-lab");
  std::vector<Tenant> tenants = ReferenceTenants();
  tenants[2] = MakeTenant("bio-lab", {"hipaa"}, MakeQuota(3, 24));
  const PlacementProblem problem = MakeProblem(b, tenants);
  // Holds 1 node / 8 GPUs: 2 more 8-GPU nodes fit, 3 do not.
  ExpectInfeasible(problem, RequestBuilder("q", "bio-lab").Nodes(3).GpuCount(">=8"), "quota");
  ExpectOptimum(problem, RequestBuilder("q", "bio-lab").Nodes(2).GpuCount(">=8"), 2 * 32.77 + 10,
                2);
  // 16 GPUs left: two l40s and two cpu nodes fit the GPU quota but not the node quota.
  ExpectInfeasible(problem, RequestBuilder("q", "bio-lab").Nodes(3).Classes({"l40sx4", "cpu"}),
                   "quota");
}

TEST_P(ConformanceTest, TenantBudgetHeadroom) {
  DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r4-n04", "cv-lab");  // 2.40/h spent
  std::vector<Tenant> tenants = ReferenceTenants();
  tenants[1] = MakeTenant("cv-lab", {}, {}, 100);
  const PlacementProblem problem = MakeProblem(b, tenants);
  ExpectInfeasible(problem, RequestBuilder("t", "cv-lab").Nodes(1).Classes({"h100x8"}),
                   "tenantBudget");
  ExpectOptimum(problem, RequestBuilder("t", "cv-lab").Nodes(2).Classes({"a100x8"}), 2 * 32.77 + 10,
                2);
}

TEST_P(ConformanceTest, UnavailableNodesAreNeverChosen) {
  DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r3-n01", "bio-lab")
      .SetState("r3-n02", NodeState::kMaintenance)
      .SetState("r3-n03", NodeState::kFailed);
  b.Hold("r3-n04", "bio-lab", NodeState::kReserved);
  const PlacementProblem problem = MakeProblem(b, ReferenceTenants());
  ExpectInfeasible(problem, RequestBuilder("a", "cv-lab").Nodes(1).Classes({"a100x8"}));
  // The cheapest 8-GPU node is now an h100x8.
  ExpectOptimum(problem, RequestBuilder("a", "cv-lab").Nodes(1).GpuCount("==8"), 98.32 + 10, 1);
}

// Rows cut across pods here: row-a holds ra1 (pod-1) and ra2 (pod-2), row-b holds rb1 (pod-1) and
// rb2 (pod-2). One leaf per rack, two h100x8 per rack, feeds a, b. A rack named "solo" has no row
// (a row of its own) and holds one a100x8.
PlacementProblem RowDataCentre() {
  DataCentreBuilder b;
  b.Site("dc", "US");
  b.PowerDomain("pd-a", "dc").PowerDomain("pd-b", "dc");
  b.Spine("spine-1", "vendor-a", "dc");
  b.Leaf("leaf-a1", "vendor-a", {"spine-1"}, "pod-1")
      .Leaf("leaf-b1", "vendor-a", {"spine-1"}, "pod-1");
  b.Leaf("leaf-a2", "vendor-a", {"spine-1"}, "pod-2")
      .Leaf("leaf-b2", "vendor-a", {"spine-1"}, "pod-2");
  b.Leaf("leaf-solo", "vendor-a", {"spine-1"}, "pod-2");
  b.Rack("ra1", "dc", "row-a", "pod-1", {"pd-a", "pd-b"});
  b.Rack("rb1", "dc", "row-b", "pod-1", {"pd-a", "pd-b"});
  b.Rack("ra2", "dc", "row-a", "pod-2", {"pd-a", "pd-b"});
  b.Rack("rb2", "dc", "row-b", "pod-2", {"pd-a", "pd-b"});
  b.Rack("solo", "dc", "", "pod-2", {"pd-a"});
  b.Nodes("ra1", "leaf-a1", "h100x8", 2).Nodes("rb1", "leaf-b1", "h100x8", 2);
  b.Nodes("ra2", "leaf-a2", "h100x8", 2).Nodes("rb2", "leaf-b2", "h100x8", 2);
  b.Nodes("solo", "leaf-solo", "a100x8", 1);
  return MakeProblem(b, ReferenceTenants());
}

TEST_P(ConformanceTest, RowLocalityPacksIntoOneRowAcrossPods) {
  const PlacementProblem rows = RowDataCentre();
  // Four h100x8 in one row: both racks of row-a or of row-b (two racks and leaves broken: 20),
  // one row (100) and its site above (10). Under one pod they would span two rows.
  const Request four =
      RequestBuilder("row", "cv-lab").Nodes(4).Classes({"h100x8"}).Locality(Level::kRow);
  ExpectOptimum(rows, four, 4 * 98.32 + 100 + 10 + 20, 4);
  const PlacementResult r = Run(rows, four);
  std::set<std::string> row_names, pods;
  for (int n : r.nodes) {
    const Topology& topo = rows.snapshot->topology;
    row_names.insert(topo.DomainName(Level::kRow, topo.DomainOf(n, Level::kRow)));
    pods.insert(topo.DomainName(Level::kPod, topo.DomainOf(n, Level::kPod)));
  }
  EXPECT_EQ(row_names.size(), 1u);
  EXPECT_EQ(pods.size(), 2u) << "a row cuts across both pods";
  // Five do not fit in a row of four.
  ExpectInfeasible(
      rows, RequestBuilder("row", "cv-lab").Nodes(5).Classes({"h100x8"}).Locality(Level::kRow),
      "locality");
  // Two rows allowed: five fit.
  ExpectOptimum(rows,
                RequestBuilder("row", "cv-lab")
                    .Nodes(5)
                    .Classes({"h100x8"})
                    .Locality(Level::kRow, LocalityMode::kRequired, 2),
                5 * 98.32 + 200 + 10 + 30, 5);
  // The rack without a row is a row of its own.
  ExpectOptimum(rows,
                RequestBuilder("solo", "cv-lab").Nodes(1).Classes({"a100x8"}).Locality(Level::kRow),
                32.77 + 100 + 10 + 10, 1);
}

TEST_P(ConformanceTest, RowSpreadCapsNodesPerRow) {
  const PlacementProblem rows = RowDataCentre();
  // One per row: a node of row-a and one of row-b (two racks, two leaves: 20).
  ExpectOptimum(rows,
                RequestBuilder("sp", "cv-lab")
                    .Nodes(2)
                    .Classes({"h100x8"})
                    .SpreadMaxPerDomain(Level::kRow, 1),
                2 * 98.32 + 20, 2);
  // Packed into one pod and spread over rows at once: ra1 + rb1 or ra2 + rb2.
  ExpectOptimum(rows,
                RequestBuilder("sp", "cv-lab")
                    .Nodes(4)
                    .Classes({"h100x8"})
                    .Locality(Level::kPod)
                    .SpreadMaxPerDomain(Level::kRow, 2),
                4 * 98.32 + 100 + 10 + 20, 4);
  // Three h100x8 rows do not exist: two rows of them (the solo row has none).
  ExpectInfeasible(rows,
                   RequestBuilder("sp", "cv-lab")
                       .Nodes(3)
                       .Classes({"h100x8"})
                       .SpreadMaxPerDomain(Level::kRow, 1),
                   "spread");
  ExpectOptimum(
      rows,
      RequestBuilder("sp", "cv-lab").Nodes(3).Classes({"h100x8"}).SpreadMinDomains(Level::kRow, 2),
      3 * 98.32 + 20, 3);
}

TEST_P(ConformanceTest, RowIsAboveRackInPreferredLocality) {
  // Two racks of one row beat two racks of two rows: the row is a level above the rack.
  const PlacementProblem rows = RowDataCentre();
  const Request r =
      RequestBuilder("pref", "cv-lab").Nodes(4).Classes({"h100x8"}).PreferLocality(Level::kRack);
  // Two racks (200) and, above them, rows, pods and the site: rows cut pods here, so one row means
  // two pods and one pod two rows, four domains above either way (40; 30 if rows did not count);
  // fragmentation 20.
  ExpectOptimum(rows, r, 4 * 98.32 + 200 + 40 + 20, 4);
}

// The exact backend on its own: re-solves with a current placement, warm starts, and scale.
class IlpBackendTest : public ::testing::Test {
 protected:
  IlpBackendTest() : ilp_(BuiltinBackends().Find("ilp")) {}

  PlacementResult Run(const PlacementProblem& problem, const Request& request,
                      std::vector<int> current = {}, const PlacementResult* warm = nullptr,
                      double seconds = 10) {
    SolveOptions options;
    options.time_limit_seconds = seconds;
    request_ = request;
    prepared_ = Prepare(problem, request_, options, {}, current);
    return ilp_->Solve(prepared_, options, warm);
  }

  const Backend* ilp_;
  Request request_;
  PreparedRequest prepared_;
};

TEST_F(IlpBackendTest, ReSolveKeepsTheCurrentNodes) {
  ASSERT_NE(ilp_, nullptr);
  DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r2-n01", "bio-lab").Hold("r2-n02", "bio-lab");
  const PlacementProblem problem = MakeProblem(b, ReferenceTenants());
  const std::vector<int> current = fixtures::NodeIds(problem, {"r2-n01", "r2-n02"});
  const Request two = RequestBuilder("keep", "bio-lab").Nodes(2).Classes({"h100x8"});
  PlacementResult r = Run(problem, two, current);
  ASSERT_EQ(r.status, SolveStatus::kOptimal);
  EXPECT_EQ(r.nodes, current);
  EXPECT_EQ(r.objective.moves, 0);
  EXPECT_NEAR(r.objective.total, 2 * 98.32, kTolerance);  // r2 is not free: no fragmentation
  EXPECT_TRUE(VerifyPlacement(problem, two, r.nodes, current).empty());
  // Growing by one: keep both, add the cheapest neighbour in the same (already broken) rack.
  const Request three = RequestBuilder("grow", "bio-lab").Nodes(3).Classes({"h100x8"});
  r = Run(problem, three, current);
  ASSERT_EQ(r.status, SolveStatus::kOptimal);
  EXPECT_EQ(r.objective.moves, 1);
  EXPECT_NEAR(r.objective.total, 3 * 98.32 + 1000, kTolerance);  // a re-solve pays for the move
  EXPECT_TRUE(VerifyPlacement(problem, three, r.nodes, current).empty());
}

TEST_F(IlpBackendTest, WarmStartsNeverMakeTheAnswerWorse) {
  ASSERT_NE(ilp_, nullptr);
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  const Request request = RequestBuilder("w", "cv-lab").Nodes(2).Classes({"h100x8"});
  // A feasible but poor start (two racks), and one naming a node the request cannot use.
  PlacementResult poor;
  poor.status = SolveStatus::kFeasible;
  poor.nodes = fixtures::NodeIds(problem, {"r1-n01", "r2-n01"});
  PlacementResult bad;
  bad.status = SolveStatus::kFeasible;
  bad.nodes = fixtures::NodeIds(problem, {"r3-n01", "r3-n02"});
  for (const PlacementResult* warm : {&poor, &bad}) {
    const PlacementResult r = Run(problem, request, {}, warm);
    ASSERT_EQ(r.status, SolveStatus::kOptimal);
    EXPECT_NEAR(r.objective.total, 206.64, kTolerance);
    EXPECT_TRUE(VerifyPlacement(problem, request, r.nodes).empty());
  }
  // Under any time limit a valid warm start is the worst possible answer.
  fixtures::GeneratedOptions o;
  o.pods = 2;
  o.racks_per_pod = 10;
  o.nodes_per_rack = 16;
  const PlacementProblem mid = fixtures::GeneratedDataCentre(o);
  const Request hard = RequestBuilder("hard", "big-lab")
                           .Nodes(40)
                           .PreferLocality(Level::kRack)
                           .SpreadMaxFraction(Level::kPowerDomain, 0.3);
  const PlacementResult first = Run(mid, hard, {}, nullptr, 10);
  ASSERT_TRUE(first.status == SolveStatus::kOptimal || first.status == SolveStatus::kFeasible);
  const PlacementResult again = Run(mid, hard, {}, &first, 0.001);
  ASSERT_TRUE(again.status == SolveStatus::kOptimal || again.status == SolveStatus::kFeasible);
  EXPECT_LE(again.objective.total, first.objective.total + kTolerance);
  EXPECT_TRUE(VerifyPlacement(mid, hard, again.nodes).empty());
}

TEST_F(IlpBackendTest, TenThousandNodesAggregateIntoASmallModel) {
  ASSERT_NE(ilp_, nullptr);
  const PlacementProblem big = fixtures::GeneratedDataCentre({});  // 10,240 nodes
  ASSERT_EQ(big.snapshot->inventory.nodes.size(), 10240u);
  const std::vector<Request> requests = {
      RequestBuilder("leaf16", "big-lab").Nodes(16).Classes({"h100x8"}).Locality(Level::kLeaf),
      RequestBuilder("pod64", "big-lab")
          .Nodes(64)
          .Classes({"h100x8"})
          .Locality(Level::kPod)
          .SpreadMaxFraction(Level::kPowerDomain, 0.5),
      RequestBuilder("gpus128", "big-lab")
          .Gpus(128)
          .GpuModels({"A100*"})
          .PreferLocality(Level::kSpine),
      RequestBuilder("hipaa", "big-lab").Nodes(32).Compliance({"hipaa"}).Roce().Budget(4000),
  };
  for (const Request& request : requests) {
    SCOPED_TRACE(request.name);
    const PlacementResult r = Run(big, request);
    ASSERT_EQ(r.status, SolveStatus::kOptimal);
    for (const Violation& v : VerifyPlacement(big, request, r.nodes))
      ADD_FAILURE() << v.constraint << ": " << v.detail;
    ASSERT_TRUE(r.gap.has_value());
    EXPECT_NEAR(*r.gap, 0, 1e-9);
  }
  // Preferred locality with a power spread: the proof that 64 nodes need three racks rests on
  // the model's "fewest domains" row (without it, seconds of branching over symmetric racks).
  const Request racks = RequestBuilder("pref", "big-lab")
                            .Nodes(64)
                            .PreferLocality(Level::kRack)
                            .SpreadMinDomains(Level::kPowerDomain, 3);
  const PlacementResult pref = Run(big, racks);
  ASSERT_EQ(pref.status, SolveStatus::kOptimal);
  EXPECT_EQ(pref.objective.locality_domains, 3);
  EXPECT_TRUE(VerifyPlacement(big, racks, pref.nodes).empty());
  // Every 8-GPU node is an nvlink domain of its own: 8 nodes in one cannot be.
  EXPECT_EQ(Run(big, RequestBuilder("nv", "big-lab").Nodes(8).Locality(Level::kNvlink)).status,
            SolveStatus::kInfeasible);
  // 40 h100x8 under one leaf cannot exist: racks hold 32 nodes.
  EXPECT_EQ(
      Run(big, RequestBuilder("x", "big-lab").Nodes(40).Classes({"h100x8"}).Locality(Level::kLeaf))
          .status,
      SolveStatus::kInfeasible);
}

}  // namespace
}  // namespace topoplace
