// Batch solves (priority order, all-or-nothing, no node twice, quota across requests) and the
// entry's validation of requests and options.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

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

bool Placed(const PlacementResult& r) {
  return r.status == SolveStatus::kOptimal || r.status == SolveStatus::kFeasible;
}

// Replays a batch in the order it was placed and verifies each placement against the state the
// earlier placements left: nodes held by the tenant, quota and budget consumed.
void VerifyBatch(const PlacementProblem& problem, const std::vector<Request>& requests,
                 const std::vector<PlacementResult>& results) {
  ASSERT_EQ(results.size(), requests.size());
  std::vector<size_t> order(requests.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return requests[a].priority > requests[b].priority; });
  Inventory inv = problem.snapshot->inventory;
  std::set<int> used;
  for (size_t i : order) {
    const PlacementResult& r = results[i];
    EXPECT_EQ(r.request, requests[i].name);
    if (!Placed(r)) {
      EXPECT_TRUE(r.nodes.empty()) << r.request;
      continue;
    }
    const PlacementProblem state = MakeProblem(inv, problem.tenants);
    for (const Violation& v : VerifyPlacement(state, requests[i], r.nodes)) {
      ADD_FAILURE() << r.request << ": " << v.constraint << ": " << v.detail;
    }
    for (int node : r.nodes) {
      EXPECT_TRUE(used.insert(node).second) << "node " << inv.nodes[node].name << " used twice";
      inv.nodes[node].state = NodeState::kAllocated;
      inv.nodes[node].holder = requests[i].tenant;
      inv.nodes[node].exclusive = requests[i].exclusive;
    }
  }
}

Result<std::vector<PlacementResult>> Batch(const PlacementProblem& problem,
                                           const std::vector<Request>& requests,
                                           bool explain = false) {
  SolveOptions options;
  options.explain = explain;
  return SolveBatch(problem, requests, options);
}

TEST(BatchTest, HigherPriorityWinsAContestedLeafAndResultsKeepInputOrder) {
  DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r-eu1-n01", "bio-lab");
  const PlacementProblem problem = MakeProblem(b, ReferenceTenants());
  // Four fw=2 h100x8 nodes under one leaf: only leaf-1 (r1) has them now. The hipaa request
  // needs r1 as well.
  const std::vector<Request> requests = {
      RequestBuilder("low", "cv-lab")
          .Nodes(4)
          .Classes({"h100x8"})
          .LabelIn("fw", {"2"})
          .Locality(Level::kLeaf)
          .Priority(1),
      RequestBuilder("high", "nlp-lab")
          .Nodes(4)
          .Classes({"h100x8"})
          .Compliance({"hipaa"})
          .Priority(10),
  };
  auto results = Batch(problem, requests);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0].request, "low");
  EXPECT_EQ((*results)[1].request, "high");
  ASSERT_TRUE(Placed((*results)[1]));
  EXPECT_EQ(NodeNames(problem, (*results)[1].nodes),
            (std::vector<std::string>{"r1-n01", "r1-n02", "r1-n03", "r1-n04"}));
  EXPECT_EQ((*results)[0].status, SolveStatus::kInfeasible);
  VerifyBatch(problem, requests, *results);

  // With the priorities swapped the other request wins r1.
  std::vector<Request> swapped = requests;
  swapped[0].priority = 20;
  auto other = Batch(problem, swapped);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(Placed((*other)[0]));
  EXPECT_EQ((*other)[1].status, SolveStatus::kInfeasible);
  VerifyBatch(problem, swapped, *other);
}

TEST(BatchTest, AnExclusiveRequestKeepsLaterTenantsOutOfItsRack) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  // r3 is the only a100 rack (4 nodes). nlp-lab takes two of them with its rack to itself; the
  // other two stay free, but cv-lab may not use them.
  const std::vector<Request> requests = {
      RequestBuilder("later", "cv-lab").Nodes(1).Classes({"a100x8"}).Priority(1),
      RequestBuilder("first", "nlp-lab")
          .Nodes(2)
          .Classes({"a100x8"})
          .Exclusive(Level::kRack)
          .Priority(10),
      RequestBuilder("same-tenant", "nlp-lab").Nodes(2).Classes({"a100x8"}).Priority(5),
  };
  auto results = Batch(problem, requests);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_TRUE(Placed((*results)[1]));
  EXPECT_EQ((*results)[0].status, SolveStatus::kInfeasible);
  EXPECT_TRUE(Placed((*results)[2])) << "the tenant itself may use the rest of its rack";
  VerifyBatch(problem, requests, *results);
}

TEST(BatchTest, EqualPrioritiesGoInInputOrder) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  const std::vector<Request> requests = {
      RequestBuilder("first", "nlp-lab").Nodes(4).Classes({"a100x8"}),
      RequestBuilder("second", "cv-lab").Nodes(1).Classes({"a100x8"}),
  };
  auto results = Batch(problem, requests);
  ASSERT_TRUE(results.ok());
  EXPECT_TRUE(Placed((*results)[0]));
  EXPECT_EQ((*results)[1].status, SolveStatus::kInfeasible);
  VerifyBatch(problem, requests, *results);
}

TEST(BatchTest, AllOrNothingLeavesNodesForLaterRequests) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  const std::vector<Request> requests = {
      // Six h100x8 in one leaf cannot be: it takes nothing, not four.
      RequestBuilder("too-big", "nlp-lab")
          .Nodes(6)
          .Classes({"h100x8"})
          .Locality(Level::kLeaf)
          .Priority(9),
      RequestBuilder("a", "cv-lab").Nodes(4).Classes({"h100x8"}).Locality(Level::kLeaf).Priority(5),
      RequestBuilder("b", "cv-lab").Nodes(4).Classes({"h100x8"}).Locality(Level::kLeaf).Priority(4),
      RequestBuilder("c", "nlp-lab")
          .Nodes(4)
          .Classes({"h100x8"})
          .Locality(Level::kLeaf)
          .Priority(3),
      RequestBuilder("d", "nlp-lab").Nodes(1).Classes({"h100x8"}).Priority(2),
  };
  auto results = Batch(problem, requests, /*explain=*/true);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ((*results)[0].status, SolveStatus::kInfeasible);
  EXPECT_TRUE((*results)[0].nodes.empty());
  EXPECT_TRUE((*results)[0].explanation.has_value());
  // Three h100x8 leaves of four nodes each: a, b and c take one each, d finds none left.
  EXPECT_TRUE(Placed((*results)[1]));
  EXPECT_TRUE(Placed((*results)[2]));
  EXPECT_TRUE(Placed((*results)[3]));
  EXPECT_EQ((*results)[4].status, SolveStatus::kInfeasible);
  VerifyBatch(problem, requests, *results);
}

TEST(BatchTest, QuotaIsConsumedAcrossRequests) {
  Quota quota;
  quota.nodes = 5;
  const PlacementProblem problem =
      MakeProblem(ReferenceDataCentre(), {MakeTenant("nlp-lab", {}, quota), MakeTenant("cv-lab")});
  const std::vector<Request> requests = {
      RequestBuilder("one", "nlp-lab").Nodes(3),
      RequestBuilder("two", "nlp-lab").Nodes(3),
      RequestBuilder("other", "cv-lab").Nodes(3),  // another tenant's quota is untouched
      RequestBuilder("three", "nlp-lab").Nodes(2),
  };
  auto results = Batch(problem, requests, /*explain=*/true);
  ASSERT_TRUE(results.ok());
  EXPECT_TRUE(Placed((*results)[0]));
  ASSERT_EQ((*results)[1].status, SolveStatus::kInfeasible);
  ASSERT_TRUE((*results)[1].explanation.has_value());
  const Explanation& e = *(*results)[1].explanation;
  ASSERT_FALSE(e.conflict.empty());
  EXPECT_EQ(e.conflict.front().constraint, "quota");
  EXPECT_NE(e.conflict.front().detail.find("quota leaves 2 nodes"), std::string::npos)
      << e.conflict.front().detail;
  EXPECT_TRUE(Placed((*results)[2]));
  EXPECT_TRUE(Placed((*results)[3]));
  VerifyBatch(problem, requests, *results);
}

TEST(BatchTest, TenantBudgetIsConsumedAcrossRequests) {
  const PlacementProblem problem = MakeProblem(
      ReferenceDataCentre(), {MakeTenant("nlp-lab", {}, {}, 250.0), MakeTenant("cv-lab")});
  const std::vector<Request> requests = {
      RequestBuilder("h100", "nlp-lab").Nodes(2).Classes({"h100x8"}),   // 196.64/h
      RequestBuilder("more", "nlp-lab").Nodes(1).Classes({"a100x8"}),   // 32.77/h: fits
      RequestBuilder("again", "nlp-lab").Nodes(1).Classes({"a100x8"}),  // would pass 250/h
  };
  auto results = Batch(problem, requests);
  ASSERT_TRUE(results.ok());
  EXPECT_TRUE(Placed((*results)[0]));
  EXPECT_TRUE(Placed((*results)[1]));
  EXPECT_EQ((*results)[2].status, SolveStatus::kInfeasible);
  VerifyBatch(problem, requests, *results);
}

TEST(BatchTest, ManyRequestsOnAGeneratedDataCentreNeverShareANode) {
  const PlacementProblem problem = fixtures::GeneratedDataCentre({.pods = 2, .racks_per_pod = 8});
  std::vector<Request> requests;
  for (int i = 0; i < 12; ++i) {
    RequestBuilder r("job-" + std::to_string(i), i % 2 ? "big-lab" : "other-1");
    r.Nodes(8 + 4 * (i % 3)).Priority(i % 4);
    if (i % 3 == 0) r.Locality(Level::kRack, LocalityMode::kRequired, 2);
    if (i % 3 == 1) r.PreferLocality(Level::kLeaf).SpreadMaxFraction(Level::kPowerDomain, 0.5);
    requests.push_back(r);
  }
  auto results = Batch(problem, requests);
  ASSERT_TRUE(results.ok());
  int placed = 0;
  for (const PlacementResult& r : *results) placed += Placed(r) ? 1 : 0;
  EXPECT_GT(placed, 6);
  VerifyBatch(problem, requests, *results);
}

TEST(SolveEntryTest, InvalidRequestsFailTheCallNamingRequestAndField) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  struct Case {
    Request request;
    std::string message;
    ErrorDetail detail;  // path and code; the message is checked above
  };
  Request both = RequestBuilder("both", "nlp-lab").Nodes(2).Build();
  both.gpus = 8;
  Request none = RequestBuilder("none", "nlp-lab").Build();
  const std::vector<Case> cases = {
      {RequestBuilder("llm-train", "nlp-lab").Nodes(2).Classes({"h200"}),
       "request \"llm-train\": select.class[0]: unknown node class \"h200\"; expected one of",
       {"select.class[0]", "unknown_class", ""}},
      {RequestBuilder("who", "ghost-lab").Nodes(2),
       "request \"who\": tenant: unknown tenant \"ghost-lab\"",
       {"tenant", "unknown_tenant", ""}},
      {RequestBuilder("zero", "nlp-lab").Nodes(0),
       "request \"zero\": nodes: 0 is out of range; expected an integer from 1 to 1000000",
       {"nodes", "out_of_range", ""}},
      {RequestBuilder("neg", "nlp-lab").Gpus(-8),
       "request \"neg\": gpus: -8 is out of range; expected an integer from 1 to 64000000",
       {"gpus", "out_of_range", ""}},
      {both, "request \"both\": gpus: both nodes and gpus", {"gpus", "conflicting_fields", ""}},
      {none, "request \"none\": nodes: neither nodes nor gpus", {"nodes", "missing_field", ""}},
      {RequestBuilder("dom", "nlp-lab").Nodes(2).Locality(Level::kLeaf, LocalityMode::kRequired, 0),
       "request \"dom\": topology.locality.maxDomains: 0 is out of range",
       {"topology.locality.maxDomains", "out_of_range", ""}},
      {RequestBuilder("frac", "nlp-lab").Nodes(2).SpreadMaxFraction(Level::kRack, 1.5),
       "request \"frac\": topology.spread.maxFraction: 1.5 is out of range; expected a number "
       "greater than 0 and at most 1",
       {"topology.spread.maxFraction", "out_of_range", ""}},
      {RequestBuilder("hip", "cv-lab").Nodes(2).Compliance({"hipaa"}),
       "request \"hip\": compliance[0]: tenant \"cv-lab\" may not ask for \"hipaa\"",
       {"compliance[0]", "compliance_not_allowed", ""}},
      {RequestBuilder("ex", "nlp-lab").Nodes(2).Exclusive(Level::kPod),
       "request \"ex\": exclusive: unknown exclusive level \"pod\"; expected one of rack, leaf",
       {"exclusive", "bad_value", ""}},
      {RequestBuilder("gc", "nlp-lab").Nodes(2).GpuCount(">=100"),
       "request \"gc\": select.gpu.count: \">=100\" is out of range",
       {"select.gpu.count", "out_of_range", ""}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.request.name);
    const Status st = ValidateRequest(problem, c.request);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find(c.message), std::string::npos) << st.message();
    ASSERT_EQ(st.details().size(), 1u) << st.message();
    EXPECT_EQ(st.details()[0].path, c.detail.path);
    EXPECT_EQ(st.details()[0].code, c.detail.code);
    EXPECT_EQ(st.reason(), c.detail.code);
    // One bad request fails the whole call, single or batch.
    const Request fine = RequestBuilder("fine", "nlp-lab").Nodes(1);
    EXPECT_EQ(Solve(problem, {fine, c.request}, {}).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(SolveBatch(problem, {fine, c.request}, {}).status().code(),
              StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(
      ValidateRequest(problem, RequestBuilder("ok", "nlp-lab").Nodes(2).Compliance({"hipaa"}))
          .ok());
}

TEST(SolveEntryTest, ACallerThatValidatedOnceIsTrusted) {
  // A priority out of bounds is harmless to the solver, so skipping the check shows.
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  const Request odd = RequestBuilder("odd", "nlp-lab").Nodes(1).Priority(5'000'000);
  SolveOptions options;
  EXPECT_EQ(Solve(problem, {odd}, options).status().code(), StatusCode::kInvalidArgument);
  const Status st = ValidateRequest(problem, odd);
  ASSERT_EQ(st.details().size(), 1u);
  EXPECT_EQ(st.details()[0].path, "priority");
  options.requests_validated = true;  // the caller's word that it checked
  auto results = Solve(problem, {odd}, options);
  ASSERT_TRUE(results.ok()) << results.status().message();
  EXPECT_TRUE(VerifyPlacement(problem, odd, (*results)[0].nodes).empty());
  // The checks against the problem alone: same details, no field checks.
  EXPECT_TRUE(ValidateRequestAgainst(problem, odd).ok());
  const Status against = ValidateRequestAgainst(
      problem, RequestBuilder("x", "cv-lab").Nodes(1).Classes({"h100x8", "h9"}));
  ASSERT_EQ(against.details().size(), 1u);
  EXPECT_EQ(against.details()[0].path, "select.class[1]");
  EXPECT_EQ(against.details()[0].code, "unknown_class");
}

TEST(SolveEntryTest, BackendsByName) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  const Request request =
      RequestBuilder("job", "nlp-lab").Nodes(3).Classes({"h100x8"}).PreferLocality(Level::kLeaf);
  SolveOptions options;
  options.backend = "simplex";
  const auto unknown = Solve(problem, {request}, options);
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("unknown backend \"simplex\""), std::string::npos);

  double objective = -1;
  for (const std::string backend : {"heuristic", "ilp", "auto"}) {
    SCOPED_TRACE(backend);
    options.backend = backend;
    auto results = Solve(problem, {request}, options);
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    const PlacementResult& r = results->front();
    ASSERT_TRUE(Placed(r));
    EXPECT_TRUE(VerifyPlacement(problem, request, r.nodes).empty());
    EXPECT_NE(r.backend.find(backend == "auto" ? "auto(" : backend), std::string::npos)
        << r.backend;
    EXPECT_GE(r.solve_ms, 0);
    if (objective < 0) objective = r.objective.total;
    // This instance is small and the heuristic optimal on it: all three agree.
    EXPECT_NEAR(r.objective.total, objective, 1e-6);
  }
  options.backend = "auto";
  auto results = Solve(problem, {request}, options);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ(results->front().status, SolveStatus::kOptimal);
  EXPECT_EQ(results->front().gap.value_or(-1), 0.0);
}

}  // namespace
}  // namespace topoplace
