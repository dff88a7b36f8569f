// Capacity: exact on small cases (an exhaustive packing search as the oracle), monotone when
// capacity is added; tenant headroom and fragmentation on the reference data centre.
#include "solver/capacity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "inventory/changes.h"
#include "solver/verifier.h"
#include "tests/solver/fixtures.h"
#include "tests/whatif/whatif_fixtures.h"

namespace topoplace {
namespace {

using fixtures::MakeProblem;
using fixtures::ReferenceDataCentre;
using fixtures::ReferenceTenants;
using fixtures::RequestBuilder;

// The most copies of a nodes shape that fit together, by depth-first search over disjoint
// verified copies (each checked with the copies before it held by the tenant, so quota and budget
// count jointly). nullopt when the search is too large.
std::optional<int> MostCopiesExhaustive(const PlacementProblem& problem, const Request& shape,
                                        int max_sets = 400) {
  auto snap = std::make_shared<Snapshot>(*problem.snapshot);
  PlacementProblem state{snap, problem.tenants};
  const Inventory& inv = snap->inventory;
  std::vector<int> pool;
  for (int i = 0; i < static_cast<int>(inv.nodes.size()); ++i) {
    bool ok = true;
    for (const Violation& v : VerifyPlacement(state, shape, std::vector<int>{i})) {
      if (v.constraint == "availability" || v.constraint == "select" ||
          v.constraint == "compliance" || v.constraint == "exclusive")
        ok = false;
    }
    if (ok) pool.push_back(i);
  }
  const int k = *shape.nodes;
  // Every k-subset of the pool that is a valid copy on its own.
  std::vector<std::vector<int>> sets;
  std::vector<int> idx(k);
  if (k > static_cast<int>(pool.size())) return 0;
  for (int i = 0; i < k; ++i) idx[i] = i;
  while (true) {
    std::vector<int> nodes;
    for (int i : idx) nodes.push_back(pool[i]);
    if (VerifyPlacement(state, shape, nodes).empty()) sets.push_back(nodes);
    if (static_cast<int>(sets.size()) > max_sets) return std::nullopt;
    int i = k - 1;
    while (i >= 0 && idx[i] == static_cast<int>(pool.size()) - k + i) --i;
    if (i < 0) break;
    ++idx[i];
    for (int j = i + 1; j < k; ++j) idx[j] = idx[j - 1] + 1;
  }
  int best = 0;
  int64_t work = 0;
  int free_left = static_cast<int>(pool.size());
  std::vector<uint8_t> used(inv.nodes.size(), 0);
  std::function<void(size_t, int)> dfs = [&](size_t from, int depth) {
    best = std::max(best, depth);
    if (++work > 300000) return;
    if (depth + free_left / k <= best) return;  // not enough free nodes left to do better
    for (size_t s = from; s < sets.size(); ++s) {
      const auto& nodes = sets[s];
      if (std::any_of(nodes.begin(), nodes.end(), [&](int n) { return used[n]; })) continue;
      if (!VerifyPlacement(state, shape, nodes).empty()) continue;  // joint quota and budget
      for (int n : nodes) {
        used[n] = 1;
        snap->states.Allocate(n, shape.tenant, std::nullopt);
      }
      free_left -= k;
      dfs(s + 1, depth + 1);
      free_left += k;
      for (int n : nodes) {
        used[n] = 0;
        snap->states.Free(n);
      }
    }
  };
  dfs(0, 0);
  if (work > 300000) return std::nullopt;
  return best;
}

TEST(Capacity, RackLocalPairsOnTheReferenceDataCentre) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  const Request shape =
      RequestBuilder("pair", "cv-lab").Nodes(2).Classes({"h100x8"}).Locality(Level::kRack);
  auto r = CountCopies(problem, shape);
  ASSERT_TRUE(r.ok()) << r.status().message();
  // r1, r2 and r-eu1 each hold four free H100 nodes: two pairs per rack.
  EXPECT_EQ(r->copies, 6);
  EXPECT_TRUE(r->exact) << r->proof;
  EXPECT_EQ(r->upper_bound, 6);
  EXPECT_EQ(r->domains.at("rack").size(), 3u);
  EXPECT_EQ(r->domains.at("rack").at("r2"), 2);
  ASSERT_TRUE(r->why_no_more.has_value());

  // Two more H100 nodes in r2's pod give one more pair.
  Scenario s;
  s.inventory = problem.snapshot->inventory;
  s.tenants = problem.tenants;
  auto change = ParseChange(ChangeKind::kAdd, "racks=1,class=h100x8,pod=pod-1,nodes=2");
  ASSERT_TRUE(change.ok()) << change.status().message();
  ASSERT_TRUE(ApplyChanges(s, {*change}).ok());
  const PlacementProblem more = MakeProblem(s.inventory, s.tenants);
  auto r2 = CountCopies(more, shape);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->copies, 7);
  EXPECT_TRUE(r2->exact);
}

TEST(Capacity, QuotaBoundsTheCountAndSaysSo) {
  std::vector<Tenant> tenants = ReferenceTenants();
  tenants[1].quota.gpus = 40;  // cv-lab: five 8-GPU nodes
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), tenants);
  const Request shape = RequestBuilder("pair", "cv-lab").Nodes(2).Classes({"h100x8"});
  auto r = CountCopies(problem, shape);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->copies, 2);
  EXPECT_TRUE(r->exact);
  EXPECT_NE(r->proof.find("quota"), std::string::npos) << r->proof;
  const std::vector<TenantHeadroom> h = TenantHeadrooms(problem, &shape);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].tenant, "cv-lab");
  EXPECT_EQ(h[0].gpus, 40);
  EXPECT_EQ(h[0].shape_copies, 2);
  EXPECT_EQ(h[0].limiting, "gpus");
}

TEST(Capacity, SpreadCapBoundsCopiesPerDomain) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  // Four H100 nodes under one leaf, at most two per power domain: every H100 leaf holds one.
  const Request shape = RequestBuilder("quad", "cv-lab")
                            .Nodes(4)
                            .Classes({"h100x8"})
                            .Locality(Level::kLeaf)
                            .SpreadMaxPerDomain(Level::kPowerDomain, 2);
  auto r = CountCopies(problem, shape);
  ASSERT_TRUE(r.ok());
  // leaf-eu's four nodes share one power domain: no copy there.
  EXPECT_EQ(r->copies, 2);
  EXPECT_TRUE(r->exact) << r->proof;
}

TEST(Capacity, FragmentationReport) {
  fixtures::DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r1-n01", "cv-lab");
  const PlacementProblem problem = MakeProblem(b, ReferenceTenants());
  const FragmentationReport f = Fragmentation(*problem.snapshot);
  EXPECT_EQ(f.total_nodes, 20);
  EXPECT_EQ(f.free_nodes, 19);
  // r1's three free nodes sit in a partly used leaf and rack; the other 16 in fully free ones.
  EXPECT_NEAR(f.free_in_free_leaves, 16.0 / 19.0, 1e-9);
  EXPECT_NEAR(f.free_in_free_racks, 16.0 / 19.0, 1e-9);
  bool found = false;
  for (const LargestFit& l : f.largest) {
    if (l.node_class == "h100x8" && l.scope == "leaf") {
      found = true;
      EXPECT_EQ(l.nodes, 4);
      EXPECT_EQ(l.where, "leaf-2");
    }
    if (l.node_class == "h100x8" && l.scope == "anywhere") {
      EXPECT_EQ(l.nodes, 11);
    }
  }
  EXPECT_TRUE(found);
  EXPECT_GT(FragmentationIndex(*problem.snapshot), 0.0);
  const PlacementProblem clean = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  EXPECT_EQ(FragmentationIndex(*clean.snapshot), 0.0);
  const Request shape =
      RequestBuilder("x", "cv-lab").Nodes(1).Classes({"h100x8"}).Locality(Level::kRack);
  SolveOptions so;
  EXPECT_EQ(LargestShapeThatFits(clean, shape, so), 4);
}

// Random small data centres: the count never exceeds the exhaustive optimum, the upper bound never
// undercuts it, "exact" is always right, and adding a rack never lowers an exact count.
TEST(CapacityProperty, ExactOnSmallCasesAndMonotoneWhenCapacityIsAdded) {
  int checked = 0, exact = 0, monotone_checked = 0, several = 0, by_ilp = 0;
  for (uint64_t seed = 1; seed <= 150; ++seed) {
    fixtures::RandomDataCentreOptions o;
    o.max_nodes = 20;
    const PlacementProblem problem = fixtures::RandomDataCentre(seed, o);
    Request shape = fixtures::RandomRequest(seed * 13 + 5, problem);
    shape.gpus.reset();
    shape.nodes = 1 + static_cast<int>(seed % 3);
    SCOPED_TRACE("seed " + std::to_string(seed));
    CapacityOptions options;
    options.explain = false;
    auto r = CountCopies(problem, shape, options);
    ASSERT_TRUE(r.ok()) << r.status().message();
    const std::optional<int> oracle = MostCopiesExhaustive(problem, shape);
    if (!oracle) continue;
    ++checked;
    several += *oracle >= 2;
    by_ilp += r->proof.find("exact solver") != std::string::npos;
    EXPECT_LE(r->copies, *oracle);
    EXPECT_GE(r->upper_bound, *oracle) << r->proof;
    if (r->exact) {
      ++exact;
      EXPECT_EQ(r->copies, *oracle) << r->proof;
    }
    // More capacity: one more rack of the shape's class (or h100x8) in the first rack's pod.
    Scenario s;
    s.inventory = problem.snapshot->inventory;
    s.tenants = problem.tenants;
    const std::string cls = shape.select.classes.empty() ? "h100x8" : shape.select.classes[0];
    auto add = ParseChange(
        ChangeKind::kAdd, "racks=1,class=" + cls + ",pod=" + s.inventory.racks[0].pod + ",nodes=2");
    ASSERT_TRUE(add.ok());
    ASSERT_TRUE(ApplyChanges(s, {*add}).ok());
    const PlacementProblem more = MakeProblem(s.inventory, s.tenants);
    auto r2 = CountCopies(more, shape, options);
    ASSERT_TRUE(r2.ok());
    EXPECT_GE(r2->upper_bound, r->copies);
    if (r->exact && r2->exact) {
      ++monotone_checked;
      EXPECT_GE(r2->copies, r->copies);
    }
    const std::optional<int> oracle2 = MostCopiesExhaustive(more, shape);
    if (oracle2) {
      EXPECT_GE(*oracle2, *oracle);
      EXPECT_LE(r2->copies, *oracle2);
      if (r2->exact) {
        EXPECT_EQ(r2->copies, *oracle2);
      }
    }
  }
  std::cout << "capacity property: " << checked << " cases, " << exact << " proven exact, "
            << monotone_checked << " monotonicity checks; " << several
            << " with two or more copies, " << by_ilp << " proven by the joint integer program\n";
  EXPECT_GT(checked, 60);
  EXPECT_GT(exact, checked * 8 / 10);
  EXPECT_GT(several, 30);
}

}  // namespace
}  // namespace topoplace
