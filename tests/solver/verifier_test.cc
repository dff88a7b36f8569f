// The verifier reports each kind of violation under its constraint name, and nothing for a valid
// placement. Every case checks the full set of names, so a spurious extra report fails too.
#include "solver/verifier.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/solver/fixtures.h"

namespace topoplace {
namespace {

using fixtures::MakeProblem;
using fixtures::MakeQuota;
using fixtures::MakeTenant;
using fixtures::NodeIds;
using fixtures::ReferenceDataCentre;
using fixtures::ReferenceTenants;
using fixtures::RequestBuilder;

std::set<std::string> Names(const std::vector<Violation>& violations) {
  std::set<std::string> names;
  for (const auto& v : violations) names.insert(v.constraint);
  return names;
}

std::string Describe(const std::vector<Violation>& violations) {
  std::string out;
  for (const auto& v : violations) out += v.constraint + ": " + v.detail + "\n";
  return out;
}

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest() : problem_(MakeProblem(ReferenceDataCentre(), ReferenceTenants())) {}

  std::set<std::string> Check(const Request& request, const std::vector<std::string>& nodes,
                              const std::vector<std::string>& current = {}) {
    last_ =
        VerifyPlacement(problem_, request, NodeIds(problem_, nodes), NodeIds(problem_, current));
    return Names(last_);
  }

  PlacementProblem problem_;
  std::vector<Violation> last_;
};

using Set = std::set<std::string>;

TEST_F(VerifierTest, ValidPlacementHasNoViolations) {
  Request r = RequestBuilder("ok", "nlp-lab")
                  .Nodes(2)
                  .Classes({"h100x8"})
                  .GpuModels({"H100*"})
                  .GpuCount(">=8")
                  .LabelIn("fw", {"2"})
                  .Locality(Level::kLeaf)
                  .SpreadMaxPerDomain(Level::kPowerDomain, 1)
                  .Compliance({"hipaa"})
                  .Exclusive(Level::kRack)
                  .Roce()
                  .Budget(196.64);
  EXPECT_EQ(Check(r, {"r1-n01", "r1-n02"}), Set{}) << Describe(last_);
}

TEST_F(VerifierTest, CountIsExact) {
  Request r = RequestBuilder("n3", "cv-lab").Nodes(3);
  EXPECT_EQ(Check(r, {"r2-n01", "r2-n02"}), Set{"count"});
  EXPECT_EQ(Check(r, {}), Set{"count"});
  const std::vector<int> twice = {fixtures::NodeId(problem_, "r2-n01"),
                                  fixtures::NodeId(problem_, "r2-n01"),
                                  fixtures::NodeId(problem_, "r2-n02")};
  EXPECT_EQ(Names(VerifyPlacement(problem_, r, twice)), Set{"count"});
}

TEST_F(VerifierTest, GpuCountMustBeReachedWithoutRedundantNodes) {
  Request r = RequestBuilder("g12", "cv-lab").Gpus(12);
  EXPECT_EQ(Check(r, {"r2-n01"}), Set{"count"});                        // 8 < 12
  EXPECT_EQ(Check(r, {"r2-n01", "r4-n01"}), Set{}) << Describe(last_);  // 8 + 4
  EXPECT_EQ(Check(r, {"r2-n01", "r2-n02"}), Set{}) << Describe(last_);  // 16, neither redundant
  EXPECT_EQ(Check(r, {"r2-n01", "r2-n02", "r4-n01"}), Set{"count"});  // the L40S node is redundant
  EXPECT_EQ(Check(r, {"r2-n01", "r4-n01", "r4-n03"}),
            Set{"count"});  // a CPU node is always redundant
}

TEST_F(VerifierTest, AvailabilityCoversStatesHoldersAndBadIndices) {
  fixtures::DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r2-n01", "cv-lab")
      .SetState("r2-n02", NodeState::kMaintenance)
      .SetState("r2-n03", NodeState::kFailed);
  b.Hold("r2-n04", "nlp-lab");
  problem_ = MakeProblem(b, ReferenceTenants());
  Request r = RequestBuilder("one", "nlp-lab").Nodes(1);
  EXPECT_EQ(Check(r, {"r2-n01"}), Set{"availability"});
  EXPECT_EQ(Check(r, {"r2-n02"}), Set{"availability"});
  EXPECT_EQ(Check(r, {"r2-n03"}), Set{"availability"});
  // Held by the request's own tenant: only as part of the current placement.
  EXPECT_EQ(Check(r, {"r2-n04"}), Set{"availability"});
  EXPECT_EQ(Check(r, {"r2-n04"}, {"r2-n04"}), Set{}) << Describe(last_);
  // Another tenant's node does not become usable by naming it current.
  EXPECT_EQ(Check(r, {"r2-n01"}, {"r2-n01"}), Set{"availability"});
  const std::vector<int> bad = {999};
  EXPECT_EQ(Names(VerifyPlacement(problem_, r, bad)), (Set{"availability", "count"}));
}

TEST_F(VerifierTest, SelectChecksEveryPredicate) {
  const std::vector<std::string> h100 = {"r1-n01"};
  EXPECT_EQ(Check(RequestBuilder("c", "cv-lab").Nodes(1).Classes({"a100x8"}), h100), Set{"select"});
  EXPECT_EQ(Check(RequestBuilder("m", "cv-lab").Nodes(1).GpuModels({"A100*", "L40?"}), h100),
            Set{"select"});
  EXPECT_EQ(Check(RequestBuilder("g", "cv-lab").Nodes(1).GpuCount("<8"), h100), Set{"select"});
  EXPECT_EQ(Check(RequestBuilder("mem", "cv-lab").Nodes(1).MemoryGib("<1024"), h100),
            Set{"select"});
  EXPECT_EQ(Check(RequestBuilder("cpu", "cv-lab").Nodes(1).CpuCores(">=128"), h100), Set{"select"});
  EXPECT_EQ(Check(RequestBuilder("st", "cv-lab").Nodes(1).StorageGib("<=20000"), h100),
            Set{"select"});
  EXPECT_EQ(Check(RequestBuilder("fw", "cv-lab").Nodes(1).LabelIn("fw", {"2"}), {"r2-n03"}),
            Set{"select"});
  EXPECT_EQ(Check(RequestBuilder("nofw", "cv-lab").Nodes(1).LabelExists("fw", false), h100),
            Set{"select"});
  EXPECT_EQ(Check(RequestBuilder("nogpu", "cv-lab").Nodes(1).GpuModels({"H*"}), {"r4-n03"}),
            Set{"select"});
  // The same predicates pass on a node that has what they ask for.
  EXPECT_EQ(Check(RequestBuilder("all", "cv-lab")
                      .Nodes(1)
                      .Classes({"a100x8"})
                      .GpuModels({"A100*"})
                      .GpuCount("==8")
                      .MemoryGib(">=1024")
                      .CpuCores(">=128")
                      .StorageGib("<=20000")
                      .LabelNotIn("fw", {"1"}),
                  {"r3-n01"}),
            Set{})
      << Describe(last_);
}

TEST_F(VerifierTest, ComplianceUsesRackTagsSiteTagsAndJurisdiction) {
  EXPECT_EQ(Check(RequestBuilder("h", "nlp-lab").Nodes(1).Compliance({"hipaa"}), {"r2-n01"}),
            Set{"compliance"});
  EXPECT_EQ(Check(RequestBuilder("h", "nlp-lab").Nodes(1).Compliance({"hipaa"}), {"r3-n01"}),
            Set{});
  EXPECT_EQ(Check(RequestBuilder("g", "nlp-lab").Nodes(1).Compliance({"gdpr"}), {"r1-n01"}),
            Set{"compliance"});
  EXPECT_EQ(Check(RequestBuilder("g", "nlp-lab").Nodes(1).Compliance({"gdpr", "iso27001"}),
                  {"r-eu1-n01"}),
            Set{});
  EXPECT_EQ(Check(RequestBuilder("i", "nlp-lab").Nodes(1).Compliance({"iso27001"}), {"r1-n01"}),
            Set{"compliance"});
}

TEST_F(VerifierTest, ExclusiveRejectsRacksAndLeavesSharedWithOtherTenants) {
  fixtures::DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r1-n04", "cv-lab").Hold("r2-n04", "nlp-lab");
  problem_ = MakeProblem(b, ReferenceTenants());
  EXPECT_EQ(Check(RequestBuilder("x", "nlp-lab").Nodes(1).Exclusive(Level::kRack), {"r1-n01"}),
            Set{"exclusive"});
  EXPECT_EQ(Check(RequestBuilder("x", "nlp-lab").Nodes(1).Exclusive(Level::kLeaf), {"r1-n01"}),
            Set{"exclusive"});
  // Sharing with the tenant itself is fine.
  EXPECT_EQ(Check(RequestBuilder("x", "nlp-lab").Nodes(1).Exclusive(Level::kRack), {"r2-n01"}),
            Set{});
  EXPECT_EQ(Check(RequestBuilder("x", "cv-lab").Nodes(1).Exclusive(Level::kRack), {"r1-n01"}),
            Set{});
}

TEST_F(VerifierTest, AnotherTenantsExclusiveDomainIsClosedToEveryRequest) {
  fixtures::DataCentreBuilder b = ReferenceDataCentre();
  b.HoldExclusive("r1-n04", "cv-lab", Level::kRack);
  problem_ = MakeProblem(b, ReferenceTenants());
  // A request that did not ask for exclusivity still may not enter cv-lab's rack.
  EXPECT_EQ(Check(RequestBuilder("x", "nlp-lab").Nodes(1), {"r1-n01"}), Set{"exclusive"});
  EXPECT_NE(last_.front().detail.find("r1"), std::string::npos) << Describe(last_);
  EXPECT_EQ(Check(RequestBuilder("x", "nlp-lab").Nodes(1), {"r2-n01"}), Set{});
  // cv-lab itself may.
  EXPECT_EQ(Check(RequestBuilder("x", "cv-lab").Nodes(1), {"r1-n01"}), Set{});
}

TEST_F(VerifierTest, RequiredLocalityCountsDomains) {
  const std::vector<std::string> two_leaves = {"r1-n01", "r2-n01"};
  EXPECT_EQ(Check(RequestBuilder("l", "cv-lab").Nodes(2).Locality(Level::kLeaf), two_leaves),
            Set{"locality"});
  EXPECT_EQ(
      Check(
          RequestBuilder("l", "cv-lab").Nodes(2).Locality(Level::kLeaf, LocalityMode::kRequired, 2),
          two_leaves),
      Set{});
  EXPECT_EQ(Check(RequestBuilder("l", "cv-lab").Nodes(2).Locality(Level::kPod), two_leaves), Set{});
  EXPECT_EQ(Check(RequestBuilder("l", "cv-lab").Nodes(2).PreferLocality(Level::kLeaf), two_leaves),
            Set{});
  EXPECT_EQ(
      Check(RequestBuilder("l", "cv-lab").Nodes(2).Locality(Level::kSite), {"r1-n01", "r-eu1-n01"}),
      Set{"locality"});
  // NVLink domains of gb200x4 pair consecutive nodes of a rack.
  fixtures::DataCentreBuilder b = ReferenceDataCentre();
  b.Nodes("r4", "leaf-4", "gb200x4", 4);
  problem_ = MakeProblem(b, ReferenceTenants());
  EXPECT_EQ(
      Check(RequestBuilder("nv", "cv-lab").Nodes(2).Locality(Level::kNvlink), {"r4-n05", "r4-n06"}),
      Set{});
  EXPECT_EQ(
      Check(RequestBuilder("nv", "cv-lab").Nodes(2).Locality(Level::kNvlink), {"r4-n06", "r4-n07"}),
      Set{"locality"});
}

TEST_F(VerifierTest, SpreadCapsAndMinimumDomains) {
  // r1-n01 and r1-n03 are both on us-pd-a; r1-n02 is on us-pd-b.
  const std::vector<std::string> same_feed = {"r1-n01", "r1-n03"};
  EXPECT_EQ(Check(RequestBuilder("s", "cv-lab").Nodes(2).SpreadMaxPerDomain(Level::kPowerDomain, 1),
                  same_feed),
            Set{"spread"});
  EXPECT_EQ(
      Check(RequestBuilder("s", "cv-lab").Nodes(2).SpreadMaxFraction(Level::kPowerDomain, 0.5),
            same_feed),
      Set{"spread"});
  EXPECT_EQ(Check(RequestBuilder("s", "cv-lab").Nodes(2).SpreadMinDomains(Level::kPowerDomain, 2),
                  same_feed),
            Set{"spread"});
  EXPECT_EQ(Check(RequestBuilder("s", "cv-lab")
                      .Nodes(2)
                      .SpreadMaxFraction(Level::kPowerDomain, 0.5)
                      .SpreadMinDomains(Level::kPowerDomain, 2),
                  {"r1-n01", "r1-n02"}),
            Set{});
  // A cap of ceil(0.67 * 3) = 3 allows all three on one rack.
  EXPECT_EQ(Check(RequestBuilder("s", "cv-lab").Nodes(3).SpreadMaxFraction(Level::kRack, 0.67),
                  {"r1-n01", "r1-n02", "r1-n03"}),
            Set{});
}

TEST_F(VerifierTest, RoceNeedsOneLeafVendor) {
  EXPECT_EQ(Check(RequestBuilder("r", "cv-lab").Nodes(2).Roce(), {"r1-n01", "r3-n01"}),
            Set{"roce"});
  EXPECT_EQ(Check(RequestBuilder("r", "cv-lab").Nodes(2).Roce(), {"r1-n01", "r2-n01"}), Set{});
  EXPECT_EQ(Check(RequestBuilder("r", "cv-lab").Nodes(2), {"r1-n01", "r3-n01"}), Set{});
}

TEST_F(VerifierTest, RequestBudgetAllowsEqualityButNotMore) {
  EXPECT_EQ(Check(RequestBuilder("b", "cv-lab").Nodes(2).Budget(196.64), {"r1-n01", "r1-n02"}),
            Set{});
  EXPECT_EQ(Check(RequestBuilder("b", "cv-lab").Nodes(2).Budget(196.6), {"r1-n01", "r1-n02"}),
            Set{"budget"});
}

TEST_F(VerifierTest, QuotaCountsHoldingsButNotTheCurrentPlacement) {
  fixtures::DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r3-n01", "bio-lab").Hold("r3-n02", "bio-lab");
  std::vector<Tenant> tenants = ReferenceTenants();
  tenants[2] = MakeTenant("bio-lab", {"hipaa"}, MakeQuota(3, 24));
  problem_ = MakeProblem(b, tenants);
  Request two = RequestBuilder("q", "bio-lab").Nodes(2);
  // Holds 2 nodes (16 GPUs): 2 more would make 4 nodes > 3.
  EXPECT_EQ(Check(two, {"r2-n01", "r2-n02"}), Set{"quota"});
  Request one = RequestBuilder("q", "bio-lab").Nodes(1);
  EXPECT_EQ(Check(one, {"r2-n01"}), Set{}) << Describe(last_);
  EXPECT_EQ(Check(one, {"r4-n01"}), Set{}) << Describe(last_);
  // A re-solve of the current pair: the pair itself no longer counts as held.
  EXPECT_EQ(Check(two, {"r3-n01", "r3-n02"}, {"r3-n01", "r3-n02"}), Set{}) << Describe(last_);
  Request three = RequestBuilder("q", "bio-lab").Nodes(3);
  EXPECT_EQ(Check(three, {"r3-n01", "r3-n02", "r2-n01"}, {"r3-n01", "r3-n02"}), Set{})
      << Describe(last_);
  // Only r3-n01 is current: r3-n02 stays held, so 1 + 3 nodes exceed 3.
  EXPECT_EQ(Check(three, {"r3-n01", "r2-n02", "r2-n01"}, {"r3-n01"}), Set{"quota"});
}

TEST_F(VerifierTest, QuotaOnEachResource) {
  std::vector<Tenant> tenants = ReferenceTenants();
  const std::vector<std::string> pair = {"r1-n01", "r1-n02"};  // 2x h100x8
  const std::vector<Quota> tight = {MakeQuota(1), MakeQuota({}, 15), MakeQuota({}, {}, 223),
                                    MakeQuota({}, {}, {}, 4095), MakeQuota({}, {}, {}, {}, 59999)};
  for (const Quota& q : tight) {
    tenants[1] = MakeTenant("cv-lab", {}, q);
    problem_ = MakeProblem(ReferenceDataCentre(), tenants);
    EXPECT_EQ(Check(RequestBuilder("q", "cv-lab").Nodes(2), pair), Set{"quota"});
  }
  tenants[1] = MakeTenant("cv-lab", {}, MakeQuota(2, 16, 224, 4096, 60000));
  problem_ = MakeProblem(ReferenceDataCentre(), tenants);
  EXPECT_EQ(Check(RequestBuilder("q", "cv-lab").Nodes(2), pair), Set{}) << Describe(last_);
}

TEST_F(VerifierTest, TenantBudgetCountsCurrentSpend) {
  fixtures::DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r3-n01", "cv-lab");  // 32.77/h already spent
  std::vector<Tenant> tenants = ReferenceTenants();
  tenants[1] = MakeTenant("cv-lab", {}, {}, 131.09);
  problem_ = MakeProblem(b, tenants);
  EXPECT_EQ(Check(RequestBuilder("t", "cv-lab").Nodes(1), {"r1-n01"}), Set{})
      << Describe(last_);  // 130.09
  EXPECT_EQ(Check(RequestBuilder("t", "cv-lab").Nodes(1), {"r3-n02"}), Set{});
  EXPECT_EQ(Check(RequestBuilder("t", "cv-lab").Nodes(2), {"r1-n01", "r4-n03"}),
            Set{"tenantBudget"});
}

TEST_F(VerifierTest, SeveralViolationsAreAllReported) {
  fixtures::DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r3-n04", "cv-lab");
  problem_ = MakeProblem(b, ReferenceTenants());
  Request r = RequestBuilder("many", "nlp-lab")
                  .Nodes(2)
                  .Classes({"h100x8"})
                  .Locality(Level::kLeaf)
                  .Compliance({"gdpr"})
                  .Exclusive(Level::kRack)
                  .Roce()
                  .Budget(10);
  EXPECT_EQ(Check(r, {"r1-n01", "r3-n01"}),
            (Set{"select", "locality", "compliance", "exclusive", "roce", "budget"}));
  for (const auto& v : last_) EXPECT_FALSE(v.detail.empty()) << v.constraint;
}

}  // namespace
}  // namespace topoplace
