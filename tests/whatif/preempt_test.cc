// What would placing a request take (`whatif --place REQUEST.yaml --preempt`, PlanWhatIf with a
// request to place): the fewest evictions against an exhaustive search over eviction subsets, the
// verifier on every placement, the cases with nothing to evict and with no room even after every
// legal victim is gone, and the repair's preemption offer in the report. Nothing is changed.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "api/whatif.h"
#include "solver/verifier.h"
#include "tests/solver/fixtures.h"
#include "tests/whatif/whatif_fixtures.h"

namespace topoplace {
namespace {

using fixtures::DataCentreBuilder;
using fixtures::MakeProblem;
using fixtures::RequestBuilder;
using whatif_testing::AllocationFor;
using whatif_testing::ScenarioOf;

// Two leaves of four H100 nodes (l1: rack r1, l2: rack r2). Tenant lab holds r1-n01 (small-a,
// priority 1), r1-n02 (small-b, priority 2) and r2-n01..n03 (big, priority 10); tenant other holds
// nothing; r1-n03, r1-n04 and r2-n04 are free.
Scenario SmallScenario() {
  DataCentreBuilder b;
  b.Site("s", "US").PowerDomain("pa", "s").PowerDomain("pb", "s").Spine("sp", "v", "s");
  b.Leaf("l1", "v", {"sp"}, "p1").Rack("r1", "s", "row", "p1", {"pa", "pb"});
  b.Leaf("l2", "v", {"sp"}, "p1").Rack("r2", "s", "row", "p1", {"pa", "pb"});
  b.Nodes("r1", "l1", "h100x8", 4).Nodes("r2", "l2", "h100x8", 4);
  const PlacementProblem problem =
      MakeProblem(b, {fixtures::MakeTenant("lab"), fixtures::MakeTenant("other")});
  auto holder = [](const std::string& name, int priority, std::vector<std::string> nodes) {
    const Request r = RequestBuilder(name, "lab")
                          .Nodes(static_cast<int>(nodes.size()))
                          .Classes({"h100x8"})
                          .Priority(priority);
    return AllocationFor(r, std::move(nodes));
  };
  Scenario s =
      ScenarioOf(problem, {holder("small-a", 1, {"r1-n01"}), holder("small-b", 2, {"r1-n02"}),
                           holder("big", 10, {"r2-n01", "r2-n02", "r2-n03"})});
  Status st = s.inventory.BuildIndex();
  if (!st.ok()) throw std::runtime_error(st.message());
  return s;
}

Request Train(int nodes) {
  return RequestBuilder("train", "lab")
      .Nodes(nodes)
      .Classes({"h100x8"})
      .Locality(Level::kLeaf)
      .Priority(50);
}

WhatIfReport PlaceOn(const Scenario& s, const Request& request, bool preempt) {
  WhatIfInput input;
  input.place = request;
  input.preempt = preempt;
  WhatIfOptions options;
  options.time_limit_seconds = 5;
  Result<WhatIfReport> report = PlanWhatIf(s, input, options);
  if (!report.ok()) throw std::runtime_error(report.status().message());
  return std::move(report).value();
}

// The problem the placement was solved against, as the test derives it on its own.
PlacementProblem ProblemOf(const Scenario& s) {
  auto snap = MakeSnapshot(s.inventory);
  PlacementProblem p{*snap, s.tenants, ProjectUsages(s.inventory, s.allocations),
                     HoldingsOf(s.inventory, s.allocations), s.policy.preempt_across_tenants};
  return p;
}

// The fewest evictions, then the least priority sum, that let `request` (without preemption) fit,
// by trying every subset of its legal victims; nullopt when none does.
std::optional<std::pair<int, int>> FewestEvictionsExhaustive(const PlacementProblem& problem,
                                                             const Request& request) {
  const std::vector<int> victims = LegalVictims(problem, request);
  Request plain = request;
  plain.preemption.reset();
  SolveOptions so;
  so.explain = false;
  std::optional<std::pair<int, int>> best;
  for (uint32_t mask = 0; mask < (1u << victims.size()); ++mask) {
    std::vector<std::string> names;
    int sum = 0;
    for (size_t i = 0; i < victims.size(); ++i) {
      if (!(mask & (1u << i))) continue;
      names.push_back(problem.holdings[victims[i]].name);
      sum += problem.holdings[victims[i]].priority;
    }
    const std::pair<int, int> key{static_cast<int>(names.size()), sum};
    if (best && key >= *best) continue;
    auto r = Solve(AfterEvictions(problem, names), {plain}, so);
    if (r.ok() && HasPlacement(r->front().status)) best = key;
  }
  return best;
}

std::vector<std::string> Evicted(const PlacementResult& r) {
  std::vector<std::string> out;
  for (const Eviction& e : r.evictions) out.push_back(e.allocation);
  return out;
}

TEST(WhatIfPlace, PreemptListsTheMinimalVictimsAndChangesNothing) {
  const Scenario s = SmallScenario();
  const Scenario copy = s;
  const WhatIfReport report = PlaceOn(s, Train(3), /*preempt=*/true);
  EXPECT_EQ(s, copy) << "a dry run changes nothing";
  ASSERT_TRUE(report.placement.has_value());
  const WhatIfPlacement& p = *report.placement;
  ASSERT_TRUE(p.preempt_added);
  ASSERT_TRUE(p.request.preemption.has_value());
  EXPECT_EQ(p.request.preemption->scope, PreemptionScope::kTenant);
  EXPECT_EQ(p.outcome, WhatIfPlacement::Outcome::kFitsByEvicting) << p.summary;
  EXPECT_EQ(p.legal_victims, 3);
  // Three nodes under one leaf: l1 has two free and needs one eviction (small-a, priority 1, or
  // small-b, 2); l2 has one free and needs big (10). The fewest, then the least priority sum.
  EXPECT_EQ(Evicted(p.result), std::vector<std::string>{"small-a"});
  const PlacementProblem problem = ProblemOf(s);
  const auto oracle = FewestEvictionsExhaustive(problem, p.request);
  ASSERT_TRUE(oracle.has_value());
  EXPECT_EQ(oracle->first, 1);
  EXPECT_EQ(oracle->second, 1);
  EXPECT_TRUE(VerifyResult(problem, p.request, p.result).empty());
  EXPECT_TRUE(p.violations.empty());
  ASSERT_EQ(p.result.evictions.size(), 1u);
  const Eviction& e = p.result.evictions[0];
  EXPECT_EQ(e.tenant, "lab");
  EXPECT_EQ(e.priority, 1);
  EXPECT_EQ(e.domain, "leaf/l1");
  EXPECT_EQ(fixtures::NodeNames(problem, e.nodes), std::vector<std::string>{"r1-n01"});
  EXPECT_EQ(p.result.nodes.size(), 3u);

  // The state the report describes is the scenario's: the victim still holds its node.
  const Inventory& inv = report.after->inventory;
  EXPECT_EQ(report.after->states.holder(inv.NodeIndex("r1-n01")), "lab");

  const Json j = WhatIfReportJson(report, "small.yaml");
  EXPECT_EQ(j["place"]["outcome"], "fitsByEvicting");
  EXPECT_EQ(j["place"]["result"]["evict"], Json::array({"small-a"}));
  EXPECT_EQ(j["place"]["result"]["evictions"][0]["priority"], 1);
  EXPECT_EQ(j["place"]["result"]["evictions"][0]["domain"], "leaf/l1");
  EXPECT_EQ(j["place"]["evictionsProvenMinimal"], p.result.status == SolveStatus::kOptimal);
  EXPECT_EQ(j["place"]["preemption"]["addedByPreempt"], true);
  std::ostringstream text;
  PrintWhatIfReport(text, report, "small.yaml");
  EXPECT_NE(text.str().find("evict (1 of 3 it may evict)"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("small-a (tenant lab, project default, priority 1"), std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("nothing was evicted"), std::string::npos) << text.str();
  EXPECT_TRUE(report.satisfied());
}

// Four nodes under one leaf: l1 needs both small allocations evicted, l2 only big. Evicting the
// lowest priorities first (the greedy) takes two; the fewest is one, and the report proves it.
TEST(WhatIfPlace, FewestEvictionsBeatLowestPriorityFirst) {
  const Scenario s = SmallScenario();
  const WhatIfReport report = PlaceOn(s, Train(4), /*preempt=*/true);
  ASSERT_TRUE(report.placement.has_value());
  const WhatIfPlacement& p = *report.placement;
  ASSERT_EQ(p.outcome, WhatIfPlacement::Outcome::kFitsByEvicting) << p.summary;
  const PlacementProblem problem = ProblemOf(s);
  EXPECT_TRUE(VerifyResult(problem, p.request, p.result).empty());
  const auto oracle = FewestEvictionsExhaustive(problem, p.request);
  ASSERT_TRUE(oracle.has_value());
  EXPECT_EQ(*oracle, (std::pair<int, int>{1, 10}));
  EXPECT_EQ(p.result.status, SolveStatus::kOptimal);
  EXPECT_EQ(Evicted(p.result), std::vector<std::string>{"big"});
  EXPECT_NE(p.summary.find("no placement evicts fewer (proven)"), std::string::npos) << p.summary;
  EXPECT_EQ(fixtures::NodeNames(problem, p.result.nodes),
            (std::vector<std::string>{"r2-n01", "r2-n02", "r2-n03", "r2-n04"}));
  const Json j = WhatIfReportJson(report, "small.yaml");
  EXPECT_EQ(j["place"]["evictionsProvenMinimal"], true);
  // The greedy baseline evicts more on the same case.
  SolveOptions so;
  const PlacementResult greedy = GreedyPreemption(problem, p.request, so);
  ASSERT_TRUE(HasPlacement(greedy.status));
  EXPECT_GT(greedy.evictions.size(), p.result.evictions.size());
}

TEST(WhatIfPlace, NothingNeedsEvicting) {
  const Scenario s = SmallScenario();
  const WhatIfReport report = PlaceOn(s, Train(2), /*preempt=*/true);
  ASSERT_TRUE(report.placement.has_value());
  const WhatIfPlacement& p = *report.placement;
  EXPECT_EQ(p.outcome, WhatIfPlacement::Outcome::kFits);
  EXPECT_TRUE(p.result.evictions.empty());
  EXPECT_EQ(fixtures::NodeNames(ProblemOf(s), p.result.nodes),
            (std::vector<std::string>{"r1-n03", "r1-n04"}));
  EXPECT_EQ(p.summary, "fits without evicting anything");
  EXPECT_TRUE(p.violations.empty());
  const Json j = WhatIfReportJson(report, "small.yaml");
  EXPECT_EQ(j["place"]["outcome"], "fits");
  EXPECT_EQ(j["place"]["result"]["evict"], Json::array());
  std::ostringstream text;
  PrintWhatIfReport(text, report, "small.yaml");
  EXPECT_NE(text.str().find("fits without evicting anything"), std::string::npos) << text.str();
  EXPECT_EQ(text.str().find("evict ("), std::string::npos) << text.str();
}

TEST(WhatIfPlace, ImpossibleEvenEvictingEveryLegalVictim) {
  const Scenario s = SmallScenario();
  // Five nodes under one leaf of four.
  const WhatIfReport report = PlaceOn(s, Train(5), /*preempt=*/true);
  ASSERT_TRUE(report.placement.has_value());
  const WhatIfPlacement& p = *report.placement;
  EXPECT_EQ(p.outcome, WhatIfPlacement::Outcome::kImpossible);
  EXPECT_FALSE(HasPlacement(p.result.status));
  EXPECT_TRUE(p.result.evictions.empty());
  EXPECT_NE(p.summary.find("does not fit even if all 3 allocations of priority below 50"),
            std::string::npos)
      << p.summary;
  ASSERT_TRUE(p.explanation.has_value());
  EXPECT_TRUE(p.explanation->summary.starts_with("with all 3 evicted: ")) << p.explanation->summary;
  bool locality = false;
  for (const ConflictItem& c : p.explanation->conflict) locality |= c.constraint == "locality";
  EXPECT_TRUE(locality) << p.explanation->summary;
  EXPECT_FALSE(report.satisfied());
  const Json j = WhatIfReportJson(report, "small.yaml");
  EXPECT_EQ(j["place"]["outcome"], "impossible");
  EXPECT_FALSE(j["place"]["explanation"].is_null());
}

TEST(WhatIfPlace, WithoutPreemptNothingMayBeEvicted) {
  const Scenario s = SmallScenario();
  const WhatIfReport report = PlaceOn(s, Train(3), /*preempt=*/false);
  const WhatIfPlacement& p = *report.placement;
  EXPECT_FALSE(p.request.preemption.has_value());
  EXPECT_EQ(p.outcome, WhatIfPlacement::Outcome::kImpossible);
  EXPECT_EQ(p.legal_victims, 0);
  EXPECT_NE(p.summary.find("may not evict anything"), std::string::npos) << p.summary;
  ASSERT_TRUE(p.explanation.has_value());
}

TEST(WhatIfPlace, OnlyHigherPriorityHoldsTheRoom) {
  const Scenario s = SmallScenario();
  Request low = Train(3);
  low.priority = 1;  // nothing of the lab's is below 1
  const WhatIfReport report = PlaceOn(s, low, /*preempt=*/true);
  const WhatIfPlacement& p = *report.placement;
  EXPECT_EQ(p.outcome, WhatIfPlacement::Outcome::kImpossible);
  EXPECT_EQ(p.legal_victims, 0);
  EXPECT_NE(p.summary.find("nothing it may evict"), std::string::npos) << p.summary;
}

TEST(WhatIfPlace, ScopeAllNeedsThePolicy) {
  Scenario s = SmallScenario();
  Request r = Train(3);
  r.tenant = "other";
  r.preemption = Preemption{PreemptionScope::kAll, std::nullopt};
  WhatIfInput input;
  input.place = r;
  Result<WhatIfReport> refused = PlanWhatIf(s, input, WhatIfOptions{});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().reason(), "invalid_place");
  ASSERT_FALSE(refused.status().details().empty());
  EXPECT_EQ(refused.status().details()[0].path, "--place");

  // The provider's consent for this request only (over HTTP, a provider-admin's call).
  input.place_across_tenants = true;
  Result<WhatIfReport> consented = PlanWhatIf(s, input, WhatIfOptions{});
  ASSERT_TRUE(consented.ok()) << consented.status().message();
  EXPECT_EQ(Evicted(consented->placement->result), std::vector<std::string>{"small-a"});

  s.policy.preempt_across_tenants = true;
  const WhatIfReport report = PlaceOn(s, r, /*preempt=*/true);
  const WhatIfPlacement& p = *report.placement;
  EXPECT_FALSE(p.preempt_added) << "the request's own preemption: stands";
  EXPECT_EQ(p.outcome, WhatIfPlacement::Outcome::kFitsByEvicting) << p.summary;
  EXPECT_EQ(Evicted(p.result), std::vector<std::string>{"small-a"});
  EXPECT_TRUE(VerifyResult(ProblemOf(s), p.request, p.result).empty());
}

// A failure leaves a rack-local job one node short; a lower-priority neighbour holds the only
// other node of the rack. The report offers evicting it, in text and JSON.
TEST(WhatIfPlace, RepairOfferShowsInTheReport) {
  DataCentreBuilder b;
  b.Site("s", "US").PowerDomain("pa", "s").PowerDomain("pb", "s").Spine("sp", "v", "s");
  b.Leaf("l1", "v", {"sp"}, "p1").Rack("rx", "s", "row", "p1", {"pa", "pb"});
  b.Nodes("rx", "l1", "h100x8", 4);
  const PlacementProblem problem = MakeProblem(b, {fixtures::MakeTenant("lab")});
  const Request job =
      RequestBuilder("job", "lab").Nodes(3).Classes({"h100x8"}).Locality(Level::kRack).Priority(50);
  const Request low = RequestBuilder("scratch", "lab").Nodes(1).Classes({"h100x8"}).Priority(0);
  Scenario s = ScenarioOf(problem, {AllocationFor(job, {"rx-n01", "rx-n02", "rx-n03"}),
                                    AllocationFor(low, {"rx-n04"})});
  ASSERT_TRUE(s.inventory.BuildIndex().ok());
  WhatIfInput input;
  auto fail = ParseChange(ChangeKind::kFail, "node:rx-n01");
  ASSERT_TRUE(fail.ok());
  input.changes.push_back(*fail);
  WhatIfOptions options;
  options.time_limit_seconds = 5;
  Result<WhatIfReport> report = PlanWhatIf(s, input, options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->repairs.size(), 1u);
  const AllocationRepair& a = report->repairs[0];
  ASSERT_FALSE(a.repaired);
  ASSERT_TRUE(a.preemption.has_value()) << a.no_preemption;
  const Json j = WhatIfReportJson(*report, "rack.yaml");
  const Json& offer = j["repairs"][0]["preemption"];
  EXPECT_EQ(offer["evict"], Json::array({"scratch"}));
  EXPECT_EQ(offer["replacements"], Json::array({"rx-n04"}));
  EXPECT_EQ(offer["provenMinimal"], true);
  EXPECT_EQ(offer["evictions"][0]["priority"], 0);
  std::ostringstream text;
  PrintWhatIfReport(text, *report, "rack.yaml");
  EXPECT_NE(text.str().find("preemption: evicting 1 lower-priority allocation (of 1) would repair "
                            "it with 1 move (fewest evictions proven)"),
            std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("evict scratch (tenant lab"), std::string::npos) << text.str();
}

TEST(WhatIfPlace, HttpBodyTakesARequestToPlace) {
  const nlohmann::json place = {
      {"name", "train"}, {"tenant", "lab"}, {"nodes", 3}, {"priority", 50}};
  DecodedWhatIf d = DecodeWhatIfJson({{"place", place}, {"preempt", true}});
  ASSERT_TRUE(d.errors.empty()) << d.errors[0].detail;
  ASSERT_TRUE(d.input.place.has_value());
  EXPECT_EQ(d.input.place->nodes, 3);
  EXPECT_EQ(d.input.place->priority, 50);
  EXPECT_EQ(d.input.place_path, "/place");
  EXPECT_TRUE(d.input.preempt);
  EXPECT_TRUE(d.input.changes.empty()) << "changes are optional with a request to place";

  d = DecodeWhatIfJson(
      {{"changes", nlohmann::json::array({{{"fail", "rack:r1"}}})}, {"preempt", true}});
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].code, "missing_field");
  EXPECT_EQ(d.errors[0].pointer, "/place");
  d = DecodeWhatIfJson({{"place", 3}});
  ASSERT_FALSE(d.errors.empty());
  EXPECT_EQ(d.errors[0].code, "wrong_type");
  EXPECT_EQ(d.errors[0].pointer, "/place");
  d = DecodeWhatIfJson(nlohmann::json::object());
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].pointer, "/changes");
}

}  // namespace
}  // namespace topoplace
