// The exact backend: an integer program over aggregated candidates, solved by GLPK.
//
// Model. Candidates that agree on everything the constraints and the objective can see (class,
// whether they are in the current placement, and their domain at every level the request or the
// objective looks at) are interchangeable, so one integer x_g in [0, |g|] per such group replaces
// one binary per node. Binary indicators u(level, d) say "domain d is used"; they are tied to the
// groups both ways (x_g <= m_g u and u <= sum x_g), so in every feasible solution they are exactly
// the used domains and the integer objective equals EvaluateObjective() of the chosen nodes:
//   sum_g (cost_g * wc + [g not current] * wm) x_g + sum_(level,d) weight(level, d) u(level, d)
// Hard constraints: count, locality (sum u <= maxDomains), spread (per-domain caps; minDomains as
// sum u >= n), RoCE (one vendor binary), quota/budget knapsacks. A `gpus` request is solved in two
// stages: the fewest nodes (with one binary per candidate count when the spread cap depends on the
// count), then the objective with the count fixed. Non-redundancy ("no chosen node can be left
// out") is sum_gpus <= gpus - 1 + q for every GPU size q in use, switched by a binary per size.
//
// GLPK aborts the process on misuse, so every call below receives arrays and bounds built and
// checked here first; no glp_* call sees user input directly.
#include <glpk.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "solver/backends.h"

namespace topoplace {

namespace {

using Clock = std::chrono::steady_clock;

// Knapsack right-hand sides get this slack so money sums that are equal up to rounding stay
// feasible; the verifier allows 1e-6.
constexpr double kMoneySlack = 1e-7;

struct ProblemDeleter {
  void operator()(glp_prob* p) const { glp_delete_prob(p); }
};
using ProblemPtr = std::unique_ptr<glp_prob, ProblemDeleter>;

// A set of interchangeable candidates.
struct Group {
  std::vector<int> nodes;  // sorted; the solution takes a prefix
  bool current = false;
  int gpus = 0;
  const NodeClass* node_class = nullptr;
  int vendor = -1;           // index into Instance::vendors when RoCE matters
  std::vector<int> domains;  // per Instance::levels entry
};

// What the model needs from a prepared request, computed once for all stages.
struct Instance {
  const PreparedRequest* p = nullptr;
  std::vector<Level> levels;  // the levels whose domains groups keep apart
  std::vector<Group> groups;
  std::vector<int> group_of;  // node -> group, -1 when not a candidate
  std::vector<std::string> vendors;
  bool roce = false;
  bool gpu_request = false;

  int LevelSlot(Level level) const {
    for (size_t i = 0; i < levels.size(); ++i) {
      if (levels[i] == level) return static_cast<int>(i);
    }
    return -1;
  }
};

void AddLevel(std::vector<Level>& levels, Level level) {
  if (std::find(levels.begin(), levels.end(), level) == levels.end()) levels.push_back(level);
}

Instance BuildInstance(const PreparedRequest& p) {
  Instance in;
  in.p = &p;
  const Request& r = *p.request;
  const Inventory& inv = p.inventory();
  const Topology& topo = p.topology();
  in.gpu_request = r.gpus.has_value();
  if (r.locality) {
    AddLevel(in.levels, r.locality->level);
    for (Level above : LevelsAbove(r.locality->level)) AddLevel(in.levels, above);
  }
  if (r.spread && p.mask.spread) AddLevel(in.levels, r.spread->level);
  if (p.weights.fragmentation != 0) {
    AddLevel(in.levels, Level::kRack);
    AddLevel(in.levels, Level::kLeaf);
  }
  in.roce = r.roce && p.mask.roce;

  std::map<std::string, int> vendor_index;
  std::map<std::vector<int>, int> group_index;
  in.group_of.assign(inv.nodes.size(), -1);
  for (int node : p.candidates) {
    const NodeClass& c = inv.ClassOf(node);
    // A node without GPUs is always redundant in a `gpus` request.
    if (in.gpu_request && c.gpu.count <= 0) continue;
    const bool current = std::binary_search(p.current.begin(), p.current.end(), node);
    int vendor = -1;
    if (in.roce) {
      const std::string& v = inv.switches[inv.LeafOf(node)].vendor;
      auto [it, inserted] = vendor_index.emplace(v, static_cast<int>(in.vendors.size()));
      if (inserted) in.vendors.push_back(v);
      vendor = it->second;
    }
    std::vector<int> key = {inv.NodeClassOf(node), current ? 1 : 0, vendor};
    for (Level level : in.levels) key.push_back(topo.DomainOf(node, level));
    auto [it, inserted] = group_index.emplace(key, static_cast<int>(in.groups.size()));
    if (inserted) {
      Group g;
      g.current = current;
      g.gpus = c.gpu.count;
      g.node_class = &c;
      g.vendor = vendor;
      g.domains.assign(key.begin() + 3, key.end());
      in.groups.push_back(std::move(g));
    }
    in.groups[it->second].nodes.push_back(node);
    in.group_of[node] = it->second;
  }
  return in;
}

// Required locality: the maxDomains largest domains must hold the count (or the GPUs). A cheap
// proof of infeasibility that skips building a model, which matters at the nvlink level, where
// every 8-GPU node is a domain, and so a group, of its own.
bool LocalityCannotHold(const Instance& in) {
  const PreparedRequest& p = *in.p;
  const Request& r = *p.request;
  if (!r.locality || !p.mask.locality || r.locality->mode != LocalityMode::kRequired) return false;
  const int slot = in.LevelSlot(r.locality->level);
  std::map<int, int64_t> held;  // domain -> nodes, or GPUs
  for (const Group& g : in.groups) {
    held[g.domains[slot]] +=
        static_cast<int64_t>(r.gpus ? g.gpus : 1) * static_cast<int64_t>(g.nodes.size());
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
};

// A GLPK problem built for one stage, with the meaning of every column.
class Model {
 public:
  Model(const Instance& in, const Stage& stage) : in_(in), stage_(stage) { Build(); }

  glp_prob* problem() const { return prob_.get(); }
  int GroupColumn(int g) const { return 1 + g; }
  // True when a row's bounds already contradict each other (no need to run GLPK).
  bool TriviallyInfeasible() const { return infeasible_; }

  // Column values (1-based, GLPK's layout) of a concrete node set, or nullopt when the set is not
  // a feasible point of this model (a node outside the groups, a row out of bounds). GLPK accepts
  // a heuristic point without checking rows, so this check is what keeps the incumbent honest.
  std::optional<std::vector<double>> PointFor(std::span<const int> nodes) const {
    const int n = glp_get_num_cols(prob_.get());
    std::vector<double> x(n + 1, 0.0);
    for (int node : nodes) {
      if (node < 0 || node >= static_cast<int>(in_.group_of.size()) || in_.group_of[node] < 0) {
        return std::nullopt;
      }
      x[GroupColumn(in_.group_of[node])] += 1;
    }
    for (const Indicator& ind : indicators_) {
      bool used = false;
      for (int g : ind.groups) used = used || x[GroupColumn(g)] > 0;
      x[ind.column] = used ? 1 : 0;
    }
    const int k = static_cast<int>(nodes.size());
    for (const auto& [size, column] : size_columns_) x[column] = size == k ? 1 : 0;
    // Rows: recompute activities from the stored matrix.
    std::vector<double> activity(rows_.size(), 0.0);
    for (size_t e = 1; e < ia_.size(); ++e) activity[ia_[e] - 1] += ar_[e] * x[ja_[e]];
    // Absolute tolerance: with the knapsack slack it stays inside the verifier's 1e-6 on money.
    constexpr double kTolerance = 5e-7;
    for (size_t i = 0; i < rows_.size(); ++i) {
      if (rows_[i].has_lo && activity[i] < rows_[i].lo - kTolerance) return std::nullopt;
      if (rows_[i].has_hi && activity[i] > rows_[i].hi + kTolerance) return std::nullopt;
    }
    for (int j = 1; j <= n; ++j) {
      if (x[j] < glp_get_col_lb(prob_.get(), j) - 1e-9 ||
          x[j] > glp_get_col_ub(prob_.get(), j) + 1e-9) {
        return std::nullopt;
      }
    }
    return x;
  }

 private:
  struct Indicator {
    int column = 0;
    std::vector<int> groups;
  };
  struct RowBounds {
    bool has_lo = false, has_hi = false;
    double lo = 0, hi = 0;
  };

  int AddColumn(int kind, double lo, double hi, double objective) {
    const int j = glp_add_cols(prob_.get(), 1);
    glp_set_col_kind(prob_.get(), j, kind);
    if (kind != GLP_BV) glp_set_col_bnds(prob_.get(), j, lo == hi ? GLP_FX : GLP_DB, lo, hi);
    glp_set_obj_coef(prob_.get(), j, objective);
    return j;
  }
  // Rows are collected here and loaded at once; bounds are applied in Build().
  void AddRow(const std::vector<std::pair<int, double>>& entries, std::optional<double> lo,
              std::optional<double> hi) {
    const int row = static_cast<int>(rows_.size()) + 1;
    for (const auto& [column, coefficient] : entries) {
      if (coefficient == 0) continue;
      ia_.push_back(row);
      ja_.push_back(column);
      ar_.push_back(coefficient);
    }
    rows_.push_back({lo.has_value(), hi.has_value(), lo.value_or(0), hi.value_or(0)});
  }

  // The placement objective's coefficient of the indicator of domain `d` at `level`.
  double IndicatorCost(Level level, int d) const {
    if (stage_.fewest_nodes) return 0;
    const PreparedRequest& p = *in_.p;
    const ObjectiveWeights& w = p.weights;
    double c = 0;
    if (p.request->locality) {
      const Level loc = p.request->locality->level;
      if (level == loc) c += w.domains;
      for (Level above : LevelsAbove(loc)) c += level == above ? w.domains_above : 0;
    }
    if (level == Level::kRack && p.free_rack[d]) c += w.fragmentation;
    if (level == Level::kLeaf && p.free_leaf[d]) c += w.fragmentation;
    return c;
  }

  void Build() {
    prob_.reset(glp_create_prob());
    glp_set_obj_dir(prob_.get(), GLP_MIN);
    ia_.assign(1, 0);
    ja_.assign(1, 0);
    ar_.assign(1, 0.0);
    const PreparedRequest& p = *in_.p;
    const Request& r = *p.request;
    const ObjectiveWeights& w = p.weights;
    const int groups = static_cast<int>(in_.groups.size());
    const int k_hi = stage_.k_hi;
    auto link_size = [&](int g) {
      return static_cast<double>(std::min<int>(static_cast<int>(in_.groups[g].nodes.size()), k_hi));
    };

    // x_g. Under keep_current (repair) a group of current nodes is taken whole.
    for (int g = 0; g < groups; ++g) {
      const Group& group = in_.groups[g];
      const double objective = stage_.fewest_nodes ? 1.0
                                                   : w.cost * group.node_class->cost_per_hour +
                                                         (group.current ? 0 : w.moves);
      double lo = 0;
      if (p.keep_current && group.current) {
        lo = static_cast<double>(group.nodes.size());
        if (lo > link_size(g)) {  // more nodes to keep than the count allows
          infeasible_ = true;
          lo = link_size(g);
        }
      }
      AddColumn(GLP_IV, lo, link_size(g), objective);
    }

    // Domain indicators, tied both ways to the groups inside.
    std::map<Level, std::vector<int>> columns_by_level;  // indicator columns per level
    const bool fragmentation = w.fragmentation != 0 && !stage_.fewest_nodes;
    for (size_t slot = 0; slot < in_.levels.size(); ++slot) {
      const Level level = in_.levels[slot];
      const bool structural =
          (r.locality && (level == r.locality->level ||
                          std::ranges::count(LevelsAbove(r.locality->level), level))) ||
          (r.spread && p.mask.spread && level == r.spread->level);
      std::map<int, std::vector<int>> members;
      for (int g = 0; g < groups; ++g) members[in_.groups[g].domains[slot]].push_back(g);
      std::vector<int> capacities;
      for (auto& [d, gs] : members) {
        const bool free_domain =
            (level == Level::kRack && p.free_rack[d]) || (level == Level::kLeaf && p.free_leaf[d]);
        if (!structural && !(fragmentation && free_domain)) continue;
        Indicator ind;
        ind.column = AddColumn(GLP_BV, 0, 1, IndicatorCost(level, d));
        ind.groups = gs;
        std::vector<std::pair<int, double>> down = {{ind.column, 1.0}};
        std::vector<std::pair<int, double>> up;
        int size = 0;
        for (int g : gs) {
          AddRow({{GroupColumn(g), 1.0}, {ind.column, -link_size(g)}}, std::nullopt, 0.0);
          down.emplace_back(GroupColumn(g), -1.0);
          up.emplace_back(GroupColumn(g), 1.0);
          size += static_cast<int>(in_.groups[g].nodes.size());
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
        const int column = AddColumn(GLP_BV, 0, 1, 0);
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
      const int slot = in_.LevelSlot(spread->level);
      std::map<int, std::vector<int>> members;
      for (int g = 0; g < groups; ++g) members[in_.groups[g].domains[slot]].push_back(g);
      for (const auto& [d, gs] : members) {
        int size = 0;
        for (int g : gs) size += static_cast<int>(in_.groups[g].nodes.size());
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
    if (in_.roce && in_.vendors.size() > 1) {
      std::vector<std::pair<int, double>> one;
      std::vector<int> vendor_column;
      for (size_t v = 0; v < in_.vendors.size(); ++v) {
        vendor_column.push_back(AddColumn(GLP_BV, 0, 1, 0));
        one.emplace_back(vendor_column.back(), 1.0);
        Indicator ind;
        ind.column = vendor_column.back();
        for (int g = 0; g < groups; ++g) {
          if (in_.groups[g].vendor == static_cast<int>(v)) ind.groups.push_back(g);
        }
        indicators_.push_back(std::move(ind));
      }
      AddRow(one, std::nullopt, 1.0);
      for (int g = 0; g < groups; ++g) {
        AddRow({{GroupColumn(g), 1.0}, {vendor_column[in_.groups[g].vendor], -link_size(g)}},
               std::nullopt, 0.0);
      }
    }

    // Headroom knapsacks.
    const Headroom& h = p.headroom;
    auto knapsack = [&](auto per_group, std::optional<double> limit, double slack) {
      if (!limit) return;
      std::vector<std::pair<int, double>> row;
      row.reserve(groups);
      for (int g = 0; g < groups; ++g) row.emplace_back(GroupColumn(g), per_group(in_.groups[g]));
      AddRow(row, std::nullopt, *limit + slack);
    };
    auto as_double = [](const auto& v) -> std::optional<double> {
      return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
    };
    knapsack([](const Group&) { return 1.0; }, as_double(h.nodes), 0);
    knapsack([](const Group& g) { return static_cast<double>(g.gpus); }, as_double(h.gpus), 0);
    knapsack([](const Group& g) { return static_cast<double>(g.node_class->cpu.cores); },
             as_double(h.cpu_cores), 0);
    knapsack([](const Group& g) { return g.node_class->memory_gib; }, h.memory_gib, kMoneySlack);
    knapsack([](const Group& g) { return g.node_class->storage_gib; }, h.storage_gib, kMoneySlack);
    knapsack([](const Group& g) { return g.node_class->cost_per_hour; }, h.cost_per_hour,
             kMoneySlack);

    // GPU count: reach the total, and leave no node redundant.
    if (in_.gpu_request) {
      const double target = *r.gpus;
      std::vector<std::pair<int, double>> sum;
      std::map<int, std::vector<int>> by_size;
      double max_sum = 0;
      for (int g = 0; g < groups; ++g) {
        sum.emplace_back(GroupColumn(g), static_cast<double>(in_.groups[g].gpus));
        by_size[in_.groups[g].gpus].push_back(g);
        max_sum += in_.groups[g].gpus * link_size(g);
      }
      AddRow(sum, target, std::nullopt);
      for (const auto& [q, gs] : by_size) {
        const double limit = target - 1 + q;
        const double big = max_sum - limit;
        if (big <= 0) continue;  // never binding
        Indicator ind;
        ind.column = AddColumn(GLP_BV, 0, 1, 0);
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

    // Load rows.
    const int m = static_cast<int>(rows_.size());
    if (m > 0) glp_add_rows(prob_.get(), m);
    for (int i = 0; i < m; ++i) {
      const RowBounds& b = rows_[i];
      int type = GLP_FR;
      if (b.has_lo && b.has_hi) {
        type = b.lo == b.hi ? GLP_FX : GLP_DB;
      } else if (b.has_lo) {
        type = GLP_LO;
      } else if (b.has_hi) {
        type = GLP_UP;
      }
      // A double-bounded row with crossed bounds is infeasible; GLPK would reject the call.
      const double hi = (type == GLP_DB && b.hi < b.lo) ? b.lo : b.hi;
      if (type == GLP_DB && b.hi < b.lo) infeasible_ = true;
      glp_set_row_bnds(prob_.get(), i + 1, type, b.lo, hi);
    }
    const int nonzeros = static_cast<int>(ia_.size()) - 1;
    if (nonzeros > 0) glp_load_matrix(prob_.get(), nonzeros, ia_.data(), ja_.data(), ar_.data());
  }

  const Instance& in_;
  Stage stage_;
  ProblemPtr prob_;
  std::vector<Indicator> indicators_;
  std::vector<std::pair<int, int>> size_columns_;  // (count, column)
  std::vector<int> ia_, ja_;
  std::vector<double> ar_;
  std::vector<RowBounds> rows_;
  bool infeasible_ = false;
};

// What a branch-and-bound run found.
struct MipOutcome {
  enum class Kind { kOptimal, kFeasible, kInfeasible, kNoSolution } kind = Kind::kNoSolution;
  std::vector<int> counts;  // per group
  std::optional<double> bound;
};

struct CallbackState {
  const std::vector<double>* warm = nullptr;
  bool warm_offered = false;
  std::optional<double> bound;
};

void Callback(glp_tree* tree, void* info) {
  auto* state = static_cast<CallbackState*>(info);
  if (glp_ios_reason(tree) == GLP_IHEUR && state->warm != nullptr && !state->warm_offered) {
    state->warm_offered = true;
    glp_ios_heur_sol(tree, state->warm->data());
  }
  const int best = glp_ios_best_node(tree);
  if (best != 0) {
    const double b = glp_ios_node_bound(tree, best);
    if (!state->bound || b > *state->bound) state->bound = b;
  }
}

int MillisecondsLeft(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 1, INT_MAX / 2));
}

MipOutcome RunMip(const Instance& in, const Model& model, Clock::time_point deadline,
                  const std::vector<double>* warm) {
  MipOutcome out;
  if (model.TriviallyInfeasible()) {
    out.kind = MipOutcome::Kind::kInfeasible;
    return out;
  }
  glp_prob* prob = model.problem();
  glp_term_out(GLP_OFF);
  CallbackState state;
  state.warm = warm;

  glp_iocp parm;
  glp_init_iocp(&parm);
  parm.msg_lev = GLP_MSG_OFF;
  parm.mip_gap = 0.0;
  parm.cb_func = Callback;
  parm.cb_info = &state;
  parm.tm_lim = MillisecondsLeft(deadline);
  if (warm == nullptr) {
    // The presolver transforms the problem the callback would see, so it is used only when no
    // heuristic point has to be handed over in the original columns.
    parm.presolve = GLP_ON;
  } else {
    glp_smcp lp;
    glp_init_smcp(&lp);
    lp.msg_lev = GLP_MSG_OFF;
    lp.tm_lim = MillisecondsLeft(deadline);
    const int rc = glp_simplex(prob, &lp);
    if (rc == 0 && glp_get_status(prob) == GLP_NOFEAS) {
      out.kind = MipOutcome::Kind::kInfeasible;
      return out;
    }
    if (rc != 0 || glp_get_status(prob) != GLP_OPT) return out;
    state.bound = glp_get_obj_val(prob);  // the LP relaxation bounds the integer optimum
    parm.tm_lim = MillisecondsLeft(deadline);
  }
  const int rc = glp_intopt(prob, &parm);
  const int status = glp_mip_status(prob);
  if (rc == GLP_ENOPFS || (rc == 0 && status == GLP_NOFEAS)) {
    out.kind = MipOutcome::Kind::kInfeasible;
    return out;
  }
  if (status != GLP_OPT && status != GLP_FEAS) return out;
  out.kind =
      (rc == 0 && status == GLP_OPT) ? MipOutcome::Kind::kOptimal : MipOutcome::Kind::kFeasible;
  out.counts.resize(in.groups.size());
  for (size_t g = 0; g < in.groups.size(); ++g) {
    out.counts[g] = static_cast<int>(
        std::lround(glp_mip_col_val(prob, model.GroupColumn(static_cast<int>(g)))));
  }
  out.bound = out.kind == MipOutcome::Kind::kOptimal ? std::optional<double>(glp_mip_obj_val(prob))
                                                     : state.bound;
  return out;
}

std::vector<int> NodesOf(const Instance& in, const std::vector<int>& counts) {
  std::vector<int> nodes;
  for (size_t g = 0; g < in.groups.size(); ++g) {
    const auto& members = in.groups[g].nodes;
    const int take = std::clamp(counts[g], 0, static_cast<int>(members.size()));
    nodes.insert(nodes.end(), members.begin(), members.begin() + take);
  }
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

class IlpBackend final : public Backend {
 public:
  std::string_view name() const override { return "ilp"; }

  PlacementResult Solve(const PreparedRequest& p, const SolveOptions& options,
                        const PlacementResult* warm_start) const override {
    const auto start = Clock::now();
    // Clamped so that an absurd limit cannot overflow the clock arithmetic.
    const double seconds = std::clamp(options.time_limit_seconds, 0.0, 1e6);
    const auto deadline = start + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
    PlacementResult result = SolveWithin(p, deadline, warm_start);
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

  static PlacementResult SolveWithin(const PreparedRequest& p, Clock::time_point deadline,
                                     const PlacementResult* warm_start) {
    const Instance in = BuildInstance(p);
    const Request& r = *p.request;
    const bool warm_usable = warm_start != nullptr && !warm_start->nodes.empty() &&
                             (warm_start->status == SolveStatus::kOptimal ||
                              warm_start->status == SolveStatus::kFeasible);
    int total = 0;
    for (const Group& g : in.groups) total += static_cast<int>(g.nodes.size());
    if (LocalityCannotHold(in)) return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);

    Stage stage;
    if (r.nodes) {
      stage.k_lo = stage.k_hi = *r.nodes;
      if (*r.nodes <= 0 || *r.nodes > total)
        return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
    } else {
      // The fewest nodes first: bracket the count, then minimise it.
      const int target = r.gpus.value_or(0);
      int q_min = INT_MAX, q_max = 0;
      int64_t gpus_available = 0;
      for (const Group& g : in.groups) {
        q_min = std::min(q_min, g.gpus);
        q_max = std::max(q_max, g.gpus);
        gpus_available += static_cast<int64_t>(g.gpus) * static_cast<int64_t>(g.nodes.size());
      }
      if (target <= 0 || in.groups.empty() || gpus_available < target) {
        return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
      }
      const int k_lo = (target + q_max - 1) / q_max;
      const int k_hi = std::min(total, (target - 1) / q_min + 1);
      if (k_lo > k_hi) return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
      Stage fewest{k_lo, k_hi, true};
      const Model model(in, fewest);
      std::optional<std::vector<double>> warm;
      if (warm_usable) warm = model.PointFor(warm_start->nodes);
      const MipOutcome first = RunMip(in, model, deadline, warm ? &*warm : nullptr);
      if (first.kind == MipOutcome::Kind::kInfeasible)
        return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
      if (first.kind == MipOutcome::Kind::kNoSolution) {
        // Out of time: the warm start, when it is a point of the model, is still an answer.
        if (warm) return Answer(p, SolveStatus::kFeasible, warm_start->nodes, std::nullopt);
        return Answer(p, SolveStatus::kTimeout, {}, std::nullopt);
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
    return OptimiseCount(p, in, stage, deadline, warm_start, warm_usable, {});
  }

  // Minimises the objective with the count fixed. `known` is a feasible point of this count
  // (from the first stage), used as the incumbent when the warm start does not fit.
  static PlacementResult OptimiseCount(const PreparedRequest& p, const Instance& in,
                                       const Stage& stage, Clock::time_point deadline,
                                       const PlacementResult* warm_start, bool warm_usable,
                                       const std::vector<int>& known) {
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
    const MipOutcome out = RunMip(in, model, deadline, warm ? &*warm : nullptr);
    switch (out.kind) {
      case MipOutcome::Kind::kInfeasible:
        return Answer(p, SolveStatus::kInfeasible, {}, std::nullopt);
      case MipOutcome::Kind::kNoSolution:
        // Out of time: the incumbent we handed over (checked against the model) still stands.
        if (!incumbent.empty()) return Answer(p, SolveStatus::kFeasible, incumbent, out.bound);
        return Answer(p, SolveStatus::kTimeout, {}, std::nullopt);
      case MipOutcome::Kind::kOptimal:
        return Answer(p, SolveStatus::kOptimal, NodesOf(in, out.counts), out.bound);
      case MipOutcome::Kind::kFeasible:
        return Answer(p, SolveStatus::kFeasible, NodesOf(in, out.counts), out.bound);
    }
    return Answer(p, SolveStatus::kTimeout, {}, std::nullopt);
  }
};

}  // namespace

std::unique_ptr<Backend> MakeIlpBackend() { return std::make_unique<IlpBackend>(); }

}  // namespace topoplace
