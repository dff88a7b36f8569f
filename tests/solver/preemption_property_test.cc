// Property tests for preemption on seeded random small data centres, with an exhaustive search over
// eviction subsets as the oracle.
//
// The oracle enumerates the subsets of the request's legal victims by size, and within a size by
// the sum of their priorities, and asks the exact backend whether the request (without
// `preemption:`) fits once that subset is evicted (AfterEvictions). The first subset that fits
// gives the least eviction count and, for that count, the least priority sum. Feasibility only
// grows as more is evicted (freed nodes, returned quota and budget, opened exclusive domains), so
// when evicting every legal victim does not make room, no subset does: that one solve settles the
// impossible cases.
//
// For every case:
// - "ilp" and "auto" are optimal with exactly the oracle's count and priority sum, evict nothing
//   when the request fits as it is, say infeasible (naming preemption when the room is there but
//   may not be freed) when no subset makes room;
// - "heuristic" answers verify and never evict fewer than the minimum, and it never calls a
//   request infeasible that a subset makes room for;
// - the greedy baseline's answers verify and never beat the minimum.
// Batches of three such requests (SolveBatch) are checked request by request against the state the
// earlier ones left, with the same oracle.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "model/scenario.h"
#include "solver/solver.h"
#include "solver/verifier.h"
#include "tests/solver/fixtures.h"

namespace topoplace {
namespace {

using fixtures::RequestBuilder;
using fixtures::Rng;

constexpr int kCases = 200;
// Cases with more legal victims are skipped: the oracle enumerates up to 2^n subsets.
constexpr int kMaxVictims = 9;
// Exact solves one oracle call may spend before it gives up (the case is then skipped).
constexpr int kOracleSolves = 300;

// ---------------------------------------------------------------------------------------------
// The random data centres: 2-4 leaves (now and then two racks under one leaf) of 4-8 nodes, two
// node classes, 2-3 tenants, most nodes held by allocations of 1-4 nodes at priorities -2..3, some
// of them exclusive to their rack, some in a second project; a few nodes held with no allocation
// on record (never freed), a few in maintenance; tight quotas now and then.

struct PreemptionCase {
  PlacementProblem problem;
  std::vector<Allocation> allocations;
};

PreemptionCase RandomPreemptionCase(uint64_t seed) {
  Rng rng(seed);
  fixtures::DataCentreBuilder b;
  b.Site("dc", "US").PowerDomain("pd-a", "dc").PowerDomain("pd-b", "dc");
  const int pods = rng.Between(1, 2);
  for (int p = 1; p <= pods; ++p) b.Spine("spine" + std::to_string(p), "vendor-a", "dc");
  const std::vector<std::vector<std::string>> class_pairs = {
      {"h100x8", "a100x8"}, {"h100x8", "l40sx4"}, {"a100x8", "cpu"}};
  const std::vector<std::string>& classes = class_pairs[rng.Below(class_pairs.size())];
  const int leaves = rng.Between(2, 4);
  int rack_number = 0;
  for (int l = 1; l <= leaves; ++l) {
    const int p = (l - 1) % pods + 1;
    const std::string pod = "pod" + std::to_string(p);
    const std::string leaf = "leaf" + std::to_string(l);
    b.Leaf(leaf, "vendor-a", {"spine" + std::to_string(p)}, pod);
    const int racks = rng.Percent(25) ? 2 : 1;
    const int nodes = rng.Between(4, 8);
    for (int r = 0; r < racks; ++r) {
      const std::string rack = "r" + std::to_string(++rack_number);
      b.Rack(rack, "dc", "row1", pod, {"pd-a", "pd-b"});
      const int count = racks == 1 ? nodes : (r == 0 ? nodes / 2 : nodes - nodes / 2);
      if (rng.Percent(70)) {
        b.Nodes(rack, leaf, rng.Pick(classes), count);
      } else {
        for (int k = 0; k < count; ++k) b.Nodes(rack, leaf, rng.Pick(classes), 1);
      }
    }
  }
  const std::vector<std::string> tenant_names =
      rng.Percent(50) ? std::vector<std::string>{"lab-a", "lab-b"}
                      : std::vector<std::string>{"lab-a", "lab-b", "lab-c"};
  // lab-a has a second project, "train".
  Inventory& inv = b.inventory();
  std::vector<Allocation> allocations;
  const int n = static_cast<int>(inv.nodes.size());
  for (int i = 0; i < n;) {
    const int roll = rng.Between(0, 99);
    if (roll < 25) {  // free
      if (rng.Percent(12)) inv.nodes[i].state = NodeState::kMaintenance;
      ++i;
      continue;
    }
    if (roll < 28) {  // held with no allocation on record
      inv.nodes[i].holder = rng.Pick(tenant_names);
      inv.nodes[i].state = NodeState::kAllocated;
      ++i;
      continue;
    }
    Allocation a;
    a.name = "a" + std::to_string(allocations.size() + 1);
    a.tenant = rng.Pick(tenant_names);
    if (a.tenant == "lab-a" && rng.Percent(35)) a.project = "train";
    a.priority = rng.Between(-2, 3);
    const int size = std::min(rng.Between(1, 4), n - i);
    for (int k = 0; k < size; ++k, ++i) {
      Node& node = inv.nodes[i];
      node.holder = a.tenant;
      node.state = rng.Percent(5) ? NodeState::kMaintenance : NodeState::kAllocated;
      a.nodes.push_back(node.name);
    }
    bool one_rack = true;
    for (int k = i - size; k < i; ++k)
      one_rack = one_rack && inv.nodes[k].rack == inv.nodes[i - 1].rack;
    if (one_rack && rng.Percent(15)) {
      for (int k = i - size; k < i; ++k) inv.nodes[k].exclusive = Level::kRack;
    }
    allocations.push_back(std::move(a));
  }
  Inventory indexed = b.Build();
  std::vector<Tenant> tenants;
  for (const std::string& name : tenant_names) {
    const TenantUsage used = UsageOf(indexed, name);
    Quota q;
    if (rng.Percent(25)) q.nodes = used.nodes + rng.Between(0, 4);
    if (rng.Percent(10)) q.gpus = used.gpus + rng.Between(0, 4) * 8;
    Tenant t = fixtures::MakeTenant(name, {}, q);
    if (name == "lab-a") {
      Project train;
      train.name = "train";
      if (rng.Percent(50)) train.quota.nodes = rng.Between(1, 4);
      t.projects = {train};
    }
    tenants.push_back(std::move(t));
  }
  PreemptionCase out;
  out.problem = fixtures::MakeProblem(indexed, std::move(tenants));
  out.problem.project_usage = ProjectUsages(indexed, allocations);
  out.problem.holdings = HoldingsOf(indexed, allocations);
  out.problem.preempt_across_tenants = rng.Percent(70);
  out.allocations = std::move(allocations);
  return out;
}

// A request with `preemption:`, valid for the case's problem.
Request RandomPreemptingRequest(uint64_t seed, const PlacementProblem& problem) {
  Rng rng(seed ^ 0xA5A5F00Dull);
  // lab-a (the one with a second project) asks half the time.
  const Tenant& tenant =
      rng.Percent(50) ? problem.tenants[0] : problem.tenants[rng.Below(problem.tenants.size())];
  RequestBuilder r("req-" + std::to_string(seed), tenant.name);
  if (rng.Percent(80)) {
    r.Nodes(rng.Percent(70) ? rng.Between(1, 4) : rng.Between(5, 6));
  } else {
    r.Gpus(rng.Pick(std::vector<int>{8, 16, 24}));
  }
  if (rng.Percent(25)) {
    std::vector<std::string> present;
    for (const Node& node : problem.snapshot->inventory.nodes) {
      if (std::find(present.begin(), present.end(), node.node_class) == present.end())
        present.push_back(node.node_class);
    }
    std::sort(present.begin(), present.end());
    r.Classes({rng.Pick(present)});
  }
  if (rng.Percent(75)) {
    r.Locality(rng.Percent(60) ? Level::kLeaf : Level::kRack, LocalityMode::kRequired,
               rng.Percent(80) ? 1 : 2);
  } else if (rng.Percent(30)) {
    r.PreferLocality(Level::kLeaf);
  }
  if (rng.Percent(20)) {
    if (rng.Percent(50)) {
      r.SpreadMaxPerDomain(Level::kPowerDomain, rng.Between(1, 3));
    } else {
      r.SpreadMinDomains(Level::kPowerDomain, 2);
    }
  }
  if (rng.Percent(10)) r.Exclusive(Level::kRack);
  if (rng.Percent(8)) r.Budget(rng.Between(20, 400));
  r.Priority(rng.Between(1, 4));
  Request out = r.Build();
  if (tenant.name == "lab-a" && rng.Percent(35)) out.project = "train";
  Preemption p;
  p.scope = problem.preempt_across_tenants && rng.Percent(65) ? PreemptionScope::kAll
                                                              : PreemptionScope::kTenant;
  if (rng.Percent(25)) p.max_evictions = rng.Between(1, 2);
  out.preemption = p;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The oracle.

struct Minimum {
  enum class Kind { kFound, kNone, kUnknown } kind = Kind::kUnknown;
  int count = 0;
  int priority_sum = 0;
  std::vector<std::string> evicted;  // one subset that achieves it
  int victims = 0;                   // legal victims
  bool larger_sum_fits = false;      // another subset of the least count fits, at a larger sum
  int solves = 0;
};

Request Plain(const Request& request) {
  Request r = request;
  r.preemption.reset();
  return r;
}

class EvictionOracle {
 public:
  EvictionOracle(const PlacementProblem& problem, const Request& request)
      : problem_(problem), plain_(Plain(request)) {
    options_.backend = "ilp";
    options_.explain = false;
    options_.time_limit_seconds = 20;
    for (int v : LegalVictims(problem, request)) victims_.push_back(v);
    limit_ = static_cast<int>(victims_.size());
    if (request.preemption && request.preemption->max_evictions)
      limit_ = std::min(limit_, *request.preemption->max_evictions);
  }

  Minimum Solve() {
    Minimum m;
    m.victims = static_cast<int>(victims_.size());
    if (m.victims > kMaxVictims) return m;
    // Everything evicted does not make room: no subset does (feasibility grows with evictions).
    std::vector<int> all(victims_.size());
    std::iota(all.begin(), all.end(), 0);
    std::optional<bool> fits_all = Fits(all);
    if (!fits_all) return m;
    if (!*fits_all) {
      m.kind = Minimum::Kind::kNone;
      m.solves = solves_;
      return m;
    }
    for (int k = 0; k <= limit_; ++k) {
      std::vector<std::vector<int>> subsets;
      std::vector<int> chosen;
      Subsets(0, k, chosen, subsets);
      std::stable_sort(subsets.begin(), subsets.end(),
                       [&](const std::vector<int>& a, const std::vector<int>& b) {
                         return PrioritySum(a) < PrioritySum(b);
                       });
      // Every subset of the first size that fits is tried: the least sum is the answer, and
      // whether a larger one fits too tells the tally that the sum had to break a tie on count.
      for (const std::vector<int>& s : subsets) {
        std::optional<bool> fits = Fits(s);
        if (!fits) return Minimum{};
        if (!*fits) continue;
        if (m.kind != Minimum::Kind::kFound) {
          m.kind = Minimum::Kind::kFound;
          m.count = k;
          m.priority_sum = PrioritySum(s);
          m.evicted = Names(s);
        } else if (PrioritySum(s) > m.priority_sum) {
          m.larger_sum_fits = true;
        }
      }
      if (m.kind == Minimum::Kind::kFound) {
        m.solves = solves_;
        return m;
      }
    }
    m.kind = Minimum::Kind::kNone;  // room exists, but not within maxEvictions
    m.solves = solves_;
    return m;
  }

 private:
  void Subsets(int from, int k, std::vector<int>& chosen, std::vector<std::vector<int>>& out) {
    if (static_cast<int>(chosen.size()) == k) {
      out.push_back(chosen);
      return;
    }
    for (int i = from; i < static_cast<int>(victims_.size()); ++i) {
      chosen.push_back(i);
      Subsets(i + 1, k, chosen, out);
      chosen.pop_back();
    }
  }
  int PrioritySum(const std::vector<int>& s) const {
    int sum = 0;
    for (int i : s) sum += problem_.holdings[victims_[i]].priority;
    return sum;
  }
  std::vector<std::string> Names(const std::vector<int>& s) const {
    std::vector<std::string> names;
    for (int i : s) names.push_back(problem_.holdings[victims_[i]].name);
    return names;
  }
  // Whether the request fits once `s` is evicted; nullopt when the exact backend did not settle it
  // or the oracle's budget is spent.
  std::optional<bool> Fits(const std::vector<int>& s) {
    if (++solves_ > kOracleSolves) return std::nullopt;
    const std::vector<std::string> names = Names(s);
    auto r = topoplace::Solve(AfterEvictions(problem_, names), {plain_}, options_);
    if (!r.ok()) {
      ADD_FAILURE() << "oracle solve: " << r.status().message();
      return std::nullopt;
    }
    const SolveStatus status = r->front().status;
    if (HasPlacement(status)) return true;
    if (status == SolveStatus::kInfeasible) return false;
    return std::nullopt;
  }

  const PlacementProblem& problem_;
  Request plain_;
  SolveOptions options_;
  std::vector<int> victims_;
  int limit_ = 0;
  int solves_ = 0;
};

// ---------------------------------------------------------------------------------------------

int PrioritySum(const PlacementResult& r) {
  int sum = 0;
  for (const Eviction& e : r.evictions) sum += e.priority;
  return sum;
}

std::string Describe(const PreemptionCase& c, const Request& r) {
  const Inventory& inv = c.problem.snapshot->inventory;
  std::string s = "request " + r.name + " tenant " + r.tenant + " project " +
                  std::string(ProjectName(r.project)) + " priority " + std::to_string(r.priority);
  s += r.nodes ? " nodes=" + std::to_string(*r.nodes) : " gpus=" + std::to_string(*r.gpus);
  for (const std::string& cls : r.select.classes) s += " class=" + cls;
  if (r.locality) {
    s += " locality=" + std::string(LevelName(r.locality->level)) +
         (r.locality->mode == LocalityMode::kRequired ? "/required/" : "/preferred/") +
         std::to_string(r.locality->max_domains);
  }
  if (r.spread) {
    s += " spread=" + std::string(LevelName(r.spread->level));
    if (r.spread->max_per_domain) s += " maxPer=" + std::to_string(*r.spread->max_per_domain);
    if (r.spread->min_domains) s += " minDom=" + std::to_string(*r.spread->min_domains);
  }
  if (r.exclusive) s += " exclusive=" + std::string(LevelName(*r.exclusive));
  if (r.max_cost_per_hour) s += " budget=" + std::to_string(*r.max_cost_per_hour);
  s += " scope=" + std::string(PreemptionScopeName(r.preemption->scope));
  if (r.preemption->max_evictions)
    s += " maxEvictions=" + std::to_string(*r.preemption->max_evictions);
  s += "\n  nodes:";
  for (const Node& n : inv.nodes) {
    s += " " + n.name + "(" + n.node_class + "," + n.leaf + "," +
         std::string(NodeStateName(n.state)) + (n.holder.empty() ? "" : "," + n.holder) +
         (n.exclusive ? ",excl" : "") + ")";
  }
  s += "\n  allocations:";
  for (const Allocation& a : c.allocations) {
    s += " " + a.name + "{" + a.tenant + "/" + std::string(ProjectName(a.project)) + " p" +
         std::to_string(AllocationPriority(a)) + ":";
    for (const std::string& n : a.nodes) s += " " + n;
    s += "}";
  }
  s += "\n  tenants:";
  for (const Tenant& t : c.problem.tenants) {
    s += " " + t.name;
    if (t.quota.nodes) s += " quota.nodes=" + std::to_string(*t.quota.nodes);
    if (t.quota.gpus) s += " quota.gpus=" + std::to_string(*t.quota.gpus);
    for (const Project& p : t.projects) {
      if (p.quota.nodes) s += " " + p.name + ".quota.nodes=" + std::to_string(*p.quota.nodes);
    }
  }
  s += c.problem.preempt_across_tenants ? " (across tenants allowed)" : "";
  return s;
}

std::string Evicted(const PlacementResult& r) {
  std::string s;
  for (const Eviction& e : r.evictions)
    s += e.allocation + "(p" + std::to_string(e.priority) + ") ";
  return s.empty() ? "nothing" : s;
}

bool NamesPreemption(const Explanation& e) {
  for (const ConflictItem& c : e.conflict) {
    if (c.constraint == "preemption") return true;
  }
  return false;
}

struct Tally {
  int cases = 0, skipped = 0, fits = 0, evicting = 0, two_or_more = 0, none = 0, tie_broken = 0,
      capped = 0, across = 0, greedy_worse = 0, oracle_solves = 0, none_with_room = 0;
};

TEST(PreemptionPropertyTest, FewestEvictionsAgreeWithExhaustiveSearch) {
  Tally tally;
  for (uint64_t seed = 1; tally.cases < kCases && seed < uint64_t{5} * kCases; ++seed) {
    const PreemptionCase c = RandomPreemptionCase(seed);
    const PlacementProblem& problem = c.problem;
    const Request request = RandomPreemptingRequest(seed, problem);
    ASSERT_TRUE(ValidateRequest(problem, request).ok())
        << "seed " << seed << ": " << ValidateRequest(problem, request).message();
    const Minimum truth = EvictionOracle(problem, request).Solve();
    if (truth.kind == Minimum::Kind::kUnknown) {
      ++tally.skipped;
      continue;
    }
    ++tally.cases;
    tally.oracle_solves += truth.solves;
    const bool found = truth.kind == Minimum::Kind::kFound;
    if (!found) ++tally.none;
    if (found && truth.count == 0) ++tally.fits;
    if (found && truth.count > 0) ++tally.evicting;
    if (found && truth.count > 1) ++tally.two_or_more;
    if (found && truth.count > 0 && truth.larger_sum_fits) ++tally.tie_broken;
    if (request.preemption->max_evictions) ++tally.capped;
    if (request.preemption->scope == PreemptionScope::kAll) ++tally.across;
    std::string minimum = "no subset makes room";
    if (found) {
      minimum = "minimum " + std::to_string(truth.count) + " evictions, priority sum " +
                std::to_string(truth.priority_sum) + ", e.g.";
      for (const std::string& name : truth.evicted) minimum += " " + name;
    }
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + minimum + " (" +
                 std::to_string(truth.victims) + " legal victims)\n  " + Describe(c, request));

    // Impossible cases: is there room once every allocation, legal victim or not, is gone?
    bool room_if_all_evicted = false;
    if (!found) {
      std::vector<std::string> everyone;
      for (const Holding& h : problem.holdings) everyone.push_back(h.name);
      SolveOptions ilp;
      ilp.backend = "ilp";
      ilp.explain = false;
      auto relaxed = Solve(AfterEvictions(problem, everyone), {Plain(request)}, ilp);
      ASSERT_TRUE(relaxed.ok());
      room_if_all_evicted = HasPlacement(relaxed->front().status);
      tally.none_with_room += room_if_all_evicted ? 1 : 0;
    }

    for (const std::string backend : {"ilp", "auto", "heuristic"}) {
      SCOPED_TRACE("backend " + backend);
      SolveOptions options;
      options.backend = backend;
      options.time_limit_seconds = 20;
      auto solved = Solve(problem, {request}, options);
      ASSERT_TRUE(solved.ok()) << solved.status().message();
      const PlacementResult& got = solved->front();
      const bool exact = backend != "heuristic";
      if (HasPlacement(got.status)) {
        for (const Violation& v : VerifyResult(problem, request, got)) {
          ADD_FAILURE() << v.constraint << ": " << v.detail << " (evicted " << Evicted(got) << ")";
        }
      }
      if (!found) {
        EXPECT_FALSE(HasPlacement(got.status))
            << SolveStatusName(got.status) << ", evicted " << Evicted(got);
        EXPECT_TRUE(got.evictions.empty()) << Evicted(got);
        if (!exact) continue;
        ASSERT_EQ(got.status, SolveStatus::kInfeasible) << SolveStatusName(got.status);
        ASSERT_TRUE(got.explanation.has_value());
        // When the room is there with everything evicted, preemption's limit is part of why not.
        if (room_if_all_evicted) {
          std::string items;
          for (const ConflictItem& item : got.explanation->conflict) items += item.constraint + " ";
          EXPECT_TRUE(NamesPreemption(*got.explanation))
              << "conflict: " << items << "| " << got.explanation->summary;
        }
        continue;
      }
      if (exact) {
        ASSERT_EQ(got.status, SolveStatus::kOptimal)
            << SolveStatusName(got.status) << ", evicted " << Evicted(got);
        EXPECT_EQ(static_cast<int>(got.evictions.size()), truth.count) << Evicted(got);
        EXPECT_EQ(PrioritySum(got), truth.priority_sum) << Evicted(got);
        continue;
      }
      EXPECT_NE(got.status, SolveStatus::kInfeasible) << "a subset makes room";
      if (!HasPlacement(got.status)) continue;
      EXPECT_GE(static_cast<int>(got.evictions.size()), truth.count) << Evicted(got);
      if (static_cast<int>(got.evictions.size()) == truth.count) {
        EXPECT_GE(PrioritySum(got), truth.priority_sum) << Evicted(got);
      }
    }

    // The greedy baseline: valid, never better than the minimum.
    SolveOptions options;
    options.backend = "ilp";
    options.explain = false;
    const PlacementResult greedy = GreedyPreemption(problem, request, options);
    SCOPED_TRACE("greedy evicted " + Evicted(greedy));
    if (HasPlacement(greedy.status)) {
      for (const Violation& v : VerifyResult(problem, request, greedy)) {
        ADD_FAILURE() << "greedy: " << v.constraint << ": " << v.detail;
      }
    }
    if (!found) {
      EXPECT_FALSE(HasPlacement(greedy.status));
    } else if (HasPlacement(greedy.status)) {
      const int count = static_cast<int>(greedy.evictions.size());
      EXPECT_GE(count, truth.count);
      if (count == truth.count) {
        EXPECT_GE(PrioritySum(greedy), truth.priority_sum);
      }
      if (count > truth.count) ++tally.greedy_worse;
      if (truth.count == 0) {
        EXPECT_TRUE(greedy.evictions.empty());
      }
    } else {
      // Without a cap, greedy ends by evicting every legal victim, which makes room.
      EXPECT_TRUE(request.preemption->max_evictions.has_value())
          << "greedy found nothing: " << SolveStatusName(greedy.status);
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
  std::cout << "[ preemption property ] cases " << tally.cases << " (fit as is " << tally.fits
            << ", evicting " << tally.evicting << " of which 2+ " << tally.two_or_more
            << " and with a costlier set of that count " << tally.tie_broken << ", impossible "
            << tally.none << " of which with room once all are evicted " << tally.none_with_room
            << ", maxEvictions " << tally.capped << ", scope all " << tally.across
            << ", greedy evicts more " << tally.greedy_worse << "), oracle solves "
            << tally.oracle_solves << ", skipped " << tally.skipped << "\n";
  EXPECT_EQ(tally.cases, kCases);
  // The generator must keep producing every kind, or the comparison proves little.
  EXPECT_GE(tally.evicting, kCases / 4);
  EXPECT_GE(tally.two_or_more, kCases / 20);
  EXPECT_GE(tally.tie_broken, kCases / 20);
  EXPECT_GE(tally.fits, kCases / 10);
  EXPECT_GE(tally.none, kCases / 10);
  EXPECT_GE(tally.none_with_room, kCases / 10);
  EXPECT_GE(tally.capped, kCases / 10);
  EXPECT_GE(tally.across, kCases / 10);
}

// Batches of three preempting requests on the same random data centres (SolveBatch, "auto"): in
// priority order, each placed request verifies against the state the ones before it left (their
// evictions gone, their nodes taken), evicts the oracle's least count and priority sum on that
// state, and a request that is not placed evicts nothing.
TEST(PreemptionPropertyTest, BatchesSeeEarlierEvictions) {
  constexpr int kBatches = 100;
  int batches = 0, placed_after_evictions = 0, unplaced = 0;
  for (uint64_t seed = 20001; batches < kBatches && seed < 20001 + uint64_t{5} * kBatches; ++seed) {
    const PreemptionCase c = RandomPreemptionCase(seed);
    std::vector<Request> requests;
    for (uint64_t k = 0; k < 3; ++k) {
      Request r = RandomPreemptingRequest(seed * 7 + k, c.problem);
      r.name = "req-" + std::to_string(k);
      requests.push_back(std::move(r));
    }
    SolveOptions options;
    options.time_limit_seconds = 20;
    auto solved = SolveBatch(c.problem, requests, options);
    ASSERT_TRUE(solved.ok()) << solved.status().message();
    ++batches;
    std::vector<size_t> order = {0, 1, 2};
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return requests[a].priority > requests[b].priority;
    });
    PlacementProblem state = c.problem;
    std::string trace = "seed " + std::to_string(seed);
    for (size_t i : order) {
      const Request& request = requests[i];
      const PlacementResult& got = (*solved)[i];
      SCOPED_TRACE(trace + "; " + Describe(PreemptionCase{state, c.allocations}, request) +
                   "\n  evicted " + Evicted(got) + ", " + std::string(SolveStatusName(got.status)));
      const Minimum truth = EvictionOracle(state, request).Solve();
      if (!HasPlacement(got.status)) {
        ++unplaced;
        EXPECT_TRUE(got.evictions.empty());
        EXPECT_NE(truth.kind, Minimum::Kind::kFound) << "a subset makes room";
        continue;
      }
      for (const Violation& v : VerifyResult(state, request, got)) {
        ADD_FAILURE() << v.constraint << ": " << v.detail;
      }
      EXPECT_NE(truth.kind, Minimum::Kind::kNone) << "placed, but no subset makes room";
      if (truth.kind == Minimum::Kind::kFound && got.status == SolveStatus::kOptimal) {
        EXPECT_EQ(static_cast<int>(got.evictions.size()), truth.count);
        EXPECT_EQ(PrioritySum(got), truth.priority_sum);
      }
      placed_after_evictions += got.evictions.empty() ? 0 : 1;
      trace += "; " + request.name + " evicted " + Evicted(got);
      std::vector<std::string> names;
      for (const Eviction& e : got.evictions) names.push_back(e.allocation);
      state = AfterEvictions(state, names);
      NodeStates states = state.snapshot->states;
      for (int node : got.nodes) states.Allocate(node, request.tenant, request.exclusive);
      state.snapshot = state.snapshot->WithStates(std::move(states));
      AddProjectUsage(state.project_usage, state.snapshot->inventory, request.tenant,
                      request.project, got.nodes);
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
  std::cout << "[ preemption batches ] " << batches << " batches, placed by evicting "
            << placed_after_evictions << ", not placed " << unplaced << "\n";
  EXPECT_EQ(batches, kBatches);
  EXPECT_GE(placed_after_evictions, kBatches / 4);
  EXPECT_GE(unplaced, kBatches / 4);
}

}  // namespace
}  // namespace topoplace
