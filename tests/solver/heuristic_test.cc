// The graph heuristic: what a user would notice about its choices. Every answer passes the
// independent verifier.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
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
using fixtures::MakeTenant;
using fixtures::NodeNames;
using fixtures::ReferenceDataCentre;
using fixtures::ReferenceTenants;
using fixtures::RequestBuilder;

PlacementResult SolveHeuristic(const PlacementProblem& problem, const Request& request,
                               SolveOptions options = {}) {
  options.backend = "heuristic";
  options.explain = false;
  auto results = Solve(problem, {request}, options);
  EXPECT_TRUE(results.ok()) << results.status().ToString();
  if (!results.ok()) return {};
  return results->front();
}

bool Placed(const PlacementResult& r) {
  return r.status == SolveStatus::kOptimal || r.status == SolveStatus::kFeasible;
}

// Checks the answer with the verifier and the bookkeeping every result must carry.
void ExpectValid(const PlacementProblem& problem, const Request& request,
                 const PlacementResult& r) {
  ASSERT_TRUE(Placed(r)) << "status " << SolveStatusName(r.status);
  for (const Violation& v : VerifyPlacement(problem, request, r.nodes)) {
    ADD_FAILURE() << request.name << ": " << v.constraint << ": " << v.detail;
  }
  EXPECT_TRUE(std::is_sorted(r.nodes.begin(), r.nodes.end()));
  EXPECT_EQ(r.backend, "heuristic");
  double cost = 0;
  for (int node : r.nodes) cost += problem.snapshot->inventory.ClassOf(node).cost_per_hour;
  EXPECT_NEAR(r.cost_per_hour, cost, 1e-6);
  ASSERT_TRUE(r.bound.has_value());
  EXPECT_LE(*r.bound, r.objective.total + 1e-6);
}

std::set<std::string> Domains(const PlacementProblem& problem, const std::vector<int>& nodes,
                              Level level) {
  std::set<std::string> out;
  const Topology& topo = problem.snapshot->topology;
  for (int node : nodes) out.insert(topo.DomainName(level, topo.DomainOf(node, level)));
  return out;
}

TEST(HeuristicTest, PicksOneLeafWhenItFits) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  const Request request =
      RequestBuilder("train", "nlp-lab").Nodes(3).Classes({"h100x8"}).Locality(Level::kLeaf);
  const PlacementResult r = SolveHeuristic(problem, request);
  ExpectValid(problem, request, r);
  EXPECT_EQ(r.nodes.size(), 3u);
  EXPECT_EQ(Domains(problem, r.nodes, Level::kLeaf).size(), 1u);
  EXPECT_EQ(r.objective.locality_domains, 1);
}

TEST(HeuristicTest, FillsAPartlyUsedLeafBeforeBreakingAFreeOne) {
  DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r2-n01", "cv-lab");
  const PlacementProblem problem = MakeProblem(b, ReferenceTenants());
  const Request request =
      RequestBuilder("train", "nlp-lab").Nodes(3).Classes({"h100x8"}).Locality(Level::kLeaf);
  const PlacementResult r = SolveHeuristic(problem, request);
  ExpectValid(problem, request, r);
  EXPECT_EQ(NodeNames(problem, r.nodes), (std::vector<std::string>{"r2-n02", "r2-n03", "r2-n04"}));
  EXPECT_EQ(r.objective.broken_free_domains, 0);
  // Nothing cheaper exists: same cost per node everywhere, one leaf, no free rack broken.
  EXPECT_EQ(r.status, SolveStatus::kOptimal);
}

TEST(HeuristicTest, RespectsSpreadCaps) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  // Two racks of h100x8 in pod-1; one node per rack at most, and at most half per power feed.
  const Request request = RequestBuilder("ha", "nlp-lab")
                              .Nodes(2)
                              .Classes({"h100x8"})
                              .Locality(Level::kPod)
                              .SpreadMaxPerDomain(Level::kRack, 1)
                              .Build();
  const PlacementResult r = SolveHeuristic(problem, request);
  ExpectValid(problem, request, r);
  EXPECT_EQ(Domains(problem, r.nodes, Level::kRack).size(), 2u);

  const Request by_power = RequestBuilder("power", "nlp-lab")
                               .Nodes(4)
                               .Classes({"h100x8"})
                               .Locality(Level::kLeaf)
                               .SpreadMaxFraction(Level::kPowerDomain, 0.5)
                               .SpreadMinDomains(Level::kPowerDomain, 2);
  const PlacementResult p = SolveHeuristic(problem, by_power);
  ExpectValid(problem, by_power, p);
  std::map<std::string, int> per_feed;
  const Topology& topo = problem.snapshot->topology;
  for (int node : p.nodes)
    ++per_feed[topo.DomainName(Level::kPowerDomain, topo.DomainOf(node, Level::kPowerDomain))];
  for (const auto& [feed, count] : per_feed) EXPECT_LE(count, 2) << feed;
}

TEST(HeuristicTest, SpreadCapThatCannotHoldIsInfeasible) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  // One leaf with two power feeds can hold at most two nodes at one per feed.
  const Request request = RequestBuilder("tight", "nlp-lab")
                              .Nodes(3)
                              .Classes({"h100x8"})
                              .Locality(Level::kLeaf)
                              .SpreadMaxPerDomain(Level::kPowerDomain, 1);
  const PlacementResult r = SolveHeuristic(problem, request);
  EXPECT_EQ(r.status, SolveStatus::kInfeasible);
  EXPECT_TRUE(r.nodes.empty());
}

TEST(HeuristicTest, RoceKeepsOneLeafVendor) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  // vendor-b holds the 8 cheapest nodes, not 10: with roce all 10 must come from vendor-a.
  const Request request = RequestBuilder("rdma", "nlp-lab").Nodes(10).Roce();
  const PlacementResult r = SolveHeuristic(problem, request);
  ExpectValid(problem, request, r);
  std::set<std::string> vendors;
  for (int node : r.nodes) {
    vendors.insert(
        problem.snapshot->inventory.switches[problem.snapshot->inventory.LeafOf(node)].vendor);
  }
  EXPECT_EQ(vendors, std::set<std::string>{"vendor-a"});

  // Without roce the cheap vendor-b nodes are used.
  const Request mixed = RequestBuilder("mixed", "nlp-lab").Nodes(10);
  const PlacementResult m = SolveHeuristic(problem, mixed);
  ExpectValid(problem, mixed, m);
  EXPECT_LT(m.cost_per_hour, r.cost_per_hour);
}

TEST(HeuristicTest, BudgetOverridesAnExpensivePreference) {
  DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r1-n01", "cv-lab");
  const PlacementProblem problem = MakeProblem(b, ReferenceTenants());
  // Breaking a free rack is made very expensive, so the objective alone would fill r1 (h100x8,
  // 196.64/h); the budget leaves only two a100x8 nodes (65.54/h) in the free rack r3.
  SolveOptions options;
  options.weights.fragmentation = 1000;
  const Request free_choice = RequestBuilder("gpu", "nlp-lab").Nodes(2).GpuCount(">=8");
  const PlacementResult unconstrained = SolveHeuristic(problem, free_choice, options);
  ExpectValid(problem, free_choice, unconstrained);
  EXPECT_EQ(Domains(problem, unconstrained.nodes, Level::kRack), std::set<std::string>{"r1"});

  const Request request = RequestBuilder("gpu", "nlp-lab").Nodes(2).GpuCount(">=8").Budget(70);
  const PlacementResult r = SolveHeuristic(problem, request, options);
  ExpectValid(problem, request, r);
  EXPECT_LE(r.cost_per_hour, 70 + 1e-6);
  EXPECT_NEAR(r.cost_per_hour, 2 * 32.77, 1e-6);
}

TEST(HeuristicTest, QuotaHeadroomCountsCurrentHoldings) {
  DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r2-n01", "nlp-lab");  // 8 GPUs already in use
  Quota quota;
  quota.gpus = 24;
  const PlacementProblem problem =
      MakeProblem(b, {MakeTenant("nlp-lab", {}, quota), MakeTenant("cv-lab")});
  const Request fits = RequestBuilder("two", "nlp-lab").Nodes(2).GpuCount(">=8");
  const PlacementResult r = SolveHeuristic(problem, fits);
  ExpectValid(problem, fits, r);
  EXPECT_EQ(r.nodes.size(), 2u);

  // Three 8-GPU nodes need 24 GPUs; 16 are left.
  const Request too_many = RequestBuilder("three", "nlp-lab").Nodes(3).GpuCount(">=8");
  EXPECT_EQ(SolveHeuristic(problem, too_many).status, SolveStatus::kInfeasible);
  // Two 4-GPU nodes and one 8-GPU node make 16: that fits.
  const Request mixed = RequestBuilder("mixed", "nlp-lab").Nodes(3).GpuCount(">=4");
  const PlacementResult m = SolveHeuristic(problem, mixed);
  ExpectValid(problem, mixed, m);
}

TEST(HeuristicTest, ExclusiveAvoidsRacksSharedWithOtherTenants) {
  DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r1-n01", "cv-lab");
  const PlacementProblem problem = MakeProblem(b, ReferenceTenants());
  const Request shared =
      RequestBuilder("shared", "nlp-lab").Nodes(3).Classes({"h100x8"}).Locality(Level::kRack);
  const PlacementResult s = SolveHeuristic(problem, shared);
  ExpectValid(problem, shared, s);
  EXPECT_EQ(Domains(problem, s.nodes, Level::kRack),
            std::set<std::string>{"r1"});  // partly used first

  const Request own = RequestBuilder("own", "nlp-lab")
                          .Nodes(3)
                          .Classes({"h100x8"})
                          .Locality(Level::kRack)
                          .Exclusive();
  const PlacementResult r = SolveHeuristic(problem, own);
  ExpectValid(problem, own, r);
  EXPECT_EQ(Domains(problem, r.nodes, Level::kRack).count("r1"), 0u);
}

TEST(HeuristicTest, GpusRequestTakesTheFewestNodes) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  // 4-GPU l40sx4 nodes are cheapest per node, but 16 GPUs need only two 8-GPU nodes: the two
  // cheapest of those are a100x8.
  const Request request = RequestBuilder("gpus", "nlp-lab").Gpus(16).GpuCount(">=4");
  const PlacementResult r = SolveHeuristic(problem, request);
  ExpectValid(problem, request, r);
  EXPECT_EQ(r.nodes.size(), 2u);
  EXPECT_NEAR(r.cost_per_hour, 2 * 32.77, 1e-6);

  // 12 GPUs: one 8-GPU and one 4-GPU node (two nodes; no redundant node).
  const Request twelve = RequestBuilder("twelve", "nlp-lab").Gpus(12).GpuCount(">=4");
  const PlacementResult t = SolveHeuristic(problem, twelve);
  ExpectValid(problem, twelve, t);
  EXPECT_EQ(t.nodes.size(), 2u);
}

TEST(HeuristicTest, PreferredLocalityUsesFewDomainsUnderOneParent) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  // Six h100x8 nodes need two leaves: leaf-1 and leaf-2 share pod-1, spine-1 and the site;
  // leaf-eu does not.
  const Request request =
      RequestBuilder("pref", "nlp-lab").Nodes(6).Classes({"h100x8"}).PreferLocality(Level::kLeaf);
  const PlacementResult r = SolveHeuristic(problem, request);
  ExpectValid(problem, request, r);
  EXPECT_EQ(Domains(problem, r.nodes, Level::kLeaf), (std::set<std::string>{"leaf-1", "leaf-2"}));
  EXPECT_EQ(Domains(problem, r.nodes, Level::kPod).size(), 1u);
  EXPECT_EQ(r.objective.locality_domains, 2);
}

TEST(HeuristicTest, RequiredMaxDomainsAllowsSeveralDomains) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  const Request one =
      RequestBuilder("one", "nlp-lab").Nodes(6).Classes({"h100x8"}).Locality(Level::kLeaf);
  EXPECT_EQ(SolveHeuristic(problem, one).status, SolveStatus::kInfeasible);
  const Request two = RequestBuilder("two", "nlp-lab")
                          .Nodes(6)
                          .Classes({"h100x8"})
                          .Locality(Level::kLeaf, LocalityMode::kRequired, 2);
  const PlacementResult r = SolveHeuristic(problem, two);
  ExpectValid(problem, two, r);
  EXPECT_EQ(Domains(problem, r.nodes, Level::kLeaf).size(), 2u);
}

TEST(HeuristicTest, ComplianceAndLabels) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  const Request hipaa =
      RequestBuilder("hipaa", "nlp-lab").Nodes(4).Compliance({"hipaa"}).GpuCount(">=8");
  const PlacementResult h = SolveHeuristic(problem, hipaa);
  ExpectValid(problem, hipaa, h);
  for (const std::string& rack : Domains(problem, h.nodes, Level::kRack))
    EXPECT_TRUE(rack == "r1" || rack == "r3");

  const Request gdpr = RequestBuilder("gdpr", "nlp-lab").Nodes(2).Compliance({"gdpr"});
  const PlacementResult g = SolveHeuristic(problem, gdpr);
  ExpectValid(problem, gdpr, g);
  EXPECT_EQ(Domains(problem, g.nodes, Level::kSite), std::set<std::string>{"eu-central"});

  const Request old_fw = RequestBuilder("fw1", "nlp-lab").Nodes(2).LabelIn("fw", {"1"});
  const PlacementResult f = SolveHeuristic(problem, old_fw);
  ExpectValid(problem, old_fw, f);
  EXPECT_EQ(NodeNames(problem, f.nodes), (std::vector<std::string>{"r2-n03", "r2-n04"}));
}

TEST(HeuristicTest, ProvesSimpleInfeasibility) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  const Request request = RequestBuilder("huge", "nlp-lab").Nodes(100);
  const PlacementResult r = SolveHeuristic(problem, request);
  EXPECT_EQ(r.status, SolveStatus::kInfeasible);
  EXPECT_TRUE(r.nodes.empty());
}

TEST(HeuristicTest, IsDeterministic) {
  const PlacementProblem problem = fixtures::GeneratedDataCentre({.pods = 2, .racks_per_pod = 8});
  const Request request = RequestBuilder("det", "big-lab").Nodes(24).PreferLocality(Level::kRack);
  const PlacementResult a = SolveHeuristic(problem, request);
  const PlacementResult b = SolveHeuristic(problem, request);
  ExpectValid(problem, request, a);
  EXPECT_EQ(a.nodes, b.nodes);
}

TEST(ObjectiveTest, TermsFollowTheDocumentedFormula) {
  DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r2-n01", "cv-lab");  // r2 and leaf-2 are no longer free
  const PlacementProblem problem = MakeProblem(b, ReferenceTenants());
  const Request request = RequestBuilder("obj", "nlp-lab").Nodes(2).PreferLocality(Level::kLeaf);
  SolveOptions options;
  const PreparedRequest p = Prepare(problem, request, options);
  const std::vector<int> nodes = fixtures::NodeIds(problem, {"r1-n01", "r2-n02"});
  const ObjectiveTerms t = EvaluateObjective(p, nodes);
  EXPECT_NEAR(t.cost_per_hour, 2 * 98.32, 1e-9);
  EXPECT_EQ(t.locality_domains, 2);     // leaf-1, leaf-2
  EXPECT_EQ(t.domains_above, 3);        // pod-1, spine-1, us-east
  EXPECT_EQ(t.broken_free_domains, 2);  // rack r1 and leaf-1 were free
  EXPECT_EQ(t.moves, 0);                // no current placement: a fresh solve moves nothing
  const ObjectiveWeights& w = options.weights;
  EXPECT_NEAR(
      t.total,
      w.cost * 2 * 98.32 + w.domains * 2 + w.domains_above * 3 + w.fragmentation * 2,
      1e-9);

  // Without a locality level, D and A are not counted; B and M are.
  const Request plain = RequestBuilder("plain", "nlp-lab").Nodes(2);
  const ObjectiveTerms u = EvaluateObjective(Prepare(problem, plain, options), nodes);
  EXPECT_EQ(u.locality_domains, 0);
  EXPECT_EQ(u.domains_above, 0);
  EXPECT_EQ(u.broken_free_domains, 2);
}

TEST(HeuristicTest, ReSolveKeepsCurrentNodesAndFreesTheirQuota) {
  DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r2-n03", "nlp-lab").Hold("r2-n04", "nlp-lab");
  Quota quota;
  quota.nodes = 3;  // two held, so only one more, unless the re-solve reuses its own nodes
  const PlacementProblem problem =
      MakeProblem(b, {MakeTenant("nlp-lab", {}, quota), MakeTenant("cv-lab")});
  const Request request =
      RequestBuilder("job", "nlp-lab").Nodes(3).Classes({"h100x8"}).Locality(Level::kLeaf);
  const std::vector<int> current = fixtures::NodeIds(problem, {"r2-n03", "r2-n04"});
  SolveOptions options;
  const PreparedRequest p = Prepare(problem, request, options, ConstraintMask{}, current);
  ASSERT_TRUE(p.headroom.nodes.has_value());
  EXPECT_EQ(*p.headroom.nodes, 3);
  const Backend* heuristic = BuiltinBackends().Find("heuristic");
  ASSERT_NE(heuristic, nullptr);
  const PlacementResult r = heuristic->Solve(p, options, nullptr);
  ASSERT_TRUE(Placed(r));
  for (const Violation& v : VerifyPlacement(problem, request, r.nodes, current)) {
    ADD_FAILURE() << v.constraint << ": " << v.detail;
  }
  // The two current nodes stay (each move costs 1000), the third comes from the same leaf.
  EXPECT_TRUE(std::includes(r.nodes.begin(), r.nodes.end(), current.begin(), current.end()));
  EXPECT_EQ(Domains(problem, r.nodes, Level::kLeaf), std::set<std::string>{"leaf-2"});
  EXPECT_EQ(r.objective.moves, 1);

  // A fresh solve of the same request cannot fit the quota.
  EXPECT_EQ(SolveHeuristic(problem, request).status, SolveStatus::kInfeasible);
}

// A spread of request shapes on a generated, fragmented data centre: every answer is verified.
TEST(HeuristicTest, AnswersOnAGeneratedDataCentreVerify) {
  const PlacementProblem problem = fixtures::GeneratedDataCentre({.pods = 4, .racks_per_pod = 16});
  std::vector<Request> requests = {
      RequestBuilder("leaf-pref", "big-lab").Nodes(16).PreferLocality(Level::kLeaf),
      RequestBuilder("rack-req", "big-lab")
          .Nodes(40)
          .Locality(Level::kRack, LocalityMode::kRequired, 4)
          .SpreadMaxFraction(Level::kPowerDomain, 0.5),
      RequestBuilder("hipaa", "big-lab").Nodes(8).Compliance({"hipaa"}).Roce().Budget(2000),
      RequestBuilder("gpus", "big-lab")
          .Gpus(100)
          .Classes({"a100x8", "l40sx4"})
          .Locality(Level::kPod),
      RequestBuilder("pods", "big-lab")
          .Nodes(64)
          .Locality(Level::kPod, LocalityMode::kRequired, 2)
          .SpreadMinDomains(Level::kRack, 10),
      RequestBuilder("any", "big-lab").Nodes(200),
  };
  for (const Request& request : requests) {
    SCOPED_TRACE(request.name);
    const PlacementResult r = SolveHeuristic(problem, request);
    ExpectValid(problem, request, r);
  }
}

}  // namespace
}  // namespace topoplace
