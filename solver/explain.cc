// Explanations: a deletion filter over constraint groups, numbers for every group of the conflict,
// and relaxations that have each been solved feasible (see explain.h).
#include "solver/explain.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "solver/backend.h"
#include "solver/prepared.h"

namespace topoplace {

namespace {

// The constraint groups a mask can switch, in the order the deletion filter tries to drop them:
// tenant-wide limits first, per-node filters and locality last, so the conflict names the
// request's own topology and hardware when those suffice.
enum class Group {
  kTenantBudget,
  kQuota,
  kBudget,
  kExclusive,
  kRoce,
  kSpread,
  kCompliance,
  kSelect,
  kLocality
};
constexpr Group kGroups[] = {Group::kTenantBudget, Group::kQuota,  Group::kBudget,
                             Group::kExclusive,    Group::kRoce,   Group::kSpread,
                             Group::kCompliance,   Group::kSelect, Group::kLocality};

bool& Flag(ConstraintMask& m, Group g) {
  switch (g) {
    case Group::kTenantBudget: return m.tenant_budget;
    case Group::kQuota: return m.quota;
    case Group::kBudget: return m.budget;
    case Group::kExclusive: return m.exclusive;
    case Group::kRoce: return m.roce;
    case Group::kSpread: return m.spread;
    case Group::kCompliance: return m.compliance;
    case Group::kSelect: return m.select;
    case Group::kLocality: return m.locality;
  }
  return m.select;
}

ConstraintMask NoneOn() {
  ConstraintMask m;
  for (Group g : kGroups) Flag(m, g) = false;
  return m;
}

std::string GroupName(Group g) {
  switch (g) {
    case Group::kTenantBudget: return "tenantBudget";
    case Group::kQuota: return "quota";
    case Group::kBudget: return "budget";
    case Group::kExclusive: return "exclusive";
    case Group::kRoce: return "roce";
    case Group::kSpread: return "spread";
    case Group::kCompliance: return "compliance";
    case Group::kSelect: return "select";
    case Group::kLocality: return "locality";
  }
  return "";
}

bool HasQuota(const Quota& q) {
  return q.nodes || q.gpus || q.cpu_cores || q.memory_gib || q.storage_gib;
}

// 1,573.12 / 1,600: two decimals when there is a fraction, thousands separated.
std::string Money(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", std::abs(x));
  std::string s = buf;
  std::string frac = s.substr(s.size() - 3);
  std::string whole = s.substr(0, s.size() - 3);
  std::string grouped;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
    grouped += whole[i];
  }
  return (x < 0 ? "-" : "") + grouped + (frac == ".00" ? "" : frac);
}

std::string Plural(int64_t n, const std::string& one) {
  return std::to_string(n) + " " + one + (n == 1 ? "" : "s");
}

std::string Join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

std::string DescribeSelect(const NodeSelector& s) {
  std::vector<std::string> parts;
  if (!s.classes.empty()) parts.push_back("class " + Join(s.classes, "|"));
  if (!s.gpu_models.empty()) parts.push_back("gpu model " + Join(s.gpu_models, "|"));
  if (s.gpu_count) parts.push_back("gpu count " + s.gpu_count->ToString());
  if (s.memory_gib) parts.push_back("memoryGiB " + s.memory_gib->ToString());
  if (s.cpu_cores) parts.push_back("cpu cores " + s.cpu_cores->ToString());
  if (s.storage_gib) parts.push_back("storageGiB " + s.storage_gib->ToString());
  for (const auto& l : s.labels) parts.push_back("label " + l.key);
  return Join(parts, ", ");
}

enum class Verdict { kFeasible, kInfeasible, kUnknown };

struct Outcome {
  Verdict verdict = Verdict::kUnknown;
  std::vector<int> nodes;
};

class Explainer {
 public:
  Explainer(const PlacementProblem& problem, const Request& request, const SolveOptions& options,
            std::span<const int> current)
      : problem_(problem),
        request_(request),
        options_(options),
        current_(current.begin(), current.end()) {
    options_.explain = false;
    options_.time_limit_seconds = std::clamp(options.time_limit_seconds / 4, 0.1, 2.0);
    const BackendRegistry& registry = BuiltinBackends();
    heuristic_ = registry.Find("heuristic");
    ilp_ = registry.Find("ilp");
    for (const Tenant& t : problem.tenants) {
      if (t.name == request.tenant) tenant_ = &t;
    }
  }

  Explanation Run() {
    Explanation out;
    std::vector<Group> active = ActiveGroups();
    ConstraintMask mask;  // all on
    if (Check(request_, mask).verdict == Verdict::kFeasible) {
      out.summary = "a placement exists with every constraint in force; nothing conflicts";
      return out;
    }
    // With every group off only the count and the available nodes remain.
    ConstraintMask none = NoneOn();
    if (Check(request_, none).verdict != Verdict::kFeasible) {
      out.conflict.push_back({"availability", AvailabilityDetail()});
      out.conflict.push_back({"count", CountText(request_)});
      out.summary = "the available nodes cannot meet the count: " + AvailabilityDetail();
      AddCountRelaxation(out, mask);
      Finish(out);
      return out;
    }
    // A group that fails on its own is the smallest conflict there is.
    std::vector<Group> conflict;
    for (Group g : active) {
      ConstraintMask alone = NoneOn();
      Flag(alone, g) = true;
      if (Check(request_, alone).verdict == Verdict::kInfeasible) {
        conflict = {g};
        mask = alone;
        break;
      }
    }
    // Deletion filter: drop every group whose removal keeps the request infeasible.
    for (Group g : conflict.empty() ? active : std::vector<Group>{}) {
      ConstraintMask trial = mask;
      Flag(trial, g) = false;
      if (Check(request_, trial).verdict != Verdict::kFeasible) {
        mask = trial;
      } else {
        conflict.push_back(g);
      }
    }
    // Numbers are given for the conflict alone: groups outside it are off.
    ConstraintMask conflict_only = NoneOn();
    for (Group g : conflict) Flag(conflict_only, g) = true;
    for (Group g : conflict) out.conflict.push_back({GroupName(g), Detail(g, conflict_only)});
    out.conflict.push_back({"count", CountText(request_)});
    out.summary = Summary(conflict, conflict_only);
    AddCountRelaxation(out, ConstraintMask{});
    for (Group g : conflict) AddRelaxation(out, g);
    Finish(out);
    return out;
  }

 private:
  void Finish(Explanation& out) const {
    if (unproven_)
      out.summary += " (minimality not proven: exact checks timed out or are unavailable)";
  }

  std::vector<Group> ActiveGroups() const {
    std::vector<Group> out;
    const Request& r = request_;
    for (Group g : kGroups) {
      bool on = false;
      switch (g) {
        case Group::kTenantBudget: on = tenant_ && tenant_->budget_per_hour; break;
        case Group::kQuota: on = tenant_ && HasQuota(tenant_->quota); break;
        case Group::kBudget: on = r.max_cost_per_hour.has_value(); break;
        case Group::kExclusive: on = r.exclusive.has_value(); break;
        case Group::kRoce: on = r.roce; break;
        case Group::kSpread: on = r.spread.has_value(); break;
        case Group::kCompliance: on = !r.compliance.empty(); break;
        case Group::kSelect: on = !r.select.empty(); break;
        case Group::kLocality:
          on = r.locality && r.locality->mode == LocalityMode::kRequired;
          break;
      }
      if (on) out.push_back(g);
    }
    return out;
  }

  // Exact when the relaxations prove infeasibility, the heuristic finds a placement, or the ILP
  // decides in time; otherwise unknown (counted as infeasible, and minimality is then unproven).
  Outcome Check(const Request& r, const ConstraintMask& mask,
                const PlacementProblem* problem = nullptr,
                const ObjectiveWeights* weights = nullptr, bool need_optimal = false) {
    SolveOptions o = options_;
    if (weights != nullptr) o.weights = *weights;
    const PlacementProblem& prob = problem != nullptr ? *problem : problem_;
    PreparedRequest p = Prepare(prob, r, o, mask, current_);
    if (ProveInfeasible(p)) return {Verdict::kInfeasible, {}};
    Outcome found;
    if (heuristic_ != nullptr) {
      PlacementResult h = heuristic_->Solve(p, o, nullptr);
      if ((h.status == SolveStatus::kOptimal || h.status == SolveStatus::kFeasible) &&
          CheckPrepared(p, h.nodes).empty()) {
        found = {Verdict::kFeasible, h.nodes};
        if (!need_optimal || h.status == SolveStatus::kOptimal) return found;
      }
    }
    if (ilp_ != nullptr) {
      PlacementResult e = ilp_->Solve(p, o, nullptr);
      if ((e.status == SolveStatus::kOptimal || e.status == SolveStatus::kFeasible) &&
          CheckPrepared(p, e.nodes).empty()) {
        if (found.verdict != Verdict::kFeasible ||
            EvaluateObjective(p, e.nodes).total < EvaluateObjective(p, found.nodes).total) {
          found = {Verdict::kFeasible, e.nodes};
        }
        return found;
      }
      if (e.status == SolveStatus::kInfeasible && found.verdict != Verdict::kFeasible) {
        return {Verdict::kInfeasible, {}};
      }
    }
    if (found.verdict == Verdict::kFeasible) return found;
    unproven_ = true;
    return {Verdict::kUnknown, {}};
  }

  bool Feasible(const Request& r, const ConstraintMask& mask,
                const PlacementProblem* problem = nullptr) {
    return Check(r, mask, problem).verdict == Verdict::kFeasible;
  }

  std::vector<int> Pool(const ConstraintMask& mask) const {
    return Prepare(problem_, request_, options_, mask, current_).candidates;
  }

  std::string CountText(const Request& r) const {
    return r.gpus ? Plural(*r.gpus, "GPU") + " requested" : Plural(*r.nodes, "node") + " requested";
  }

  std::string AvailabilityDetail() const {
    const std::vector<int> pool = Pool(NoneOn());
    int64_t gpus = 0;
    for (int node : pool) gpus += Inv().ClassOf(node).gpu.count;
    if (request_.gpus) {
      return Plural(static_cast<int64_t>(pool.size()), "available node") + " hold " +
             Plural(gpus, "GPU") + "; " + CountText(request_);
    }
    return Plural(static_cast<int64_t>(pool.size()), "node") + " are available; " +
           CountText(request_);
  }

  const Inventory& Inv() const { return problem_.snapshot->inventory; }
  const Topology& Topo() const { return problem_.snapshot->topology; }

  // The per-node filters of `mask` applied one after another, for "N of them" numbers.
  int FilteredCount(Group upto, const ConstraintMask& conflict) const {
    ConstraintMask m = NoneOn();
    ConstraintMask in_conflict = conflict;
    for (Group g : {Group::kSelect, Group::kCompliance, Group::kExclusive}) {
      if (Flag(in_conflict, g)) Flag(m, g) = true;
      if (g == upto) break;
    }
    return static_cast<int>(Pool(m).size());
  }

  // The candidates under the conflict's per-node filters only.
  std::vector<int> ConflictPool(const ConstraintMask& conflict) const {
    ConstraintMask m = NoneOn();
    m.select = conflict.select;
    m.compliance = conflict.compliance;
    m.exclusive = conflict.exclusive;
    return Pool(m);
  }

  std::string Detail(Group g, const ConstraintMask& conflict) {
    const Request& r = request_;
    const bool filtered = conflict.select || conflict.compliance || conflict.exclusive;
    const std::string such = filtered ? "such " : "";
    const int k = r.nodes ? *r.nodes : 0;
    switch (g) {
      case Group::kSelect:
        return "select (" + DescribeSelect(r.select) +
               "): " + Plural(FilteredCount(Group::kSelect, conflict), "available node") + " match";
      case Group::kCompliance:
        return "compliance " + Join(r.compliance, "+") + ": " +
               Plural(FilteredCount(Group::kCompliance, conflict),
                      std::string(conflict.select ? "matching " : "available ") + "node") +
               " in compliant racks or sites";
      case Group::kExclusive:
        return "exclusive " + std::string(LevelName(*r.exclusive)) + ": " +
               Plural(FilteredCount(Group::kExclusive, conflict), "candidate node") + " in " +
               std::string(LevelName(*r.exclusive)) + " domains no other tenant uses";
      case Group::kRoce: {
        std::vector<std::pair<std::string, int>> per_vendor;
        for (int node : ConflictPool(conflict)) {
          const std::string& v = LeafVendor(Inv(), node);
          auto it = std::find_if(per_vendor.begin(), per_vendor.end(),
                                 [&](const auto& e) { return e.first == v; });
          if (it == per_vendor.end()) {
            per_vendor.emplace_back(v, 1);
          } else {
            ++it->second;
          }
        }
        std::vector<std::string> parts;
        parts.reserve(per_vendor.size());
        for (const auto& [vendor, count] : per_vendor)
          parts.push_back(vendor + " " + std::to_string(count));
        return "roce: one leaf vendor only; " + such +
               "nodes per vendor: " + (parts.empty() ? std::string("none") : Join(parts, ", "));
      }
      case Group::kLocality: {
        const Level l = r.locality->level;
        const int m = r.locality->max_domains;
        std::vector<double> per(Topo().DomainCount(l), 0.0);
        for (int node : ConflictPool(conflict)) {
          per[Topo().DomainOf(node, l)] += r.gpus ? Inv().ClassOf(node).gpu.count : 1;
        }
        std::sort(per.begin(), per.end(), std::greater<>());
        double best = 0;
        for (int i = 0; i < m && i < static_cast<int>(per.size()); ++i) best += per[i];
        const std::string unit = r.gpus ? "GPUs" : "nodes";
        return "locality " + std::string(LevelName(l)) + " required, maxDomains " +
               std::to_string(m) + ": the " +
               (m == 1 ? "largest " + std::string(LevelName(l)) + " holds "
                       : std::to_string(m) + " largest " + std::string(LevelName(l)) +
                             " domains hold ") +
               Money(best) + " " + such + unit + "; " + CountText(r);
      }
      case Group::kSpread: {
        const Spread& s = *r.spread;
        const std::vector<int> pool = ConflictPool(conflict);
        std::vector<int> per(Topo().DomainCount(s.level), 0);
        for (int node : pool) ++per[Topo().DomainOf(node, s.level)];
        const int domains =
            static_cast<int>(std::count_if(per.begin(), per.end(), [](int c) { return c > 0; }));
        std::string text = "spread over " + std::string(LevelName(s.level)) + ": ";
        std::vector<std::string> parts;
        if (k > 0 && s.CapFor(k)) {
          int room = 0;
          for (int c : per) room += std::min(c, *s.CapFor(k));
          parts.push_back("at most " + std::to_string(*s.CapFor(k)) +
                          " per domain leaves room for " + Plural(room, such + "node"));
        } else if (s.max_per_domain) {
          parts.push_back("at most " + std::to_string(*s.max_per_domain) + " per domain");
        } else if (s.max_fraction) {
          parts.push_back("at most " + Money(*s.max_fraction * 100) + "% per domain");
        }
        if (s.min_domains) {
          parts.push_back("at least " + std::to_string(*s.min_domains) + " domains; " + such +
                          "nodes lie in " + std::to_string(domains));
        }
        return text + Join(parts, "; ");
      }
      case Group::kBudget:
      case Group::kTenantBudget: {
        ConstraintMask m = NoneOn();
        m.select = conflict.select;
        m.compliance = conflict.compliance;
        m.exclusive = conflict.exclusive;
        const PreparedRequest p = Prepare(problem_, request_, options_, m, current_);
        const int need = std::max(0, MinimumNodeCount(p));
        std::vector<double> costs;
        for (int node : p.candidates) costs.push_back(Inv().ClassOf(node).cost_per_hour);
        std::sort(costs.begin(), costs.end());
        double cheapest = 0;
        for (int i = 0; i < need && i < static_cast<int>(costs.size()); ++i) cheapest += costs[i];
        const std::string cheap =
            "the " + Plural(need, "cheapest " + such + "node") + " cost " + Money(cheapest) + "/h";
        if (g == Group::kBudget) return "budget " + Money(*r.max_cost_per_hour) + "/h: " + cheap;
        ConstraintMask tb = NoneOn();
        tb.tenant_budget = true;
        const PreparedRequest pt = Prepare(problem_, request_, options_, tb, current_);
        const double left = pt.headroom.cost_per_hour.value_or(0);
        return "tenant budget " + Money(*tenant_->budget_per_hour) + "/h with " +
               Money(*tenant_->budget_per_hour - left) + "/h already spent leaves " + Money(left) +
               "/h; " + cheap;
      }
      case Group::kQuota: {
        ConstraintMask q = NoneOn();
        q.quota = true;
        const Headroom h = Prepare(problem_, request_, options_, q, current_).headroom;
        std::vector<std::string> parts;
        if (h.nodes) parts.push_back(Plural(*h.nodes, "node"));
        if (h.gpus) parts.push_back(Plural(*h.gpus, "GPU"));
        if (h.cpu_cores) parts.push_back(Plural(*h.cpu_cores, "CPU core"));
        if (h.memory_gib) parts.push_back(Money(*h.memory_gib) + " GiB memory");
        if (h.storage_gib) parts.push_back(Money(*h.storage_gib) + " GiB storage");
        // The relaxation proof names the binding resource when there is one ("4 nodes hold at
        // least 32 GPUs"); it sees the conflict's per-node filters too.
        ConstraintMask with_filters = q;
        with_filters.select = conflict.select;
        with_filters.compliance = conflict.compliance;
        with_filters.exclusive = conflict.exclusive;
        const std::optional<std::string> why =
            ProveInfeasible(Prepare(problem_, request_, options_, with_filters, current_));
        if (why && why->starts_with("quota leaves")) return *why;
        return "quota leaves " + Join(parts, ", ") + "; " + CountText(r);
      }
    }
    return "";
  }

  std::string Label(Group g) const {
    const Request& r = request_;
    switch (g) {
      case Group::kCompliance: return Join(r.compliance, " + ");
      case Group::kLocality:
        return "locality(" + std::string(LevelName(r.locality->level)) + "," +
               std::to_string(r.locality->max_domains) + ")";
      case Group::kSpread: return "spread(" + std::string(LevelName(r.spread->level)) + ")";
      case Group::kExclusive: return "exclusive(" + std::string(LevelName(*r.exclusive)) + ")";
      case Group::kBudget: return "budget(" + Money(*r.max_cost_per_hour) + "/h)";
      default: return GroupName(g);
    }
  }

  // The largest count (nodes, or GPUs for a gpus request) that `mask` admits below the request's;
  // 0 when none. `proven` tells whether one more is known infeasible.
  struct Fit {
    int count = 0;
    bool proven = true;
  };
  Fit LargestFit(const ConstraintMask& mask, const PlacementProblem* problem = nullptr) {
    const bool gpus = request_.gpus.has_value();
    const int wanted = gpus ? *request_.gpus : *request_.nodes;
    Request r = request_;
    auto feasible_at = [&](int count) {
      if (gpus) {
        r.gpus = count;
      } else {
        r.nodes = count;
      }
      return Check(r, mask, problem).verdict;
    };
    int lo = 0, hi = wanted;  // lo fits (or is 0), hi does not
    bool proven = true;
    if (!gpus && mask.spread && request_.spread && request_.spread->min_domains) {
      const int floor = *request_.spread->min_domains;
      if (floor >= wanted) return {0, true};
      const Verdict v = feasible_at(floor);
      if (v != Verdict::kFeasible) return {0, v == Verdict::kInfeasible};
      lo = floor;
    }
    while (hi - lo > 1) {
      const int mid = lo + (hi - lo) / 2;
      const Verdict v = feasible_at(mid);
      if (v == Verdict::kFeasible) {
        lo = mid;
      } else {
        hi = mid;
        proven = proven && v == Verdict::kInfeasible;
      }
    }
    return {lo, proven};
  }

  std::string Summary(const std::vector<Group>& conflict, const ConstraintMask& mask) {
    std::vector<std::string> labels;
    labels.reserve(conflict.size());
    for (Group g : conflict) labels.push_back(Label(g));
    const std::string unit = request_.gpus ? "GPU" : "node";
    const Fit fit = LargestFit(mask);
    const std::string head = labels.empty() ? "the count" : Join(labels, " + ");
    if (fit.count == 0) return head + " leave no placement; " + CountText(request_);
    return head + " leave" + (labels.size() == 1 ? "s" : "") + (fit.proven ? " at most " : " ") +
           Plural(fit.count, unit) + "; " + CountText(request_);
  }

  void AddCountRelaxation(Explanation& out, const ConstraintMask& mask) {
    const Fit fit = LargestFit(mask);
    if (fit.count > 0) {
      out.relaxations.push_back(Plural(fit.count, request_.gpus ? "GPU" : "node") + " fit");
    }
  }

  // Smallest value in [lo, hi] for which `feasible(value)` holds, assuming monotonicity; verified.
  std::optional<int> SmallestFeasible(int lo, int hi, const std::function<bool(int)>& feasible) {
    if (lo > hi || !feasible(hi)) return std::nullopt;
    while (lo < hi) {
      const int mid = lo + (hi - lo) / 2;
      if (feasible(mid)) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return hi;
  }

  // The cheapest cost per hour of a placement with `mask` (exact with the ILP), if one exists.
  std::optional<double> CheapestCost(const ConstraintMask& mask) {
    ObjectiveWeights cost_only{1.0, 0.0, 0.0, 0.0, 0.0};
    Outcome o = Check(request_, mask, nullptr, &cost_only, /*need_optimal=*/true);
    if (o.verdict != Verdict::kFeasible) return std::nullopt;
    double cost = 0;
    for (int node : o.nodes) cost += Inv().ClassOf(node).cost_per_hour;
    return cost;
  }

  static double CentsUp(double x) { return std::ceil(x * 100 - 1e-6) / 100; }

  void AddRelaxation(Explanation& out, Group g) {
    const Request& r = request_;
    const ConstraintMask all;
    switch (g) {
      case Group::kLocality: {
        const Level l = r.locality->level;
        const int domains = Topo().DomainCount(l);
        Request relaxed = r;
        auto ok = [&](int m) {
          relaxed.locality->max_domains = m;
          return Feasible(relaxed, all);
        };
        if (auto m = SmallestFeasible(r.locality->max_domains + 1, std::max(domains, 1), ok)) {
          out.relaxations.push_back("feasible with maxDomains: " + std::to_string(*m));
        }
        return;
      }
      case Group::kSpread: {
        const Spread& s = *r.spread;
        const int k = r.nodes ? *r.nodes : 0;
        if (k > 0 && s.CapFor(k) && *s.CapFor(k) < k) {
          Request relaxed = r;
          relaxed.spread->max_fraction.reset();
          auto ok = [&](int cap) {
            relaxed.spread->max_per_domain = cap;
            return Feasible(relaxed, all);
          };
          if (auto cap = SmallestFeasible(*s.CapFor(k) + 1, k, ok)) {
            out.relaxations.push_back("feasible with maxPerDomain: " + std::to_string(*cap));
          }
        }
        if (s.min_domains && *s.min_domains > 1) {
          Request relaxed = r;
          // Largest minDomains that works: search on the distance below the current value.
          auto ok = [&](int drop) {
            relaxed.spread->min_domains = *s.min_domains - drop;
            return Feasible(relaxed, all);
          };
          if (auto drop = SmallestFeasible(1, *s.min_domains - 1, ok)) {
            out.relaxations.push_back("feasible with minDomains: " +
                                      std::to_string(*s.min_domains - *drop));
          }
        }
        return;
      }
      case Group::kBudget: {
        ConstraintMask m;
        m.budget = false;
        if (auto cost = CheapestCost(m)) {
          Request relaxed = r;
          relaxed.max_cost_per_hour = CentsUp(*cost);
          if (Feasible(relaxed, all)) {
            out.relaxations.push_back("feasible with budget " + Money(*relaxed.max_cost_per_hour) +
                                      "/h");
          }
        }
        return;
      }
      case Group::kTenantBudget: {
        ConstraintMask m;
        m.tenant_budget = false;
        if (auto cost = CheapestCost(m)) {
          ConstraintMask tb = NoneOn();
          tb.tenant_budget = true;
          const double left = Prepare(problem_, request_, options_, tb, current_)
                                  .headroom.cost_per_hour.value_or(0);
          const double raise = CentsUp(std::max(0.0, *cost - left));
          PlacementProblem relaxed = problem_;
          for (Tenant& t : relaxed.tenants) {
            if (t.name == r.tenant && t.budget_per_hour) *t.budget_per_hour += raise;
          }
          if (Feasible(r, all, &relaxed)) {
            out.relaxations.push_back("feasible with tenant budgetPerHour +" + Money(raise) + "/h");
          }
        }
        return;
      }
      case Group::kQuota: {
        ConstraintMask m;
        m.quota = false;
        ObjectiveWeights cost_only{1.0, 0.0, 0.0, 0.0, 0.0};
        Outcome o = Check(r, m, nullptr, &cost_only);
        if (o.verdict != Verdict::kFeasible) return;
        ConstraintMask q = NoneOn();
        q.quota = true;
        const Headroom h = Prepare(problem_, request_, options_, q, current_).headroom;
        int64_t nodes = static_cast<int64_t>(o.nodes.size()), gpus = 0, cores = 0;
        double memory = 0, storage = 0;
        for (int node : o.nodes) {
          const NodeClass& c = Inv().ClassOf(node);
          gpus += c.gpu.count;
          cores += c.cpu.cores;
          memory += c.memory_gib;
          storage += c.storage_gib;
        }
        PlacementProblem relaxed = problem_;
        Tenant* t = nullptr;
        for (Tenant& candidate : relaxed.tenants) {
          if (candidate.name == r.tenant) t = &candidate;
        }
        if (t == nullptr) return;
        std::vector<std::string> parts;
        if (h.nodes && nodes > *h.nodes) {
          *t->quota.nodes += nodes - *h.nodes;
          parts.push_back("+" + Plural(nodes - *h.nodes, "node"));
        }
        if (h.gpus && gpus > *h.gpus) {
          *t->quota.gpus += gpus - *h.gpus;
          parts.push_back("+" + Plural(gpus - *h.gpus, "GPU"));
        }
        if (h.cpu_cores && cores > *h.cpu_cores) {
          *t->quota.cpu_cores += cores - *h.cpu_cores;
          parts.push_back("+" + Plural(cores - *h.cpu_cores, "CPU core"));
        }
        if (h.memory_gib && memory > *h.memory_gib + kCostTolerance) {
          *t->quota.memory_gib += CentsUp(memory - *h.memory_gib);
          parts.push_back("+" + Money(CentsUp(memory - *h.memory_gib)) + " GiB memory");
        }
        if (h.storage_gib && storage > *h.storage_gib + kCostTolerance) {
          *t->quota.storage_gib += CentsUp(storage - *h.storage_gib);
          parts.push_back("+" + Money(CentsUp(storage - *h.storage_gib)) + " GiB storage");
        }
        if (!parts.empty() && Feasible(r, all, &relaxed)) {
          out.relaxations.push_back("feasible with quota " + Join(parts, ", "));
        }
        return;
      }
      case Group::kSelect:
      case Group::kCompliance:
      case Group::kExclusive:
      case Group::kRoce: {
        ConstraintMask m;
        Flag(m, g) = false;
        if (Feasible(r, m)) out.relaxations.push_back("feasible without " + Label(g));
        return;
      }
    }
  }

  const PlacementProblem& problem_;
  const Request& request_;
  SolveOptions options_;
  std::vector<int> current_;
  const Backend* heuristic_ = nullptr;
  const Backend* ilp_ = nullptr;
  const Tenant* tenant_ = nullptr;
  bool unproven_ = false;
};

}  // namespace

Explanation Explain(const PlacementProblem& problem, const Request& request,
                    const SolveOptions& options, std::span<const int> current) {
  return Explainer(problem, request, options, current).Run();
}

}  // namespace topoplace
