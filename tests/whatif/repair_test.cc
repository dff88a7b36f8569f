// Repairs after failures: hand-written cases on the reference data centre, and property tests on
// seeded random data centres with the verifier and an exhaustive search as oracles.
#include "solver/repair.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "solver/backend.h"
#include "solver/verifier.h"
#include "tests/solver/fixtures.h"
#include "tests/whatif/whatif_fixtures.h"

namespace topoplace {
namespace {

using fixtures::DataCentreBuilder;
using fixtures::MakeProblem;
using fixtures::ReferenceDataCentre;
using fixtures::ReferenceTenants;
using fixtures::RequestBuilder;
using whatif_testing::AllocationFor;
using whatif_testing::FailDomain;
using whatif_testing::FailNodes;
using whatif_testing::Names;
using whatif_testing::ScenarioOf;

struct Repaired {
  RepairInput input;
  std::vector<AllocationRepair> repairs;
  PlacementProblem after;
};

Repaired RunRepair(const Scenario& before, const Scenario& after, RepairOptions options = {}) {
  Repaired out;
  auto input = PrepareRepair(before, after);
  EXPECT_TRUE(input.ok()) << input.status().message();
  out.input = *input;
  auto repairs = RepairAllocations(out.input.problem, out.input.cases, options, &out.after);
  EXPECT_TRUE(repairs.ok()) << repairs.status().message();
  out.repairs = *repairs;
  return out;
}

const AllocationRepair& Find(const Repaired& r, const std::string& allocation) {
  for (const auto& a : r.repairs) {
    if (a.allocation == allocation) return a;
  }
  throw std::runtime_error("no repair for " + allocation);
}

PlacementProblem Reference() { return MakeProblem(ReferenceDataCentre(), ReferenceTenants()); }

TEST(Repair, KeepsSurvivorsAndRestoresRackLocality) {
  const PlacementProblem problem = Reference();
  const Request train =
      RequestBuilder("train", "cv-lab").Nodes(3).Classes({"h100x8"}).Locality(Level::kRack);
  const Scenario before =
      ScenarioOf(problem, {AllocationFor(train, {"r2-n01", "r2-n02", "r2-n03"})});
  const Repaired r = RunRepair(before, FailNodes(before, {"r2-n02"}));
  ASSERT_EQ(r.repairs.size(), 1u);
  const AllocationRepair& a = r.repairs[0];
  EXPECT_TRUE(a.repaired);
  EXPECT_TRUE(a.by_request);
  EXPECT_EQ(a.status, SolveStatus::kOptimal);
  EXPECT_EQ(a.moves, 1);
  EXPECT_EQ(Names(r.input.problem, a.kept), (std::vector<std::string>{"r2-n01", "r2-n03"}));
  EXPECT_EQ(Names(r.input.problem, a.replacements), std::vector<std::string>{"r2-n04"});
  EXPECT_TRUE(a.violations.empty());
  ASSERT_EQ(a.lost.size(), 1u);
  EXPECT_EQ(a.lost[0].name, "r2-n02");
}

TEST(Repair, UnrepairableInPlaceExplainsAndOffersRelocation) {
  const PlacementProblem problem = Reference();
  const Request hpc =
      RequestBuilder("hpc", "cv-lab").Nodes(4).Classes({"h100x8"}).Locality(Level::kLeaf);
  const Scenario before =
      ScenarioOf(problem, {AllocationFor(hpc, {"r2-n01", "r2-n02", "r2-n03", "r2-n04"})});
  const Repaired r = RunRepair(before, FailNodes(before, {"r2-n01"}));
  ASSERT_EQ(r.repairs.size(), 1u);
  const AllocationRepair& a = r.repairs[0];
  EXPECT_FALSE(a.repaired);
  EXPECT_EQ(a.status, SolveStatus::kInfeasible);
  EXPECT_TRUE(a.replacements.empty());
  EXPECT_NE(a.reason.find("leaf-2"), std::string::npos) << a.reason;
  ASSERT_TRUE(a.explanation.has_value());
  std::set<std::string> conflict;
  for (const auto& c : a.explanation->conflict) conflict.insert(c.constraint);
  EXPECT_TRUE(conflict.count("locality")) << a.explanation->summary;
  ASSERT_TRUE(a.relocation.has_value());
  // Another leaf with four free H100 nodes takes the whole job: four moves, three of them nodes
  // that did not fail.
  EXPECT_EQ(a.relocation->moves, 4);
  EXPECT_EQ(a.relocation->kept_moved, 3);
  EXPECT_TRUE(VerifyPlacement(r.input.problem, hpc, a.relocation->nodes, a.kept).empty());
}

TEST(Repair, WithoutRequestSameClassNearestFirst) {
  const PlacementProblem problem = Reference();
  Allocation a;
  a.name = "legacy";
  a.tenant = "cv-lab";
  a.nodes = {"r1-n01", "r1-n02"};
  Allocation b;
  b.name = "other";
  b.tenant = "nlp-lab";
  b.nodes = {"r2-n01"};
  const Scenario before = ScenarioOf(problem, {a, b});
  const Repaired r = RunRepair(before, FailNodes(before, {"r1-n01"}));
  ASSERT_EQ(r.repairs.size(), 1u) << "only the allocation that lost a node is affected";
  const AllocationRepair& legacy = r.repairs[0];
  EXPECT_TRUE(legacy.repaired);
  EXPECT_FALSE(legacy.by_request);
  EXPECT_EQ(legacy.method, "same-class");
  EXPECT_EQ(Names(r.input.problem, legacy.replacements), std::vector<std::string>{"r1-n03"});

  // With the rest of the rack taken, the nearest free H100 is in the same pod.
  Allocation full;
  full.name = "full";
  full.tenant = "bio-lab";
  full.nodes = {"r1-n03", "r1-n04"};
  const Scenario crowded = ScenarioOf(problem, {a, b, full});
  const Repaired r2 = RunRepair(crowded, FailNodes(crowded, {"r1-n01"}));
  EXPECT_EQ(Names(r2.input.problem, Find(r2, "legacy").replacements),
            std::vector<std::string>{"r2-n02"});
}

TEST(Repair, GpusRequestTakesTheFewestReplacements) {
  const PlacementProblem problem = Reference();
  const Request job =
      RequestBuilder("job", "cv-lab").Gpus(16).Locality(Level::kPod, LocalityMode::kPreferred);
  const Scenario before = ScenarioOf(problem, {AllocationFor(job, {"r2-n01", "r2-n02"})});
  const Repaired r = RunRepair(before, FailNodes(before, {"r2-n01"}));
  const AllocationRepair& a = Find(r, "job");
  EXPECT_TRUE(a.repaired);
  EXPECT_EQ(a.moves, 1) << "one 8-GPU node, not two 4-GPU nodes";
  EXPECT_EQ(a.status, SolveStatus::kOptimal);
  std::vector<int> all = a.kept;
  all.insert(all.end(), a.replacements.begin(), a.replacements.end());
  EXPECT_TRUE(VerifyPlacement(r.input.problem, job, all, a.kept).empty());
}

TEST(Repair, SpreadCapDecidesWhereTheReplacementGoes) {
  const PlacementProblem problem = Reference();
  const Request job = RequestBuilder("spread", "cv-lab")
                          .Nodes(4)
                          .Classes({"h100x8"})
                          .SpreadMaxPerDomain(Level::kPowerDomain, 2);
  const Scenario before =
      ScenarioOf(problem, {AllocationFor(job, {"r2-n01", "r2-n02", "r2-n03", "r2-n04"})});
  const Repaired r = RunRepair(before, FailNodes(before, {"r2-n01"}));
  const AllocationRepair& a = Find(r, "spread");
  ASSERT_TRUE(a.repaired);
  const Inventory& inv = r.input.problem.snapshot->inventory;
  ASSERT_EQ(a.replacements.size(), 1u);
  EXPECT_NE(inv.nodes[a.replacements[0]].power_domain, "us-pd-b")
      << "us-pd-b already holds two of the kept nodes";
}

TEST(Repair, PriorityDecidesContestedNodes) {
  DataCentreBuilder b;
  b.Site("s", "US").PowerDomain("pa", "s").PowerDomain("pb", "s").Spine("sp", "v", "s");
  b.Leaf("l1", "v", {"sp"}, "p1").Rack("rx", "s", "row", "p1", {"pa", "pb"});
  b.Leaf("l2", "v", {"sp"}, "p1").Rack("ry", "s", "row", "p1", {"pa", "pb"});
  b.Nodes("rx", "l1", "h100x8", 5).Nodes("ry", "l2", "h100x8", 2);
  const PlacementProblem problem =
      MakeProblem(b, {fixtures::MakeTenant("t1"), fixtures::MakeTenant("t2")});
  const Request low =
      RequestBuilder("low", "t1").Nodes(2).Classes({"h100x8"}).Locality(Level::kRack);
  const Request high =
      RequestBuilder("high", "t2").Nodes(2).Classes({"h100x8"}).Locality(Level::kRack).Priority(50);
  const Scenario before = ScenarioOf(problem, {AllocationFor(low, {"rx-n01", "rx-n02"}),
                                               AllocationFor(high, {"rx-n03", "rx-n04"})});
  const Repaired r = RunRepair(before, FailNodes(before, {"rx-n01", "rx-n03"}));
  ASSERT_EQ(r.repairs.size(), 2u);
  EXPECT_EQ(r.repairs[0].allocation, "low") << "results come back in input order";
  EXPECT_TRUE(Find(r, "high").repaired);
  EXPECT_EQ(Names(r.input.problem, Find(r, "high").replacements),
            std::vector<std::string>{"rx-n05"});
  EXPECT_FALSE(Find(r, "low").repaired) << "the only free node of the rack went to priority 50";
}

TEST(Repair, PrepareReleasesLostNodesAndIgnoresOldFailures) {
  const PlacementProblem problem = Reference();
  const Request job = RequestBuilder("job", "cv-lab").Nodes(2).Classes({"h100x8"});
  Allocation old;
  old.name = "old";
  old.tenant = "nlp-lab";
  old.nodes = {"r1-n01", "r1-n02"};
  Scenario before = ScenarioOf(problem, {AllocationFor(job, {"r2-n01", "r2-n02"}), old});
  before.inventory.nodes[before.inventory.NodeIndex("r1-n01")].state = NodeState::kFailed;
  // A removed node counts as lost too.
  Scenario after = FailNodes(before, {"r2-n01"});
  after.inventory.nodes.erase(after.inventory.nodes.begin() + after.inventory.NodeIndex("r1-n03"));
  Status st = after.inventory.BuildIndex();
  ASSERT_TRUE(st.ok()) << st.message();
  auto input = PrepareRepair(before, after);
  ASSERT_TRUE(input.ok()) << input.status().message();
  ASSERT_EQ(input->cases.size(), 1u) << "\"old\" lost nothing to this change";
  EXPECT_EQ(input->cases[0].allocation, "job");
  const Inventory& inv = input->problem.snapshot->inventory;
  EXPECT_EQ(inv.nodes[inv.NodeIndex("r2-n01")].holder, "") << "lost nodes are released";
  EXPECT_EQ(inv.nodes[inv.NodeIndex("r2-n02")].holder, "cv-lab");
  EXPECT_EQ(inv.NodeIndex("r1-n03"), -1);
}

TEST(Repair, RemovedRackMeansReplacementsElsewhere) {
  const PlacementProblem problem = Reference();
  const Request job =
      RequestBuilder("job", "cv-lab").Nodes(2).Classes({"h100x8"}).Locality(Level::kPod);
  const Scenario before = ScenarioOf(problem, {AllocationFor(job, {"r2-n01", "r1-n01"})});
  const Repaired r = RunRepair(before, FailDomain(before, Level::kRack, "r2"));
  const AllocationRepair& a = Find(r, "job");
  ASSERT_TRUE(a.repaired);
  EXPECT_EQ(Names(r.input.problem, a.kept), std::vector<std::string>{"r1-n01"});
  ASSERT_EQ(a.replacements.size(), 1u);
  EXPECT_EQ(r.input.problem.snapshot->inventory.nodes[a.replacements[0]].rack, "r1")
      << "pod-1 has free H100 nodes only in r1 once r2 is gone";
}

// With every node lost, repairing an allocation is placing its request afresh, so place and repair
// explain the same conflict: a person reading both must see the same groups, in the same order,
// with the same labels and the same statement of each rule.
TEST(Repair, ExplainsTheSameConflictAsPlaceInTheSameOrder) {
  DataCentreBuilder b;
  b.Site("us", "US").PowerDomain("pd-a", "us").PowerDomain("pd-b", "us");
  b.Spine("spine", "vendor-a", "us");
  // r1 (hipaa) 3x h100x8, r2 (hipaa) 4x a100x8, r3 4x h100x8, r4 (hipaa) 4x h100x8 (the
  // allocation's, lost), r5 (hipaa) 2x h100x8; one leaf per rack.
  for (int i = 1; i <= 5; ++i) {
    const std::string n = std::to_string(i);
    b.Leaf("leaf-" + n, "vendor-a", {"spine"}, "pod");
    std::vector<std::string> tags;
    if (i != 3) tags.emplace_back("hipaa");
    b.Rack("r" + n, "us", "row", "pod", {"pd-a", "pd-b"}, tags);
  }
  b.Nodes("r1", "leaf-1", "h100x8", 3).Nodes("r2", "leaf-2", "a100x8", 4);
  b.Nodes("r3", "leaf-3", "h100x8", 4).Nodes("r4", "leaf-4", "h100x8", 4);
  b.Nodes("r5", "leaf-5", "h100x8", 2);
  const PlacementProblem problem = MakeProblem(b, {fixtures::MakeTenant("lab", {"hipaa"})});
  const Request job = RequestBuilder("job", "lab")
                          .Nodes(4)
                          .Classes({"h100x8"})
                          .Compliance({"hipaa"})
                          .Locality(Level::kLeaf)
                          .Budget(10000);
  const Scenario before =
      ScenarioOf(problem, {AllocationFor(job, {"r4-n01", "r4-n02", "r4-n03", "r4-n04"})});
  const Repaired repaired = RunRepair(before, FailDomain(before, Level::kLeaf, "leaf-4"));
  const AllocationRepair& a = Find(repaired, "job");
  ASSERT_FALSE(a.repaired);
  ASSERT_TRUE(a.kept.empty());
  ASSERT_TRUE(a.explanation.has_value()) << a.reason;

  auto placed = Solve(repaired.input.problem, {job}, SolveOptions{});
  ASSERT_TRUE(placed.ok()) << placed.status().message();
  const PlacementResult& p = placed->front();
  ASSERT_EQ(p.status, SolveStatus::kInfeasible);
  ASSERT_TRUE(p.explanation.has_value());

  auto names = [](const Explanation& e) {
    std::vector<std::string> out;
    for (const ConflictItem& c : e.conflict) out.push_back(c.constraint);
    return out;
  };
  // hipaa h100x8 nodes under one leaf: at most 3; any two of the three groups fit four nodes. The
  // budget is no part of it.
  EXPECT_EQ(names(*p.explanation),
            (std::vector<std::string>{"compliance", "select", "locality", "count"}));
  EXPECT_EQ(names(*a.explanation), names(*p.explanation)) << a.explanation->summary;
  const std::string labels = "hipaa + select + locality(leaf,1) ";
  EXPECT_TRUE(p.explanation->summary.starts_with(labels)) << p.explanation->summary;
  EXPECT_TRUE(a.explanation->summary.starts_with(labels)) << a.explanation->summary;
  for (size_t i = 0; i + 1 < p.explanation->conflict.size(); ++i) {
    const std::string& placed_detail = p.explanation->conflict[i].detail;
    const std::string rule = placed_detail.substr(0, placed_detail.find(": "));
    EXPECT_TRUE(a.explanation->conflict[i].detail.starts_with(rule))
        << "place: " << placed_detail << "\nrepair: " << a.explanation->conflict[i].detail;
  }
}

// A registered backend that counts the solves it is asked for, then lets `inner` answer.
class CountingBackend : public Backend {
 public:
  CountingBackend(const Backend& inner, int& calls) : inner_(inner), calls_(calls) {}
  std::string_view name() const override { return inner_.name(); }
  BackendCapabilities capabilities() const override { return inner_.capabilities(); }
  PlacementResult Solve(const PreparedRequest& p, const SolveOptions& options,
                        const PlacementResult* warm_start) const override {
    ++calls_;
    return inner_.Solve(p, options, warm_start);
  }

 private:
  const Backend& inner_;
  int& calls_;
};

// A caller that brings its own registry (a service with backends of its own, a test double) gets
// explanations, repairs and relocations solved by those backends, not by the process-wide ones.
TEST(Repair, ExplanationsAndRepairsSolveWithTheCallersBackends) {
  int calls = 0;
  BackendRegistry registry;
  for (const std::string& name : BuiltinBackends().Names()) {
    registry.Register(std::make_unique<CountingBackend>(*BuiltinBackends().Find(name), calls));
  }
  const PlacementProblem problem = Reference();
  const Request hpc =
      RequestBuilder("hpc", "cv-lab").Nodes(4).Classes({"h100x8"}).Locality(Level::kLeaf);

  SolveOptions solve;
  solve.backends = &registry;
  Request huge = hpc;
  huge.nodes = 40;
  auto placed = Solve(problem, {huge}, solve);
  ASSERT_TRUE(placed.ok());
  ASSERT_TRUE(placed->front().explanation.has_value());
  EXPECT_GT(calls, 0) << "the explanation solved with the caller's backends";

  calls = 0;
  const Scenario before =
      ScenarioOf(problem, {AllocationFor(hpc, {"r2-n01", "r2-n02", "r2-n03", "r2-n04"})});
  RepairOptions options;
  options.solve.backends = &registry;
  const Repaired r = RunRepair(before, FailNodes(before, {"r2-n01"}), options);
  const AllocationRepair& a = Find(r, "hpc");
  ASSERT_FALSE(a.repaired);
  ASSERT_TRUE(a.relocation.has_value());
  EXPECT_GT(calls, 0) << "the repair and the relocation solved with the caller's backends";
}

// ---------------------------------------------------------------------------------------------
// The preemption offered for an allocation that cannot be repaired.

// One rack of five H100 nodes under leaf l1 and a second rack (leaf l2) of three. "job" (priority
// 50, rack-local) holds rx-n01..n03; lower-priority allocations hold the rest of rx and part of ry.
struct OfferCase {
  PlacementProblem problem;
  Request job;
};

OfferCase MakeOfferCase() {
  DataCentreBuilder b;
  b.Site("s", "US").PowerDomain("pa", "s").PowerDomain("pb", "s").Spine("sp", "v", "s");
  b.Leaf("l1", "v", {"sp"}, "p1").Rack("rx", "s", "row", "p1", {"pa", "pb"});
  b.Leaf("l2", "v", {"sp"}, "p1").Rack("ry", "s", "row", "p1", {"pa", "pb"});
  b.Nodes("rx", "l1", "h100x8", 5).Nodes("ry", "l2", "h100x8", 3);
  OfferCase out{
      MakeProblem(b, {fixtures::MakeTenant("t1"), fixtures::MakeTenant("t2")}),
      RequestBuilder("job", "t1").Nodes(3).Classes({"h100x8"}).Locality(Level::kRack).Priority(50)};
  return out;
}

Allocation Holder(const std::string& name, const std::string& tenant, int priority,
                  std::vector<std::string> nodes) {
  const Request r = RequestBuilder(name, tenant)
                        .Nodes(static_cast<int>(nodes.size()))
                        .Classes({"h100x8"})
                        .Priority(priority);
  return AllocationFor(r, std::move(nodes));
}

// The offered repair checked by the independent verifier: the job placed afresh (its kept nodes
// released first) on the problem the repair ran on, evicting the offer's allocations.
void ExpectOfferVerifies(const Repaired& r, const Request& job, const AllocationRepair& a) {
  ASSERT_TRUE(a.preemption.has_value()) << a.no_preemption;
  std::vector<std::string> evicted;
  for (const Eviction& e : a.preemption->evictions) evicted.push_back(e.allocation);
  const std::vector<std::string> self = {a.allocation};
  const PlacementProblem fresh = AfterEvictions(r.input.problem, self);
  Request preempting = job;
  preempting.preemption = Preemption{};
  if (r.input.problem.preempt_across_tenants) preempting.preemption->scope = PreemptionScope::kAll;
  std::vector<int> all = a.kept;
  all.insert(all.end(), a.preemption->replacements.begin(), a.preemption->replacements.end());
  std::sort(all.begin(), all.end());
  for (const Violation& v : VerifyPreemptingPlacement(fresh, preempting, all, evicted))
    ADD_FAILURE() << v.constraint << ": " << v.detail;
  // Without the evictions the same nodes do not verify: the offer is needed.
  EXPECT_FALSE(VerifyPlacement(r.input.problem, job, all, a.kept).empty());
}

TEST(RepairPreemption, OffersTheFewestLowerPriorityEvictionsWithTheLeastPrioritySum) {
  const OfferCase oc = MakeOfferCase();
  const Scenario before = ScenarioOf(
      oc.problem, {AllocationFor(oc.job, {"rx-n01", "rx-n02", "rx-n03"}),
                   Holder("low-a", "t1", 10, {"rx-n04"}), Holder("low-b", "t1", 5, {"rx-n05"}),
                   Holder("elsewhere", "t1", 0, {"ry-n01", "ry-n02", "ry-n03"})});
  const Repaired r = RunRepair(before, FailNodes(before, {"rx-n01"}));
  const AllocationRepair& a = Find(r, "job");
  ASSERT_FALSE(a.repaired);
  EXPECT_EQ(a.status, SolveStatus::kInfeasible) << a.reason;
  ASSERT_TRUE(a.preemption.has_value()) << a.no_preemption;
  const RepairPreemption& p = *a.preemption;
  ASSERT_EQ(p.evictions.size(), 1u);
  // Either neighbour in rx frees the one node the job needs; "elsewhere" (priority 0) frees only
  // nodes in another rack. The least priority sum among single evictions is low-b's.
  EXPECT_EQ(p.evictions[0].allocation, "low-b");
  EXPECT_EQ(p.evictions[0].priority, 5);
  EXPECT_EQ(p.evictions[0].tenant, "t1");
  EXPECT_EQ(p.priority_sum, 5);
  EXPECT_EQ(Names(r.input.problem, p.replacements), std::vector<std::string>{"rx-n05"});
  EXPECT_EQ(Names(r.input.problem, p.evictions[0].used), std::vector<std::string>{"rx-n05"});
  EXPECT_EQ(p.moves, 1);
  EXPECT_TRUE(p.minimal) << p.note;
  EXPECT_EQ(p.candidates, 3);
  EXPECT_TRUE(a.no_preemption.empty());
  ExpectOfferVerifies(r, oc.job, a);
  // An offer changes nothing: the neighbours still hold their nodes after the repairs.
  const Inventory& inv = r.after.snapshot->inventory;
  EXPECT_EQ(r.after.snapshot->states.holder(inv.NodeIndex("rx-n05")), "t1");
}

TEST(RepairPreemption, NeedsTwoEvictionsWhenNoSingleOneFreesEnough) {
  const OfferCase oc = MakeOfferCase();
  const Scenario before = ScenarioOf(
      oc.problem,
      {AllocationFor(oc.job, {"rx-n01", "rx-n02", "rx-n03"}), Holder("low-a", "t1", 10, {"rx-n04"}),
       Holder("low-b", "t1", 5, {"rx-n05"}), Holder("elsewhere", "t1", 0, {"ry-n01"})});
  // Two of the job's nodes fail: it needs both neighbours' nodes.
  const Repaired r = RunRepair(before, FailNodes(before, {"rx-n01", "rx-n02"}));
  const AllocationRepair& a = Find(r, "job");
  ASSERT_FALSE(a.repaired);
  ASSERT_TRUE(a.preemption.has_value()) << a.no_preemption;
  std::vector<std::string> names;
  for (const Eviction& e : a.preemption->evictions) names.push_back(e.allocation);
  EXPECT_EQ(names, (std::vector<std::string>{"low-a", "low-b"}));
  EXPECT_EQ(a.preemption->priority_sum, 15);
  EXPECT_EQ(a.preemption->moves, 2);
  EXPECT_TRUE(a.preemption->minimal) << a.preemption->note;
  ExpectOfferVerifies(r, oc.job, a);
}

TEST(RepairPreemption, NoOfferWhenOnlyEqualOrHigherPriorityHoldsTheRoom) {
  const OfferCase oc = MakeOfferCase();
  const Scenario before = ScenarioOf(
      oc.problem, {AllocationFor(oc.job, {"rx-n01", "rx-n02", "rx-n03"}),
                   Holder("peer", "t1", 50, {"rx-n04"}), Holder("boss", "t1", 90, {"rx-n05"}),
                   Holder("elsewhere", "t1", 0, {"ry-n01", "ry-n02", "ry-n03"})});
  const Repaired r = RunRepair(before, FailNodes(before, {"rx-n01"}));
  const AllocationRepair& a = Find(r, "job");
  ASSERT_FALSE(a.repaired);
  EXPECT_FALSE(a.preemption.has_value());
  EXPECT_NE(a.no_preemption.find("would not repair it (proven)"), std::string::npos)
      << a.no_preemption;
}

TEST(RepairPreemption, NoOfferWhenNothingHasLowerPriority) {
  const OfferCase oc = MakeOfferCase();
  const Scenario before =
      ScenarioOf(oc.problem, {AllocationFor(oc.job, {"rx-n01", "rx-n02", "rx-n03"}),
                              Holder("peer", "t1", 50, {"rx-n04", "rx-n05"})});
  const Repaired r = RunRepair(before, FailNodes(before, {"rx-n01"}));
  const AllocationRepair& a = Find(r, "job");
  ASSERT_FALSE(a.repaired);
  EXPECT_FALSE(a.preemption.has_value());
  EXPECT_NE(a.no_preemption.find("no allocation of tenant t1 has a priority below 50"),
            std::string::npos)
      << a.no_preemption;
}

TEST(RepairPreemption, OtherTenantsOnlyWhenThePolicyAllows) {
  const OfferCase oc = MakeOfferCase();
  Scenario before = ScenarioOf(oc.problem, {AllocationFor(oc.job, {"rx-n01", "rx-n02", "rx-n03"}),
                                            Holder("theirs", "t2", 0, {"rx-n04", "rx-n05"})});
  const Repaired own = RunRepair(before, FailNodes(before, {"rx-n01"}));
  EXPECT_FALSE(Find(own, "job").preemption.has_value())
      << "another tenant's allocation without the provider's consent";
  before.policy.preempt_across_tenants = true;
  const Repaired across = RunRepair(before, FailNodes(before, {"rx-n01"}));
  const AllocationRepair& a = Find(across, "job");
  ASSERT_TRUE(a.preemption.has_value()) << a.no_preemption;
  ASSERT_EQ(a.preemption->evictions.size(), 1u);
  EXPECT_EQ(a.preemption->evictions[0].allocation, "theirs");
  EXPECT_EQ(a.preemption->evictions[0].tenant, "t2");
  ExpectOfferVerifies(across, oc.job, a);
}

TEST(RepairPreemption, AllocationPriorityOverridesItsRequests) {
  const OfferCase oc = MakeOfferCase();
  Allocation job = AllocationFor(oc.job, {"rx-n01", "rx-n02", "rx-n03"});
  job.priority = 3;  // below low-b's 5: nothing it may evict in rx
  const Scenario before =
      ScenarioOf(oc.problem, {job, Holder("low-b", "t1", 5, {"rx-n04", "rx-n05"})});
  const Repaired r = RunRepair(before, FailNodes(before, {"rx-n01"}));
  const AllocationRepair& a = Find(r, "job");
  ASSERT_FALSE(a.repaired);
  EXPECT_FALSE(a.preemption.has_value());
  EXPECT_NE(a.no_preemption.find("below 3"), std::string::npos) << a.no_preemption;
}

TEST(RepairPreemption, NotLookedForWhenTurnedOff) {
  const OfferCase oc = MakeOfferCase();
  const Scenario before =
      ScenarioOf(oc.problem, {AllocationFor(oc.job, {"rx-n01", "rx-n02", "rx-n03"}),
                              Holder("low-b", "t1", 5, {"rx-n04", "rx-n05"})});
  RepairOptions options;
  options.offer_preemption = false;
  const Repaired r = RunRepair(before, FailNodes(before, {"rx-n01"}), options);
  const AllocationRepair& a = Find(r, "job");
  EXPECT_FALSE(a.preemption.has_value());
  EXPECT_TRUE(a.no_preemption.empty());
}

// ---------------------------------------------------------------------------------------------
// Property tests.

constexpr int kPropertyCases = 160;

// Random allocations placed by the solver, then a random failure.
struct RandomCase {
  Scenario before, after;
  bool usable = false;
};

RandomCase MakeRandomCase(uint64_t seed) {
  RandomCase out;
  fixtures::RandomDataCentreOptions dco;
  dco.max_nodes = 24;
  const PlacementProblem problem = fixtures::RandomDataCentre(seed, dco);
  std::vector<Request> requests;
  for (int i = 0; i < 3; ++i) {
    Request r = fixtures::RandomRequest(seed * 31 + i, problem);
    r.name = "alloc-" + std::to_string(i);
    requests.push_back(r);
  }
  SolveOptions so;
  so.backend = "auto";
  so.time_limit_seconds = 2;
  so.explain = false;
  auto placed = SolveBatch(problem, requests, so);
  if (!placed.ok()) return out;
  std::vector<Allocation> allocations;
  for (size_t i = 0; i < requests.size(); ++i) {
    const PlacementResult& res = (*placed)[i];
    if (res.status != SolveStatus::kOptimal && res.status != SolveStatus::kFeasible) continue;
    std::vector<std::string> names;
    for (int n : res.nodes) names.push_back(problem.snapshot->inventory.nodes[n].name);
    allocations.push_back(AllocationFor(requests[i], names));
  }
  if (allocations.empty()) return out;
  out.before = ScenarioOf(problem, allocations);
  // The failure: a node, a rack, a leaf or a power domain of one allocated node.
  fixtures::Rng rng(seed ^ 0xFA11);
  const Allocation& victim = allocations[rng.Below(allocations.size())];
  const std::string& node = victim.nodes[rng.Below(victim.nodes.size())];
  const Node& n = out.before.inventory.nodes[out.before.inventory.NodeIndex(node)];
  switch (rng.Below(4)) {
    case 0: out.after = FailNodes(out.before, {node}); break;
    case 1: out.after = FailDomain(out.before, Level::kRack, n.rack); break;
    case 2: out.after = FailDomain(out.before, Level::kLeaf, n.leaf); break;
    default: out.after = FailDomain(out.before, Level::kPowerDomain, n.power_domain); break;
  }
  out.usable = true;
  return out;
}

TEST(RepairProperty, RepairsVerifyKeepSurvivorsAndMoveTheFewestNodes) {
  int checked = 0, repaired = 0, unrepairable = 0, skipped = 0;
  RepairOptions options;
  options.solve.time_limit_seconds = 5;
  options.explain = false;
  options.relocate = false;
  for (uint64_t seed = 1; seed <= kPropertyCases; ++seed) {
    const RandomCase rc = MakeRandomCase(seed);
    if (!rc.usable) continue;
    auto input = PrepareRepair(rc.before, rc.after);
    ASSERT_TRUE(input.ok()) << input.status().message();
    for (const RepairCase& c : input->cases) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " allocation " + c.allocation);
      auto single = RepairAllocations(input->problem, {c}, options);
      ASSERT_TRUE(single.ok());
      const AllocationRepair& a = (*single)[0];
      const std::optional<int> oracle = whatif_testing::FewestMovesExhaustive(input->problem, c);
      if (!oracle) {
        ++skipped;
        continue;
      }
      ++checked;
      if (a.repaired) {
        ++repaired;
        std::vector<int> all = a.kept;
        all.insert(all.end(), a.replacements.begin(), a.replacements.end());
        Request r = *c.request;
        EXPECT_TRUE(VerifyPlacement(input->problem, r, all, a.kept).empty());
        for (int node : a.replacements)
          EXPECT_FALSE(std::binary_search(a.kept.begin(), a.kept.end(), node));
        EXPECT_EQ(a.kept, c.kept) << "every surviving node stays";
        EXPECT_EQ(a.status, SolveStatus::kOptimal);
        EXPECT_EQ(a.moves, *oracle) << "the fewest moves, as the exhaustive search finds";
      } else {
        ++unrepairable;
        EXPECT_EQ(a.status, SolveStatus::kInfeasible) << a.reason;
        EXPECT_EQ(*oracle, -1) << "the exhaustive search repairs it with " << *oracle
                               << " moves; the repair said: " << a.reason;
      }
    }
  }
  std::cout << "repair property: " << checked << " cases checked (" << repaired << " repaired, "
            << unrepairable << " unrepairable), " << skipped << " too large for the oracle\n";
  EXPECT_GT(repaired, 40);
  EXPECT_GT(unrepairable, 5);
}

TEST(RepairProperty, JointRepairsNeverMoveUnaffectedNodes) {
  RepairOptions options;
  options.solve.time_limit_seconds = 5;
  options.explain = false;
  options.relocate = false;
  int joint = 0;
  for (uint64_t seed = 1; seed <= kPropertyCases; ++seed) {
    const RandomCase rc = MakeRandomCase(seed);
    if (!rc.usable) continue;
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto input = PrepareRepair(rc.before, rc.after);
    ASSERT_TRUE(input.ok());
    PlacementProblem after;
    auto repairs = RepairAllocations(input->problem, input->cases, options, &after);
    ASSERT_TRUE(repairs.ok());
    const Inventory& was = input->problem.snapshot->inventory;
    const Inventory& now = after.snapshot->inventory;
    std::set<int> replaced;
    for (size_t i = 0; i < repairs->size(); ++i) {
      const AllocationRepair& a = (*repairs)[i];
      if (!a.repaired) continue;
      ++joint;
      std::vector<int> all = a.kept;
      all.insert(all.end(), a.replacements.begin(), a.replacements.end());
      // Against the final state: every repaired allocation still verifies as a whole.
      EXPECT_TRUE(VerifyPlacement(after, *input->cases[i].request, all, all).empty());
      for (int node : a.replacements) EXPECT_TRUE(replaced.insert(node).second);
    }
    for (size_t node = 0; node < was.nodes.size(); ++node) {
      if (replaced.count(static_cast<int>(node))) continue;
      EXPECT_EQ(was.nodes[node].holder, now.nodes[node].holder)
          << "node " << was.nodes[node].name << " changed hands without being a replacement";
      EXPECT_EQ(was.nodes[node].state, now.nodes[node].state);
    }
  }
  EXPECT_GT(joint, 40);
}

// The preemption offers against an exhaustive search over eviction subsets: for every allocation
// left unrepairable, the fewest lower-priority evictions (then the least priority sum) after which
// some set of replacements passes the verifier. A proven-minimal offer matches it, an offer is
// never smaller than it, a proven "none" means it finds none, and every offer verifies.
TEST(RepairPreemptionProperty, OffersMatchAnExhaustiveSearchOverEvictionSets) {
  RepairOptions options;
  options.solve.time_limit_seconds = 5;
  options.explain = false;
  options.relocate = false;
  int offers = 0, proven_none = 0, compared = 0;
  for (uint64_t seed = 1; seed <= 240; ++seed) {
    fixtures::RandomDataCentreOptions dco;
    dco.max_nodes = 16;
    const PlacementProblem problem = fixtures::RandomDataCentre(seed, dco);
    fixtures::Rng rng(seed ^ 0x9EE7);
    std::vector<Request> requests;
    for (int i = 0; i < 5; ++i) {
      Request r = fixtures::RandomRequest(seed * 37 + i, problem);
      r.name = "alloc-" + std::to_string(i);
      r.preemption.reset();
      requests.push_back(r);
    }
    SolveOptions so;
    so.time_limit_seconds = 2;
    so.explain = false;
    auto placed = SolveBatch(problem, requests, so);
    ASSERT_TRUE(placed.ok());
    std::vector<Allocation> allocations;
    for (size_t i = 0; i < requests.size(); ++i) {
      if (!HasPlacement((*placed)[i].status)) continue;
      Allocation a = AllocationFor(requests[i], fixtures::NodeNames(problem, (*placed)[i].nodes));
      a.priority = static_cast<int>(rng.Below(4));
      allocations.push_back(std::move(a));
    }
    if (allocations.size() < 2) continue;
    Scenario before = ScenarioOf(problem, allocations);
    before.policy.preempt_across_tenants = rng.Percent(50);
    // The failure hits the most important allocation: the one with the most to evict.
    const Allocation& hit = *std::max_element(
        allocations.begin(), allocations.end(),
        [](const Allocation& x, const Allocation& y) { return *x.priority < *y.priority; });
    const Scenario after = FailNodes(before, {hit.nodes[rng.Below(hit.nodes.size())]});
    auto input = PrepareRepair(before, after);
    ASSERT_TRUE(input.ok()) << input.status().message();
    for (const RepairCase& c : input->cases) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " allocation " + c.allocation);
      auto single = RepairAllocations(input->problem, {c}, options);
      ASSERT_TRUE(single.ok());
      const AllocationRepair& a = (*single)[0];
      if (a.repaired || !c.request) continue;
      // The legal victims, and the least (count, priority sum) after which a repair exists.
      const PlacementProblem& p = input->problem;
      std::vector<int> victims;
      for (size_t i = 0; i < p.holdings.size(); ++i) {
        const Holding& h = p.holdings[i];
        if (h.name == c.allocation || h.nodes.empty() || h.priority >= *c.priority) continue;
        if (!p.preempt_across_tenants && h.tenant != c.tenant) continue;
        victims.push_back(static_cast<int>(i));
      }
      std::optional<std::pair<int, int>> best;
      bool oracle_complete = true;
      for (uint32_t mask = 1; mask < (1u << victims.size()); ++mask) {
        std::vector<std::string> names;
        int sum = 0;
        for (size_t i = 0; i < victims.size(); ++i) {
          if (!(mask & (1u << i))) continue;
          names.push_back(p.holdings[victims[i]].name);
          sum += p.holdings[victims[i]].priority;
        }
        const std::pair<int, int> key{static_cast<int>(names.size()), sum};
        if (best && key >= *best) continue;
        const std::optional<int> moves =
            whatif_testing::FewestMovesExhaustive(AfterEvictions(p, names), c);
        if (!moves) {
          oracle_complete = false;
          continue;
        }
        if (*moves >= 0) best = key;
      }
      if (a.preemption) {
        ++offers;
        const RepairPreemption& offer = *a.preemption;
        std::vector<std::string> evicted;
        for (const Eviction& e : offer.evictions) evicted.push_back(e.allocation);
        // The offer verifies: the allocation placed afresh (its kept nodes released first).
        Request preempting = *c.request;
        preempting.name = c.allocation;
        preempting.tenant = c.tenant;
        preempting.priority = *c.priority;
        preempting.preemption = Preemption{};
        if (p.preempt_across_tenants) preempting.preemption->scope = PreemptionScope::kAll;
        std::vector<int> all = a.kept;
        all.insert(all.end(), offer.replacements.begin(), offer.replacements.end());
        std::sort(all.begin(), all.end());
        const std::vector<std::string> self = {c.allocation};
        for (const Violation& v :
             VerifyPreemptingPlacement(AfterEvictions(p, self), preempting, all, evicted))
          ADD_FAILURE() << v.constraint << ": " << v.detail;
        if (!oracle_complete) continue;
        ++compared;
        ASSERT_TRUE(best.has_value())
            << "the exhaustive search finds no eviction set that repairs it";
        const std::pair<int, int> got{static_cast<int>(offer.evictions.size()), offer.priority_sum};
        EXPECT_GE(got, *best);
        if (offer.minimal) {
          EXPECT_EQ(got, *best) << "offer proven minimal";
        }
      } else if (a.no_preemption.ends_with("(proven)") ||
                 a.no_preemption.find("no allocation") == 0) {
        ++proven_none;
        if (!oracle_complete) continue;
        ++compared;
        EXPECT_FALSE(best.has_value()) << a.no_preemption << "; the exhaustive search evicts "
                                       << best->first << " with priority sum " << best->second;
      }
    }
  }
  std::cout << "repair preemption property: " << offers << " offers, " << proven_none
            << " proven none, " << compared << " compared with the exhaustive search\n";
  EXPECT_GT(offers, 5);
  EXPECT_GT(compared, 20);
}

}  // namespace
}  // namespace topoplace
