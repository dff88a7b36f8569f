// Tenant projects and cluster templates in the solver: a project's quota binds as well as its
// tenant's, in single and batch solves, in the verifier and in explanations; a template's node
// sets are placed together, each by its own constraints, or not at all. Every answer goes
// through the independent verifier.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
using fixtures::MakeQuota;
using fixtures::MakeTenant;
using fixtures::NodeIds;
using fixtures::NodeNames;
using fixtures::ReferenceDataCentre;
using fixtures::RequestBuilder;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

bool Placed(const PlacementResult& r) { return HasPlacement(r.status); }

Project MakeProject(std::string name, Quota quota) {
  Project p;
  p.name = std::move(name);
  p.quota = quota;
  return p;
}

// nlp-lab with quota `tenant_nodes` and projects llm and speech of `project_nodes` nodes each.
Tenant Lab(int64_t tenant_nodes, int64_t project_nodes) {
  Tenant t = MakeTenant("nlp-lab", {"hipaa"}, MakeQuota(tenant_nodes));
  t.projects = {MakeProject("llm", MakeQuota(project_nodes)),
                MakeProject("speech", MakeQuota(project_nodes))};
  return t;
}

// The reference data centre with `held` nodes allocated to nlp-lab's project `project`.
PlacementProblem WithHeld(const Tenant& lab, const std::vector<std::string>& held,
                          const std::string& project) {
  DataCentreBuilder b = ReferenceDataCentre();
  for (const std::string& n : held) b.Hold(n, "nlp-lab");
  PlacementProblem problem = MakeProblem(b, {lab, MakeTenant("cv-lab")});
  AddProjectUsage(problem.project_usage, problem.snapshot->inventory, "nlp-lab", project,
                  NodeIds(problem, held));
  return problem;
}

Request ForProject(std::string name, std::string project, int nodes) {
  Request r = RequestBuilder(std::move(name), "nlp-lab").Nodes(nodes).Build();
  r.project = std::move(project);
  return r;
}

std::vector<std::string> Violations(const PlacementProblem& problem, const Request& r,
                                    const std::vector<int>& nodes) {
  std::vector<std::string> out;
  for (const Violation& v : VerifyPlacement(problem, r, nodes))
    out.push_back(v.constraint + ": " + v.detail);
  return out;
}

// `problem` with `nodes` taken by the request's tenant and project, as a solve of the next
// request in a batch sees it.
PlacementProblem Taken(const PlacementProblem& problem, const Request& r,
                       const std::vector<int>& nodes) {
  Inventory inv = problem.snapshot->inventory;
  for (int node : nodes) {
    inv.nodes[node].state = NodeState::kAllocated;
    inv.nodes[node].holder = r.tenant;
    inv.nodes[node].exclusive = r.exclusive;
  }
  PlacementProblem next = MakeProblem(std::move(inv), problem.tenants);
  next.project_usage = problem.project_usage;
  AddProjectUsage(next.project_usage, next.snapshot->inventory, r.tenant, r.project, nodes);
  return next;
}

Result<std::vector<PlacementResult>> SolveOne(const PlacementProblem& problem, const Request& r) {
  return Solve(problem, {r}, SolveOptions{});
}

TEST(ProjectQuotaTest, TwoProjectsCannotTogetherExceedTheTenantsQuota) {
  // The tenant may hold 6 nodes, each project 4: llm holds 3, so speech, within its own 4, finds
  // only the tenant's last 3.
  const PlacementProblem problem = WithHeld(Lab(6, 4), {"r2-n01", "r2-n02", "r2-n03"}, "llm");
  const Request four = ForProject("speech-4", "speech", 4);
  auto r = SolveOne(problem, four);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].status, SolveStatus::kInfeasible);
  ASSERT_TRUE((*r)[0].explanation.has_value());
  const Explanation& why = *(*r)[0].explanation;
  ASSERT_THAT(why.conflict, ::testing::Not(IsEmpty()));
  EXPECT_EQ(why.conflict[0].constraint, "quota");  // the tenant's, not the project's
  EXPECT_THAT(why.conflict[0].detail, HasSubstr("quota leaves 3 nodes"));

  const Request three = ForProject("speech-3", "speech", 3);
  auto ok = SolveOne(problem, three);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_TRUE(Placed((*ok)[0]));
  EXPECT_THAT((*ok)[0].nodes, SizeIs(3));
  EXPECT_THAT(Violations(problem, three, (*ok)[0].nodes), IsEmpty());
}

TEST(ProjectQuotaTest, AProjectsQuotaBindsBeforeTheTenants) {
  // Plenty of tenant quota (16 nodes); llm may hold 4 and holds 2 already.
  const PlacementProblem problem = WithHeld(Lab(16, 4), {"r2-n01", "r2-n02"}, "llm");
  const Request four = ForProject("llm-4", "llm", 4);
  auto r = SolveOne(problem, four);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].status, SolveStatus::kInfeasible);
  ASSERT_TRUE((*r)[0].explanation.has_value());
  const Explanation& why = *(*r)[0].explanation;
  ASSERT_THAT(why.conflict, ::testing::Not(IsEmpty()));
  EXPECT_EQ(why.conflict[0].constraint, "projectQuota");
  EXPECT_EQ(why.conflict[0].detail,
            "project llm of nlp-lab: quota nodes 4, 2 held; 4 nodes requested");
  EXPECT_THAT(why.summary, HasSubstr("quota(project llm)"));
  EXPECT_THAT(why.relaxations, ::testing::Contains("feasible with project llm of nlp-lab quota "
                                                   "+2 nodes"));

  // The same request for the other project, whose share is untouched, is placed.
  const Request speech = ForProject("speech-4", "speech", 4);
  auto other = SolveOne(problem, speech);
  ASSERT_TRUE(other.ok()) << other.status().message();
  ASSERT_TRUE(Placed((*other)[0]));
  EXPECT_THAT(Violations(problem, speech, (*other)[0].nodes), IsEmpty());
  // And two nodes for llm fit its share exactly.
  const Request two = ForProject("llm-2", "llm", 2);
  auto fits = SolveOne(problem, two);
  ASSERT_TRUE(fits.ok()) << fits.status().message();
  ASSERT_TRUE(Placed((*fits)[0]));
  EXPECT_THAT(Violations(problem, two, (*fits)[0].nodes), IsEmpty());
}

TEST(ProjectQuotaTest, ABatchCountsEachPlacementAgainstItsProjectForTheRequestsAfterIt) {
  const PlacementProblem problem = WithHeld(Lab(16, 4), {}, "llm");
  const std::vector<Request> requests = {ForProject("llm-a", "llm", 3),
                                         ForProject("llm-b", "llm", 3),
                                         ForProject("speech-a", "speech", 3)};
  SolveOptions options;
  auto r = SolveBatch(problem, requests, options);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_THAT(*r, SizeIs(3));
  EXPECT_TRUE(Placed((*r)[0]));
  EXPECT_EQ((*r)[1].status, SolveStatus::kInfeasible);  // llm has 1 node of its 4 left
  ASSERT_TRUE((*r)[1].explanation.has_value());
  EXPECT_EQ((*r)[1].explanation->conflict[0].detail,
            "project llm of nlp-lab: quota nodes 4, 3 held; 3 nodes requested");
  EXPECT_TRUE(Placed((*r)[2]));  // speech's share is its own
  // Each placement verifies against the state the ones before it left.
  PlacementProblem state = problem;
  for (size_t i : {0, 2}) {
    EXPECT_THAT(Violations(state, requests[i], (*r)[i].nodes), IsEmpty()) << requests[i].name;
    state = Taken(state, requests[i], (*r)[i].nodes);
  }
  // Had the second llm request been placed anyway, the verifier would have caught it.
  const std::vector<int> free_three = NodeIds(state, {"r3-n01", "r3-n02", "r3-n03"});
  EXPECT_THAT(Violations(Taken(problem, requests[0], (*r)[0].nodes), requests[1], free_three),
              ::testing::Contains(HasSubstr("projectQuota: project llm of nlp-lab: nodes: 3 "
                                            "held + 3 placed exceeds the project quota 4")));
}

TEST(ProjectQuotaTest, TheVerifierRejectsAPlacementThatBreaksAProjectQuota) {
  // llm may hold 2 and holds 1; a hand-made placement of 2 more breaks only the project's quota.
  const PlacementProblem problem = WithHeld(Lab(16, 2), {"r2-n01"}, "llm");
  const std::vector<int> nodes = NodeIds(problem, {"r1-n01", "r1-n02"});
  EXPECT_THAT(Violations(problem, ForProject("llm-2", "llm", 2), nodes),
              ::testing::ElementsAre("projectQuota: project llm of nlp-lab: nodes: 1 held + 2 "
                                     "placed exceeds the project quota 2"));
  // The same nodes for speech, which holds nothing, are fine; so for the default project, which
  // has no quota of its own.
  EXPECT_THAT(Violations(problem, ForProject("speech-2", "speech", 2), nodes), IsEmpty());
  EXPECT_THAT(Violations(problem, ForProject("default-2", "", 2), nodes), IsEmpty());
}

TEST(ProjectQuotaTest, ARequestMustNameAProjectOfItsTenant) {
  const PlacementProblem problem = WithHeld(Lab(16, 4), {}, "llm");
  Status st = ValidateRequest(problem, ForProject("x", "vision", 1));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.reason(), "unknown_project");
  EXPECT_THAT(st.message(), HasSubstr("project \"vision\" is not a project of tenant \"nlp-lab\"; "
                                      "expected one of llm, speech"));
  EXPECT_TRUE(ValidateRequest(problem, ForProject("x", "default", 1)).ok());
  EXPECT_TRUE(ValidateRequest(problem, ForProject("x", "", 1)).ok());
}

// ---------------------------------------------------------------------------------------------
// Templates.

NodeSet Set(std::string name, std::string node_class, int size,
            std::optional<Locality> locality = std::nullopt) {
  NodeSet s;
  s.name = std::move(name);
  s.node_class = std::move(node_class);
  s.size = size;
  s.locality = locality;
  return s;
}

constexpr Locality kOneLeaf{Level::kLeaf, LocalityMode::kRequired, 1};
constexpr Locality kOneRack{Level::kRack, LocalityMode::kRequired, 1};

// Replays a placed template in its placement order and verifies every set against the state the
// sets before it left; returns the union of the sets' nodes.
std::set<int> VerifyTemplate(const PlacementProblem& problem, const ClusterTemplate& t,
                             const std::string& tenant, const std::string& project,
                             const TemplateResult& placed) {
  const std::vector<Request> requests = ExpandTemplate(t, "c1", tenant, project);
  EXPECT_EQ(placed.sets.size(), requests.size());
  EXPECT_EQ(placed.placement_order.size(), requests.size());
  std::set<int> all;
  PlacementProblem state = problem;
  for (int i : placed.placement_order) {
    const PlacementResult& r = placed.sets[i];
    EXPECT_EQ(r.request, requests[i].name);
    EXPECT_THAT(Violations(state, requests[i], r.nodes), IsEmpty()) << r.request;
    for (int node : r.nodes) EXPECT_TRUE(all.insert(node).second) << "a node in two sets";
    state = Taken(state, requests[i], r.nodes);
  }
  EXPECT_EQ(std::vector<int>(all.begin(), all.end()), placed.nodes);
  return all;
}

TEST(TemplateTest, EachNodeSetIsPlacedByItsOwnConstraintsOnDisjointNodes) {
  const PlacementProblem problem = WithHeld(Lab(16, 12), {}, "llm");
  ClusterTemplate t;
  t.name = "slurm-medium";
  t.purpose = Purpose::kSlurm;
  // Two sets of one class that each need a whole leaf of h100x8, a rack of a100x8, a CPU login.
  t.node_sets = {Set("workers-a", "h100x8", 4, kOneLeaf), Set("workers-b", "h100x8", 4, kOneLeaf),
                 Set("infer", "a100x8", 2, kOneRack), Set("login", "cpu", 1)};
  auto placed = SolveTemplate(problem, t, "c1", "nlp-lab", "llm", SolveOptions{});
  ASSERT_TRUE(placed.ok()) << placed.status().message();
  ASSERT_EQ(placed->status, SolveStatus::kFeasible);
  EXPECT_EQ(placed->failed_set, -1);
  const std::set<int> all = VerifyTemplate(problem, t, "nlp-lab", "llm", *placed);
  EXPECT_THAT(all, SizeIs(11));
  const Inventory& inv = problem.snapshot->inventory;
  const Topology& topo = problem.snapshot->topology;
  std::set<int> leaves;
  for (int i = 0; i < 4; ++i) {
    const PlacementResult& r = placed->sets[i];
    ASSERT_THAT(r.nodes, SizeIs(t.node_sets[i].size)) << r.request;
    std::set<int> own_leaves;
    for (int node : r.nodes) {
      EXPECT_EQ(inv.ClassOf(node).name, t.node_sets[i].node_class) << r.request;
      own_leaves.insert(topo.DomainOf(node, Level::kLeaf));
    }
    if (i < 2) {
      EXPECT_THAT(own_leaves, SizeIs(1)) << r.request << " is not under one leaf";
      leaves.insert(*own_leaves.begin());
    }
  }
  EXPECT_THAT(leaves, SizeIs(2));  // the two worker sets took two different leaves
  double cost = 0;
  for (const PlacementResult& r : placed->sets) cost += r.cost_per_hour;
  EXPECT_DOUBLE_EQ(placed->cost_per_hour, cost);
}

TEST(TemplateTest, ATemplateWithASetThatCannotFitPlacesNothingAndExplainsThatSet) {
  const PlacementProblem problem = WithHeld(Lab(16, 12), {}, "llm");
  ClusterTemplate t;
  t.name = "too-big";
  // There are 4 a100x8 nodes in all: a set of 5 cannot be placed, whatever the workers take.
  t.node_sets = {Set("workers", "h100x8", 4, kOneLeaf), Set("infer", "a100x8", 5)};
  auto placed = SolveTemplate(problem, t, "c1", "nlp-lab", "llm", SolveOptions{});
  ASSERT_TRUE(placed.ok()) << placed.status().message();
  EXPECT_EQ(placed->status, SolveStatus::kInfeasible);
  EXPECT_EQ(placed->failed_set, 1);
  EXPECT_THAT(placed->nodes, IsEmpty());
  ASSERT_THAT(placed->sets, SizeIs(2));
  for (const PlacementResult& r : placed->sets) EXPECT_THAT(r.nodes, IsEmpty()) << r.request;
  EXPECT_EQ(placed->sets[1].request, "c1/infer");
  ASSERT_TRUE(placed->explanation.has_value());
  EXPECT_THAT(placed->explanation->summary, ::testing::StartsWith("node set infer: "));
  EXPECT_THAT(placed->explanation->summary, HasSubstr("5 nodes requested"));
}

TEST(TemplateTest, TheQuotaHoldsForTheSumOfTheSets) {
  // Each set of 4 fits llm's 6 nodes on its own; together they do not.
  const PlacementProblem problem = WithHeld(Lab(16, 6), {}, "llm");
  ClusterTemplate t;
  t.name = "two-leaves";
  t.node_sets = {Set("a", "h100x8", 4, kOneLeaf), Set("b", "h100x8", 4, kOneLeaf)};
  auto placed = SolveTemplate(problem, t, "c1", "nlp-lab", "llm", SolveOptions{});
  ASSERT_TRUE(placed.ok()) << placed.status().message();
  EXPECT_EQ(placed->status, SolveStatus::kInfeasible);
  EXPECT_THAT(placed->nodes, IsEmpty());
  ASSERT_TRUE(placed->explanation.has_value());
  EXPECT_THAT(placed->explanation->summary, HasSubstr("quota(project llm)"));
  // With a share of 8 both sets fit.
  auto roomier =
      SolveTemplate(WithHeld(Lab(16, 8), {}, "llm"), t, "c1", "nlp-lab", "llm", SolveOptions{});
  ASSERT_TRUE(roomier.ok()) << roomier.status().message();
  ASSERT_EQ(roomier->status, SolveStatus::kFeasible);
  VerifyTemplate(WithHeld(Lab(16, 8), {}, "llm"), t, "nlp-lab", "llm", *roomier);
}

TEST(TemplateTest, ASetOfAnUnknownClassIsBadInput) {
  const PlacementProblem problem = WithHeld(Lab(16, 12), {}, "llm");
  ClusterTemplate t;
  t.name = "typo";
  t.node_sets = {Set("workers", "h100x4", 1)};
  auto placed = SolveTemplate(problem, t, "c1", "nlp-lab", "llm", SolveOptions{});
  ASSERT_FALSE(placed.ok());
  EXPECT_EQ(placed.status().reason(), "unknown_class");
}

}  // namespace
}  // namespace topoplace
