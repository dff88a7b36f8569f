// Repairs: keep the surviving nodes, replace the lost ones (see repair.h for the contract).
//
// The search for one allocation with a request works on the prepared request with `current` = the
// kept nodes and keep_current set, so CheckPrepared() and the exact backend judge exactly "kept
// nodes plus these replacements". The greedy search is the one grouping and greedy fill of
// node_groups.h started from the kept nodes (GreedyFill::Keep(): their domains, racks and leaves
// count as already open and ties go to the nearest, so replacements gather near them), checking
// the headroom at every step, within the kept nodes' leaf vendor under roce. It tries the kept
// nodes' own locality domains first, then one new domain at a time, then the whole pool.
#include "solver/repair.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "solver/backend.h"
#include "solver/deletion_filter.h"
#include "solver/node_groups.h"
#include "solver/prepared.h"

namespace topoplace {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxNewDomainTries = 24;  // single new locality domains tried per count
constexpr int kMaxExtraGpuNodes = 3;    // gpus requests: replacement counts tried above the bound
constexpr double kEps = 1e-9;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

bool Feasible(SolveStatus s) { return s == SolveStatus::kOptimal || s == SolveStatus::kFeasible; }

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::vector<int> Sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// ---------------------------------------------------------------------------------------------
// The greedy search for replacements under a prepared request with keep_current: the one grouping
// and greedy fill (node_groups.h), started from the kept nodes.

class ReplacementSearch {
 public:
  explicit ReplacementSearch(const PreparedRequest& p)
      : p_(p),
        r_(*p.request),
        inv_(p.inventory()),
        topo_(p.topology()),
        groups_(p),
        fill_(p, groups_) {
    level_ = groups_.first_level();
    required_ = p.mask.locality && r_.locality && r_.locality->mode == LocalityMode::kRequired;
    roce_ = p.mask.roce && r_.roce;
    for (int node : p.current) {
      if (std::binary_search(p.candidates.begin(), p.candidates.end(), node)) continue;
      missing_kept_.push_back(node);
    }
    fill_.Keep(p.current);
    fill_.CheckHeadroom(true);
    for (int node : p.current) {
      if (kept_vendor_.empty()) kept_vendor_ = LeafVendor(inv_, node);
    }
    const std::vector<NodeGroup>& gs = groups_.groups();
    for (int g = 0; g < static_cast<int>(gs.size()); ++g) {
      if (gs[g].current) continue;
      pool_.push_back(g);
      pool_size_ += gs[g].Size();
      pool_gpus_ += static_cast<int64_t>(gs[g].gpus) * gs[g].Size();
    }
  }

  // Kept nodes that are not candidates (the repair cannot keep them).
  const std::vector<int>& missing_kept() const { return missing_kept_; }
  int PoolSize() const { return pool_size_; }
  int64_t PoolGpus() const { return pool_gpus_; }

  // The fewest replacements any repair needs, ignoring every constraint but the count: nodes:
  // count - kept; gpus: the GPU-richest free candidates that close the gap. -1 when even all
  // candidates do not.
  int ReplacementLowerBound() const {
    const int kept = static_cast<int>(p_.current.size());
    if (r_.nodes) return *r_.nodes - kept >= 0 ? *r_.nodes - kept : -1;
    int64_t have = 0;
    for (int node : p_.current) have += inv_.ClassOf(node).gpu.count;
    int64_t deficit = *r_.gpus - have;
    if (deficit <= 0) return 0;
    const std::vector<NodeGroup>& gs = groups_.groups();
    std::vector<int> by_gpus = pool_;
    std::sort(by_gpus.begin(), by_gpus.end(),
              [&](int a, int b) { return gs[a].gpus > gs[b].gpus; });
    int k = 0;
    for (int g : by_gpus) {
      if (gs[g].gpus <= 0) break;
      const int64_t take = std::min<int64_t>(gs[g].Size(), (deficit + gs[g].gpus - 1) / gs[g].gpus);
      deficit -= take * gs[g].gpus;
      k += static_cast<int>(take);
      if (deficit <= 0) return k;
    }
    return -1;
  }

  // The best full placement (kept + replacements) found with `replacements` new nodes.
  std::optional<std::vector<int>> Run(int replacements) {
    std::optional<std::vector<int>> best;
    double best_total = 0;
    auto consider = [&](std::optional<std::vector<int>> nodes) {
      if (!nodes || !CheckPrepared(p_, *nodes).empty()) return false;
      const double total = EvaluateObjective(p_, *nodes).total;
      if (!best || total < best_total - kEps) {
        best = std::move(nodes);
        best_total = total;
      }
      return true;
    };
    if (replacements == 0) {
      consider(std::vector<int>(p_.current.begin(), p_.current.end()));
      return best;
    }
    if (!required_) {
      FillEachVendor(replacements, nullptr, std::numeric_limits<int>::max(), consider);
      return best;
    }
    std::vector<int> kept_domains;
    for (int node : p_.current) kept_domains.push_back(topo_.DomainOf(node, level_));
    kept_domains = Sorted(std::move(kept_domains));
    const int new_allowed = r_.locality->max_domains - static_cast<int>(kept_domains.size());
    if (new_allowed < 0) return best;
    std::vector<uint8_t> allowed(topo_.DomainCount(level_), 0);
    for (int d : kept_domains) allowed[d] = 1;
    // a) within the kept nodes' own domains.
    if (!kept_domains.empty() && FillEachVendor(replacements, &allowed, 0, consider)) return best;
    if (new_allowed == 0) return best;
    // b) one new domain at a time, most promising first.
    bool found = false;
    int tries = 0;
    for (int d : NewDomainOrder(allowed, replacements)) {
      if (++tries > kMaxNewDomainTries) break;
      allowed[d] = 1;
      found = FillEachVendor(replacements, &allowed, 1, consider) || found;
      allowed[d] = 0;
    }
    if (found) return best;
    // c) the whole pool, within the domains left.
    FillEachVendor(replacements, nullptr, new_allowed, consider);
    return best;
  }

 private:
  // New locality domains (not yet allowed) ordered by: can hold all replacements, then the
  // cheapest node's base, then distance to the kept nodes.
  std::vector<int> NewDomainOrder(const std::vector<uint8_t>& allowed, int replacements) const {
    struct Info {
      int capacity = 0;
      double base = std::numeric_limits<double>::max();
      int distance = std::numeric_limits<int>::max();
    };
    std::map<int, Info> info;
    for (int g : pool_) {
      const NodeGroup& group = groups_.groups()[g];
      const int loc = groups_.Domain(group, 0);
      if (allowed[loc]) continue;
      Info& i = info[loc];
      i.capacity += group.Size();
      i.base = std::min(i.base, group.base);
      i.distance = std::min(i.distance, fill_.HopsFromKept(g));
    }
    std::vector<std::pair<std::tuple<int, double, int, int>, int>> order;
    order.reserve(info.size());
    for (const auto& [d, i] : info) {
      order.push_back({{i.capacity >= replacements ? 0 : 1, i.base, i.distance, d}, d});
    }
    std::sort(order.begin(), order.end());
    std::vector<int> out;
    out.reserve(order.size());
    for (const auto& [key, d] : order) out.push_back(d);
    return out;
  }

  // Fills `replacements` nodes next to the kept ones from the pool groups, once per leaf vendor
  // the repair may use (roce: the kept nodes' vendor, or each vendor when no kept node names one),
  // and hands each full placement (kept + replacements, sorted) to `consider`; true when one
  // passed. `allowed` (may be null) limits the locality domains; at most `max_new_loc` locality
  // domains beyond the kept nodes' may open.
  template <typename Consider>
  bool FillEachVendor(int replacements, const std::vector<uint8_t>* allowed, int max_new_loc,
                      Consider& consider) {
    const std::vector<NodeGroup>& gs = groups_.groups();
    std::vector<int> vendors;  // indices into groups_.vendors(); -1: any
    if (!roce_) {
      vendors.push_back(-1);
    } else if (!kept_vendor_.empty()) {
      const auto& names = groups_.vendors();
      const auto it = std::find(names.begin(), names.end(), kept_vendor_);
      if (it == names.end()) return false;  // no free candidate under the kept nodes' vendor
      vendors.push_back(static_cast<int>(it - names.begin()));
    } else {
      for (int v = 0; v < static_cast<int>(groups_.vendors().size()); ++v) vendors.push_back(v);
    }
    const FillOrder order = r_.gpus ? FillOrder::kGpusFirst : FillOrder::kObjective;
    bool passed = false;
    std::vector<int> set;
    for (int vendor : vendors) {
      set.clear();
      for (int g : pool_) {
        if (vendor >= 0 && gs[g].vendor != vendor) continue;
        if (allowed != nullptr && !(*allowed)[groups_.Domain(gs[g], 0)]) continue;
        set.push_back(g);
      }
      std::optional<std::vector<int>> nodes =
          fill_.Fill(set, replacements, order, max_new_loc, nullptr);
      if (nodes) {
        nodes->insert(nodes->end(), p_.current.begin(), p_.current.end());
        std::sort(nodes->begin(), nodes->end());
      }
      passed = consider(std::move(nodes)) || passed;
    }
    return passed;
  }

  const PreparedRequest& p_;
  const Request& r_;
  const Inventory& inv_;
  const Topology& topo_;
  const NodeGroups groups_;
  GreedyFill fill_;
  bool required_ = false, roce_ = false;
  Level level_ = Level::kLeaf;
  std::string kept_vendor_;
  std::vector<int> pool_;  // groups of free candidates (not kept)
  int pool_size_ = 0;
  int64_t pool_gpus_ = 0;
  std::vector<int> missing_kept_;
};

// ---------------------------------------------------------------------------------------------
// One allocation with a request.

// What one repair attempt under a mask found.
struct Attempt {
  SolveStatus status = SolveStatus::kTimeout;
  std::vector<int> nodes;  // kept + replacements when feasible
  std::string method;
  std::string reason;  // when not feasible
};

class RequestRepair {
 public:
  RequestRepair(const PlacementProblem& problem, const Request& request,
                const std::vector<int>& kept, const RepairOptions& options)
      : problem_(problem), request_(request), kept_(kept), options_(options) {}

  const PlacementProblem& problem() const { return problem_; }
  // The request under `mask` with the kept nodes as its current, fixed placement.
  PreparedRequest Prepared(const ConstraintMask& mask) const {
    PreparedRequest p = Prepare(problem_, request_, options_.solve, mask, kept_);
    p.keep_current = true;
    return p;
  }

  Attempt Solve(const ConstraintMask& mask, double time_limit_seconds) const {
    const PreparedRequest p = Prepared(mask);
    Attempt out;
    ReplacementSearch search(p);
    if (!search.missing_kept().empty()) {
      out.status = SolveStatus::kInfeasible;
      out.reason = "kept node " +
                   problem_.snapshot->inventory.nodes[search.missing_kept().front()].name +
                   " no longer satisfies the request's per-node constraints";
      return out;
    }
    const int lower = search.ReplacementLowerBound();
    if (lower < 0) {
      out.status = SolveStatus::kInfeasible;
      if (request_.nodes) {
        out.reason = "the allocation keeps " + Plural(static_cast<int64_t>(kept_.size()), "node") +
                     ", more than the " + std::to_string(*request_.nodes) + " requested";
      } else {
        out.reason = "the free candidates hold " + Plural(search.PoolGpus(), "GPU") +
                     ", too few to restore " + std::to_string(*request_.gpus);
      }
      return out;
    }
    if (request_.nodes && search.PoolSize() < lower) {
      out.status = SolveStatus::kInfeasible;
      out.reason = Plural(lower, "replacement") + " needed, " +
                   Plural(search.PoolSize(), "free candidate node") +
                   " (after select, compliance and exclusivity)";
      return out;
    }
    if (std::optional<std::string> why = LocalityCapacityProof(p, lower)) {
      out.status = SolveStatus::kInfeasible;
      out.reason = *why;
      return out;
    }
    // Greedy: the fewest replacements first; for a gpus request a few counts above the bound.
    const int top = request_.gpus ? lower + kMaxExtraGpuNodes : lower;
    for (int k = lower; k <= top && k <= search.PoolSize(); ++k) {
      std::optional<std::vector<int>> found = search.Run(k);
      if (!found) continue;
      out.nodes = std::move(*found);
      out.method = "greedy";
      // The count of replacements is forced for a nodes request and equals the bound otherwise.
      out.status = k == lower ? SolveStatus::kOptimal : SolveStatus::kFeasible;
      break;
    }
    if (out.status == SolveStatus::kOptimal || !options_.use_exact) {
      if (!Feasible(out.status)) out.reason = "the greedy search found no repair";
      return out;
    }
    const Backend* ilp = FindFeasibilityBackends(options_.solve.backends).exact;
    if (ilp == nullptr) {
      if (!Feasible(out.status)) out.reason = "the greedy search found no repair";
      return out;
    }
    SolveOptions so = options_.solve;
    so.time_limit_seconds = time_limit_seconds;
    PlacementResult warm;
    if (Feasible(out.status)) {
      warm.status = SolveStatus::kFeasible;
      warm.nodes = out.nodes;
    }
    PlacementResult e = ilp->Solve(p, so, Feasible(out.status) ? &warm : nullptr);
    const bool e_ok = Feasible(e.status) && CheckPrepared(p, e.nodes).empty();
    if (e_ok) {
      const bool fewer = !Feasible(out.status) || e.nodes.size() < out.nodes.size();
      if (fewer || e.nodes.size() == out.nodes.size()) {
        if (fewer) {
          out.nodes = e.nodes;
          out.method = std::string(ilp->name());
        }
        // The ILP minimises the count first (two stages for gpus): optimal proves the fewest moves.
        out.status =
            e.status == SolveStatus::kOptimal ? SolveStatus::kOptimal : SolveStatus::kFeasible;
      }
    } else if (e.status == SolveStatus::kInfeasible && !Feasible(out.status)) {
      out.status = SolveStatus::kInfeasible;
      out.method = std::string(ilp->name());
      out.reason = "no " +
                   std::string(request_.nodes ? "set of " + Plural(lower, "replacement")
                                              : "set of replacements") +
                   " meets every constraint with the kept nodes in place (proven by the exact "
                   "solver)";
    } else if (!Feasible(out.status)) {
      out.status = SolveStatus::kTimeout;
      out.reason = "no repair found within " + Money(time_limit_seconds) + " s";
    }
    return out;
  }

  // A proof from capacities alone: required locality with the kept nodes' domains (and the best new
  // ones) too small for the replacements.
  std::optional<std::string> LocalityCapacityProof(const PreparedRequest& p, int lower) const {
    const Request& r = request_;
    if (!p.mask.locality || !r.locality || r.locality->mode != LocalityMode::kRequired ||
        !r.nodes) {
      return std::nullopt;
    }
    const Topology& topo = p.topology();
    const Level level = r.locality->level;
    std::set<int> kept_domains;
    for (int node : kept_) kept_domains.insert(topo.DomainOf(node, level));
    const int new_allowed = r.locality->max_domains - static_cast<int>(kept_domains.size());
    const std::string level_name(LevelName(level));
    if (new_allowed < 0) {
      return "the kept nodes already span " +
             Plural(static_cast<int64_t>(kept_domains.size()), level_name + " domain") +
             ", more than the " + std::to_string(r.locality->max_domains) + " allowed";
    }
    int in_kept = 0;
    std::map<int, int> others;
    for (int node : p.candidates) {
      if (std::binary_search(p.current.begin(), p.current.end(), node)) continue;
      const int d = topo.DomainOf(node, level);
      if (kept_domains.count(d)) {
        ++in_kept;
      } else {
        ++others[d];
      }
    }
    std::vector<int> sizes;
    sizes.reserve(others.size());
    for (const auto& [d, n] : others) sizes.push_back(n);
    std::sort(sizes.begin(), sizes.end(), std::greater<>());
    int reach = in_kept;
    for (int i = 0; i < new_allowed && i < static_cast<int>(sizes.size()); ++i) reach += sizes[i];
    if (reach >= lower) return std::nullopt;
    std::string where;
    for (int d : kept_domains) where += (where.empty() ? "" : ", ") + topo.DomainName(level, d);
    std::string text = Plural(lower, "replacement") + " needed; ";
    if (kept_domains.empty()) {
      text += "the largest " + std::to_string(new_allowed) + " " + level_name + " domain(s) hold " +
              std::to_string(reach) + " free candidates";
    } else {
      text += level_name + " " + where + " (the kept nodes') holds " +
              Plural(in_kept, "free candidate");
      if (new_allowed > 0) {
        text += ", and the " + Plural(new_allowed, level_name + " domain") + " still allowed add " +
                std::to_string(reach - in_kept);
      } else {
        text += " and locality allows no other " + level_name;
      }
    }
    return text;
  }

  const PlacementProblem& problem_;
  const Request& request_;
  const std::vector<int>& kept_;
  const RepairOptions& options_;
};

// A sentence about one constraint group of the request: the rule as the request states it
// (shared with place's explanations), then the kept nodes' part in it. `p` is repair.Prepared()
// with every group on.
std::string Describe(const RequestRepair& repair, const PreparedRequest& p, ConstraintGroup g) {
  const Request& r = *p.request;
  const Inventory& inv = p.inventory();
  const Topology& topo = p.topology();
  const std::vector<int>& kept = p.current;
  auto domains_of_kept = [&](Level level) {
    std::map<int, int> count;
    for (int node : kept) ++count[topo.DomainOf(node, level)];
    std::string s;
    for (const auto& [d, n] : count) {
      s += (s.empty() ? "" : ", ") + topo.DomainName(level, d) + " " + std::to_string(n);
    }
    return s.empty() ? std::string("none") : s;
  };
  std::string rule = GroupStatement(r, p.tenant, g);
  const bool tenant_wide = g == ConstraintGroup::kQuota || g == ConstraintGroup::kProjectQuota ||
                           g == ConstraintGroup::kTenantBudget;
  if (kept.empty() && !tenant_wide) return rule;  // the rest is the kept nodes' part
  switch (g) {
    case ConstraintGroup::kSelect:
    case ConstraintGroup::kCompliance:
    case ConstraintGroup::kExclusive: {
      const std::vector<int> pass = repair.Prepared(OnlyGroups({&g, 1})).candidates;
      const auto fail = std::count_if(kept.begin(), kept.end(), [&](int node) {
        return !std::binary_search(pass.begin(), pass.end(), node);
      });
      return rule + "; " +
             (fail == 0 ? std::string("every kept node meets it")
                        : Plural(fail, "kept node") + " of " + std::to_string(kept.size()) +
                              (fail == 1 ? " no longer meets it" : " no longer meet it"));
    }
    case ConstraintGroup::kLocality:
      return rule + "; kept nodes per " + std::string(LevelName(r.locality->level)) + ": " +
             domains_of_kept(r.locality->level);
    case ConstraintGroup::kSpread: {
      std::vector<std::string> parts;
      const int total = r.nodes.value_or(static_cast<int>(kept.size()));
      if (std::optional<int> cap = r.spread->CapFor(total)) {
        parts.push_back("at most " + std::to_string(*cap) + " per domain");
      }
      if (r.spread->min_domains)
        parts.push_back("at least " + std::to_string(*r.spread->min_domains) + " domains");
      return rule + ": " + Join(parts, ", ") + "; kept nodes per " +
             std::string(LevelName(r.spread->level)) + ": " + domains_of_kept(r.spread->level);
    }
    case ConstraintGroup::kRoce: {
      const std::string vendor = kept.empty() ? std::string() : LeafVendor(inv, kept.front());
      return vendor.empty() ? rule : rule + "; the kept nodes' leaves are " + vendor;
    }
    case ConstraintGroup::kBudget:
      return rule + "; the kept nodes cost " + Money(EvaluateObjective(p, kept).cost_per_hour) +
             "/h";
    case ConstraintGroup::kQuota: {
      const TenantUsage u = UsageOf(inv, p.snapshot->states, r.tenant);
      return rule + "; tenant " + r.tenant + " holds " + Plural(u.nodes, "node") + ", " +
             Plural(u.gpus, "GPU") + " (kept nodes included)";
    }
    case ConstraintGroup::kProjectQuota: {
      const ProjectUsage* held =
          FindProjectUsage(repair.problem().project_usage, r.tenant, r.project);
      const TenantUsage u = held != nullptr ? held->usage : TenantUsage{};
      return rule + "; " + Plural(u.nodes, "node") + ", " + Plural(u.gpus, "GPU") +
             " held (kept nodes included)";
    }
    case ConstraintGroup::kTenantBudget: {
      const TenantUsage u = UsageOf(inv, p.snapshot->states, r.tenant);
      return rule + "; tenant " + r.tenant + " spends " + Money(u.cost_per_hour) +
             "/h (kept nodes included)";
    }
  }
  return rule;
}

// The shared deletion filter with "repairable with the kept nodes fixed" as the feasibility test.
Explanation ExplainRepair(const Request& request, const std::vector<int>& kept,
                          const RequestRepair& repair, double time_limit_seconds,
                          const Attempt& full) {
  Explanation e;
  const PreparedRequest all_on = repair.Prepared(ConstraintMask{});
  Attempt last;
  auto repairable = [&](const ConstraintMask& m) {
    last = repair.Solve(m, time_limit_seconds);
    if (Feasible(last.status)) return Verdict::kFeasible;
    return last.status == SolveStatus::kInfeasible ? Verdict::kInfeasible : Verdict::kUnknown;
  };
  const Conflict conflict = DeletionFilter(GroupsUsed(request, all_on.tenant), repairable);
  const int kept_count = static_cast<int>(kept.size());
  const std::string count = CountText(request) + ", " + Plural(kept_count, "node") + " kept";
  if (conflict.availability) {
    // The filter's last test had every group off.
    const std::string why = last.reason.empty() ? full.reason : last.reason;
    e.conflict.push_back({"availability", why});
    e.conflict.push_back({"count", count});
    e.summary = "not enough free nodes, whatever the constraints: " + why;
    return e;
  }
  std::vector<std::string> labels;
  for (ConstraintGroup g : conflict.groups) {
    e.conflict.push_back({GroupName(g), Describe(repair, all_on, g)});
    labels.push_back(GroupLabel(request, g));
  }
  e.conflict.push_back({"count", count});
  e.summary = (labels.empty() ? std::string("the count") : Join(labels, " + ")) +
              (labels.size() > 1 ? " cannot hold together" : " cannot hold") +
              (kept.empty() ? std::string()
                            : " with the " + Plural(kept_count, "kept node") + " in place") +
              "; " + CountText(request);
  if (!conflict.proven) e.summary += kMinimalityNotProven;
  for (ConstraintGroup g : conflict.groups) {
    const Attempt a = repair.Solve(AllGroupsBut(g), time_limit_seconds);
    if (Feasible(a.status)) {
      e.relaxations.push_back("without " + GroupLabel(request, g) + ": repairable with " +
                              Plural(static_cast<int64_t>(a.nodes.size()) - kept_count, "move"));
    }
  }
  return e;
}

// The whole allocation placed afresh with the fewest moves (kept nodes count as not moved).
std::optional<Relocation> Relocate(const PlacementProblem& problem, const Request& request,
                                   const std::vector<int>& kept, const RepairOptions& options) {
  if (kept.empty()) return std::nullopt;  // nothing kept: a relocation is the repair itself
  PreparedRequest p = Prepare(problem, request, options.solve, {}, kept);
  const FeasibilityBackends backends = FindFeasibilityBackends(options.solve.backends);
  PlacementResult best;
  best.status = SolveStatus::kInfeasible;
  if (const Backend* h = backends.quick) {
    best = h->Solve(p, options.solve, nullptr);
    if (Feasible(best.status) && !CheckPrepared(p, best.nodes).empty())
      best.status = SolveStatus::kTimeout;
  }
  if (const Backend* ilp = backends.exact; ilp != nullptr && options.use_exact) {
    PlacementResult e = ilp->Solve(p, options.solve, Feasible(best.status) ? &best : nullptr);
    if (Feasible(e.status) && CheckPrepared(p, e.nodes).empty()) {
      const bool better =
          !Feasible(best.status) ||
          EvaluateObjective(p, e.nodes).total <= EvaluateObjective(p, best.nodes).total + kEps;
      if (better) best = e;
      if (e.status == SolveStatus::kOptimal) best.status = SolveStatus::kOptimal;
    }
  }
  if (!Feasible(best.status)) return std::nullopt;
  Relocation out;
  out.nodes = Sorted(best.nodes);
  out.status = best.status;
  // Moves are the objective's: chosen nodes not in `current`, the kept nodes (never empty here).
  out.moves = EvaluateObjective(p, out.nodes).moves;
  out.kept_moved = static_cast<int>(kept.size()) - (static_cast<int>(out.nodes.size()) - out.moves);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The preemption that would repair an allocation (repair.h): eviction sets of lower-priority
// allocations by increasing size, then priority sum, each judged by the repair's own search on the
// problem after those evictions.

constexpr double kMaxOfferTrySeconds = 2.0;  // per repair tried on one eviction set

double Choose(int n, int k) {
  double x = 1;
  for (int i = 0; i < k; ++i) x = x * (n - i) / (i + 1);
  return x;
}

struct PreemptionOffer {
  std::optional<RepairPreemption> offer;
  std::string none;  // why there is none, when there is none
};

// `unrepairable_proven`: the repair without evictions was proven impossible (so no empty set).
PreemptionOffer OfferPreemption(const PlacementProblem& problem, const Request& request,
                                int priority, const std::vector<int>& kept,
                                bool unrepairable_proven, const RepairOptions& options) {
  PreemptionOffer out;
  const bool across = problem.preempt_across_tenants;
  const std::vector<Holding>& holdings = problem.holdings;
  std::vector<int> victims;  // indices into holdings: (priority, name) ascending
  for (size_t i = 0; i < holdings.size(); ++i) {
    const Holding& h = holdings[i];
    if (h.name == request.name || h.nodes.empty() || h.priority >= priority) continue;
    if (!across && h.tenant != request.tenant) continue;
    victims.push_back(static_cast<int>(i));
  }
  std::sort(victims.begin(), victims.end(), [&](int a, int b) {
    return std::tie(holdings[a].priority, holdings[a].name) <
           std::tie(holdings[b].priority, holdings[b].name);
  });
  const std::string whose = across ? std::string() : " of tenant " + request.tenant;
  const int n = static_cast<int>(victims.size());
  if (n == 0) {
    out.none = "no allocation" + whose + " has a priority below " + std::to_string(priority) +
               ", so no preemption can make room";
    return out;
  }
  const std::string lower = "the " +
                            (n == 1 ? std::string("one lower-priority allocation")
                                    : std::to_string(n) + " lower-priority allocations") +
                            whose;

  const auto start = Clock::now();
  auto seconds_left = [&] { return options.preemption_seconds - MillisSince(start) / 1000.0; };
  int tried = 0;
  auto names_of = [&](const std::vector<int>& set) {
    std::vector<std::string> names;
    for (int v : set) names.push_back(holdings[v].name);
    std::sort(names.begin(), names.end());
    return names;
  };
  // The same repair (kept nodes fixed, every constraint of the request) once `set` is evicted.
  auto attempt = [&](const std::vector<int>& set) {
    ++tried;
    const std::vector<std::string> names = names_of(set);
    const PlacementProblem after = AfterEvictions(problem, names);
    const RequestRepair repair(after, request, kept, options);
    const double limit = std::min(
        {kMaxOfferTrySeconds, options.solve.time_limit_seconds, std::max(seconds_left(), 0.1)});
    return repair.Solve(ConstraintMask{}, limit);
  };

  // Every legal victim at once: when even that does not repair it, nothing smaller will.
  const Attempt everyone = attempt(victims);
  if (!Feasible(everyone.status)) {
    out.none = everyone.status == SolveStatus::kInfeasible
                   ? "even evicting " + lower + " would not repair it (proven)"
                   : "no repair found even with " + lower +
                         " evicted, within the time limit (not proven impossible)";
    return out;
  }

  std::optional<std::pair<std::vector<int>, Attempt>> found;
  bool all_proven = true;  // every set tried before the one found was proven not to repair it
  bool bounded = false;    // the bound on sets or time cut the search short
  for (int k = 1; k <= n && !found && !bounded; ++k) {
    if (k == n) {
      found.emplace(victims, everyone);
      break;
    }
    const int budget = options.max_preemption_sets - tried;
    if (budget <= 0 || seconds_left() <= 0) {
      bounded = true;
      break;
    }
    // Sets of k victims (positions in `victims`), lexicographically, up to the budget; then by
    // priority sum, so the first that repairs has the least sum among those tried.
    std::vector<std::vector<int>> sets;
    if (Choose(n, k) > budget) bounded = true;
    std::vector<int> idx(k);
    std::iota(idx.begin(), idx.end(), 0);
    while (static_cast<int>(sets.size()) < budget) {
      std::vector<int> set;
      for (int i : idx) set.push_back(victims[i]);
      sets.push_back(std::move(set));
      int i = k - 1;
      while (i >= 0 && idx[i] == n - k + i) --i;
      if (i < 0) break;
      ++idx[i];
      for (int j = i + 1; j < k; ++j) idx[j] = idx[j - 1] + 1;
    }
    auto sum = [&](const std::vector<int>& set) {
      int total = 0;
      for (int v : set) total += holdings[v].priority;
      return total;
    };
    std::stable_sort(sets.begin(), sets.end(),
                     [&](const auto& a, const auto& b) { return sum(a) < sum(b); });
    for (const std::vector<int>& set : sets) {
      if (seconds_left() <= 0) {
        bounded = true;
        break;
      }
      Attempt a = attempt(set);
      if (Feasible(a.status)) {
        found.emplace(set, std::move(a));
        break;
      }
      if (a.status != SolveStatus::kInfeasible) all_proven = false;
    }
  }
  std::string note;
  if (!found) {
    // Out of bounds before any smaller set repaired it: give back the victims everyone does not
    // need, the most important first (the same bound on time).
    std::vector<int> set = victims;
    Attempt best = everyone;
    for (int i = n - 1; i >= 0 && seconds_left() > 0; --i) {
      std::vector<int> without;
      for (int v : set) {
        if (v != victims[i]) without.push_back(v);
      }
      Attempt a = attempt(without);
      if (Feasible(a.status)) {
        set = std::move(without);
        best = std::move(a);
      }
    }
    found.emplace(std::move(set), std::move(best));
    note = "the search stopped at its bound (" + Plural(options.max_preemption_sets, "set") + ", " +
           Money(options.preemption_seconds) +
           " s); this set was found by giving back every eviction it does not need";
  } else if (bounded) {
    note = "the search stopped at its bound (" + Plural(options.max_preemption_sets, "set") + ", " +
           Money(options.preemption_seconds) + " s) before trying every set of this size";
  } else if (!all_proven) {
    note = "some smaller eviction sets were not decided within the time limit";
  } else if (!unrepairable_proven) {
    note = "the repair without evicting was not proven impossible";
  }

  const auto& [set, repaired] = *found;
  const std::vector<std::string> names = names_of(set);
  const PlacementProblem after = AfterEvictions(problem, names);
  const std::vector<Violation> violations = VerifyPlacement(after, request, repaired.nodes, kept);
  if (!violations.empty()) {
    // The verifier disagrees with the search: never offer such a repair.
    out.none =
        "internal: the repair found after evicting failed verification: " + violations[0].detail;
    return out;
  }
  RepairPreemption offer;
  for (int node : repaired.nodes) {
    if (!std::binary_search(kept.begin(), kept.end(), node)) offer.replacements.push_back(node);
  }
  offer.moves = static_cast<int>(offer.replacements.size());
  offer.evictions = DescribeEvictions(problem, request, repaired.nodes, names);
  for (const Eviction& e : offer.evictions) offer.priority_sum += e.priority;
  offer.minimal = note.empty();
  offer.note = std::move(note);
  offer.candidates = n;
  offer.sets_tried = tried;
  out.offer = std::move(offer);
  return out;
}

AllocationRepair RepairByRequest(const PlacementProblem& problem, const RepairCase& c, int priority,
                                 const RepairOptions& options) {
  AllocationRepair out;
  out.by_request = true;
  Request request = *c.request;
  request.name = c.allocation;
  request.tenant = c.tenant;
  Status valid = ValidateRequest(problem, request);
  if (!valid.ok()) {
    out.status = SolveStatus::kInfeasible;
    out.reason = "the recorded request is not valid here: " + valid.messages().front();
    return out;
  }
  out.kept = c.kept;
  RequestRepair repair(problem, request, c.kept, options);
  const double limit = options.solve.time_limit_seconds;
  const Attempt a = repair.Solve(ConstraintMask{}, limit);
  out.status = a.status;
  out.method = a.method;
  if (Feasible(a.status)) {
    out.repaired = true;
    for (int node : a.nodes) {
      if (!std::binary_search(out.kept.begin(), out.kept.end(), node))
        out.replacements.push_back(node);
    }
    out.moves = static_cast<int>(out.replacements.size());
    out.violations = VerifyPlacement(problem, request, a.nodes, out.kept);
    if (!out.violations.empty()) {
      // The verifier disagrees with the search: never hand out such a repair.
      out.repaired = false;
      out.status = SolveStatus::kTimeout;
      out.reason = "internal: the repair found failed verification: " + out.violations[0].detail;
    }
    return out;
  }
  out.reason = a.reason;
  if (options.explain) {
    out.explanation = ExplainRepair(request, out.kept, repair, std::min(limit, 2.0), a);
  }
  if (options.relocate) out.relocation = Relocate(problem, request, out.kept, options);
  if (options.offer_preemption && !problem.holdings.empty()) {
    PreemptionOffer offer = OfferPreemption(problem, request, priority, out.kept,
                                            a.status == SolveStatus::kInfeasible, options);
    out.preemption = std::move(offer.offer);
    out.no_preemption = std::move(offer.none);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// One allocation without a request: same class, nearest first.

AllocationRepair RepairSameClass(const PlacementProblem& problem, const RepairCase& c,
                                 const std::vector<int>& name_rank) {
  AllocationRepair out;
  out.by_request = false;
  out.kept = c.kept;
  out.method = "same-class";
  const Inventory& inv = problem.snapshot->inventory;
  const Topology& topo = problem.snapshot->topology;
  const int n = static_cast<int>(inv.nodes.size());
  std::vector<uint8_t> taken(n, 0);
  std::vector<std::vector<int>> free_by_class(inv.node_classes.size());
  for (int i = 0; i < n; ++i) {
    if (problem.snapshot->states.free(i)) free_by_class[inv.NodeClassOf(i)].push_back(i);
  }
  std::vector<int> leaf_hops(inv.switches.size(), -2);  // per candidate leaf, for one lost node
  std::vector<std::string> missing;
  const std::vector<int> none;
  for (const LostNode& lost : c.lost) {
    const int cls = inv.ClassIndex(lost.node_class);
    const int lost_leaf = inv.SwitchIndex(lost.leaf);
    const int lost_rack = inv.RackIndex(lost.rack);
    const int lost_pod = topo.FindDomain(Level::kPod, lost.pod);
    auto tier_of = [&](int node) {
      if (lost_leaf >= 0 && inv.LeafOf(node) == lost_leaf) return 0;
      if (lost_rack >= 0 && inv.RackOf(node) == lost_rack) return 1;
      if (lost_pod >= 0 && topo.DomainOf(node, Level::kPod) == lost_pod) return 2;
      return 3;
    };
    // The nearest tier first (integer compares only); hops only among that tier's candidates.
    const std::vector<int>& pool = cls >= 0 ? free_by_class[cls] : none;
    int best_tier = 4;
    for (int node : pool) {
      if (!taken[node]) best_tier = std::min(best_tier, tier_of(node));
    }
    int best = -1;
    std::pair<int, int> best_key;  // (hops, name rank)
    std::fill(leaf_hops.begin(), leaf_hops.end(), -2);
    for (int node : pool) {
      if (taken[node] || tier_of(node) != best_tier) continue;
      int hops = 0;
      if (best_tier >= 2 && lost_leaf >= 0) {
        int& h = leaf_hops[inv.LeafOf(node)];
        if (h == -2) {
          h = topo.LeafDistance(lost_leaf, inv.LeafOf(node));
          if (h < 0) h = std::numeric_limits<int>::max();
        }
        hops = h;
      }
      const std::pair<int, int> key{hops, name_rank[node]};
      if (best < 0 || key < best_key) {
        best = node;
        best_key = key;
      }
    }
    if (best < 0) {
      missing.push_back(lost.name + " (" + lost.node_class + ")");
      continue;
    }
    taken[best] = 1;
    out.replacements.push_back(best);
  }
  std::sort(out.replacements.begin(), out.replacements.end());
  if (!missing.empty()) {
    out.repaired = false;
    out.status = SolveStatus::kInfeasible;
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    out.reason = "no free node of the same class left for " + list;
    out.replacements.clear();
    return out;
  }
  // Verified against what is known: the same count for the same tenant (quota and budget).
  Request implied;
  implied.name = c.allocation;
  implied.tenant = c.tenant;
  implied.nodes = static_cast<int>(c.kept.size() + c.lost.size());
  std::vector<int> all = out.kept;
  all.insert(all.end(), out.replacements.begin(), out.replacements.end());
  out.violations = VerifyPlacement(problem, implied, all, out.kept);
  if (!out.violations.empty()) {
    out.repaired = false;
    out.status = SolveStatus::kInfeasible;
    out.reason = "replacements of the same class break " + out.violations[0].constraint + ": " +
                 out.violations[0].detail;
    out.replacements.clear();
    return out;
  }
  out.repaired = true;
  out.status = SolveStatus::kOptimal;  // every lost node needs one replacement: fewest moves
  out.moves = static_cast<int>(out.replacements.size());
  return out;
}

}  // namespace

Result<RepairInput> PrepareRepair(const Scenario& before, const Scenario& after) {
  // The before inventory is only read: copied only when it still needs its index.
  std::optional<Inventory> indexed_copy;
  if (!before.inventory.indexed()) {
    indexed_copy = before.inventory;
    Status st = indexed_copy->BuildIndex();
    if (!st.ok()) return st;
  }
  const Inventory& before_inv = indexed_copy ? *indexed_copy : before.inventory;
  Inventory inv = after.inventory;
  if (!inv.indexed()) {
    Status st = inv.BuildIndex();
    if (!st.ok()) return st;
  }
  std::vector<RepairCase> cases;
  for (const Allocation& a : after.allocations) {
    RepairCase c;
    c.allocation = a.name;
    c.tenant = a.tenant;
    c.request = a.request;
    c.priority = AllocationPriority(a);
    bool changed = false;
    for (const std::string& name : a.nodes) {
      const int ai = inv.NodeIndex(name);
      const bool gone = ai < 0 || inv.nodes[ai].state == NodeState::kFailed;
      if (!gone) {
        c.kept.push_back(ai);
        continue;
      }
      const int bi = before_inv.NodeIndex(name);
      LostNode lost;
      lost.name = name;
      if (bi >= 0) {
        const Node& b = before_inv.nodes[bi];
        lost.node_class = b.node_class;
        lost.rack = b.rack;
        lost.leaf = b.leaf;
        lost.pod = before_inv.PodOf(b);
        lost.changed = b.state != NodeState::kFailed;
      } else if (ai >= 0) {
        const Node& n = inv.nodes[ai];
        lost.node_class = n.node_class;
        lost.rack = n.rack;
        lost.leaf = n.leaf;
        lost.pod = inv.PodOf(n);
      }
      changed = changed || lost.changed;
      c.lost.push_back(std::move(lost));
    }
    if (!changed) continue;
    // Lost nodes are released; kept nodes stay the tenant's (held even if in maintenance).
    for (const std::string& name : a.nodes) {
      const int ai = inv.NodeIndex(name);
      if (ai < 0) continue;
      Node& node = inv.nodes[ai];
      if (node.state == NodeState::kFailed) {
        node.holder.clear();
        node.exclusive.reset();
      } else {
        node.holder = a.tenant;
        node.state = NodeState::kAllocated;
      }
    }
    std::sort(c.kept.begin(), c.kept.end());
    cases.push_back(std::move(c));
  }
  // Who holds what once the lost nodes are released: the victims a preemption offer may name.
  std::vector<Holding> holdings = HoldingsOf(inv, after.allocations);
  for (Holding& h : holdings) {
    std::erase_if(h.nodes, [&](int node) { return inv.nodes[node].state == NodeState::kFailed; });
  }
  auto snapshot = MakeSnapshot(std::move(inv));
  if (!snapshot.ok()) return snapshot.status();
  RepairInput out;
  out.problem = PlacementProblem{*snapshot, after.tenants};
  out.problem.holdings = std::move(holdings);
  out.problem.preempt_across_tenants = after.policy.preempt_across_tenants;
  out.cases = std::move(cases);
  return out;
}

Result<std::vector<AllocationRepair>> RepairAllocations(const PlacementProblem& problem,
                                                        const std::vector<RepairCase>& cases,
                                                        const RepairOptions& options,
                                                        PlacementProblem* after_repairs) {
  if (problem.snapshot == nullptr) return InvalidArgumentError("no snapshot to repair against");
  if (!(options.solve.time_limit_seconds > 0))
    return InvalidArgumentError("timeLimitSeconds must be positive");
  const int n = static_cast<int>(problem.snapshot->inventory.nodes.size());
  for (const RepairCase& c : cases) {
    for (int node : c.kept) {
      if (node < 0 || node >= n)
        return InvalidArgumentError("allocation " + Quoted(c.allocation) +
                                    ": kept node index out of range");
    }
  }
  // One snapshot of our own, updated in place as repairs take nodes (the topology never changes).
  auto working = std::make_shared<Snapshot>(*problem.snapshot);
  PlacementProblem state{working, problem.tenants};
  state.holdings = problem.holdings;
  state.preempt_across_tenants = problem.preempt_across_tenants;

  std::vector<size_t> order(cases.size());
  std::iota(order.begin(), order.end(), 0);
  auto priority = [&](size_t i) {
    const RepairCase& c = cases[i];
    return c.priority.value_or(c.request ? c.request->priority : 0);
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return priority(a) > priority(b); });

  std::vector<AllocationRepair> results(cases.size());
  std::vector<int> name_rank;
  for (size_t i : order) {
    const RepairCase& c = cases[i];
    const auto start = Clock::now();
    if (!c.request && name_rank.empty()) {
      // Node names in order, for the same-class rule's "lowest name" tie-break.
      const Inventory& inv = working->inventory;
      std::vector<int> by_name(inv.nodes.size());
      std::iota(by_name.begin(), by_name.end(), 0);
      std::sort(by_name.begin(), by_name.end(),
                [&](int a, int b) { return inv.nodes[a].name < inv.nodes[b].name; });
      name_rank.assign(inv.nodes.size(), 0);
      for (size_t k = 0; k < by_name.size(); ++k) name_rank[by_name[k]] = static_cast<int>(k);
    }
    AllocationRepair r = c.request ? RepairByRequest(state, c, priority(i), options)
                                   : RepairSameClass(state, c, name_rank);
    r.allocation = c.allocation;
    r.tenant = c.tenant;
    r.lost = c.lost;
    r.kept = c.kept;
    r.solve_ms = MillisSince(start);
    if (r.repaired) {
      for (int node : r.replacements)
        working->states.Allocate(node, c.tenant, c.request ? c.request->exclusive : std::nullopt);
      for (Holding& h : state.holdings) {
        if (h.name != c.allocation) continue;
        h.nodes.insert(h.nodes.end(), r.replacements.begin(), r.replacements.end());
        h.nodes = Sorted(std::move(h.nodes));
      }
    }
    results[i] = std::move(r);
  }
  if (after_repairs != nullptr) *after_repairs = state;
  return results;
}

}  // namespace topoplace
