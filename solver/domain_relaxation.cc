// The domain-split relaxation bound (domain_relaxation.h).
#include "solver/domain_relaxation.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <numeric>

namespace topoplace {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Levels of the chain, finest first; each holds the grouping slots whose partitions of the
// candidates are the same (a rack that is its own leaf), so their opening costs add up.
using SuperLevel = std::vector<int>;

class Chain {
 public:
  Chain(const PreparedRequest& p, const NodeGroups& groups) : p_(p), ng_(groups) {
    const std::vector<Level>& levels = ng_.levels();
    // Levels that cost something to open, and the first level, which the split is about.
    std::vector<int> costly;
    for (int slot = 0; slot < static_cast<int>(levels.size()); ++slot) {
      if (slot == 0 || MaxCost(slot) > 0) costly.push_back(slot);
    }
    // Same partitions merge into one super level.
    std::vector<SuperLevel> supers;
    for (int slot : costly) {
      bool merged = false;
      for (SuperLevel& s : supers) {
        if (Nests(slot, s[0]) && Nests(s[0], slot)) {
          s.push_back(slot);
          merged = true;
          break;
        }
      }
      if (!merged) supers.push_back({slot});
    }
    // The chain grows from the first level's super level by every level that nests with all its
    // members; the others keep only the one domain every placement opens.
    std::vector<SuperLevel> rest;
    for (SuperLevel& s : supers) {
      if (std::find(s.begin(), s.end(), 0) != s.end()) {
        chain_.push_back(s);
      } else {
        rest.push_back(s);
      }
    }
    std::sort(rest.begin(), rest.end(), [&](const SuperLevel& a, const SuperLevel& b) {
      return Domains(a[0]) > Domains(b[0]);
    });
    for (const SuperLevel& s : rest) {
      bool fits = true;
      for (const SuperLevel& c : chain_) fits = fits && (Nests(s[0], c[0]) || Nests(c[0], s[0]));
      if (fits) {
        chain_.push_back(s);
      } else {
        for (int slot : s) constant_ += MinCost(slot);
      }
    }
    // Finest first: more domains, or the one nesting into the other.
    std::sort(chain_.begin(), chain_.end(), [&](const SuperLevel& a, const SuperLevel& b) {
      return Domains(a[0]) > Domains(b[0]) || (Domains(a[0]) == Domains(b[0]) && a[0] < b[0]);
    });
  }

  const std::vector<SuperLevel>& levels() const { return chain_; }
  double constant() const { return constant_; }
  // Opening the domain of `g` at every level of `s` (each level numbers its domains its own way).
  double OpenCost(const SuperLevel& s, const NodeGroup& g) const {
    double c = 0;
    for (int slot : s) c += DomainOpeningCost(p_, ng_.levels()[slot], ng_.Domain(g, slot));
    return c;
  }

 private:
  // True when the domain at `coarse` is a function of the domain at `fine` over the groups.
  bool Nests(int fine, int coarse) const {
    std::vector<int> parent(p_.topology().DomainCount(ng_.levels()[fine]), -1);
    for (const NodeGroup& g : ng_.groups()) {
      int& to = parent[ng_.Domain(g, fine)];
      const int d = ng_.Domain(g, coarse);
      if (to >= 0 && to != d) return false;
      to = d;
    }
    return true;
  }
  int Domains(int slot) const {
    std::vector<int> ids;
    ids.reserve(ng_.groups().size());
    for (const NodeGroup& g : ng_.groups()) ids.push_back(ng_.Domain(g, slot));
    std::sort(ids.begin(), ids.end());
    return static_cast<int>(std::unique(ids.begin(), ids.end()) - ids.begin());
  }
  double MaxCost(int slot) const {
    double c = 0;
    for (const NodeGroup& g : ng_.groups())
      c = std::max(c, DomainOpeningCost(p_, ng_.levels()[slot], ng_.Domain(g, slot)));
    return c;
  }
  // What every placement pays at least at this level: it opens one domain at the least.
  double MinCost(int slot) const {
    double c = kInf;
    for (const NodeGroup& g : ng_.groups())
      c = std::min(c, DomainOpeningCost(p_, ng_.levels()[slot], ng_.Domain(g, slot)));
    return ng_.groups().empty() ? 0 : c;
  }

  const PreparedRequest& p_;
  const NodeGroups& ng_;
  std::vector<SuperLevel> chain_;
  double constant_ = 0;
};

// new[n] = min over j <= min(m, n) of old[n - j] + j * base: m more nodes of one cost, by a
// sliding-window minimum over old[t] - t * base. `out` and `window` are scratch space; `took`
// (may be null) receives the j of each n.
void AddNodes(std::vector<double>& cost, int m, double base, std::vector<double>& out,
              std::vector<int>& window, int16_t* took) {
  const int k = static_cast<int>(cost.size()) - 1;
  out.assign(cost.size(), kInf);
  window.resize(cost.size());
  int head = 0, tail = 0;  // window[head, tail): candidates t, keys increasing
  auto key = [&](int t) { return cost[t] - t * base; };
  for (int n = 0; n <= k; ++n) {
    if (cost[n] < kInf) {
      while (tail > head && key(window[tail - 1]) >= key(n)) --tail;
      window[tail++] = n;
    }
    while (tail > head && window[head] < n - m) ++head;
    if (tail > head) out[n] = key(window[head]) + n * base;
    if (took != nullptr) took[n] = static_cast<int16_t>(tail > head ? n - window[head] : 0);
  }
  cost.swap(out);
}

// What a run of Solve() did, step by step, so that its optimum can be traced back to nodes.
struct Trace {
  enum class Kind : uint8_t { kOpen, kClose, kAdd };
  struct Step {
    Kind kind;
    int at;     // kAdd: the group; kClose: the index of its kOpen step
    int table;  // kAdd: offset into took; kClose: offset into kept; kOpen: offset into from_inside
  };
  std::vector<Step> steps;
  std::vector<int16_t> took;         // kAdd: nodes taken, per (flag, n)
  std::vector<uint8_t> kept;         // kClose: 1 when the domain was left out, per (flag, n)
  std::vector<uint8_t> from_inside;  // kOpen of an outside domain: 1 when flag 0 fed flag 1, per n
};

// The relaxation's optimum with `penalty` added to opening each first-level domain: the least
// cost of k nodes over placements inside the set ([0]) and over those using an outside domain
// ([1]). With `trace`, every choice is recorded.
std::array<double, 2> Solve(const Chain& chain, const NodeGroups& ng, const std::vector<int>& order,
                            int k, const std::vector<uint8_t>& inside, int first_super,
                            double penalty, Trace* trace = nullptr) {
  const std::vector<SuperLevel>& levels = chain.levels();
  const int depth = static_cast<int>(levels.size());
  // Coarsest first for the walk.
  std::vector<int> walk(depth);
  std::iota(walk.begin(), walk.end(), 0);
  std::reverse(walk.begin(), walk.end());
  std::array<std::vector<double>, 2> cur = {std::vector<double>(k + 1, kInf),
                                            std::vector<double>(k + 1, kInf)};
  cur[0][0] = 0;
  std::vector<std::array<std::vector<double>, 2>> saved(depth);
  std::vector<double> scratch;
  std::vector<int> window;
  std::vector<int> open(depth, -1);
  std::vector<int> opened_at(depth, -1);  // trace: the kOpen step of each open level
  auto close = [&](int i) {
    uint8_t* kept = nullptr;
    if (trace != nullptr) {
      trace->steps.push_back(
          {Trace::Kind::kClose, opened_at[i], static_cast<int>(trace->kept.size())});
      trace->kept.resize(trace->kept.size() + 2 * (k + 1));
      kept = trace->kept.data() + trace->steps.back().table;
    }
    for (int f = 0; f < 2; ++f) {
      for (int n = 0; n <= k; ++n) {
        const bool left_out = saved[i][f][n] <= cur[f][n];
        if (kept != nullptr) kept[f * (k + 1) + n] = left_out ? 1 : 0;
        if (left_out) cur[f][n] = saved[i][f][n];
      }
    }
    open[i] = -1;
  };
  for (int gi : order) {
    const NodeGroup& g = ng.groups()[gi];
    int changed = depth;
    for (int i = 0; i < depth; ++i) {
      if (ng.Domain(g, levels[walk[i]][0]) != open[i]) {
        changed = i;
        break;
      }
    }
    for (int i = depth - 1; i >= changed; --i) {
      if (open[i] >= 0) close(i);
    }
    for (int i = changed; i < depth; ++i) {
      const SuperLevel& s = levels[walk[i]];
      const int d = ng.Domain(g, s[0]);
      open[i] = d;
      saved[i] = cur;
      uint8_t* from_inside = nullptr;
      if (trace != nullptr) {
        opened_at[i] = static_cast<int>(trace->steps.size());
        trace->steps.push_back(
            {Trace::Kind::kOpen, 0, static_cast<int>(trace->from_inside.size())});
        trace->from_inside.resize(trace->from_inside.size() + (k + 1), 0);
        from_inside = trace->from_inside.data() + trace->steps.back().table;
      }
      double cost = chain.OpenCost(s, g);
      if (walk[i] == first_super) {
        cost += penalty;
        if (!inside[d]) {
          for (int n = 0; n <= k; ++n) {
            if (from_inside != nullptr) from_inside[n] = cur[0][n] < cur[1][n] ? 1 : 0;
            cur[1][n] = std::min(cur[0][n], cur[1][n]);
          }
          std::fill(cur[0].begin(), cur[0].end(), kInf);
        }
      }
      for (int f = 0; f < 2; ++f) {
        for (double& c : cur[f]) c += cost;
      }
    }
    int16_t* took = nullptr;
    if (trace != nullptr) {
      trace->steps.push_back({Trace::Kind::kAdd, gi, static_cast<int>(trace->took.size())});
      trace->took.resize(trace->took.size() + 2 * (k + 1));
      took = trace->took.data() + trace->steps.back().table;
    }
    for (int f = 0; f < 2; ++f) {
      AddNodes(cur[f], std::min(g.Size(), k), g.base, scratch, window,
               took != nullptr ? took + f * (k + 1) : nullptr);
    }
  }
  for (int i = depth - 1; i >= 0; --i) {
    if (open[i] >= 0) close(i);
  }
  return {cur[0][k], cur[1][k]};
}

// Nodes per group of the traced optimum that ends with `flag` and k nodes.
std::vector<int> TraceBack(const Trace& trace, size_t groups, int k, int flag) {
  std::vector<int> counts(groups, 0);
  int n = k, f = flag;
  for (int i = static_cast<int>(trace.steps.size()) - 1; i >= 0; --i) {
    const Trace::Step& step = trace.steps[i];
    switch (step.kind) {
      case Trace::Kind::kClose:
        if (trace.kept[step.table + f * (k + 1) + n]) i = step.at;  // the domain was left out
        break;
      case Trace::Kind::kAdd: {
        const int j = trace.took[step.table + f * (k + 1) + n];
        counts[step.at] += j;
        n -= j;
        break;
      }
      case Trace::Kind::kOpen:
        // Only an outside first-level domain moves states from flag 0 to flag 1.
        if (f == 1 && step.table < static_cast<int>(trace.from_inside.size()) &&
            trace.from_inside[step.table + n]) {
          f = 0;
        }
        break;
    }
  }
  return counts;
}

}  // namespace

DomainSplitBound BoundByDomains(const PreparedRequest& p, const NodeGroups& groups, int k,
                                const std::vector<uint8_t>& inside, bool want_placement) {
  DomainSplitBound out;
  const std::vector<NodeGroup>& gs = groups.groups();
  bool any_outside = false;
  for (const NodeGroup& g : gs) any_outside = any_outside || !inside[groups.Domain(g, 0)];
  if (k <= 0 || gs.empty()) {
    if (any_outside) out.outside = kInf;
    out.all = kInf;
    return out;
  }
  const Chain chain(p, groups);
  int first_super = 0;
  for (size_t i = 0; i < chain.levels().size(); ++i) {
    const SuperLevel& s = chain.levels()[i];
    if (std::find(s.begin(), s.end(), 0) != s.end()) first_super = static_cast<int>(i);
  }
  // Groups domain by domain along the chain, coarsest level first, the cheapest first within.
  std::vector<int> order(gs.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<int> keys;
  for (auto it = chain.levels().rbegin(); it != chain.levels().rend(); ++it)
    keys.push_back((*it)[0]);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    for (int slot : keys) {
      const int da = groups.Domain(gs[a], slot), db = groups.Domain(gs[b], slot);
      if (da != db) return da < db;
    }
    if (gs[a].base != gs[b].base) return gs[a].base < gs[b].base;
    return a < b;
  });

  // Required locality: maxDomains of the first level, priced in by a Lagrange multiplier.
  const Request& r = *p.request;
  const bool required = p.mask.locality && r.locality &&
                        r.locality->mode == LocalityMode::kRequired &&
                        groups.first_level() == r.locality->level;
  std::vector<double> penalties = {0};
  if (required) {
    const double w = std::max(1.0, p.weights.domains);
    for (double f : {0.25, 0.5, 1.0, 2.0, 4.0}) penalties.push_back(f * w);
  }
  // Both bounds are concave in the multiplier: stop once neither grows.
  double best_all = -kInf, best_outside = -kInf, all_penalty = 0;
  for (double penalty : penalties) {
    const std::array<double, 2> v = Solve(chain, groups, order, k, inside, first_super, penalty);
    const double relief = required ? penalty * r.locality->max_domains : 0;
    const double all = std::min(v[0], v[1]) - relief, outside = v[1] - relief;
    const bool grew = all > best_all || outside > best_outside;
    if (all > best_all) all_penalty = penalty;
    best_all = std::max(best_all, all);
    best_outside = std::max(best_outside, outside);
    if (!grew) break;
  }
  out.all = best_all + chain.constant();
  if (any_outside) out.outside = best_outside + chain.constant();
  if (want_placement && best_all < kInf) {
    Trace trace;
    const std::array<double, 2> v =
        Solve(chain, groups, order, k, inside, first_super, all_penalty, &trace);
    out.placement = TraceBack(trace, gs.size(), k, v[0] <= v[1] ? 0 : 1);
  }
  return out;
}

}  // namespace topoplace
