// Explanations of infeasible requests: the conflict is minimal (infeasible together, feasible
// without any one group), carries numbers, and every relaxation offered really solves.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <optional>
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
using fixtures::RequestBuilder;

// us site, one pod, five leaves with one rack each:
//   r1 (hipaa) 3x h100x8, r2 (hipaa) 3x h100x8, r3 4x h100x8, r4 (hipaa) 4x a100x8 — vendor-a;
//   r5 4x h100x8 under a vendor-b leaf.
// Every rack has power feeds pd-a and pd-b, nodes alternate a, b.
DataCentreBuilder ExplainDataCentre() {
  DataCentreBuilder b;
  b.Site("us", "US").PowerDomain("pd-a", "us").PowerDomain("pd-b", "us");
  b.Spine("spine", "vendor-a", "us");
  for (int i = 1; i <= 5; ++i) {
    const std::string n = std::to_string(i);
    b.Leaf("leaf-" + n, i == 5 ? "vendor-b" : "vendor-a", {"spine"}, "pod");
    std::vector<std::string> tags;
    if (i == 1 || i == 2 || i == 4) tags.emplace_back("hipaa");
    b.Rack("r" + n, "us", "row", "pod", {"pd-a", "pd-b"}, tags);
  }
  b.Nodes("r1", "leaf-1", "h100x8", 3).Nodes("r2", "leaf-2", "h100x8", 3);
  b.Nodes("r3", "leaf-3", "h100x8", 4).Nodes("r4", "leaf-4", "a100x8", 4);
  b.Nodes("r5", "leaf-5", "h100x8", 4);
  return b;
}

std::vector<Tenant> Tenants(Quota quota = {}, std::optional<double> budget = std::nullopt) {
  return {MakeTenant("lab", {"hipaa"}, quota, budget)};
}

PlacementResult SolveOne(const PlacementProblem& problem, const Request& request,
                         bool explain = true) {
  SolveOptions options;
  options.explain = explain;
  auto results = Solve(problem, {request}, options);
  EXPECT_TRUE(results.ok()) << results.status().ToString();
  if (!results.ok()) return {};
  return results->front();
}

bool Placed(const PlacementResult& r) {
  return r.status == SolveStatus::kOptimal || r.status == SolveStatus::kFeasible;
}

// Solves `request` and expects a verified placement.
void ExpectFeasible(const PlacementProblem& problem, const Request& request) {
  const PlacementResult r = SolveOne(problem, request, /*explain=*/false);
  ASSERT_TRUE(Placed(r)) << request.name << ": " << SolveStatusName(r.status);
  for (const Violation& v : VerifyPlacement(problem, request, r.nodes)) {
    ADD_FAILURE() << request.name << ": " << v.constraint << ": " << v.detail;
  }
}

std::vector<std::string> ConflictNames(const Explanation& e) {
  std::vector<std::string> names;
  for (const ConflictItem& c : e.conflict) names.push_back(c.constraint);
  std::sort(names.begin(), names.end());
  return names;
}

bool HasDigit(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// The request with one constraint group removed.
Request Without(Request r, const std::string& group) {
  if (group == "select") r.select = {};
  if (group == "locality") r.locality.reset();
  if (group == "spread") r.spread.reset();
  if (group == "compliance") r.compliance.clear();
  if (group == "exclusive") r.exclusive.reset();
  if (group == "roce") r.roce = false;
  if (group == "budget") r.max_cost_per_hour.reset();
  return r;
}

// The number after `key` in `text` ("feasible with maxDomains: 2" -> 2).
std::optional<double> NumberAfter(const std::string& text, const std::string& key) {
  const size_t at = text.find(key);
  if (at == std::string::npos) return std::nullopt;
  std::string digits;
  for (size_t i = at + key.size(); i < text.size(); ++i) {
    const char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      digits += c;
    } else if (c == ',' || (c == ' ' && digits.empty()) || (c == '+' && digits.empty())) {
      continue;
    } else {
      break;
    }
  }
  if (digits.empty()) return std::nullopt;
  return std::stod(digits);
}

std::optional<std::string> Find(const std::vector<std::string>& items, const std::string& key) {
  for (const auto& s : items) {
    if (s.find(key) != std::string::npos) return s;
  }
  return std::nullopt;
}

TEST(ExplainTest, HipaaSelectAndLocalityFormAMinimalConflict) {
  const PlacementProblem problem = MakeProblem(ExplainDataCentre(), Tenants());
  const Request request = RequestBuilder("llm", "lab")
                              .Nodes(4)
                              .Classes({"h100x8"})
                              .Compliance({"hipaa"})
                              .Locality(Level::kLeaf);
  const PlacementResult r = SolveOne(problem, request);
  ASSERT_EQ(r.status, SolveStatus::kInfeasible);
  ASSERT_TRUE(r.explanation.has_value());
  const Explanation& e = *r.explanation;
  EXPECT_EQ(ConflictNames(e),
            (std::vector<std::string>{"compliance", "count", "locality", "select"}));
  // Every proper subset is feasible: dropping any one group of the conflict solves.
  for (const std::string group : {"compliance", "locality", "select"}) {
    SCOPED_TRACE(group);
    ExpectFeasible(problem, Without(request, group));
  }
  for (const ConflictItem& item : e.conflict) EXPECT_TRUE(HasDigit(item.detail)) << item.detail;
  EXPECT_NE(e.summary.find("hipaa"), std::string::npos) << e.summary;
  EXPECT_NE(e.summary.find("locality(leaf,1)"), std::string::npos) << e.summary;
  EXPECT_NE(e.summary.find("at most 3 nodes; 4 nodes requested"), std::string::npos) << e.summary;
  EXPECT_EQ(e.summary.find("not proven"), std::string::npos) << e.summary;
  std::vector<std::string> details;
  for (const ConflictItem& item : e.conflict) details.push_back(item.detail);
  EXPECT_TRUE(Find(details, "the largest leaf holds 3 such nodes; 4 nodes requested").has_value());
  EXPECT_TRUE(Find(details, "compliance hipaa: 6 matching nodes").has_value());
  EXPECT_TRUE(Find(details, "select (class h100x8): 14 available nodes match").has_value());

  // Relaxations: each one, applied, solves.
  const auto max_domains = Find(e.relaxations, "maxDomains");
  ASSERT_TRUE(max_domains.has_value());
  EXPECT_EQ(NumberAfter(*max_domains, "maxDomains:"), 2);
  Request wider = request;
  wider.locality->max_domains = 2;
  ExpectFeasible(problem, wider);
  const auto fit = Find(e.relaxations, "nodes fit");
  ASSERT_TRUE(fit.has_value());
  EXPECT_EQ(*fit, "3 nodes fit");
  Request smaller = request;
  smaller.nodes = 3;
  ExpectFeasible(problem, smaller);
  EXPECT_TRUE(Find(e.relaxations, "feasible without hipaa").has_value());
  EXPECT_TRUE(Find(e.relaxations, "feasible without select").has_value());
}

TEST(ExplainTest, BudgetRelaxationIsTheCheapestFeasibleCost) {
  const PlacementProblem problem = MakeProblem(ExplainDataCentre(), Tenants());
  const Request request = RequestBuilder("cheap", "lab").Nodes(4).Classes({"h100x8"}).Budget(300);
  const PlacementResult r = SolveOne(problem, request);
  ASSERT_EQ(r.status, SolveStatus::kInfeasible);
  const Explanation& e = r.explanation.value();
  EXPECT_EQ(ConflictNames(e), (std::vector<std::string>{"budget", "count", "select"}));
  const auto budget_item =
      std::find_if(e.conflict.begin(), e.conflict.end(),
                   [](const ConflictItem& c) { return c.constraint == "budget"; });
  ASSERT_NE(budget_item, e.conflict.end());
  EXPECT_NE(budget_item->detail.find("393.28/h"), std::string::npos) << budget_item->detail;
  const auto relaxed = Find(e.relaxations, "feasible with budget");
  ASSERT_TRUE(relaxed.has_value());
  EXPECT_EQ(*relaxed, "feasible with budget 393.28/h");
  Request raised = request;
  raised.max_cost_per_hour = 393.28;
  ExpectFeasible(problem, raised);
  raised.max_cost_per_hour = 393.27;
  EXPECT_EQ(SolveOne(problem, raised, false).status, SolveStatus::kInfeasible);
}

TEST(ExplainTest, QuotaRelaxationNamesTheAmountNeeded) {
  Quota quota;
  quota.nodes = 2;
  const PlacementProblem problem = MakeProblem(ExplainDataCentre(), Tenants(quota));
  const Request request = RequestBuilder("big", "lab").Nodes(4);
  const PlacementResult r = SolveOne(problem, request);
  ASSERT_EQ(r.status, SolveStatus::kInfeasible);
  const Explanation& e = r.explanation.value();
  EXPECT_EQ(ConflictNames(e), (std::vector<std::string>{"count", "quota"}));
  EXPECT_NE(e.conflict.front().detail.find("quota leaves 2 nodes"), std::string::npos)
      << e.conflict.front().detail;
  const auto relaxed = Find(e.relaxations, "feasible with quota");
  ASSERT_TRUE(relaxed.has_value());
  EXPECT_EQ(*relaxed, "feasible with quota +2 nodes");
  quota.nodes = 4;
  ExpectFeasible(MakeProblem(ExplainDataCentre(), Tenants(quota)), request);
  EXPECT_EQ(*Find(e.relaxations, "fit"), "2 nodes fit");
}

TEST(ExplainTest, TenantBudgetCountsCurrentSpend) {
  DataCentreBuilder b = ExplainDataCentre();
  b.Hold("r3-n01", "lab");  // 98.32/h already spent
  const PlacementProblem problem = MakeProblem(b, Tenants({}, 200.0));
  const Request request = RequestBuilder("two", "lab").Nodes(2).Classes({"h100x8"});
  const PlacementResult r = SolveOne(problem, request);
  ASSERT_EQ(r.status, SolveStatus::kInfeasible);
  const Explanation& e = r.explanation.value();
  EXPECT_EQ(ConflictNames(e), (std::vector<std::string>{"count", "select", "tenantBudget"}));
  const auto relaxed = Find(e.relaxations, "budgetPerHour");
  ASSERT_TRUE(relaxed.has_value());
  // Two h100x8 cost 196.64/h; 101.68/h is left: raise by 94.96/h.
  EXPECT_EQ(*relaxed, "feasible with tenant budgetPerHour +94.96/h");
  ExpectFeasible(MakeProblem(b, Tenants({}, 200.0 + 94.96)), request);
}

TEST(ExplainTest, SpreadRelaxationIsTheTightestWorkingCap) {
  const PlacementProblem problem = MakeProblem(ExplainDataCentre(), Tenants());
  // Four nodes under one leaf with two feeds cannot keep one per feed.
  const Request request = RequestBuilder("ha", "lab")
                              .Nodes(4)
                              .Classes({"h100x8"})
                              .Locality(Level::kLeaf)
                              .SpreadMaxPerDomain(Level::kPowerDomain, 1);
  const PlacementResult r = SolveOne(problem, request);
  ASSERT_EQ(r.status, SolveStatus::kInfeasible);
  const Explanation& e = r.explanation.value();
  const std::vector<std::string> names = ConflictNames(e);
  EXPECT_NE(std::find(names.begin(), names.end(), "spread"), names.end());
  const auto cap = Find(e.relaxations, "maxPerDomain");
  ASSERT_TRUE(cap.has_value());
  EXPECT_EQ(*cap, "feasible with maxPerDomain: 2");
  Request relaxed = request;
  relaxed.spread->max_per_domain = 2;
  ExpectFeasible(problem, relaxed);
}

TEST(ExplainTest, RoceConflictOffersDroppingIt) {
  DataCentreBuilder b = ExplainDataCentre();
  // Leave three free h100x8 nodes on vendor-a leaves (r1) and four on vendor-b (r5).
  for (const std::string node :
       {"r2-n01", "r2-n02", "r2-n03", "r3-n01", "r3-n02", "r3-n03", "r3-n04"}) {
    b.Hold(node, "other");
  }
  const PlacementProblem problem = MakeProblem(b, {MakeTenant("lab"), MakeTenant("other")});
  const Request request = RequestBuilder("rdma", "lab").Nodes(6).Classes({"h100x8"}).Roce();
  const PlacementResult r = SolveOne(problem, request);
  ASSERT_EQ(r.status, SolveStatus::kInfeasible);
  const Explanation& e = r.explanation.value();
  EXPECT_EQ(ConflictNames(e), (std::vector<std::string>{"count", "roce", "select"}));
  const auto roce = std::find_if(e.conflict.begin(), e.conflict.end(),
                                 [](const ConflictItem& c) { return c.constraint == "roce"; });
  EXPECT_NE(roce->detail.find("vendor-b 4"), std::string::npos) << roce->detail;
  EXPECT_TRUE(Find(e.relaxations, "feasible without roce").has_value());
  ExpectFeasible(problem, Without(request, "roce"));
  EXPECT_EQ(*Find(e.relaxations, "fit"), "4 nodes fit");
}

TEST(ExplainTest, NotEnoughNodesAtAllIsAnAvailabilityConflict) {
  const PlacementProblem problem = MakeProblem(ExplainDataCentre(), Tenants());
  const Request request = RequestBuilder("huge", "lab").Nodes(40).Classes({"h100x8"});
  const PlacementResult r = SolveOne(problem, request);
  ASSERT_EQ(r.status, SolveStatus::kInfeasible);
  const Explanation& e = r.explanation.value();
  EXPECT_EQ(ConflictNames(e), (std::vector<std::string>{"availability", "count"}));
  EXPECT_NE(e.summary.find("18 nodes are available; 40 nodes requested"), std::string::npos)
      << e.summary;
  EXPECT_EQ(*Find(e.relaxations, "fit"), "14 nodes fit");  // select keeps h100x8 only
}

TEST(ExplainTest, GpusRequestsExplainInGpus) {
  const PlacementProblem problem = MakeProblem(ExplainDataCentre(), Tenants());
  const Request request =
      RequestBuilder("gpus", "lab").Gpus(40).Classes({"a100x8"}).Locality(Level::kRack);
  const PlacementResult r = SolveOne(problem, request);
  ASSERT_EQ(r.status, SolveStatus::kInfeasible);
  const Explanation& e = r.explanation.value();
  EXPECT_NE(e.summary.find("GPUs; 40 GPUs requested"), std::string::npos) << e.summary;
  const auto fit = Find(e.relaxations, "GPUs fit");
  ASSERT_TRUE(fit.has_value());
  EXPECT_EQ(*fit, "32 GPUs fit");
  Request smaller = request;
  smaller.gpus = 32;
  ExpectFeasible(problem, smaller);
}

TEST(ExplainTest, NoExplanationWhenNotAskedOrFeasible) {
  const PlacementProblem problem = MakeProblem(ExplainDataCentre(), Tenants());
  const Request infeasible = RequestBuilder("huge", "lab").Nodes(40);
  EXPECT_FALSE(SolveOne(problem, infeasible, /*explain=*/false).explanation.has_value());
  const Request feasible = RequestBuilder("small", "lab").Nodes(2);
  const PlacementResult r = SolveOne(problem, feasible);
  EXPECT_TRUE(Placed(r));
  EXPECT_FALSE(r.explanation.has_value());
}

}  // namespace
}  // namespace topoplace
