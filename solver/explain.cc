// Explanations: a deletion filter over constraint groups, numbers for every group of the conflict,
// and relaxations that have each been solved feasible (see explain.h).
#include "solver/explain.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "solver/backend.h"
#include "solver/deletion_filter.h"
#include "solver/prepared.h"

namespace topoplace {

namespace {

using Group = ConstraintGroup;

struct Outcome {
  Verdict verdict = Verdict::kUnknown;
  std::vector<int> nodes;
  ObjectiveTerms objective;  // of `nodes`, when feasible
};

ConstraintMask NoneOn() { return OnlyGroups({}); }

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
    const FeasibilityBackends backends = FindFeasibilityBackends(options.backends);
    heuristic_ = backends.quick;
    ilp_ = backends.exact;
    tenant_ = FindTenant(problem, request.tenant);
  }

  Explanation Run() {
    Explanation out;
    if (Check(request_, ConstraintMask{}).verdict == Verdict::kFeasible) {
      out.summary = "a placement exists with every constraint in force; nothing conflicts";
      return out;
    }
    const Conflict found =
        DeletionFilter(GroupsUsed(request_, tenant_),
                       [&](const ConstraintMask& mask) { return Check(request_, mask).verdict; });
    if (found.availability) {
      // With every group off only the count and the available nodes remain.
      out.conflict.push_back({"availability", AvailabilityDetail()});
      out.conflict.push_back({"count", CountText(request_)});
      out.summary = "the available nodes cannot meet the count: " + AvailabilityDetail();
      AddCountRelaxation(out, ConstraintMask{});
      Finish(out);
      return out;
    }
    const std::vector<Group>& conflict = found.groups;
    // Numbers are given for the conflict alone: groups outside it are off.
    const ConstraintMask conflict_only = OnlyGroups(conflict);
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
    if (unproven_) out.summary += kMinimalityNotProven;
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
    if (ProveInfeasible(p)) return {Verdict::kInfeasible, {}, {}};
    Outcome found;
    if (heuristic_ != nullptr) {
      PlacementResult h = heuristic_->Solve(p, o, nullptr);
      if ((h.status == SolveStatus::kOptimal || h.status == SolveStatus::kFeasible) &&
          CheckPrepared(p, h.nodes).empty()) {
        found = {Verdict::kFeasible, h.nodes, EvaluateObjective(p, h.nodes)};
        if (!need_optimal || h.status == SolveStatus::kOptimal) return found;
      }
    }
    if (ilp_ != nullptr) {
      PlacementResult e = ilp_->Solve(p, o, nullptr);
      if ((e.status == SolveStatus::kOptimal || e.status == SolveStatus::kFeasible) &&
          CheckPrepared(p, e.nodes).empty()) {
        const ObjectiveTerms terms = EvaluateObjective(p, e.nodes);
        if (found.verdict != Verdict::kFeasible || terms.total < found.objective.total) {
          found = {Verdict::kFeasible, e.nodes, terms};
        }
        return found;
      }
      if (e.status == SolveStatus::kInfeasible && found.verdict != Verdict::kFeasible) {
        return {Verdict::kInfeasible, {}, {}};
      }
    }
    if (found.verdict == Verdict::kFeasible) return found;
    unproven_ = true;
    return {Verdict::kUnknown, {}, {}};
  }

  bool Feasible(const Request& r, const ConstraintMask& mask,
                const PlacementProblem* problem = nullptr) {
    return Check(r, mask, problem).verdict == Verdict::kFeasible;
  }

  std::vector<int> Pool(const ConstraintMask& mask) const {
    return Prepare(problem_, request_, options_, mask, current_).candidates;
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
      if (Enforced(in_conflict, g)) Enforced(m, g) = true;
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
        return Statement(g) + ": " +
               Plural(FilteredCount(Group::kSelect, conflict), "available node") + " match";
      case Group::kCompliance:
        return Statement(g) + ": " +
               Plural(FilteredCount(Group::kCompliance, conflict),
                      std::string(conflict.select ? "matching " : "available ") + "node") +
               " in compliant racks or sites";
      case Group::kExclusive:
        return Statement(g) + ": " +
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
        return Statement(g) + "; " + such +
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
        return Statement(g) + ": the " +
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
        const std::string text = Statement(g) + ": ";
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
        std::vector<int> cheapest = p.candidates;
        std::stable_sort(cheapest.begin(), cheapest.end(), [&](int a, int b) {
          return Inv().ClassOf(a).cost_per_hour < Inv().ClassOf(b).cost_per_hour;
        });
        cheapest.resize(std::min(cheapest.size(), static_cast<size_t>(need)));
        const std::string cheap = "the " + Plural(need, "cheapest " + such + "node") + " cost " +
                                  Money(EvaluateObjective(p, cheapest).cost_per_hour) + "/h";
        if (g == Group::kBudget) return Statement(g) + ": " + cheap;
        ConstraintMask tb = NoneOn();
        tb.tenant_budget = true;
        const PreparedRequest pt = Prepare(problem_, request_, options_, tb, current_);
        const double left = pt.headroom.cost_per_hour.value_or(0);
        return Statement(g) + " with " + Money(*tenant_->budget_per_hour - left) +
               "/h already spent leaves " + Money(left) + "/h; " + cheap;
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
      case Group::kProjectQuota: {
        // "project llm of nlp-lab: quota nodes 8, 6 held; 4 requested"
        const Quota& q = FindProject(*tenant_, r.project)->quota;
        const ProjectUsage* held = FindProjectUsage(problem_.project_usage, r.tenant, r.project);
        const TenantUsage u = held != nullptr ? held->usage : TenantUsage{};
        std::vector<std::string> parts;
        if (q.nodes)
          parts.push_back("nodes " + std::to_string(*q.nodes) + ", " + std::to_string(u.nodes) +
                          " held");
        if (q.gpus)
          parts.push_back("gpus " + std::to_string(*q.gpus) + ", " + std::to_string(u.gpus) +
                          " held");
        if (q.cpu_cores)
          parts.push_back("cpuCores " + std::to_string(*q.cpu_cores) + ", " +
                          std::to_string(u.cpu_cores) + " held");
        if (q.memory_gib)
          parts.push_back("memoryGiB " + Money(*q.memory_gib) + ", " + Money(u.memory_gib) +
                          " held");
        if (q.storage_gib)
          parts.push_back("storageGiB " + Money(*q.storage_gib) + ", " + Money(u.storage_gib) +
                          " held");
        return ProjectLabel(r) + ": quota " + Join(parts, "; ") + "; " + CountText(r);
      }
    }
    return "";
  }

  std::string Label(Group g) const { return GroupLabel(request_, g); }
  std::string Statement(Group g) const { return GroupStatement(request_, tenant_, g); }

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
    return o.objective.cost_per_hour;
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
        if (auto cost = CheapestCost(AllGroupsBut(g))) {
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
        if (auto cost = CheapestCost(AllGroupsBut(g))) {
          const ConstraintMask tb = OnlyGroups({&g, 1});
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
      case Group::kQuota:
      case Group::kProjectQuota: {
        ObjectiveWeights cost_only{1.0, 0.0, 0.0, 0.0, 0.0};
        Outcome o = Check(r, AllGroupsBut(g), nullptr, &cost_only);
        if (o.verdict != Verdict::kFeasible) return;
        const ConstraintMask q = OnlyGroups({&g, 1});
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
        // The quota raised: the tenant's, or the request's project's.
        PlacementProblem relaxed = problem_;
        Quota* quota = nullptr;
        for (Tenant& candidate : relaxed.tenants) {
          if (candidate.name != r.tenant) continue;
          if (g == Group::kQuota) {
            quota = &candidate.quota;
          } else {
            for (Project& p : candidate.projects) {
              if (p.name == ProjectName(r.project)) quota = &p.quota;
            }
          }
        }
        if (quota == nullptr) return;
        std::vector<std::string> parts;
        if (h.nodes && nodes > *h.nodes) {
          *quota->nodes += nodes - *h.nodes;
          parts.push_back("+" + Plural(nodes - *h.nodes, "node"));
        }
        if (h.gpus && gpus > *h.gpus) {
          *quota->gpus += gpus - *h.gpus;
          parts.push_back("+" + Plural(gpus - *h.gpus, "GPU"));
        }
        if (h.cpu_cores && cores > *h.cpu_cores) {
          *quota->cpu_cores += cores - *h.cpu_cores;
          parts.push_back("+" + Plural(cores - *h.cpu_cores, "CPU core"));
        }
        if (h.memory_gib && memory > *h.memory_gib + kCostTolerance) {
          *quota->memory_gib += CentsUp(memory - *h.memory_gib);
          parts.push_back("+" + Money(CentsUp(memory - *h.memory_gib)) + " GiB memory");
        }
        if (h.storage_gib && storage > *h.storage_gib + kCostTolerance) {
          *quota->storage_gib += CentsUp(storage - *h.storage_gib);
          parts.push_back("+" + Money(CentsUp(storage - *h.storage_gib)) + " GiB storage");
        }
        if (!parts.empty() && Feasible(r, all, &relaxed)) {
          out.relaxations.push_back(
              "feasible with " +
              (g == Group::kQuota ? std::string("quota ") : ProjectLabel(r) + " quota ") +
              Join(parts, ", "));
        }
        return;
      }
      case Group::kSelect:
      case Group::kCompliance:
      case Group::kExclusive:
      case Group::kRoce: {
        if (Feasible(r, AllGroupsBut(g))) out.relaxations.push_back("feasible without " + Label(g));
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
