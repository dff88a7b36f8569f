// Property tests on seeded random small data centres, with exhaustive search as the oracle.
//
// The oracle shares nothing with the solver: per-node admissibility comes from the verifier on
// single nodes, the set constraints and the objective are re-derived here from the snapshot, and
// every subset of the admissible nodes of the needed size is enumerated (with monotone pruning).
// For every case:
// - "ilp" is optimal with exactly the oracle's optimum (or infeasible exactly when the oracle is);
// - every feasible answer of every backend passes the verifier, and none beats the optimum;
// - every "infeasible" of every backend is confirmed by the oracle;
// - every explanation's conflict set is infeasible on its own, and feasible without any one item.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "solver/backend.h"
#include "solver/solver.h"
#include "solver/verifier.h"
#include "tests/solver/fixtures.h"

namespace topoplace {
namespace {

constexpr double kTolerance = 1e-6;
constexpr int kCases = 500;
// DFS nodes one oracle call may visit before it gives up (the case is then skipped).
constexpr int64_t kOracleWork = 400000;

// The constraint groups a mask can switch off, by their report names.
bool* MaskField(ConstraintMask& m, const std::string& name) {
  if (name == "select") return &m.select;
  if (name == "locality") return &m.locality;
  if (name == "spread") return &m.spread;
  if (name == "compliance") return &m.compliance;
  if (name == "exclusive") return &m.exclusive;
  if (name == "roce") return &m.roce;
  if (name == "budget") return &m.budget;
  if (name == "quota") return &m.quota;
  if (name == "projectQuota") return &m.project_quota;
  if (name == "tenantBudget") return &m.tenant_budget;
  return nullptr;  // count, availability: always enforced
}

bool Enforced(const ConstraintMask& m, const std::string& name) {
  ConstraintMask copy = m;
  bool* field = MaskField(copy, name);
  return field == nullptr || *field;
}

struct OracleAnswer {
  enum class Kind { kFeasible, kInfeasible, kUnknown } kind = Kind::kUnknown;
  std::vector<int> nodes;
  double objective = 0;
};

// The objective of DESIGN.md / solver.h, derived here from the snapshot.
double Objective(const PlacementProblem& problem, const Request& r, const ObjectiveWeights& w,
                 const std::vector<int>& nodes, const std::vector<int>& current = {}) {
  const Inventory& inv = problem.snapshot->inventory;
  const Topology& topo = problem.snapshot->topology;
  auto distinct = [&](Level level) {
    std::set<int> d;
    for (int n : nodes) d.insert(topo.DomainOf(n, level));
    return static_cast<int>(d.size());
  };
  auto free_domains_touched = [&](Level level) {
    std::set<int> touched;
    for (int n : nodes) {
      const int d = topo.DomainOf(n, level);
      bool free = true;
      for (int m : topo.NodesIn(level, d)) free = free && inv.nodes[m].holder.empty();
      if (free) touched.insert(d);
    }
    return static_cast<int>(touched.size());
  };
  double cost = 0;
  int moves = 0;
  for (int n : nodes) {
    cost += inv.ClassOf(n).cost_per_hour;
    // A fresh solve (no current placement) moves nothing.
    moves += !current.empty() && std::find(current.begin(), current.end(), n) == current.end() ? 1 : 0;
  }
  double total =
      w.cost * cost +
      w.fragmentation * (free_domains_touched(Level::kRack) + free_domains_touched(Level::kLeaf)) +
      w.moves * moves;
  if (r.locality) {
    total += w.domains * distinct(r.locality->level);
    for (Level above : LevelsAbove(r.locality->level)) total += w.domains_above * distinct(above);
  }
  return total;
}

// Exhaustive search for the best placement under a mask: depth-first over subsets of the
// admissible nodes in a fixed order, with every constraint and objective term kept incrementally.
// Every term only grows as nodes are added, so a partial objective plus the cheapest possible
// completion bounds every extension (branch and bound). With `optimise` false the search stops at
// the first placement (feasibility only, for explanations).
class Oracle {
 public:
  Oracle(const PlacementProblem& problem, const Request& request, const ObjectiveWeights& weights,
         const ConstraintMask& mask, bool optimise = true, std::vector<int> current = {})
      : problem_(problem),
        r_(request),
        w_(weights),
        mask_(mask),
        optimise_(optimise),
        current_(std::move(current)) {}

  OracleAnswer Solve() {
    const Inventory& inv = problem_.snapshot->inventory;
    const Topology& topo = problem_.snapshot->topology;
    const int n = static_cast<int>(inv.nodes.size());
    // Admissible nodes: the verifier's per-node verdicts on singletons, under the mask.
    std::vector<int> cands;
    for (int i = 0; i < n; ++i) {
      const std::vector<int> one = {i};
      bool ok = true;
      for (const Violation& v : VerifyPlacement(problem_, r_, one, current_)) {
        const bool per_node = v.constraint == "availability" || v.constraint == "select" ||
                              v.constraint == "compliance" || v.constraint == "exclusive";
        if (per_node && Enforced(mask_, v.constraint)) ok = false;
      }
      if (ok) cands.push_back(i);
    }
    // Cheap nodes first: good placements early make the bound bite.
    std::stable_sort(cands.begin(), cands.end(), [&](int a, int b) {
      return inv.ClassOf(a).cost_per_hour < inv.ClassOf(b).cost_per_hour;
    });
    // Headroom, from the tenant's holdings apart from the current placement.
    const Tenant* tenant = nullptr;
    for (const Tenant& t : problem_.tenants) {
      if (t.name == r_.tenant) tenant = &t;
    }
    std::array<double, 6> used = {0, 0, 0, 0, 0, 0};  // nodes, gpus, cores, memory, storage, cost
    for (int i = 0; i < n; ++i) {
      if (inv.nodes[i].holder == r_.tenant && !IsCurrent(i)) {
        const auto add = Resources(inv.ClassOf(i));
        for (int k = 0; k < 6; ++k) used[k] += add[k];
      }
    }
    limit_.fill(1e300);
    if (tenant != nullptr && mask_.quota) {
      const Quota& q = tenant->quota;
      if (q.nodes) limit_[0] = double(*q.nodes) - used[0];
      if (q.gpus) limit_[1] = double(*q.gpus) - used[1];
      if (q.cpu_cores) limit_[2] = double(*q.cpu_cores) - used[2];
      if (q.memory_gib) limit_[3] = *q.memory_gib - used[3];
      if (q.storage_gib) limit_[4] = *q.storage_gib - used[4];
    }
    if (tenant != nullptr && mask_.tenant_budget && tenant->budget_per_hour) {
      limit_[5] = *tenant->budget_per_hour - used[5];
    }
    if (mask_.budget && r_.max_cost_per_hour)
      limit_[5] = std::min(limit_[5], *r_.max_cost_per_hour);

    // Free racks and leaves: nothing in them held by anyone.
    std::array<std::vector<uint8_t>, kLevelCount> free;
    for (Level level : {Level::kRack, Level::kLeaf}) {
      auto& f = free[static_cast<int>(level)];
      f.assign(topo.DomainCount(level), 1);
      for (int i = 0; i < n; ++i) {
        if (!inv.nodes[i].holder.empty()) f[topo.DomainOf(i, level)] = 0;
      }
    }
    std::map<std::string, int> vendors;
    for (int node : cands) {
      Candidate c;
      c.node = node;
      c.res = Resources(inv.ClassOf(node));
      for (int l = 0; l < kLevelCount; ++l) c.domain[l] = topo.DomainOf(node, kAllLevels[l]);
      c.vendor =
          vendors.emplace(inv.switches[inv.LeafOf(node)].vendor, int(vendors.size())).first->second;
      c.free_rack = free[static_cast<int>(Level::kRack)][c.domain[static_cast<int>(Level::kRack)]];
      c.free_leaf = free[static_cast<int>(Level::kLeaf)][c.domain[static_cast<int>(Level::kLeaf)]];
      c.current = IsCurrent(node);
      cheapest_ = std::min(cheapest_, c.res[5]);
      cands_.push_back(c);
    }
    for (int l = 0; l < kLevelCount; ++l) count_[l].assign(topo.DomainCount(kAllLevels[l]), 0);
    vendor_count_.assign(vendors.size() + 1, 0);

    OracleAnswer out;
    const int m = static_cast<int>(cands_.size());
    if (r_.nodes) {
      k_ = *r_.nodes;
      if (k_ <= m) Search(0);
    } else {
      for (k_ = 1; k_ <= m && !found_ && work_ <= kOracleWork; ++k_) Search(0);
    }
    if (work_ > kOracleWork) return out;  // unknown
    out.kind = found_ ? OracleAnswer::Kind::kFeasible : OracleAnswer::Kind::kInfeasible;
    out.nodes = best_;
    std::sort(out.nodes.begin(), out.nodes.end());
    out.objective = best_objective_;
    return out;
  }

 private:
  struct Candidate {
    int node = 0;
    std::array<double, 6> res{};
    std::array<int, kLevelCount> domain{};
    int vendor = 0;
    bool free_rack = false, free_leaf = false;
    bool current = false;
  };

  bool IsCurrent(int node) const {
    return std::find(current_.begin(), current_.end(), node) != current_.end();
  }

  static std::array<double, 6> Resources(const NodeClass& c) {
    return {
        1, double(c.gpu.count), double(c.cpu.cores), c.memory_gib, c.storage_gib, c.cost_per_hour};
  }
  static int L(Level level) { return static_cast<int>(level); }

  bool Admits(const Candidate& c) const {
    const int size = static_cast<int>(chosen_.size());
    if (r_.locality && mask_.locality && r_.locality->mode == LocalityMode::kRequired) {
      const int l = L(r_.locality->level);
      if (count_[l][c.domain[l]] == 0 && distinct_[l] + 1 > r_.locality->max_domains) return false;
    }
    if (r_.spread && mask_.spread) {
      const int l = L(r_.spread->level);
      if (std::optional<int> cap = r_.spread->CapFor(k_); cap && count_[l][c.domain[l]] + 1 > *cap)
        return false;
    }
    if (r_.roce && mask_.roce && size > 0 && vendor_count_[c.vendor] == 0) return false;
    for (int k = 0; k < 6; ++k) {
      if (sum_[k] + c.res[k] > limit_[k] + (k >= 3 ? kTolerance : 0)) return false;
    }
    if (r_.gpus) {
      // Adding only raises the sum and lowers the smallest GPU count: redundancy never heals.
      if (sum_[1] + c.res[1] - std::min(min_gpus_, c.res[1]) >= *r_.gpus) return false;
    }
    return true;
  }

  // The objective of the chosen nodes; no term ever decreases when a node is added.
  double PartialObjective() const {
    double total =
        w_.cost * sum_[5] + (current_.empty() ? 0 : w_.moves * moves_) +
        w_.fragmentation * (free_racks_ + free_leaves_);
    if (r_.locality) {
      total += w_.domains * distinct_[L(r_.locality->level)];
      for (Level above : LevelsAbove(r_.locality->level))
        total += w_.domains_above * distinct_[L(above)];
    }
    return total;
  }

  void Search(int from) {
    if (++work_ > kOracleWork || (found_ && !optimise_)) return;
    const int remaining = k_ - static_cast<int>(chosen_.size());
    // The cheapest completion: the cheapest class; moves are free on a fresh solve, and while
    // current nodes remain a completion may need none.
    const double per_node = w_.cost * cheapest_;
    if (found_ && PartialObjective() + remaining * per_node >= best_objective_ - 1e-9) {
      return;
    }
    if (remaining == 0) {
      Complete();
      return;
    }
    const int m = static_cast<int>(cands_.size());
    for (int j = from; j + remaining <= m; ++j) {
      if (!Admits(cands_[j])) continue;
      Push(j);
      Search(j + 1);
      Pop(j);
      if (work_ > kOracleWork) return;
    }
  }

  void Complete() {
    if (r_.gpus && sum_[1] < *r_.gpus) return;
    if (r_.spread && mask_.spread && r_.spread->min_domains &&
        distinct_[L(r_.spread->level)] < *r_.spread->min_domains) {
      return;
    }
    found_ = true;
    best_objective_ = PartialObjective();
    best_.clear();
    for (int j : chosen_) best_.push_back(cands_[j].node);
  }

  void Push(int j) {
    const Candidate& c = cands_[j];
    chosen_.push_back(j);
    for (int l = 0; l < kLevelCount; ++l) distinct_[l] += count_[l][c.domain[l]]++ == 0;
    free_racks_ += c.free_rack && count_[L(Level::kRack)][c.domain[L(Level::kRack)]] == 1;
    free_leaves_ += c.free_leaf && count_[L(Level::kLeaf)][c.domain[L(Level::kLeaf)]] == 1;
    ++vendor_count_[c.vendor];
    moves_ += c.current ? 0 : 1;
    min_gpus_stack_.push_back(min_gpus_);
    min_gpus_ = std::min(min_gpus_, c.res[1]);
    for (int k = 0; k < 6; ++k) sum_[k] += c.res[k];
  }
  void Pop(int j) {
    const Candidate& c = cands_[j];
    chosen_.pop_back();
    free_racks_ -= c.free_rack && count_[L(Level::kRack)][c.domain[L(Level::kRack)]] == 1;
    free_leaves_ -= c.free_leaf && count_[L(Level::kLeaf)][c.domain[L(Level::kLeaf)]] == 1;
    for (int l = 0; l < kLevelCount; ++l) distinct_[l] -= --count_[l][c.domain[l]] == 0;
    --vendor_count_[c.vendor];
    moves_ -= c.current ? 0 : 1;
    min_gpus_ = min_gpus_stack_.back();
    min_gpus_stack_.pop_back();
    for (int k = 0; k < 6; ++k) sum_[k] -= c.res[k];
  }

  const PlacementProblem& problem_;
  const Request& r_;
  ObjectiveWeights w_;
  ConstraintMask mask_;
  bool optimise_;
  std::vector<int> current_;
  std::vector<Candidate> cands_;
  std::array<std::vector<int>, kLevelCount> count_;
  std::array<int, kLevelCount> distinct_{};
  std::vector<int> vendor_count_;
  int free_racks_ = 0, free_leaves_ = 0, moves_ = 0;
  std::array<double, 6> limit_{};
  std::array<double, 6> sum_{};
  double min_gpus_ = 1e300;
  double cheapest_ = 1e300;
  std::vector<double> min_gpus_stack_;
  std::vector<int> chosen_;
  int k_ = 0;
  int64_t work_ = 0;
  bool found_ = false;
  std::vector<int> best_;
  double best_objective_ = 0;
};

bool Feasible(const PlacementResult& r) {
  return r.status == SolveStatus::kOptimal || r.status == SolveStatus::kFeasible;
}

std::string Describe(const PlacementProblem& problem, const Request& r,
                     const std::vector<int>& nodes) {
  std::string s = "request " + r.name + " tenant " + r.tenant;
  s += r.nodes ? " nodes=" + std::to_string(*r.nodes) : " gpus=" + std::to_string(*r.gpus);
  if (r.locality) {
    s += " locality=" + std::string(LevelName(r.locality->level)) +
         (r.locality->mode == LocalityMode::kRequired ? "/required/" : "/preferred/") +
         std::to_string(r.locality->max_domains);
  }
  if (r.spread) {
    s += " spread=" + std::string(LevelName(r.spread->level));
    if (r.spread->max_per_domain) s += " maxPer=" + std::to_string(*r.spread->max_per_domain);
    if (r.spread->max_fraction) s += " maxFrac=" + std::to_string(*r.spread->max_fraction);
    if (r.spread->min_domains) s += " minDom=" + std::to_string(*r.spread->min_domains);
  }
  for (const auto& c : r.compliance) s += " compliance=" + c;
  if (r.exclusive) s += " exclusive=" + std::string(LevelName(*r.exclusive));
  if (r.roce) s += " roce";
  if (r.max_cost_per_hour) s += " budget=" + std::to_string(*r.max_cost_per_hour);
  s += " nodes:";
  for (const auto& name : fixtures::NodeNames(problem, nodes)) s += " " + name;
  return s;
}

struct Tally {
  int cases = 0, skipped = 0, feasible = 0, infeasible = 0, gpu_requests = 0, explanations = 0;
};

TEST(PropertyTest, BackendsAgreeWithExhaustiveSearch) {
  Tally tally;
  SolveOptions options;
  options.time_limit_seconds = 20;
  for (uint64_t seed = 1; tally.cases < kCases && seed < uint64_t{5} * kCases; ++seed) {
    const PlacementProblem problem = fixtures::RandomDataCentre(seed);
    const Request request = fixtures::RandomRequest(seed, problem);
    ASSERT_TRUE(ValidateRequest(problem, request).ok())
        << ValidateRequest(problem, request).message();
    const OracleAnswer truth = Oracle(problem, request, options.weights, ConstraintMask{}).Solve();
    if (truth.kind == OracleAnswer::Kind::kUnknown) {
      ++tally.skipped;
      continue;
    }
    ++tally.cases;
    const bool feasible = truth.kind == OracleAnswer::Kind::kFeasible;
    if (feasible) {
      // The oracle's incremental objective against the direct formula, and its answer against
      // the verifier.
      ASSERT_NEAR(truth.objective, Objective(problem, request, options.weights, truth.nodes),
                  kTolerance);
      ASSERT_TRUE(VerifyPlacement(problem, request, truth.nodes).empty()) << "seed " << seed;
    }
    ++(feasible ? tally.feasible : tally.infeasible);
    tally.gpu_requests += request.gpus ? 1 : 0;
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + Describe(problem, request, truth.nodes) +
                 " optimum " + std::to_string(truth.objective));

    for (const std::string backend : {"ilp", "heuristic", "auto"}) {
      SCOPED_TRACE("backend " + backend);
      options.backend = backend;
      auto solved = Solve(problem, {request}, options);
      ASSERT_TRUE(solved.ok()) << solved.status().message();
      const PlacementResult& got = solved->front();
      if (!feasible) {
        EXPECT_FALSE(Feasible(got)) << Describe(problem, request, got.nodes);
        if (got.status == SolveStatus::kInfeasible) {
          ASSERT_TRUE(got.explanation.has_value());
          ++tally.explanations;
          // The conflict set: infeasible on its own, feasible without any one of its items.
          ConstraintMask only;
          for (const char* group : {"select", "locality", "spread", "compliance", "exclusive",
                                    "roce", "budget", "quota", "projectQuota", "tenantBudget"})
            *MaskField(only, group) = false;
          std::string items;
          for (const ConflictItem& c : got.explanation->conflict) {
            items += c.constraint + " ";
            if (bool* f = MaskField(only, c.constraint)) *f = true;
          }
          SCOPED_TRACE("conflict " + items + "| " + got.explanation->summary);
          const OracleAnswer together =
              Oracle(problem, request, options.weights, only, false).Solve();
          EXPECT_NE(together.kind, OracleAnswer::Kind::kFeasible) << "conflict set is satisfiable";
          for (const ConflictItem& c : got.explanation->conflict) {
            ConstraintMask without = only;
            bool* f = MaskField(without, c.constraint);
            if (f == nullptr) continue;
            *f = false;
            const OracleAnswer relaxed =
                Oracle(problem, request, options.weights, without, false).Solve();
            EXPECT_NE(relaxed.kind, OracleAnswer::Kind::kInfeasible)
                << "conflict set stays infeasible without " << c.constraint;
          }
        }
        continue;
      }
      if (backend == "ilp") {
        ASSERT_EQ(got.status, SolveStatus::kOptimal) << SolveStatusName(got.status);
      }
      if (got.status == SolveStatus::kInfeasible || Undecided(got.status)) {
        ADD_FAILURE() << backend << " says " << SolveStatusName(got.status) << " but "
                      << Describe(problem, request, truth.nodes) << " is feasible";
        continue;
      }
      const auto violations = VerifyPlacement(problem, request, got.nodes);
      for (const auto& v : violations) ADD_FAILURE() << v.constraint << ": " << v.detail;
      const double objective = Objective(problem, request, options.weights, got.nodes);
      EXPECT_NEAR(got.objective.total, objective, kTolerance) << "reported objective differs";
      if (request.gpus) {
        EXPECT_GE(got.nodes.size(), truth.nodes.size());
        if (got.nodes.size() > truth.nodes.size())
          continue;  // more nodes: objective not comparable
      }
      EXPECT_GE(objective, truth.objective - kTolerance) << Describe(problem, request, got.nodes);
      if (got.status == SolveStatus::kOptimal) {
        EXPECT_EQ(got.nodes.size(), truth.nodes.size());
        EXPECT_NEAR(objective, truth.objective, kTolerance)
            << Describe(problem, request, got.nodes);
        ASSERT_TRUE(got.bound.has_value());
        EXPECT_NEAR(*got.bound, got.objective.total, kTolerance) << "optimal with a gap";
      }
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
  std::cout << "[ property ] cases " << tally.cases << " (feasible " << tally.feasible
            << ", infeasible " << tally.infeasible << ", gpus " << tally.gpu_requests
            << ", explanations checked " << tally.explanations << "), skipped as too large "
            << tally.skipped << "\n";
  EXPECT_EQ(tally.cases, kCases);
  // The generator must keep producing both kinds, or the comparison proves little.
  EXPECT_GE(tally.feasible, kCases / 5);
  EXPECT_GE(tally.infeasible, kCases / 10);
  EXPECT_GE(tally.gpu_requests, kCases / 10);
}

// Re-solves and masks, at the backend level: a random part of the tenant's holdings is the
// current placement, and a random subset of the constraint groups is switched off (what the
// explanations do). The exact backend must still hit the oracle's optimum.
TEST(PropertyTest, ExactBackendOnReSolvesAndMasks) {
  const Backend* ilp = BuiltinBackends().Find("ilp");
  const Backend* heuristic = BuiltinBackends().Find("heuristic");
  ASSERT_NE(ilp, nullptr);
  int cases = 0, with_current = 0, feasible = 0;
  for (uint64_t seed = 10001; cases < kCases / 2 && seed < 10001 + uint64_t{5} * kCases; ++seed) {
    const PlacementProblem problem = fixtures::RandomDataCentre(seed);
    const Request request = fixtures::RandomRequest(seed, problem);
    fixtures::Rng rng(seed);
    const Inventory& inv = problem.snapshot->inventory;
    std::vector<int> current;
    for (int i = 0; i < static_cast<int>(inv.nodes.size()); ++i) {
      const Node& node = inv.nodes[i];
      const bool usable = node.state != NodeState::kMaintenance && node.state != NodeState::kFailed;
      if (node.holder == request.tenant && usable && rng.Percent(60)) current.push_back(i);
    }
    ConstraintMask mask;
    for (const char* group : {"select", "locality", "spread", "compliance", "exclusive", "roce",
                              "budget", "quota", "tenantBudget"}) {
      if (rng.Percent(20)) *MaskField(mask, group) = false;
    }
    const OracleAnswer truth =
        Oracle(problem, request, SolveOptions{}.weights, mask, true, current).Solve();
    if (truth.kind == OracleAnswer::Kind::kUnknown) continue;
    ++cases;
    with_current += current.empty() ? 0 : 1;
    SCOPED_TRACE("seed " + std::to_string(seed) + ": " + Describe(problem, request, truth.nodes) +
                 " current " + std::to_string(current.size()) + " optimum " +
                 std::to_string(truth.objective));

    SolveOptions options;
    options.time_limit_seconds = 20;
    const PreparedRequest p = Prepare(problem, request, options, mask, current);
    PlacementResult exact = ilp->Solve(p, options, nullptr);
    if (truth.kind == OracleAnswer::Kind::kInfeasible) {
      EXPECT_EQ(exact.status, SolveStatus::kInfeasible);
    } else {
      ++feasible;
      ASSERT_EQ(exact.status, SolveStatus::kOptimal);
      EXPECT_EQ(exact.nodes.size(), truth.nodes.size());
      EXPECT_NEAR(exact.objective.total, truth.objective, kTolerance);
      EXPECT_NEAR(Objective(problem, request, options.weights, exact.nodes, current),
                  truth.objective, kTolerance);
      ASSERT_TRUE(exact.bound.has_value());
      EXPECT_NEAR(*exact.bound, exact.objective.total, kTolerance) << "optimal with a gap";
      for (const Violation& v : VerifyPlacement(problem, request, exact.nodes, current)) {
        if (Enforced(mask, v.constraint)) ADD_FAILURE() << v.constraint << ": " << v.detail;
      }
    }
    if (heuristic == nullptr) continue;
    // Warm-started from the heuristic, the exact backend reaches the same optimum.
    const PlacementResult h = heuristic->Solve(p, options, nullptr);
    if (!Feasible(h)) continue;
    EXPECT_NE(truth.kind, OracleAnswer::Kind::kInfeasible)
        << "heuristic placed an infeasible request";
    const PlacementResult warm = ilp->Solve(p, options, &h);
    if (truth.kind == OracleAnswer::Kind::kFeasible) {
      ASSERT_EQ(warm.status, SolveStatus::kOptimal);
      EXPECT_NEAR(warm.objective.total, truth.objective, kTolerance);
    }
  }
  EXPECT_EQ(cases, kCases / 2);
  EXPECT_GE(with_current, kCases / 10);
  EXPECT_GE(feasible, kCases / 10);
}

}  // namespace
}  // namespace topoplace
