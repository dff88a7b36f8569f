// The one grouping of interchangeable candidates and the one greedy fill (solver/node_groups.h):
// what the heuristic, the ILP and repairs rely on when a fill starts from kept nodes, checks the
// headroom on the way or ranks by GPUs first.
#include "solver/node_groups.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "solver/backend.h"
#include "solver/prepared.h"
#include "tests/solver/fixtures.h"

namespace topoplace {
namespace {

using fixtures::MakeProblem;
using fixtures::NodeIds;
using fixtures::ReferenceDataCentre;
using fixtures::ReferenceTenants;
using fixtures::RequestBuilder;

constexpr int kAnyDomains = std::numeric_limits<int>::max();

// The groups that hold no current node: what a fill may take from.
std::vector<int> FreeGroups(const NodeGroups& groups) {
  std::vector<int> out;
  for (int g = 0; g < static_cast<int>(groups.groups().size()); ++g) {
    if (!groups.groups()[g].current) out.push_back(g);
  }
  return out;
}

std::vector<std::string> Racks(const PlacementProblem& problem, const std::vector<int>& nodes) {
  std::vector<std::string> racks;
  for (int node : nodes) racks.push_back(problem.snapshot->inventory.nodes[node].rack);
  return racks;
}

// r1 and r2 both hold another node, so nodes of either add the same to the objective; the kept
// node in r2 decides.
TEST(GreedyFill, KeptNodesDrawNewNodesToTheirLeafAmongEqualMarginals) {
  auto dc = ReferenceDataCentre();
  dc.Hold("r1-n01", "cv-lab").Hold("r2-n01", "nlp-lab");
  const PlacementProblem problem = MakeProblem(dc, ReferenceTenants());
  const Request request = RequestBuilder("job", "nlp-lab").Nodes(3).Classes({"h100x8"}).Build();
  const std::vector<int> kept = NodeIds(problem, {"r2-n01"});
  const PreparedRequest p = Prepare(problem, request, SolveOptions{}, {}, kept);
  const NodeGroups groups(p);
  GreedyFill fill(p, groups);
  const std::vector<int> set = FreeGroups(groups);

  const std::optional<std::vector<int>> alone =
      fill.Fill(set, 2, FillOrder::kObjective, kAnyDomains, nullptr);
  ASSERT_TRUE(alone.has_value());
  EXPECT_EQ(Racks(problem, *alone), (std::vector<std::string>{"r1", "r1"}));

  fill.Keep(kept);
  const std::optional<std::vector<int>> near =
      fill.Fill(set, 2, FillOrder::kObjective, kAnyDomains, nullptr);
  ASSERT_TRUE(near.has_value());
  EXPECT_EQ(Racks(problem, *near), (std::vector<std::string>{"r2", "r2"}))
      << "the kept node is never returned; the new ones join it";
  EXPECT_GT(fill.HopsFromKept(groups.GroupOf(NodeIds(problem, {"r1-n02"})[0])), 0);
  EXPECT_EQ(fill.HopsFromKept(groups.GroupOf(NodeIds(problem, {"r2-n02"})[0])), 0);
}

TEST(GreedyFill, KeptNodesCountTowardsTheSpreadCapAndLocalityDomains) {
  auto dc = ReferenceDataCentre();
  dc.Hold("r2-n01", "nlp-lab").Hold("r2-n02", "nlp-lab");
  const PlacementProblem problem = MakeProblem(dc, ReferenceTenants());
  // 4 nodes, at most half per rack: the two kept nodes fill r2's share.
  const Request spread = RequestBuilder("job", "nlp-lab")
                             .Nodes(4)
                             .Classes({"h100x8"})
                             .SpreadMaxFraction(Level::kRack, 0.5)
                             .Build();
  const std::vector<int> kept = NodeIds(problem, {"r2-n01", "r2-n02"});
  const PreparedRequest p = Prepare(problem, spread, SolveOptions{}, {}, kept);
  const NodeGroups groups(p);
  GreedyFill fill(p, groups);
  fill.Keep(kept);
  const std::optional<std::vector<int>> nodes =
      fill.Fill(FreeGroups(groups), 2, FillOrder::kObjective, kAnyDomains, nullptr);
  ASSERT_TRUE(nodes.has_value());
  for (const std::string& rack : Racks(problem, *nodes)) EXPECT_NE(rack, "r2");

  // Rack locality, one domain: the kept rack is open, so 2 more fit there and none elsewhere.
  const Request local =
      RequestBuilder("job", "nlp-lab").Nodes(4).Classes({"h100x8"}).Locality(Level::kRack).Build();
  const PreparedRequest q = Prepare(problem, local, SolveOptions{}, {}, kept);
  const NodeGroups local_groups(q);
  GreedyFill local_fill(q, local_groups);
  local_fill.Keep(kept);
  const std::vector<int> set = FreeGroups(local_groups);
  const std::optional<std::vector<int>> within =
      local_fill.Fill(set, 2, FillOrder::kObjective, /*max_loc_domains=*/0, nullptr);
  ASSERT_TRUE(within.has_value());
  EXPECT_EQ(Racks(problem, *within), (std::vector<std::string>{"r2", "r2"}));
  EXPECT_FALSE(local_fill.Fill(set, 3, FillOrder::kObjective, 0, nullptr).has_value())
      << "r2 has only two more nodes and no new rack may open";
}

// h100x8 ($98.32/h, 8 GPUs) first by GPUs; two of them break a $120/h budget.
TEST(GreedyFill, GpusFirstAndHeadroomAtEveryStep) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  const Request request =
      RequestBuilder("job", "cv-lab").Nodes(2).Classes({"h100x8", "l40sx4"}).Budget(120).Build();
  const PreparedRequest p = Prepare(problem, request, SolveOptions{});
  const NodeGroups groups(p);
  GreedyFill fill(p, groups);
  const std::vector<int> set = FreeGroups(groups);
  auto classes = [&](const std::vector<int>& nodes) {
    std::vector<std::string> out;
    for (int node : nodes) out.push_back(problem.snapshot->inventory.nodes[node].node_class);
    std::sort(out.begin(), out.end());
    return out;
  };

  const std::optional<std::vector<int>> cheap =
      fill.Fill(set, 2, FillOrder::kObjective, kAnyDomains, nullptr);
  ASSERT_TRUE(cheap.has_value());
  EXPECT_EQ(classes(*cheap), (std::vector<std::string>{"l40sx4", "l40sx4"}));

  const std::optional<std::vector<int>> rich =
      fill.Fill(set, 2, FillOrder::kGpusFirst, kAnyDomains, nullptr);
  ASSERT_TRUE(rich.has_value());
  EXPECT_EQ(classes(*rich), (std::vector<std::string>{"h100x8", "h100x8"}))
      << "without the headroom check the answer is left to CheckPrepared()";

  fill.CheckHeadroom(true);
  const std::optional<std::vector<int>> within =
      fill.Fill(set, 2, FillOrder::kGpusFirst, kAnyDomains, nullptr);
  ASSERT_TRUE(within.has_value());
  EXPECT_EQ(classes(*within), (std::vector<std::string>{"h100x8", "l40sx4"}));
  EXPECT_TRUE(CheckPrepared(p, *within).empty());
}

}  // namespace
}  // namespace topoplace
