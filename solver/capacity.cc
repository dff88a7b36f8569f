// Capacity counts (greedy copies, relaxation bounds, a joint integer program), tenant headroom and
// fragmentation. See capacity.h.
#include "solver/capacity.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "solver/backend.h"
#include "solver/explain.h"
#include "solver/glpk_model.h"
#include "solver/prepared.h"
#include "solver/verifier.h"

namespace topoplace {

namespace {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

bool Feasible(SolveStatus s) { return s == SolveStatus::kOptimal || s == SolveStatus::kFeasible; }

// A snapshot we own and update in place as copies take nodes.
struct Working {
  std::shared_ptr<Snapshot> snapshot;
  PlacementProblem problem;
  explicit Working(const PlacementProblem& p)
      : snapshot(std::make_shared<Snapshot>(*p.snapshot)), problem{snapshot, p.tenants} {}
  void Take(const std::vector<int>& nodes, const std::string& tenant) {
    for (int n : nodes) snapshot->states.Allocate(n, tenant, std::nullopt);
  }
};

// The largest t with sum_s min(n_s, t * cap) >= t * k (and the minDomains analogue): how many
// copies of k nodes, at most `cap` per spread domain and at least `min_domains` spread domains
// each, a set of spread-domain sizes can hold.
int64_t CopiesBySpread(const std::vector<int>& per_spread, int k, std::optional<int> cap,
                       int min_domains) {
  int64_t total = 0;
  for (int n : per_spread) total += n;
  if (k <= 0) return 0;
  int64_t hi = total / k;
  auto ok = [&](int64_t t) {
    if (t == 0) return true;
    int64_t reach = 0, domains = 0;
    for (int n : per_spread) {
      reach += cap ? std::min<int64_t>(n, t * *cap) : n;
      domains += std::min<int64_t>(n, t);
    }
    return reach >= t * k && domains >= t * min_domains;
  };
  int64_t lo = 0;
  while (lo < hi) {  // ok() is monotone: fewer copies need less
    const int64_t mid = lo + (hi - lo + 1) / 2;
    if (ok(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

struct Bound {
  int64_t copies = std::numeric_limits<int64_t>::max();
  std::string reason;
  void Tighten(int64_t c, const std::string& why) {
    if (c < copies) {
      copies = c;
      reason = why;
    }
  }
};

// Upper bound on the copies of a prepared shape from relaxations.
Bound UpperBound(const PreparedRequest& p) {
  Bound b;
  const Request& r = *p.request;
  const Inventory& inv = p.inventory();
  const Topology& topo = p.topology();
  const int k = MinimumNodeCount(p);
  if (k <= 0) {
    b.Tighten(0, "no candidate set reaches the count");
    return b;
  }
  b.Tighten(
      static_cast<int64_t>(p.candidates.size()) / k,
      std::to_string(p.candidates.size()) + " candidate nodes, " + std::to_string(k) + " per copy");
  // Quota and budget: each copy needs at least the k smallest values of each resource.
  auto smallest = [&](auto value) {
    std::vector<double> v;
    v.reserve(p.candidates.size());
    for (int n : p.candidates) v.push_back(value(inv.ClassOf(n)));
    std::sort(v.begin(), v.end());
    double s = 0;
    for (int i = 0; i < k && i < static_cast<int>(v.size()); ++i) s += v[i];
    return s;
  };
  auto by = [&](const auto& limit, auto value, const std::string& what) {
    if (!limit) return;
    const double need = smallest(value);
    const double have = static_cast<double>(*limit) + kCostTolerance;
    if (need <= 0) return;
    b.Tighten(static_cast<int64_t>(std::floor(std::max(0.0, have) / need)),
              what + " headroom " + std::to_string(static_cast<int64_t>(*limit)));
  };
  const Headroom& h = p.headroom;
  by(
      h.nodes, [](const NodeClass&) { return 1.0; }, "quota: nodes");
  by(
      h.gpus, [](const NodeClass& c) { return static_cast<double>(c.gpu.count); }, "quota: gpus");
  by(
      h.cpu_cores, [](const NodeClass& c) { return static_cast<double>(c.cpu.cores); },
      "quota: cpu cores");
  by(
      h.memory_gib, [](const NodeClass& c) { return c.memory_gib; }, "quota: memory GiB");
  by(
      h.storage_gib, [](const NodeClass& c) { return c.storage_gib; }, "quota: storage GiB");
  // The request's own budget binds each copy, the tenant's all of them; only the tenant's can
  // bound the count (Headroom::cost_per_hour is the tighter of the two, so use the tenant's).
  if (p.tenant != nullptr && p.tenant->budget_per_hour && p.mask.tenant_budget) {
    const TenantUsage u = UsageOf(inv, p.snapshot->states, r.tenant);
    std::optional<double> left = *p.tenant->budget_per_hour - u.cost_per_hour;
    by(
        left, [](const NodeClass& c) { return c.cost_per_hour; }, "tenant budget per hour");
  }

  // Structure: pools (one per leaf vendor under roce), then locality domains, then spread.
  const bool spread = p.mask.spread && r.spread.has_value();
  const std::optional<int> cap = spread && r.nodes ? r.spread->CapFor(*r.nodes) : std::nullopt;
  const int min_domains = spread && r.spread->min_domains ? *r.spread->min_domains : 0;
  const bool one_domain = p.mask.locality && r.locality &&
                          r.locality->mode == LocalityMode::kRequired &&
                          r.locality->max_domains == 1;
  std::map<std::string, std::vector<int>> pools;
  for (int n : p.candidates) {
    pools[p.mask.roce && r.roce ? LeafVendor(inv, n) : std::string()].push_back(n);
  }
  int64_t structural = 0;
  for (const auto& [vendor, pool] : pools) {
    // domain -> spread domain -> candidates (or GPUs for a gpus shape)
    std::map<int, std::map<int, int>> per;
    std::map<int, int64_t> gpus_per;
    for (int n : pool) {
      const int d = one_domain ? topo.DomainOf(n, r.locality->level) : 0;
      const int s = spread ? topo.DomainOf(n, r.spread->level) : n;
      ++per[d][s];
      gpus_per[d] += inv.ClassOf(n).gpu.count;
    }
    for (const auto& [d, spreads] : per) {
      if (r.gpus) {
        structural += gpus_per[d] / *r.gpus;
        continue;
      }
      std::vector<int> sizes;
      for (const auto& [s, n] : spreads) sizes.push_back(n);
      structural += CopiesBySpread(sizes, k, cap, min_domains);
    }
  }
  std::string what = "capacity";
  if (one_domain) what += " per " + std::string(LevelName(r.locality->level));
  if (spread) what += " under the " + std::string(LevelName(r.spread->level)) + " spread";
  if (p.mask.roce && r.roce) what += " per leaf vendor";
  b.Tighten(structural, what);
  return b;
}

// ---------------------------------------------------------------------------------------------
// The joint integer program: can `t` copies of a nodes shape be placed at once?

enum class Joint { kFits, kDoesNotFit, kUnknown };

struct JointAnswer {
  Joint outcome = Joint::kUnknown;
  std::vector<std::vector<int>> placements;
};

JointAnswer JointFits(const PreparedRequest& p, int t, double seconds) {
  JointAnswer out;
  const Request& r = *p.request;
  if (!r.nodes || t <= 0) return out;
  const int k = *r.nodes;
  const Inventory& inv = p.inventory();
  const Topology& topo = p.topology();
  const bool locality =
      p.mask.locality && r.locality && r.locality->mode == LocalityMode::kRequired;
  const bool spread = p.mask.spread && r.spread.has_value();
  const bool roce = p.mask.roce && r.roce;
  const std::optional<int> cap = spread ? r.spread->CapFor(k) : std::nullopt;
  const int min_domains = spread && r.spread->min_domains ? *r.spread->min_domains : 0;

  // Groups of interchangeable candidates for this model.
  struct Group {
    std::vector<int> nodes;
    int loc = 0, spread = 0, vendor = 0;
    const NodeClass* c = nullptr;
  };
  std::vector<Group> groups;
  std::map<std::vector<int>, int> index;
  std::map<std::string, int> vendors;
  for (int n : p.candidates) {
    const std::string vendor = roce ? LeafVendor(inv, n) : std::string();
    auto [vit, vnew] = vendors.emplace(vendor, static_cast<int>(vendors.size()));
    (void)vnew;
    std::vector<int> key = {inv.NodeClassOf(n), locality ? topo.DomainOf(n, r.locality->level) : 0,
                            spread ? topo.DomainOf(n, r.spread->level) : 0, vit->second};
    auto [it, fresh] = index.emplace(key, static_cast<int>(groups.size()));
    if (fresh) groups.push_back({{}, key[1], key[2], key[3], &inv.ClassOf(n)});
    groups[it->second].nodes.push_back(n);
  }
  const int g_count = static_cast<int>(groups.size());
  if (static_cast<int64_t>(g_count) * t > 60000) return out;  // too large to decide here

  GlpkModel model;
  auto add_row = [&](const std::vector<std::pair<int, double>>& entries, std::optional<double> lo,
                     std::optional<double> hi) { model.AddRow(entries, lo, hi); };
  auto add_col = [&](ColumnKind kind, double lo, double hi) {
    return model.AddColumn(kind, lo, hi);
  };
  // x[c][g]
  std::vector<std::vector<int>> x(t, std::vector<int>(g_count));
  for (int c = 0; c < t; ++c) {
    for (int g = 0; g < g_count; ++g) {
      x[c][g] = add_col(ColumnKind::kInteger, 0,
                        std::min<int>(static_cast<int>(groups[g].nodes.size()), k));
    }
  }
  // Each node at most once over the copies.
  for (int g = 0; g < g_count; ++g) {
    std::vector<std::pair<int, double>> row;
    row.reserve(t);
    for (int c = 0; c < t; ++c) row.emplace_back(x[c][g], 1.0);
    add_row(row, std::nullopt, static_cast<double>(groups[g].nodes.size()));
  }
  const Headroom& h = p.headroom;
  std::map<std::string, std::vector<std::pair<int, double>>> joint_rows;
  for (int c = 0; c < t; ++c) {
    std::vector<std::pair<int, double>> count, cost;
    for (int g = 0; g < g_count; ++g) {
      count.emplace_back(x[c][g], 1.0);
      cost.emplace_back(x[c][g], groups[g].c->cost_per_hour);
    }
    add_row(count, k, k);
    if (p.mask.budget && r.max_cost_per_hour)
      add_row(cost, std::nullopt, *r.max_cost_per_hour + 1e-7);
    auto indicator_set = [&](auto domain_of, int limit_lo, int limit_hi, bool at_least) {
      std::map<int, std::vector<int>> members;
      for (int g = 0; g < g_count; ++g) members[domain_of(groups[g])].push_back(g);
      std::vector<std::pair<int, double>> used;
      for (const auto& [d, gs] : members) {
        const int u = add_col(ColumnKind::kBinary, 0, 1);
        used.emplace_back(u, 1.0);
        std::vector<std::pair<int, double>> down = {{u, 1.0}};
        for (int g : gs) {
          add_row({{x[c][g], 1.0}, {u, -static_cast<double>(k)}}, std::nullopt, 0);
          down.emplace_back(x[c][g], -1.0);
        }
        if (at_least) add_row(down, std::nullopt, 0);  // u only when the domain is used
      }
      if (at_least) {
        add_row(used, limit_lo, std::nullopt);
      } else {
        add_row(used, std::nullopt, limit_hi);
      }
    };
    if (locality) {
      indicator_set([](const Group& g) { return g.loc; }, 0, r.locality->max_domains, false);
    }
    if (spread) {
      std::map<int, std::vector<std::pair<int, double>>> per;
      for (int g = 0; g < g_count; ++g) per[groups[g].spread].emplace_back(x[c][g], 1.0);
      if (cap) {
        for (auto& [s, row] : per) add_row(row, std::nullopt, *cap);
      }
      if (min_domains > 0)
        indicator_set([](const Group& g) { return g.spread; }, min_domains, 0, true);
    }
    if (roce && vendors.size() > 1) {
      indicator_set([](const Group& g) { return g.vendor; }, 0, 1, false);
    }
    for (int g = 0; g < g_count; ++g) {
      const NodeClass& nc = *groups[g].c;
      joint_rows["nodes"].emplace_back(x[c][g], 1.0);
      joint_rows["gpus"].emplace_back(x[c][g], nc.gpu.count);
      joint_rows["cores"].emplace_back(x[c][g], nc.cpu.cores);
      joint_rows["memory"].emplace_back(x[c][g], nc.memory_gib);
      joint_rows["storage"].emplace_back(x[c][g], nc.storage_gib);
      joint_rows["cost"].emplace_back(x[c][g], nc.cost_per_hour);
    }
  }
  auto joint = [&](const char* key, auto limit) {
    if (limit) add_row(joint_rows[key], std::nullopt, static_cast<double>(*limit) + 1e-7);
  };
  joint("nodes", h.nodes);
  joint("gpus", h.gpus);
  joint("cores", h.cpu_cores);
  joint("memory", h.memory_gib);
  joint("storage", h.storage_gib);
  if (p.tenant != nullptr && p.tenant->budget_per_hour && p.mask.tenant_budget) {
    const double left = *p.tenant->budget_per_hour - UsageOf(inv, p.snapshot->states, r.tenant).cost_per_hour;
    std::optional<double> l = left;
    joint("cost", l);
  }
  MipParams params;
  params.deadline = Clock::now() + std::chrono::microseconds(
                                       static_cast<int64_t>(std::clamp(seconds, 0.001, 1e6) * 1e6));
  const MipOutcome solved = model.Solve(params);
  if (solved.kind == MipOutcome::Kind::kInfeasible) {
    out.outcome = Joint::kDoesNotFit;
    return out;
  }
  if (solved.kind != MipOutcome::Kind::kOptimal && solved.kind != MipOutcome::Kind::kFeasible)
    return out;
  out.outcome = Joint::kFits;
  std::vector<int> used(g_count, 0);
  for (int c = 0; c < t; ++c) {
    std::vector<int> nodes;
    for (int g = 0; g < g_count; ++g) {
      const int take = static_cast<int>(std::lround(solved.values[x[c][g]]));
      for (int i = 0; i < take && used[g] < static_cast<int>(groups[g].nodes.size()); ++i)
        nodes.push_back(groups[g].nodes[used[g]++]);
    }
    std::sort(nodes.begin(), nodes.end());
    out.placements.push_back(std::move(nodes));
  }
  return out;
}

}  // namespace

Result<CapacityResult> CountCopies(const PlacementProblem& problem, const Request& shape,
                                   const CapacityOptions& options) {
  const auto start = Clock::now();
  if (problem.snapshot == nullptr) return InvalidArgumentError("no snapshot");
  Status valid = ValidateRequest(problem, shape);
  if (!valid.ok()) return valid;
  CapacityResult out;
  const PreparedRequest p0 = Prepare(problem, shape, options.solve);
  const Bound bound = UpperBound(p0);
  out.upper_bound = static_cast<int>(std::min<int64_t>(bound.copies, options.max_copies));
  out.proof = bound.reason;

  Working w(problem);
  SolveOptions so = options.solve;
  so.explain = false;
  so.requests_validated = true;  // above, once; the copies differ only in name
  PlacementResult last;
  while (out.copies < out.upper_bound) {
    Request copy = shape;
    copy.name = shape.name + "#" + std::to_string(out.copies + 1);
    auto r = Solve(w.problem, {copy}, so);
    if (!r.ok()) return r.status();
    last = (*r)[0];
    if (!Feasible(last.status)) break;
    if (!VerifyPlacement(w.problem, copy, last.nodes).empty()) {
      return InternalError("capacity: a copy failed verification");
    }
    out.placements.push_back(last.nodes);
    w.Take(last.nodes, shape.tenant);
    ++out.copies;
  }
  // One more copy than placed: does it fit jointly?
  if (out.copies < out.upper_bound && options.prove && shape.nodes) {
    const auto deadline =
        Clock::now() +
        std::chrono::milliseconds(static_cast<int64_t>(options.proof_time_limit_seconds * 1000));
    while (out.copies < out.upper_bound) {
      const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
      if (left <= 0.01) break;
      JointAnswer j = JointFits(p0, out.copies + 1, left);
      if (j.outcome == Joint::kDoesNotFit) {
        out.upper_bound = out.copies;
        out.proof =
            "the exact solver: " + std::to_string(out.copies + 1) + " copies do not fit together";
        break;
      }
      if (j.outcome == Joint::kUnknown) break;
      bool valid_all = true;
      Working check(problem);
      for (const auto& nodes : j.placements) {
        valid_all = valid_all && VerifyPlacement(check.problem, shape, nodes).empty();
        check.Take(nodes, shape.tenant);
      }
      if (!valid_all) break;
      out.placements = j.placements;
      out.copies = static_cast<int>(j.placements.size());
    }
  }
  out.exact = out.copies == out.upper_bound;
  if (out.copies < out.upper_bound) {
    out.proof = "not proven: at most " + std::to_string(out.upper_bound) + " (" + out.proof + ")";
  }
  // Why the next copy does not fit, from the state after the greedy copies.
  if (options.explain) {
    Working after(problem);
    for (const auto& nodes : out.placements) after.Take(nodes, shape.tenant);
    Request next = shape;
    next.name = shape.name + "#" + std::to_string(out.copies + 1);
    SolveOptions eo = options.solve;
    eo.backend = "auto";
    eo.time_limit_seconds = std::min(eo.time_limit_seconds, 5.0);
    eo.explain = true;
    eo.requests_validated = true;
    auto r = Solve(after.problem, {next}, eo);
    if (r.ok() && (*r)[0].explanation) out.why_no_more = (*r)[0].explanation;
  }
  const Topology& topo = problem.snapshot->topology;
  for (const auto& nodes : out.placements) {
    for (Level l : {Level::kLeaf, Level::kRack, Level::kPod, Level::kPowerDomain}) {
      std::set<int> ds;
      for (int n : nodes) ds.insert(topo.DomainOf(n, l));
      for (int d : ds) ++out.domains[std::string(LevelName(l))][topo.DomainName(l, d)];
    }
  }
  out.solve_ms = MillisSince(start);
  return out;
}

std::vector<TenantHeadroom> TenantHeadrooms(const PlacementProblem& problem, const Request* shape) {
  std::vector<TenantHeadroom> out;
  const Inventory& inv = problem.snapshot->inventory;
  for (const Tenant& t : problem.tenants) {
    if (shape != nullptr && !shape->tenant.empty() && t.name != shape->tenant) continue;
    TenantHeadroom h;
    h.tenant = t.name;
    h.used = UsageOf(inv, problem.snapshot->states, t.name);
    h.quota = t.quota;
    h.budget_per_hour = t.budget_per_hour;
    if (t.quota.nodes) h.nodes = *t.quota.nodes - h.used.nodes;
    if (t.quota.gpus) h.gpus = *t.quota.gpus - h.used.gpus;
    if (t.quota.cpu_cores) h.cpu_cores = *t.quota.cpu_cores - h.used.cpu_cores;
    if (t.quota.memory_gib) h.memory_gib = *t.quota.memory_gib - h.used.memory_gib;
    if (t.quota.storage_gib) h.storage_gib = *t.quota.storage_gib - h.used.storage_gib;
    if (t.budget_per_hour) h.cost_per_hour = *t.budget_per_hour - h.used.cost_per_hour;
    if (shape != nullptr) {
      Request s = *shape;
      s.tenant = t.name;
      SolveOptions so;
      const PreparedRequest p = Prepare(problem, s, so);
      const int k = MinimumNodeCount(p);
      if (k > 0) {
        std::vector<const NodeClass*> classes;
        for (int n : p.candidates) classes.push_back(&inv.ClassOf(n));
        auto need = [&](auto value) {
          std::vector<double> v;
          v.reserve(classes.size());
          for (const NodeClass* c : classes) v.push_back(value(*c));
          std::sort(v.begin(), v.end());
          double sum = 0;
          for (int i = 0; i < k && i < static_cast<int>(v.size()); ++i) sum += v[i];
          return sum;
        };
        auto limit = [&](const auto& left, auto value, const char* what) {
          if (!left) return;
          const double per = need(value);
          if (per <= 0) return;
          const int64_t copies = static_cast<int64_t>(
              std::floor(std::max(0.0, static_cast<double>(*left) + 1e-9) / per));
          if (!h.shape_copies || copies < *h.shape_copies) {
            h.shape_copies = copies;
            h.limiting = what;
          }
        };
        limit(
            h.nodes, [](const NodeClass&) { return 1.0; }, "nodes");
        limit(
            h.gpus, [](const NodeClass& c) { return static_cast<double>(c.gpu.count); }, "gpus");
        limit(
            h.cpu_cores, [](const NodeClass& c) { return static_cast<double>(c.cpu.cores); },
            "cpuCores");
        limit(
            h.memory_gib, [](const NodeClass& c) { return c.memory_gib; }, "memoryGiB");
        limit(
            h.storage_gib, [](const NodeClass& c) { return c.storage_gib; }, "storageGiB");
        limit(
            h.cost_per_hour, [](const NodeClass& c) { return c.cost_per_hour; }, "budgetPerHour");
      }
    }
    out.push_back(std::move(h));
  }
  return out;
}

FragmentationReport Fragmentation(const Snapshot& snapshot) {
  FragmentationReport f;
  const Inventory& inv = snapshot.inventory;
  const Topology& topo = snapshot.topology;
  const int n = static_cast<int>(inv.nodes.size());
  f.total_nodes = n;
  auto per_level = [&](Level level) {
    std::vector<DomainFree> out(topo.DomainCount(level));
    for (int d = 0; d < topo.DomainCount(level); ++d) out[d].name = topo.DomainName(level, d);
    for (int i = 0; i < n; ++i) {
      DomainFree& df = out[topo.DomainOf(i, level)];
      ++df.total;
      if (snapshot.states.free(i)) {
        ++df.free;
        df.free_gpus += inv.ClassOf(i).gpu.count;
      }
    }
    return out;
  };
  std::vector<DomainFree> leaves = per_level(Level::kLeaf);
  std::vector<DomainFree> racks = per_level(Level::kRack);
  std::vector<DomainFree> pods = per_level(Level::kPod);
  int in_free_leaves = 0, in_free_racks = 0;
  int64_t gpus_in_free_leaves = 0;
  for (int i = 0; i < n; ++i) {
    f.total_gpus += inv.ClassOf(i).gpu.count;
    if (!snapshot.states.free(i)) continue;
    ++f.free_nodes;
    f.free_gpus += inv.ClassOf(i).gpu.count;
    const DomainFree& leaf = leaves[topo.DomainOf(i, Level::kLeaf)];
    const DomainFree& rack = racks[topo.DomainOf(i, Level::kRack)];
    if (leaf.free == leaf.total) {
      ++in_free_leaves;
      gpus_in_free_leaves += inv.ClassOf(i).gpu.count;
    }
    if (rack.free == rack.total) ++in_free_racks;
  }
  if (f.free_nodes > 0) {
    f.free_in_free_leaves = static_cast<double>(in_free_leaves) / f.free_nodes;
    f.free_in_free_racks = static_cast<double>(in_free_racks) / f.free_nodes;
  }
  if (f.free_gpus > 0)
    f.gpu_free_in_free_leaves = static_cast<double>(gpus_in_free_leaves) / f.free_gpus;
  auto by_name = [](const DomainFree& a, const DomainFree& b) { return a.name < b.name; };
  std::sort(leaves.begin(), leaves.end(), by_name);
  std::sort(racks.begin(), racks.end(), by_name);
  std::sort(pods.begin(), pods.end(), by_name);
  f.leaves = std::move(leaves);
  f.racks = std::move(racks);
  f.pods = std::move(pods);
  // Largest single-domain request per class.
  for (size_t c = 0; c < inv.node_classes.size(); ++c) {
    const std::string& cls = inv.node_classes[c].name;
    int anywhere = 0;
    for (int i = 0; i < n; ++i)
      anywhere += snapshot.states.free(i) && inv.NodeClassOf(i) == static_cast<int>(c);
    if (anywhere == 0) continue;
    for (Level level : {Level::kLeaf, Level::kRack, Level::kPod}) {
      std::vector<int> count(topo.DomainCount(level), 0);
      for (int i = 0; i < n; ++i) {
        if (snapshot.states.free(i) && inv.NodeClassOf(i) == static_cast<int>(c))
          ++count[topo.DomainOf(i, level)];
      }
      int best = 0;
      std::string where;
      for (int d = 0; d < static_cast<int>(count.size()); ++d) {
        const std::string& name = topo.DomainName(level, d);
        if (count[d] > best || (count[d] == best && best > 0 && name < where)) {
          best = count[d];
          where = name;
        }
      }
      f.largest.push_back({cls, std::string(LevelName(level)), best, where});
    }
    f.largest.push_back({cls, "anywhere", anywhere, ""});
  }
  return f;
}

double FragmentationIndex(const Snapshot& snapshot) {
  const Inventory& inv = snapshot.inventory;
  const Topology& topo = snapshot.topology;
  const int n = static_cast<int>(inv.nodes.size());
  std::vector<int> total(topo.DomainCount(Level::kLeaf), 0), free(total.size(), 0);
  for (int i = 0; i < n; ++i) {
    const int d = topo.DomainOf(i, Level::kLeaf);
    ++total[d];
    free[d] += snapshot.states.free(i);
  }
  double all = 0, whole = 0;
  for (int i = 0; i < n; ++i) {
    if (!snapshot.states.free(i)) continue;
    const double units = std::max(1, inv.ClassOf(i).gpu.count);
    all += units;
    const int d = topo.DomainOf(i, Level::kLeaf);
    if (free[d] == total[d]) whole += units;
  }
  return all > 0 ? 1.0 - whole / all : 0.0;
}

std::optional<int> LargestShapeThatFits(const PlacementProblem& problem, const Request& shape,
                                        const SolveOptions& options) {
  SolveOptions so = options;
  so.explain = false;
  const PreparedRequest p = Prepare(problem, shape, so);
  auto fits = [&](int n) {
    Request r = shape;
    r.gpus.reset();
    r.nodes = n;
    auto res = Solve(problem, {r}, so);
    return res.ok() && Feasible((*res)[0].status);
  };
  int lo = 0, hi = static_cast<int>(p.candidates.size());
  if (hi == 0 || !fits(1)) return std::nullopt;
  lo = 1;
  while (lo < hi) {
    const int mid = lo + (hi - lo + 1) / 2;
    if (fits(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

}  // namespace topoplace
