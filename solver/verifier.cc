// The independent verifier. It deliberately repeats the per-node rules instead of calling
// Prepare(): the point is a second derivation from the snapshot, so a bug in filtering, headroom
// or a backend's model surfaces as a violation. Domain membership comes from the snapshot's
// Topology (part of the model, not of the solver).
#include "solver/verifier.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace topoplace {

namespace {

constexpr double kMoneyTolerance = 1e-6;

std::string Num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

bool Has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Why `node` fails the selector, or empty when it passes.
std::string SelectFailure(const Inventory& inv, int node, const NodeSelector& select) {
  const NodeClass& c = inv.ClassOf(node);
  const Node& n = inv.nodes[node];
  if (!select.classes.empty() && !Has(select.classes, c.name))
    return "class " + c.name + " not selected";
  if (!select.gpu_models.empty() && std::none_of(select.gpu_models.begin(), select.gpu_models.end(),
                                                 [&](const std::string& pattern) {
                                                   return WildcardMatch(pattern, c.gpu.model);
                                                 })) {
    return "GPU model \"" + c.gpu.model + "\" matches no selected pattern";
  }
  auto numeric = [](const std::optional<NumericPredicate>& p, double value, const char* what) {
    if (!p || p->Matches(value)) return std::string();
    return std::string(what) + " " + Num(value) + " fails " + p->ToString();
  };
  for (std::string why : {numeric(select.gpu_count, c.gpu.count, "GPU count"),
                          numeric(select.memory_gib, c.memory_gib, "memory GiB"),
                          numeric(select.cpu_cores, c.cpu.cores, "CPU cores"),
                          numeric(select.storage_gib, c.storage_gib, "storage GiB")}) {
    if (!why.empty()) return why;
  }
  for (const LabelPredicate& label : select.labels) {
    if (!label.Matches(n.labels)) return "label predicate on \"" + label.key + "\" fails";
  }
  return {};
}

// The first compliance item `node` lacks, or empty.
std::string MissingCompliance(const Inventory& inv, int node,
                              const std::vector<std::string>& items) {
  const Rack& rack = inv.racks[inv.RackOf(node)];
  const int site_index = inv.SiteOfRack(inv.RackOf(node));
  const Site* site = site_index >= 0 ? &inv.sites[site_index] : nullptr;
  for (const std::string& item : items) {
    if (item == "gdpr") {
      if (site == nullptr || !IsGdprJurisdiction(site->jurisdiction)) return item;
    } else if (!Has(rack.tags, item) && (site == nullptr || !Has(site->tags, item))) {
      return item;
    }
  }
  return {};
}

// Resources of a node set, summed from the node classes.
struct Totals {
  int64_t nodes = 0, gpus = 0, cpu_cores = 0;
  double memory_gib = 0, storage_gib = 0, cost_per_hour = 0;
  void Add(const NodeClass& c, int sign) {
    nodes += sign;
    gpus += static_cast<int64_t>(sign) * c.gpu.count;
    cpu_cores += static_cast<int64_t>(sign) * c.cpu.cores;
    memory_gib += sign * c.memory_gib;
    storage_gib += sign * c.storage_gib;
    cost_per_hour += sign * c.cost_per_hour;
  }
};

}  // namespace

std::vector<Violation> VerifyPlacement(const PlacementProblem& problem, const Request& request,
                                       std::span<const int> nodes, std::span<const int> current) {
  std::vector<Violation> out;
  auto report = [&](const char* constraint, std::string detail) {
    out.push_back({constraint, std::move(detail)});
  };
  if (problem.snapshot == nullptr) {
    report("availability", "no snapshot to verify against");
    return out;
  }
  const Inventory& inv = problem.snapshot->inventory;
  const NodeStates& states = problem.snapshot->states;
  const Topology& topo = problem.snapshot->topology;
  const int n = static_cast<int>(inv.nodes.size());
  const std::set<int> current_set(current.begin(), current.end());
  const Tenant* tenant = nullptr;
  for (const Tenant& t : problem.tenants) {
    if (t.name == request.tenant) tenant = &t;
  }

  // Existence and distinctness first: everything after reads only valid, distinct nodes.
  std::vector<int> chosen;
  std::set<int> seen;
  for (int node : nodes) {
    if (node < 0 || node >= n) {
      report("availability", "node index " + std::to_string(node) + " does not exist");
    } else if (!seen.insert(node).second) {
      report("count", "node " + inv.nodes[node].name + " chosen twice");
    } else {
      chosen.push_back(node);
    }
  }
  const auto name = [&](int node) -> const std::string& { return inv.nodes[node].name; };
  const int k = static_cast<int>(chosen.size());

  // Count.
  if (request.nodes && k != *request.nodes) {
    report("count",
           std::to_string(k) + " nodes chosen; " + std::to_string(*request.nodes) + " requested");
  }
  if (request.gpus) {
    int64_t sum = 0;
    for (int node : chosen) sum += inv.ClassOf(node).gpu.count;
    if (sum < *request.gpus) {
      report("count", "chosen nodes hold " + std::to_string(sum) + " GPUs; " +
                          std::to_string(*request.gpus) + " requested");
    } else {
      for (int node : chosen) {
        const int g = inv.ClassOf(node).gpu.count;
        if (sum - g >= *request.gpus) {
          report("count", "node " + name(node) + " is redundant: without it the others hold " +
                              std::to_string(sum - g) + " of " + std::to_string(*request.gpus) +
                              " GPUs");
        }
      }
    }
  }

  // Per-node rules.
  for (int node : chosen) {
    const Node& nd = inv.nodes[node];
    const NodeState state = states.state(node);
    const std::string& holder = states.holder(node);
    const bool own_current = current_set.count(node) > 0 && holder == request.tenant &&
                             state != NodeState::kMaintenance && state != NodeState::kFailed;
    const bool free = state == NodeState::kAvailable && holder.empty();
    if (!free && !own_current) {
      std::string detail = "node " + nd.name + " is " + std::string(NodeStateName(state));
      if (!holder.empty()) detail += " (held by " + holder + ")";
      report("availability", std::move(detail));
    }
    if (std::string why = SelectFailure(inv, node, request.select); !why.empty()) {
      report("select", "node " + nd.name + ": " + why);
    }
    if (std::string item = MissingCompliance(inv, node, request.compliance); !item.empty()) {
      report("compliance", "node " + nd.name + " (rack " + nd.rack + ") does not satisfy " + item);
    }
  }

  // Exclusive: nothing in the chosen racks/leaves is held by another tenant.
  if (request.exclusive) {
    const Level level = *request.exclusive;
    std::set<int> domains;
    for (int node : chosen) domains.insert(topo.DomainOf(node, level));
    for (int d : domains) {
      for (int other : topo.NodesIn(level, d)) {
        const std::string& holder = states.holder(other);
        if (!holder.empty() && holder != request.tenant) {
          report("exclusive", std::string(LevelName(level)) + " " + topo.DomainName(level, d) +
                                  " holds node " + name(other) + " of tenant " + holder);
          break;
        }
      }
    }
  }

  // Other tenants' exclusive domains: no chosen node shares a domain with a node whose holder
  // asked for that domain to itself.
  std::map<std::pair<Level, int>, std::string> fenced;  // (level, domain) -> the holding tenant
  for (int other = 0; states.exclusive_count() > 0 && other < n; ++other) {
    const std::optional<Level> fence = states.exclusive(other);
    if (!fence) continue;
    const std::string& holder = states.holder(other);
    if (holder.empty() || holder == request.tenant) continue;
    fenced.emplace(std::make_pair(*fence, topo.DomainOf(other, *fence)), holder);
  }
  for (int node : chosen) {
    for (const auto& [where, holder] : fenced) {
      if (topo.DomainOf(node, where.first) != where.second) continue;
      report("exclusive", "node " + name(node) + " is in " + std::string(LevelName(where.first)) +
                              " " + topo.DomainName(where.first, where.second) + ", which tenant " +
                              holder + " holds exclusively");
    }
  }

  // Locality (required only; preferred is the objective's business).
  if (request.locality && request.locality->mode == LocalityMode::kRequired) {
    const Level level = request.locality->level;
    std::set<int> domains;
    for (int node : chosen) domains.insert(topo.DomainOf(node, level));
    if (static_cast<int>(domains.size()) > request.locality->max_domains) {
      std::string names;
      for (int d : domains) names += (names.empty() ? "" : ", ") + topo.DomainName(level, d);
      report("locality", std::to_string(domains.size()) + " " + std::string(LevelName(level)) +
                             " domains used (" + names + "); at most " +
                             std::to_string(request.locality->max_domains) + " allowed");
    }
  }

  // Spread.
  if (request.spread) {
    const Spread& s = *request.spread;
    std::map<int, int> per_domain;
    for (int node : chosen) ++per_domain[topo.DomainOf(node, s.level)];
    if (std::optional<int> cap = s.CapFor(k)) {
      for (const auto& [d, count] : per_domain) {
        if (count > *cap) {
          report("spread", std::string(LevelName(s.level)) + " " + topo.DomainName(s.level, d) +
                               " holds " + std::to_string(count) + " of " + std::to_string(k) +
                               " nodes; cap " + std::to_string(*cap));
        }
      }
    }
    if (s.min_domains && static_cast<int>(per_domain.size()) < *s.min_domains) {
      report("spread", std::to_string(per_domain.size()) + " " + std::string(LevelName(s.level)) +
                           " domains used; at least " + std::to_string(*s.min_domains) +
                           " required");
    }
  }

  // RoCE: one leaf vendor.
  if (request.roce) {
    std::map<std::string, std::string> vendor_example;  // vendor -> a node on it
    for (int node : chosen) {
      const Switch& leaf = inv.switches[inv.LeafOf(node)];
      vendor_example.emplace(leaf.vendor, name(node));
    }
    if (vendor_example.size() > 1) {
      std::string detail = "leaves of " + std::to_string(vendor_example.size()) + " vendors:";
      for (const auto& [vendor, example] : vendor_example) {
        detail.append(" ").append(vendor).append(" (").append(example).append(")");
      }
      report("roce", std::move(detail));
    }
  }

  // Money and quota.
  Totals placed;
  for (int node : chosen) placed.Add(inv.ClassOf(node), +1);
  if (request.max_cost_per_hour &&
      placed.cost_per_hour > *request.max_cost_per_hour + kMoneyTolerance) {
    report("budget", "cost " + Num(placed.cost_per_hour) + "/h exceeds the request budget " +
                         Num(*request.max_cost_per_hour) + "/h");
  }
  if (tenant != nullptr) {
    // What the tenant holds apart from the request's own current nodes.
    Totals held;
    const int32_t own = states.FindHolder(request.tenant);
    for (int i = 0; own != NodeStates::kNoHolder && i < n; ++i) {
      if (states.holder_id(i) == own && current_set.count(i) == 0) held.Add(inv.ClassOf(i), +1);
    }
    const Quota& q = tenant->quota;
    auto check = [&](const char* what, auto limit, auto used, auto add) {
      if (limit &&
          used + add > *limit + (std::is_floating_point_v<decltype(add)> ? kMoneyTolerance : 0)) {
        report("quota", std::string(what) + ": " + Num(static_cast<double>(used)) + " held + " +
                            Num(static_cast<double>(add)) + " placed exceeds the quota " +
                            Num(static_cast<double>(*limit)));
      }
    };
    check("nodes", q.nodes, held.nodes, placed.nodes);
    check("gpus", q.gpus, held.gpus, placed.gpus);
    check("cpuCores", q.cpu_cores, held.cpu_cores, placed.cpu_cores);
    check("memoryGiB", q.memory_gib, held.memory_gib, placed.memory_gib);
    check("storageGiB", q.storage_gib, held.storage_gib, placed.storage_gib);

    // The project's share: what the project's allocations hold (the problem says; node states
    // know tenants, not projects), apart from the request's own current nodes.
    const std::string_view project_name = ProjectName(request.project);
    const Project* project = nullptr;
    for (const Project& p : tenant->projects) {
      if (p.name == project_name) project = &p;
    }
    if (project != nullptr) {
      Totals project_held;
      for (const ProjectUsage& u : problem.project_usage) {
        if (u.tenant != request.tenant || u.project != project_name) continue;
        project_held.nodes += u.usage.nodes;
        project_held.gpus += u.usage.gpus;
        project_held.cpu_cores += u.usage.cpu_cores;
        project_held.memory_gib += u.usage.memory_gib;
        project_held.storage_gib += u.usage.storage_gib;
      }
      for (int i : current_set) {
        if (i >= 0 && i < n && states.holder(i) == request.tenant)
          project_held.Add(inv.ClassOf(i), -1);
      }
      const std::string who = "project " + project->name + " of " + tenant->name;
      auto check_project = [&](const char* what, auto limit, auto used, auto add) {
        if (limit &&
            used + add > *limit + (std::is_floating_point_v<decltype(add)> ? kMoneyTolerance : 0)) {
          report("projectQuota", who + ": " + what + ": " + Num(static_cast<double>(used)) +
                                     " held + " + Num(static_cast<double>(add)) +
                                     " placed exceeds the project quota " +
                                     Num(static_cast<double>(*limit)));
        }
      };
      const Quota& pq = project->quota;
      check_project("nodes", pq.nodes, project_held.nodes, placed.nodes);
      check_project("gpus", pq.gpus, project_held.gpus, placed.gpus);
      check_project("cpuCores", pq.cpu_cores, project_held.cpu_cores, placed.cpu_cores);
      check_project("memoryGiB", pq.memory_gib, project_held.memory_gib, placed.memory_gib);
      check_project("storageGiB", pq.storage_gib, project_held.storage_gib, placed.storage_gib);
    }
    if (tenant->budget_per_hour &&
        held.cost_per_hour + placed.cost_per_hour > *tenant->budget_per_hour + kMoneyTolerance) {
      report("tenantBudget", "tenant " + tenant->name + " spends " + Num(held.cost_per_hour) +
                                 "/h; placing " + Num(placed.cost_per_hour) +
                                 "/h exceeds its budget " + Num(*tenant->budget_per_hour) + "/h");
    }
  }
  return out;
}

std::vector<Violation> VerifyPreemptingPlacement(const PlacementProblem& problem,
                                                 const Request& request,
                                                 std::span<const int> nodes,
                                                 std::span<const std::string> evicted) {
  std::vector<Violation> out;
  auto report = [&](std::string detail) { out.push_back({"preemption", std::move(detail)}); };
  if (problem.snapshot == nullptr) return VerifyPlacement(problem, request, nodes);
  if (!evicted.empty() && !request.preemption) {
    report("request " + request.name + " evicts " + std::to_string(evicted.size()) +
           " allocations but does not allow preemption");
  }
  if (request.preemption && request.preemption->max_evictions &&
      static_cast<int>(evicted.size()) > *request.preemption->max_evictions) {
    report(std::to_string(evicted.size()) + " allocations evicted; maxEvictions is " +
           std::to_string(*request.preemption->max_evictions));
  }
  const bool across = request.preemption && request.preemption->scope == PreemptionScope::kAll;
  if (across && !problem.preempt_across_tenants) {
    report("scope all without the provider's consent (policy.preemptAcrossTenants)");
  }
  // Free the victims' nodes here, not through the solver's AfterEvictions(): a second derivation.
  const Inventory& inv = problem.snapshot->inventory;
  NodeStates states = problem.snapshot->states;
  PlacementProblem after;
  after.tenants = problem.tenants;
  after.project_usage = problem.project_usage;
  std::set<std::string> seen;
  for (const std::string& name : evicted) {
    if (!seen.insert(name).second) {
      report("allocation " + name + " evicted twice");
      continue;
    }
    const Holding* h = nullptr;
    for (const Holding& candidate : problem.holdings) {
      if (candidate.name == name) h = &candidate;
    }
    if (h == nullptr) {
      report("allocation " + name + " is not an allocation of the problem");
      continue;
    }
    if (h->priority >= request.priority) {
      report("allocation " + name + " has priority " + std::to_string(h->priority) +
             ", not below the request's " + std::to_string(request.priority));
    }
    if (h->tenant != request.tenant && !across) {
      report("allocation " + name + " belongs to tenant " + h->tenant +
             "; the request may evict only its own tenant's");
    }
    for (int node : h->nodes) {
      if (node < 0 || node >= static_cast<int>(inv.nodes.size())) continue;
      if (states.holder(node) != h->tenant) continue;  // not its to free (a stale record)
      const NodeState s = states.state(node);
      const bool out_of_service = s == NodeState::kMaintenance || s == NodeState::kFailed;
      states.Set(node, out_of_service ? s : NodeState::kAvailable, "", std::nullopt);
      for (ProjectUsage& u : after.project_usage) {
        if (u.tenant == h->tenant && u.project == ProjectName(h->project))
          AddNodeUsage(u.usage, inv.ClassOf(node), -1);
      }
    }
  }
  after.snapshot = problem.snapshot->WithStates(std::move(states));
  std::vector<Violation> placed = VerifyPlacement(after, request, nodes);
  out.insert(out.end(), placed.begin(), placed.end());
  return out;
}

std::vector<Violation> VerifyResult(const PlacementProblem& problem, const Request& request,
                                    const PlacementResult& result) {
  if (result.evictions.empty()) return VerifyPlacement(problem, request, result.nodes);
  std::vector<std::string> names;
  for (const Eviction& e : result.evictions) names.push_back(e.allocation);
  return VerifyPreemptingPlacement(problem, request, result.nodes, names);
}

}  // namespace topoplace
