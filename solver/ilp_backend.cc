// The exact backend: an integer program over aggregated candidates, solved by GLPK.
//
// Model. Candidates that agree on everything the constraints and the objective can see are
// interchangeable (the grouping of solver/node_groups.h), so one integer x_g in [0, |g|] per such
// group replaces one binary per node. Binary indicators u(level, d) say "domain d is used"; they
// are tied to the groups both ways (x_g <= m_g u and u <= sum x_g), so in every feasible solution
// they are exactly the used domains and the integer objective equals EvaluateObjective() of the
// chosen nodes:
//   sum_g (cost_g * wc + [g not current] * wm) x_g + sum_(level,d) weight(level, d) u(level, d)
// Hard constraints: count, locality (sum u <= maxDomains), spread (per-domain caps; minDomains as
// sum u >= n), RoCE (one vendor binary), quota/budget knapsacks. A `gpus` request is solved in two
// stages: the fewest nodes (with one binary per candidate count when the spread cap depends on the
// count), then the objective with the count fixed. Non-redundancy ("no chosen node can be left
// out") is sum_gpus <= gpus - 1 + q for every GPU size q in use, switched by a binary per size.
//
// Large `nodes` requests (more groups than IlpTuning::split_groups) are split by domain: the model
// above over a set of promising first-level domains, and a relaxation (domain_relaxation.h) that
// bounds every placement leaving the set; the set grows until the two bounds meet. The answer is
// optimal only when they do.
//
// The model goes to GLPK through GlpkModel (glpk_model.h), which checks every array and bound
// before GLPK sees it.

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "solver/backends.h"
#include "solver/domain_relaxation.h"
#include "solver/glpk_model.h"
#include "solver/node_groups.h"
#include "solver/prepared.h"

namespace topoplace {

namespace {

using Clock = std::chrono::steady_clock;

// Knapsack right-hand sides get this slack so money sums that are equal up to rounding stay
// feasible; the verifier allows 1e-6.
constexpr double kMoneySlack = 1e-7;

// What the model needs from a prepared request, computed once for all stages: the groups of
// interchangeable candidates (solver/node_groups.h), one integer count each.
struct Instance {
  explicit Instance(const PreparedRequest& prepared)
      : p(&prepared),
        groups(prepared),
        roce(prepared.request->roce && prepared.mask.roce),
        gpu_request(prepared.request->gpus.has_value()) {}

  const PreparedRequest* p = nullptr;
  NodeGroups groups;
  bool roce = false;
  bool gpu_request = false;

  const std::vector<NodeGroup>& all() const { return groups.groups(); }
  const NodeGroup& group(int g) const { return groups.groups()[g]; }
  const NodeClass& ClassOf(const NodeGroup& g) const {
    return p->inventory().node_classes[g.node_class];
  }
};

// Required locality: the maxDomains largest domains must hold the count (or the GPUs). A cheap
// proof of infeasibility that skips building a model, which matters at the nvlink level, where
// every 8-GPU node is a domain, and so a group, of its own.
bool LocalityCannotHold(const Instance& in) {
  const PreparedRequest& p = *in.p;
  const Request& r = *p.request;
  if (!r.locality || !p.mask.locality || r.locality->mode != LocalityMode::kRequired) return false;
  const int slot = in.groups.Slot(r.locality->level);
  std::map<int, int64_t> held;  // domain -> nodes, or GPUs
  for (const NodeGroup& g : in.all()) {
    held[in.groups.Domain(g, slot)] +=
        static_cast<int64_t>(r.gpus ? g.gpus : 1) * static_cast<int64_t>(g.Size());
  }
  std::vector<int64_t> sizes;
  sizes.reserve(held.size());
  for (const auto& [d, size] : held) sizes.push_back(size);
  std::sort(sizes.begin(), sizes.end(), std::greater<>());
  int64_t reach = 0;
  for (size_t i = 0; i < sizes.size() && i < static_cast<size_t>(r.locality->max_domains); ++i) {
    reach += sizes[i];
  }
  return reach < (r.gpus ? *r.gpus : r.nodes.value_or(0));
}

// What one stage optimises and over which candidate counts.
struct Stage {
  int k_lo = 0, k_hi = 0;
  bool fewest_nodes = false;  // objective: the count; else the placement objective
  // A preempting request (PreparedRequest::preemption): the objective is the number of victims
  // evicted (kCount), or with exactly `evictions` of them the sum of their priorities (kPriority).
  enum class Evict { kNone, kCount, kPriority } evict = Evict::kNone;
  int evictions = 0;
};

// A GLPK problem built for one stage, with the meaning of every column.
class Model {
 public:
  Model(const Instance& in, const Stage& stage) : in_(in), stage_(stage) { Build(); }

  GlpkModel& glpk() const { return glpk_; }
  int GroupColumn(int g) const { return 1 + g; }
  // The column of victim `v` of a preempting request (PreemptionSpace::victims order).
  const std::vector<int>& VictimColumns() const { return victim_columns_; }

  // Column values (1-based, GLPK's layout) of a concrete node set, or nullopt when the set is not
  // a feasible point of this model (a node outside the groups, a row out of bounds). GLPK accepts
  // a heuristic point without checking rows, so this check is what keeps the incumbent honest.
  // `victims`: a preempting request's evicted victims (PreemptionSpace indices).
  std::optional<std::vector<double>> PointFor(std::span<const int> nodes,
                                              std::span<const int> victims = {}) const {
    std::vector<double> x(glpk_.columns() + 1, 0.0);
    for (int v : victims) {
      if (v < 0 || v >= static_cast<int>(victim_columns_.size())) return std::nullopt;
      x[victim_columns_[v]] = 1;
    }
    for (int node : nodes) {
      const int g = in_.groups.GroupOf(node);
      if (g < 0) return std::nullopt;
      x[GroupColumn(g)] += 1;
    }
    for (const Indicator& ind : indicators_) {
      bool used = false;
      for (int g : ind.groups) used = used || x[GroupColumn(g)] > 0;
      x[ind.column] = used ? 1 : 0;
    }
    const int k = static_cast<int>(nodes.size());
    for (const auto& [size, column] : size_columns_) x[column] = size == k ? 1 : 0;
    // Absolute tolerance: with the knapsack slack it stays inside the verifier's 1e-6 on money.
    constexpr double kTolerance = 5e-7;
    if (!glpk_.Satisfies(x, kTolerance)) return std::nullopt;
    return x;
  }

 private:
  struct Indicator {
    int column = 0;
    std::vector<int> groups;
  };

  int AddColumn(ColumnKind kind, double lo, double hi, double objective) {
    return glpk_.AddColumn(kind, lo, hi, objective);
  }
  void AddRow(const std::vector<std::pair<int, double>>& entries, std::optional<double> lo,
              std::optional<double> hi) {
    glpk_.AddRow(entries, lo, hi);
  }

  // The placement objective's coefficient of the indicator of domain `d` at `level`.
  double IndicatorCost(Level level, int d) const {
    return stage_.fewest_nodes || stage_.evict != Stage::Evict::kNone
               ? 0
               : DomainOpeningCost(*in_.p, level, d);
  }

  void Build() {
    const PreparedRequest& p = *in_.p;
    const Request& r = *p.request;
    const ObjectiveWeights& w = p.weights;
    const int groups = static_cast<int>(in_.all().size());
    const int k_hi = stage_.k_hi;
    auto link_size = [&](int g) {
      return static_cast<double>(std::min<int>(in_.group(g).Size(), k_hi));
    };

    // x_g. Under keep_current (repair) a group of current nodes is taken whole.
    for (int g = 0; g < groups; ++g) {
      const NodeGroup& group = in_.group(g);
      const double objective = stage_.evict != Stage::Evict::kNone ? 0.0
                               : stage_.fewest_nodes                 ? 1.0
                                                                     : group.base;
      double lo = 0;
      if (p.keep_current && group.current) {
        lo = static_cast<double>(group.Size());
      }
      // More nodes to keep than the count allows makes the column contradictory: no solution.
      AddColumn(ColumnKind::kInteger, lo, link_size(g), objective);
    }

    // Domain indicators, tied both ways to the groups inside.
    std::map<Level, std::vector<int>> columns_by_level;  // indicator columns per level
    const bool fragmentation =
        w.fragmentation != 0 && !stage_.fewest_nodes && stage_.evict == Stage::Evict::kNone;
    const std::vector<Level>& levels = in_.groups.levels();
    for (size_t slot = 0; slot < levels.size(); ++slot) {
      const Level level = levels[slot];
      const bool structural =
          (r.locality && (level == r.locality->level ||
                          std::ranges::count(LevelsAbove(r.locality->level), level))) ||
          (r.spread && p.mask.spread && level == r.spread->level);
      std::map<int, std::vector<int>> members;
      for (int g = 0; g < groups; ++g)
        members[in_.groups.Domain(in_.group(g), static_cast<int>(slot))].push_back(g);
      std::vector<int> capacities;
      for (auto& [d, gs] : members) {
        const bool free_domain =
            (level == Level::kRack && p.free_rack[d]) || (level == Level::kLeaf && p.free_leaf[d]);
        if (!structural && !(fragmentation && free_domain)) continue;
        Indicator ind;
        ind.column = AddColumn(ColumnKind::kBinary, 0, 1, IndicatorCost(level, d));
        ind.groups = gs;
        std::vector<std::pair<int, double>> down = {{ind.column, 1.0}};
        std::vector<std::pair<int, double>> up;
        int size = 0;
        for (int g : gs) {
          AddRow({{GroupColumn(g), 1.0}, {ind.column, -link_size(g)}}, std::nullopt, 0.0);
          down.emplace_back(GroupColumn(g), -1.0);
          up.emplace_back(GroupColumn(g), 1.0);
          size += in_.group(g).Size();
        }
        AddRow(down, std::nullopt, 0.0);
        // The domain as a whole holds at most min(size, k): implied for integers, but it lifts
        // the LP bound when a domain spans many small groups (pods, spines, sites).
        if (gs.size() > 1) {
          up.emplace_back(ind.column, -static_cast<double>(std::min(size, k_hi)));
          AddRow(up, std::nullopt, 0.0);
        }
        columns_by_level[level].push_back(ind.column);
        indicators_.push_back(std::move(ind));
        capacities.push_back(std::min(size, stage_.k_lo));
      }
      // When every domain of the level has an indicator, the k nodes need at least as many
      // domains as the largest capacities take to reach k. Implied for integers, but the LP only
      // sees k / capacity: this row is what lets preferred locality prove optimality quickly.
      if (capacities.size() == members.size()) {
        std::sort(capacities.begin(), capacities.end(), std::greater<>());
        int fewest = 0;
        for (int reached = 0;
             reached < stage_.k_lo && fewest < static_cast<int>(capacities.size());) {
          reached += capacities[fewest++];
        }
        std::vector<std::pair<int, double>> used;
        for (int column : columns_by_level[level]) used.emplace_back(column, 1.0);
        if (fewest > 1) AddRow(used, static_cast<double>(fewest), std::nullopt);
      }
    }

    // Count, with one binary per candidate count when the spread cap depends on it.
    std::vector<std::pair<int, double>> all_x;
    all_x.reserve(groups);
    for (int g = 0; g < groups; ++g) all_x.emplace_back(GroupColumn(g), 1.0);
    const std::optional<Spread> spread = p.mask.spread ? r.spread : std::nullopt;
    bool caps_vary = false;
    if (spread) {
      for (int k = stage_.k_lo; k < stage_.k_hi; ++k) {
        caps_vary = caps_vary || spread->CapFor(k) != spread->CapFor(k + 1);
      }
    }
    if (caps_vary) {
      std::vector<std::pair<int, double>> count = all_x, one;
      for (int k = stage_.k_lo; k <= stage_.k_hi; ++k) {
        const int column = AddColumn(ColumnKind::kBinary, 0, 1, 0);
        size_columns_.emplace_back(k, column);
        count.emplace_back(column, -static_cast<double>(k));
        one.emplace_back(column, 1.0);
      }
      AddRow(count, 0.0, 0.0);
      AddRow(one, 1.0, 1.0);
    } else {
      AddRow(all_x, static_cast<double>(stage_.k_lo), static_cast<double>(stage_.k_hi));
    }

    // Locality (required).
    if (r.locality && p.mask.locality && r.locality->mode == LocalityMode::kRequired) {
      std::vector<std::pair<int, double>> used;
      for (int column : columns_by_level[r.locality->level]) used.emplace_back(column, 1.0);
      AddRow(used, std::nullopt, static_cast<double>(r.locality->max_domains));
    }

    // Spread: caps per domain and the minimum number of domains.
    if (spread) {
      const int slot = in_.groups.Slot(spread->level);
      std::map<int, std::vector<int>> members;
      for (int g = 0; g < groups; ++g) members[in_.groups.Domain(in_.group(g), slot)].push_back(g);
      for (const auto& [d, gs] : members) {
        int size = 0;
        for (int g : gs) size += in_.group(g).Size();
        std::vector<std::pair<int, double>> row;
        for (int g : gs) row.emplace_back(GroupColumn(g), 1.0);
        if (caps_vary) {
          bool binding = false;
          for (const auto& [k, column] : size_columns_) {
            const int cap = *spread->CapFor(k);
            binding = binding || cap < std::min(size, k);
            row.emplace_back(column, -static_cast<double>(cap));
          }
          if (binding) AddRow(row, std::nullopt, 0.0);
        } else if (std::optional<int> cap = spread->CapFor(stage_.k_hi);
                   cap && *cap < std::min(size, k_hi)) {
          AddRow(row, std::nullopt, static_cast<double>(*cap));
        }
      }
      if (spread->min_domains) {
        std::vector<std::pair<int, double>> used;
        for (int column : columns_by_level[spread->level]) used.emplace_back(column, 1.0);
        AddRow(used, static_cast<double>(*spread->min_domains), std::nullopt);
      }
    }

    // RoCE: one vendor.
    if (in_.roce && in_.groups.vendors().size() > 1) {
      std::vector<std::pair<int, double>> one;
      std::vector<int> vendor_column;
      for (size_t v = 0; v < in_.groups.vendors().size(); ++v) {
        vendor_column.push_back(AddColumn(ColumnKind::kBinary, 0, 1, 0));
        one.emplace_back(vendor_column.back(), 1.0);
        Indicator ind;
        ind.column = vendor_column.back();
        for (int g = 0; g < groups; ++g) {
          if (in_.group(g).vendor == static_cast<int>(v)) ind.groups.push_back(g);
        }
        indicators_.push_back(std::move(ind));
      }
      AddRow(one, std::nullopt, 1.0);
      for (int g = 0; g < groups; ++g) {
        AddRow({{GroupColumn(g), 1.0}, {vendor_column[in_.group(g).vendor], -link_size(g)}},
               std::nullopt, 0.0);
      }
    }

    // Headroom knapsacks (a preempting request's own rows: BuildPreemption()).
    const Headroom& h = p.preemption ? Headroom{} : p.headroom;
    auto knapsack = [&](auto per_group, std::optional<double> limit, double slack) {
      if (!limit) return;
      std::vector<std::pair<int, double>> row;
      row.reserve(groups);
      for (int g = 0; g < groups; ++g)
        row.emplace_back(GroupColumn(g), per_group(in_.ClassOf(in_.group(g))));
      AddRow(row, std::nullopt, *limit + slack);
    };
    auto as_double = [](const auto& v) -> std::optional<double> {
      return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
    };
    knapsack([](const NodeClass&) { return 1.0; }, as_double(h.nodes), 0);
    knapsack([](const NodeClass& c) { return static_cast<double>(c.gpu.count); }, as_double(h.gpus),
             0);
    knapsack([](const NodeClass& c) { return static_cast<double>(c.cpu.cores); },
             as_double(h.cpu_cores), 0);
    knapsack([](const NodeClass& c) { return c.memory_gib; }, h.memory_gib, kMoneySlack);
    knapsack([](const NodeClass& c) { return c.storage_gib; }, h.storage_gib, kMoneySlack);
    knapsack([](const NodeClass& c) { return c.cost_per_hour; }, h.cost_per_hour, kMoneySlack);

    // GPU count: reach the total, and leave no node redundant.
    if (in_.gpu_request) {
      const double target = *r.gpus;
      std::vector<std::pair<int, double>> sum;
      std::map<int, std::vector<int>> by_size;
      double max_sum = 0;
      for (int g = 0; g < groups; ++g) {
        sum.emplace_back(GroupColumn(g), static_cast<double>(in_.group(g).gpus));
        by_size[in_.group(g).gpus].push_back(g);
        max_sum += in_.group(g).gpus * link_size(g);
      }
      AddRow(sum, target, std::nullopt);
      for (const auto& [q, gs] : by_size) {
        const double limit = target - 1 + q;
        const double big = max_sum - limit;
        if (big <= 0) continue;  // never binding
        Indicator ind;
        ind.column = AddColumn(ColumnKind::kBinary, 0, 1, 0);
        ind.groups = gs;
        for (int g : gs) {
          AddRow({{GroupColumn(g), 1.0}, {ind.column, -link_size(g)}}, std::nullopt, 0.0);
        }
        std::vector<std::pair<int, double>> row = sum;
        row.emplace_back(ind.column, big);
        AddRow(row, std::nullopt, limit + big);
        indicators_.push_back(std::move(ind));
      }
    }
    if (p.preemption) BuildPreemption(*p.preemption);
  }

  // A preempting request: one binary per legal victim; a group may be used only when every victim
  // its nodes need is evicted; each headroom part (tenant, project, the request's budget) grows by
  // what the evicted victims return to it; at most maxEvictions.
  void BuildPreemption(const PreemptionSpace& space) {
    const int groups = static_cast<int>(in_.all().size());
    const int k_hi = stage_.k_hi;
    int lowest = 0;
    for (size_t v = 0; v < space.victims.size(); ++v) {
      lowest = v == 0 ? space.victims[v].priority : std::min(lowest, space.victims[v].priority);
    }
    std::vector<std::pair<int, double>> all_e;
    for (const PreemptionSpace::Victim& victim : space.victims) {
      double objective = 0;
      if (stage_.evict == Stage::Evict::kCount) objective = 1;
      if (stage_.evict == Stage::Evict::kPriority) objective = victim.priority - lowest;
      victim_columns_.push_back(AddColumn(ColumnKind::kBinary, 0, 1, objective));
      all_e.emplace_back(victim_columns_.back(), 1.0);
    }
    if (space.max_evictions) AddRow(all_e, std::nullopt, static_cast<double>(*space.max_evictions));
    if (stage_.evict == Stage::Evict::kPriority) {
      AddRow(all_e, static_cast<double>(stage_.evictions), static_cast<double>(stage_.evictions));
    }
    for (int g = 0; g < groups; ++g) {
      const NodeGroup& group = in_.group(g);
      const double size = static_cast<double>(std::min<int>(group.Size(), k_hi));
      for (int v : space.need_sets[group.needs]) {
        AddRow({{GroupColumn(g), 1.0}, {victim_columns_[v], -size}}, std::nullopt, 0.0);
      }
    }
    // Resources of one node of a group, in PreemptionSpace order.
    auto resource = [&](const NodeGroup& group, size_t r) {
      return NodeResources(in_.ClassOf(group))[r];
    };
    auto part = [&](const std::array<std::optional<double>, 6>& limits, bool project) {
      for (size_t r = 0; r < limits.size(); ++r) {
        if (!limits[r]) continue;
        std::vector<std::pair<int, double>> row;
        for (int g = 0; g < groups; ++g) row.emplace_back(GroupColumn(g), resource(in_.group(g), r));
        for (size_t v = 0; v < space.victims.size(); ++v) {
          const PreemptionSpace::Victim& victim = space.victims[v];
          if (project ? victim.same_project : victim.same_tenant)
            row.emplace_back(victim_columns_[v], -victim.returns[r]);
        }
        AddRow(row, std::nullopt, *limits[r] + (r >= 3 ? kMoneySlack : 0.0));
      }
    };
    part(space.tenant, false);
    part(space.project, true);
    if (space.request_budget) {
      std::vector<std::pair<int, double>> row;
      for (int g = 0; g < groups; ++g) row.emplace_back(GroupColumn(g), resource(in_.group(g), 5));
      AddRow(row, std::nullopt, *space.request_budget + kMoneySlack);
    }
  }

  const Instance& in_;
  Stage stage_;
  mutable GlpkModel glpk_;
  std::vector<Indicator> indicators_;
  std::vector<std::pair<int, int>> size_columns_;  // (count, column)
  std::vector<int> victim_columns_;                // a preempting request's victims
};

// What a branch-and-bound run found, in groups.
struct MipResult {
  MipOutcome::Kind kind = MipOutcome::Kind::kNoSolution;
  std::vector<int> counts;  // per group
  std::vector<int> victims;  // a preempting request's evicted victims (PreemptionSpace indices)
  std::optional<double> bound;
};

MipResult RunMip(const Instance& in, const Model& model, Clock::time_point deadline,
                 const std::vector<double>* warm, std::optional<double> stop_at = std::nullopt) {
  MipParams params;
  params.deadline = deadline;
  params.warm = warm;
  params.stop_at = stop_at;
  MipOutcome outcome = model.glpk().Solve(params);
  MipResult out;
  out.kind = outcome.kind;
  out.bound = outcome.bound;
  if (outcome.kind == MipOutcome::Kind::kOptimal || outcome.kind == MipOutcome::Kind::kFeasible) {
    out.counts.resize(in.all().size());
    for (size_t g = 0; g < in.all().size(); ++g) {
      out.counts[g] =
          static_cast<int>(std::lround(outcome.values[model.GroupColumn(static_cast<int>(g))]));
    }
    const std::vector<int>& columns = model.VictimColumns();
    for (size_t v = 0; v < columns.size(); ++v) {
      if (outcome.values[columns[v]] > 0.5) out.victims.push_back(static_cast<int>(v));
    }
  }
  return out;
}

// The status of a search that stopped without a placement: out of time, or nothing proven.
SolveStatus StoppedStatus(MipOutcome::Kind kind) {
  return kind == MipOutcome::Kind::kTimeLimit ? SolveStatus::kTimeout
                                              : SolveStatus::kNoSolutionFound;
}

std::vector<int> NodesOf(const Instance& in, const std::vector<int>& counts) {
  return in.groups.Take(counts);
}

constexpr size_t kNeverSplit = std::numeric_limits<size_t>::max();

// The node counts a `gpus` request can take: from the fewest GPU-richest nodes that reach
// `target` to the most nodes with the fewest GPUs that stop short of a redundant one (`total`
// candidates at most); nullopt when even every candidate's GPUs fall short.
std::optional<std::pair<int, int>> GpuCountRange(const Instance& in, int target, int total) {
  int q_min = INT_MAX, q_max = 0;
  int64_t gpus_available = 0;
  for (const NodeGroup& g : in.all()) {
    q_min = std::min(q_min, g.gpus);
    q_max = std::max(q_max, g.gpus);
    gpus_available += static_cast<int64_t>(g.gpus) * static_cast<int64_t>(g.Size());
  }
  if (target <= 0 || in.all().empty() || gpus_available < target) return std::nullopt;
  const int k_lo = (target + q_max - 1) / q_max;
  const int k_hi = std::min(total, (target - 1) / q_min + 1);
  if (k_lo > k_hi) return std::nullopt;
  return std::make_pair(k_lo, k_hi);
}

class IlpBackend final : public Backend {
 public:
  explicit IlpBackend(const IlpTuning& tuning) : tuning_(tuning) {}

  std::string_view name() const override { return "ilp"; }
  BackendCapabilities capabilities() const override {
    return {.exact = true,
            .honours_keep_current = true,
            .uses_warm_start = true,
            .honours_time_limit = true,
            .preempts = true};
  }

  PlacementResult Solve(const PreparedRequest& p, const SolveOptions& options,
                        const PlacementResult* warm_start) const override {
    const auto start = Clock::now();
    // Clamped so that an absurd limit cannot overflow the clock arithmetic.
    const double seconds = std::clamp(options.time_limit_seconds, 0.0, 1e6);
    const auto deadline = start + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
    PlacementResult result = p.preemption ? SolveEvicting(p, deadline, warm_start)
                                          : SolveWithin(p, deadline, warm_start, tuning_.split_groups);
    result.request = p.request->name;
    result.backend = std::string(name());
    result.solve_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    return result;
  }

 private:
  static PlacementResult Answer(const PreparedRequest& p, SolveStatus status,
                                std::vector<int> nodes, std::optional<double> bound) {
    PlacementResult r;
    r.status = status;
    r.nodes = std::move(nodes);
    if (status == SolveStatus::kOptimal || status == SolveStatus::kFeasible) {
      r.objective = EvaluateObjective(p, r.nodes);
      r.cost_per_hour = r.objective.cost_per_hour;
      // For an optimal answer `bound` is GLPK's own objective value, which equals the evaluated
      // objective when the model is right; a difference shows up as a gap instead of hiding.
      if (bound && std::abs(*bound - r.objective.total) <= 1e-9 * std::max(1.0, std::abs(*bound))) {
        bound = r.objective.total;
      }
      if (bound) {
        r.bound = std::min(*bound, r.objective.total);
        r.gap = (r.objective.total - *r.bound) / std::max(1.0, std::abs(r.objective.total));
      }
    }
    return r;
  }

  // Large `nodes` requests: the integer program over a few promising first-level domains, and the
  // domain-split relaxation (domain_relaxation.h) for every placement that leaves them. The set
  // grows until the two bounds meet (proven optimal) or the time is up (the better bound stands).
  PlacementResult SolveByDomains(const PreparedRequest& p, const Instance& in, int k,
                                 Clock::time_point deadline, const PlacementResult* warm_start,
                                 bool warm_usable, size_t first_domains) const {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    const NodeGroups& ng = in.groups;
    const Topology& topo = p.topology();
    const Level first = ng.first_level();
    const int domains = topo.DomainCount(first);
    // Rank: the cost per node of a domain that supplies as many of the k nodes as it can alone.
    std::vector<std::vector<std::pair<double, int>>> by_domain(domains);
    for (const NodeGroup& g : ng.groups())
      by_domain[ng.Domain(g, 0)].emplace_back(g.base, g.Size());
    std::vector<std::pair<double, int>> ranked;
    for (int d = 0; d < domains; ++d) {
      if (by_domain[d].empty()) continue;
      std::sort(by_domain[d].begin(), by_domain[d].end());
      double cost = DomainOpeningCost(p, first, d);
      int taken = 0;
      for (const auto& [base, size] : by_domain[d]) {
        const int take = std::min(size, k - taken);
        cost += take * base;
        taken += take;
        if (taken == k) break;
      }
      ranked.emplace_back(cost / taken, d);
    }
    std::sort(ranked.begin(), ranked.end());

    std::vector<uint8_t> inside(domains, 0);
    PlacementResult best;
    best.status = SolveStatus::kNoSolutionFound;
    size_t wanted = std::max<size_t>(1, first_domains);
    if (warm_usable) {
      best = Answer(p, SolveStatus::kFeasible, warm_start->nodes, std::nullopt);
      size_t used = 0;
      for (int node : best.nodes) {
        uint8_t& in_set = inside[topo.DomainOf(node, first)];
        used += in_set == 0 ? 1 : 0;
        in_set = 1;
      }
      wanted = std::max(wanted, 4 * used);
    }
    double bound = -kInf;
    auto proven = [&] {
      return HasPlacement(best.status) &&
             bound >= best.objective.total - 1e-9 * std::max(1.0, std::abs(best.objective.total));
    };
    for (;;) {
      for (size_t i = 0; i < ranked.size() && i < wanted; ++i) inside[ranked[i].second] = 1;
      // The relaxation first: it often proves the starting placement optimal on its own, and its
      // own optimum, when it keeps every constraint, is a placement as good as any.
      const bool first_round = bound == -kInf;
      const DomainSplitBound split = BoundByDomains(p, ng, k, inside, first_round);
      bound = std::max(bound, split.all);
      if (proven()) break;
      if (!split.placement.empty()) {
        std::vector<int> nodes = ng.Take(split.placement);
        if (static_cast<int>(nodes.size()) == k && CheckPrepared(p, nodes).empty()) {
          PlacementResult relaxed =
              Answer(p, SolveStatus::kFeasible, std::move(nodes), std::nullopt);
          if (!HasPlacement(best.status) || relaxed.objective.total < best.objective.total - 1e-9)
            best = std::move(relaxed);
          if (proven()) break;
          for (int node : best.nodes) inside[topo.DomainOf(node, first)] = 1;
        }
      }
      PreparedRequest within = p;
      std::erase_if(within.candidates,
                    [&](int node) { return !inside[topo.DomainOf(node, first)]; });
      const bool placed = HasPlacement(best.status);
      // The search inside stops once it meets the relaxation's bound: nothing anywhere is better.
      const PlacementResult found =
          SolveWithin(within, deadline, placed ? &best : nullptr, kNeverSplit, split.all);
      double found_bound = -kInf;  // over the placements inside the set
      if (found.status == SolveStatus::kOptimal) found_bound = found.objective.total;
      if (found.status == SolveStatus::kInfeasible) found_bound = kInf;
      if (found.status == SolveStatus::kFeasible && found.bound) found_bound = *found.bound;
      if (HasPlacement(found.status) &&
          (!placed || found.objective.total < best.objective.total - 1e-9)) {
        best = found;
      }
      bound = std::max(bound, std::min(found_bound, split.outside.value_or(kInf)));
      if (proven() || !split.outside || Clock::now() >= deadline) break;
      wanted *= 4;
    }
    if (proven()) return Answer(p, SolveStatus::kOptimal, best.nodes, best.objective.total);
    if (HasPlacement(best.status)) {
      return Answer(p, SolveStatus::kFeasible, best.nodes,
                    bound > -kInf ? std::optional<double>(bound) : std::nullopt);
    }
    if (bound == kInf) return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
    return Answer(p,
                  Clock::now() >= deadline ? SolveStatus::kTimeout : SolveStatus::kNoSolutionFound,
                  {}, std::nullopt);
  }

  // A preempting request: the fewest evictions, then the least priority sum among those, each
  // stage proven by branch and bound (the placement objective is the caller's: it solves again
  // once the victims are gone). kOptimal: both stages proven; kFeasible: a valid set, not proven
  // minimal; kInfeasible: not even every legal victim makes room.
  static PlacementResult SolveEvicting(const PreparedRequest& p, Clock::time_point deadline,
                                       const PlacementResult* warm_start) {
    const PreemptionSpace& space = *p.preemption;
    const Instance in(p);
    const Request& r = *p.request;
    if (LocalityCannotHold(in)) return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
    int total = 0;
    for (const NodeGroup& g : in.all()) total += g.Size();
    Stage stage;
    stage.evict = Stage::Evict::kCount;
    if (r.nodes) {
      if (*r.nodes <= 0 || *r.nodes > total)
        return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
      stage.k_lo = stage.k_hi = *r.nodes;
    } else {
      const std::optional<std::pair<int, int>> range = GpuCountRange(in, r.gpus.value_or(0), total);
      if (!range) return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
      std::tie(stage.k_lo, stage.k_hi) = *range;
    }
    // The warm start as victims: its evictions by name.
    std::vector<int> warm_victims;
    const bool warm_usable = warm_start != nullptr && HasPlacement(warm_start->status);
    if (warm_usable) {
      for (const Eviction& e : warm_start->evictions) {
        for (size_t v = 0; v < space.victims.size(); ++v) {
          if (VictimName(p, static_cast<int>(v)) == e.allocation)
            warm_victims.push_back(static_cast<int>(v));
        }
      }
    }
    auto answer = [&](SolveStatus status, const MipResult& found) {
      PlacementResult out = Answer(p, status, NodesOf(in, found.counts), std::nullopt);
      for (int v : found.victims) {
        Eviction e;
        e.allocation = VictimName(p, v);
        e.priority = p.preemption->victims[v].priority;
        out.evictions.push_back(std::move(e));
      }
      return out;
    };
    auto warm_answer = [&] {
      PlacementResult out = Answer(p, SolveStatus::kFeasible, warm_start->nodes, std::nullopt);
      out.evictions = warm_start->evictions;
      return out;
    };

    const Model count_model(in, stage);
    std::optional<std::vector<double>> warm;
    if (warm_usable) warm = count_model.PointFor(warm_start->nodes, warm_victims);
    const MipResult fewest = RunMip(in, count_model, deadline, warm ? &*warm : nullptr);
    switch (fewest.kind) {
      case MipOutcome::Kind::kInfeasible:
        return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
      case MipOutcome::Kind::kTimeLimit:
      case MipOutcome::Kind::kNoSolution:
        if (warm) return warm_answer();
        return Answer(p, StoppedStatus(fewest.kind), {}, std::nullopt);
      case MipOutcome::Kind::kFeasible:
        return answer(SolveStatus::kFeasible, fewest);
      case MipOutcome::Kind::kOptimal: break;
    }
    stage.evict = Stage::Evict::kPriority;
    stage.evictions = static_cast<int>(fewest.victims.size());
    const Model priority_model(in, stage);
    const std::optional<std::vector<double>> known =
        priority_model.PointFor(NodesOf(in, fewest.counts), fewest.victims);
    const MipResult least = RunMip(in, priority_model, deadline, known ? &*known : nullptr);
    switch (least.kind) {
      case MipOutcome::Kind::kOptimal: return answer(SolveStatus::kOptimal, least);
      case MipOutcome::Kind::kFeasible: return answer(SolveStatus::kFeasible, least);
      default: return answer(SolveStatus::kFeasible, fewest);
    }
  }

  static const std::string& VictimName(const PreparedRequest& p, int v) {
    return p.preemption->victims[v].name;
  }

  // `nodes` requests over more than `split_groups` groups go to SolveByDomains(); `stop_at`: a
  // proven lower bound on the optimum, at which the search may stop.
  PlacementResult SolveWithin(const PreparedRequest& p, Clock::time_point deadline,
                              const PlacementResult* warm_start, size_t split_groups,
                              std::optional<double> stop_at = std::nullopt) const {
    const Instance in(p);
    const Request& r = *p.request;
    const bool warm_usable = warm_start != nullptr && !warm_start->nodes.empty() &&
                             (warm_start->status == SolveStatus::kOptimal ||
                              warm_start->status == SolveStatus::kFeasible);
    int total = 0;
    for (const NodeGroup& g : in.all()) total += g.Size();
    if (LocalityCannotHold(in)) return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);

    Stage stage;
    if (r.nodes) {
      stage.k_lo = stage.k_hi = *r.nodes;
      if (*r.nodes <= 0 || *r.nodes > total)
        return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
      // The relaxation's dynamic program takes time and memory in proportion to k * groups.
      constexpr double kMaxSplitWork = 1e7;
      if (!p.keep_current && in.all().size() > split_groups &&
          static_cast<double>(*r.nodes) * static_cast<double>(in.all().size()) <= kMaxSplitWork) {
        return SolveByDomains(p, in, *r.nodes, deadline, warm_start, warm_usable,
                              tuning_.first_domains);
      }
    } else {
      // The fewest nodes first: bracket the count, then minimise it.
      const std::optional<std::pair<int, int>> range = GpuCountRange(in, r.gpus.value_or(0), total);
      if (!range) return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
      const auto [k_lo, k_hi] = *range;
      Stage fewest{k_lo, k_hi, true};
      const Model model(in, fewest);
      std::optional<std::vector<double>> warm;
      if (warm_usable) warm = model.PointFor(warm_start->nodes);
      const MipResult first = RunMip(in, model, deadline, warm ? &*warm : nullptr);
      if (first.kind == MipOutcome::Kind::kInfeasible)
        return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
      if (first.kind == MipOutcome::Kind::kTimeLimit ||
          first.kind == MipOutcome::Kind::kNoSolution) {
        // Stopped: the warm start, when it is a point of the model, is still an answer.
        if (warm) return Answer(p, SolveStatus::kFeasible, warm_start->nodes, std::nullopt);
        return Answer(p, StoppedStatus(first.kind), {}, std::nullopt);
      }
      int k = 0;
      for (int c : first.counts) k += c;
      stage.k_lo = stage.k_hi = k;
      if (first.kind == MipOutcome::Kind::kFeasible) {
        // The count is not proven minimal: whatever follows is only feasible.
        PlacementResult second = OptimiseCount(p, in, stage, deadline, warm_start, warm_usable,
                                               NodesOf(in, first.counts));
        if (second.status == SolveStatus::kOptimal) second.status = SolveStatus::kFeasible;
        second.bound.reset();
        second.gap.reset();
        return second;
      }
      return OptimiseCount(p, in, stage, deadline, warm_start, warm_usable,
                           NodesOf(in, first.counts));
    }
    return OptimiseCount(p, in, stage, deadline, warm_start, warm_usable, {}, stop_at);
  }

  // Minimises the objective with the count fixed. `known` is a feasible point of this count
  // (from the first stage), used as the incumbent when the warm start does not fit.
  static PlacementResult OptimiseCount(const PreparedRequest& p, const Instance& in,
                                       const Stage& stage, Clock::time_point deadline,
                                       const PlacementResult* warm_start, bool warm_usable,
                                       const std::vector<int>& known,
                                       std::optional<double> stop_at = std::nullopt) {
    const Model model(in, stage);
    // The better of the warm start and the first stage's point becomes GLPK's first incumbent.
    std::vector<int> incumbent;
    std::optional<std::vector<double>> warm;
    auto consider = [&](const std::vector<int>& nodes) {
      if (nodes.empty()) return;
      std::optional<std::vector<double>> point = model.PointFor(nodes);
      if (!point) return;
      if (!incumbent.empty() &&
          EvaluateObjective(p, nodes).total >= EvaluateObjective(p, incumbent).total) {
        return;
      }
      incumbent = nodes;
      warm = std::move(point);
    };
    if (warm_usable) consider(warm_start->nodes);
    consider(known);
    const MipResult out = RunMip(in, model, deadline, warm ? &*warm : nullptr, stop_at);
    switch (out.kind) {
      case MipOutcome::Kind::kInfeasible:
        return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
      case MipOutcome::Kind::kTimeLimit:
      case MipOutcome::Kind::kNoSolution:
        // Stopped: the incumbent we handed over (checked against the model) still stands.
        if (!incumbent.empty()) return Answer(p, SolveStatus::kFeasible, incumbent, out.bound);
        return Answer(p, StoppedStatus(out.kind), {}, std::nullopt);
      case MipOutcome::Kind::kOptimal:
        return Answer(p, SolveStatus::kOptimal, NodesOf(in, out.counts), out.bound);
      case MipOutcome::Kind::kFeasible:
        return Answer(p, SolveStatus::kFeasible, NodesOf(in, out.counts), out.bound);
    }
    return Answer(p, SolveStatus::kTimeout, {}, std::nullopt);
  }

  IlpTuning tuning_;
};

}  // namespace

std::unique_ptr<Backend> MakeIlpBackend(const IlpTuning& tuning) {
  return std::make_unique<IlpBackend>(tuning);
}

}  // namespace topoplace
