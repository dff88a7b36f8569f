// The constraint groups, their names and statements, and the deletion filter (see
// deletion_filter.h).
#include "solver/deletion_filter.h"

#include <cmath>
#include <cstdio>

namespace topoplace {

namespace {

bool HasQuota(const Quota& q) {
  return q.nodes || q.gpus || q.cpu_cores || q.memory_gib || q.storage_gib;
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

}  // namespace

bool& Enforced(ConstraintMask& mask, ConstraintGroup g) {
  switch (g) {
    case ConstraintGroup::kTenantBudget: return mask.tenant_budget;
    case ConstraintGroup::kQuota: return mask.quota;
    case ConstraintGroup::kProjectQuota: return mask.project_quota;
    case ConstraintGroup::kBudget: return mask.budget;
    case ConstraintGroup::kExclusive: return mask.exclusive;
    case ConstraintGroup::kRoce: return mask.roce;
    case ConstraintGroup::kSpread: return mask.spread;
    case ConstraintGroup::kCompliance: return mask.compliance;
    case ConstraintGroup::kSelect: return mask.select;
    case ConstraintGroup::kLocality: return mask.locality;
  }
  return mask.select;
}

ConstraintMask OnlyGroups(std::span<const ConstraintGroup> groups) {
  ConstraintMask m;
  for (ConstraintGroup g : kConstraintGroups) Enforced(m, g) = false;
  for (ConstraintGroup g : groups) Enforced(m, g) = true;
  return m;
}

ConstraintMask AllGroupsBut(ConstraintGroup g) {
  ConstraintMask m;
  Enforced(m, g) = false;
  return m;
}

const Tenant* FindTenant(const PlacementProblem& problem, std::string_view name) {
  for (const Tenant& t : problem.tenants) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<ConstraintGroup> GroupsUsed(const Request& r, const Tenant* tenant) {
  std::vector<ConstraintGroup> used;
  for (ConstraintGroup g : kConstraintGroups) {
    bool on = false;
    switch (g) {
      case ConstraintGroup::kTenantBudget:
        on = tenant != nullptr && tenant->budget_per_hour.has_value();
        break;
      case ConstraintGroup::kQuota: on = tenant != nullptr && HasQuota(tenant->quota); break;
      case ConstraintGroup::kProjectQuota: {
        const Project* p = tenant != nullptr ? FindProject(*tenant, r.project) : nullptr;
        on = p != nullptr && HasQuota(p->quota);
        break;
      }
      case ConstraintGroup::kBudget: on = r.max_cost_per_hour.has_value(); break;
      case ConstraintGroup::kExclusive: on = r.exclusive.has_value(); break;
      case ConstraintGroup::kRoce: on = r.roce; break;
      case ConstraintGroup::kSpread: on = r.spread.has_value(); break;
      case ConstraintGroup::kCompliance: on = !r.compliance.empty(); break;
      case ConstraintGroup::kSelect: on = !r.select.empty(); break;
      case ConstraintGroup::kLocality:
        on = r.locality && r.locality->mode == LocalityMode::kRequired;
        break;
    }
    if (on) used.push_back(g);
  }
  return used;
}

static_assert(
    [] {
      for (size_t i = 0; i < kConstraintGroups.size(); ++i) {
        if (static_cast<size_t>(kConstraintGroups[i]) != i) return false;
      }
      return true;
    }(),
    "ConstraintGroup must be declared in kConstraintGroups order");

std::string GroupName(ConstraintGroup g) {
  // Indexed by the enum, which lists the groups in kConstraintGroups order.
  static constexpr std::array<std::string_view, kConstraintGroups.size()> kNames = {
      "tenantBudget", "quota",  "projectQuota", "budget", "exclusive",
      "roce",         "spread", "compliance",   "select", "locality"};
  return std::string(kNames[static_cast<size_t>(g)]);
}

std::string GroupLabel(const Request& r, ConstraintGroup g) {
  switch (g) {
    case ConstraintGroup::kCompliance: return Join(r.compliance, " + ");
    case ConstraintGroup::kLocality:
      return "locality(" + std::string(LevelName(r.locality->level)) + "," +
             std::to_string(r.locality->max_domains) + ")";
    case ConstraintGroup::kSpread: return "spread(" + std::string(LevelName(r.spread->level)) + ")";
    case ConstraintGroup::kExclusive:
      return "exclusive(" + std::string(LevelName(*r.exclusive)) + ")";
    case ConstraintGroup::kBudget: return "budget(" + Money(*r.max_cost_per_hour) + "/h)";
    case ConstraintGroup::kProjectQuota:
      return "quota(project " + std::string(ProjectName(r.project)) + ")";
    default: return GroupName(g);
  }
}

std::string GroupStatement(const Request& r, const Tenant* tenant, ConstraintGroup g) {
  switch (g) {
    case ConstraintGroup::kSelect: return "select (" + DescribeSelect(r.select) + ")";
    case ConstraintGroup::kCompliance: return "compliance " + Join(r.compliance, "+");
    case ConstraintGroup::kExclusive: return "exclusive " + std::string(LevelName(*r.exclusive));
    case ConstraintGroup::kRoce: return "roce: one leaf vendor only";
    case ConstraintGroup::kLocality:
      return "locality " + std::string(LevelName(r.locality->level)) + " required, maxDomains " +
             std::to_string(r.locality->max_domains);
    case ConstraintGroup::kSpread: return "spread over " + std::string(LevelName(r.spread->level));
    case ConstraintGroup::kBudget: return "budget " + Money(*r.max_cost_per_hour) + "/h";
    case ConstraintGroup::kTenantBudget:
      return "tenant budget " + Money(*tenant->budget_per_hour) + "/h";
    case ConstraintGroup::kQuota:
    case ConstraintGroup::kProjectQuota: {
      const Project* project = FindProject(*tenant, r.project);
      const bool own = g == ConstraintGroup::kProjectQuota && project != nullptr;
      const Quota& q = own ? project->quota : tenant->quota;
      std::vector<std::string> parts;
      if (q.nodes) parts.push_back("nodes " + std::to_string(*q.nodes));
      if (q.gpus) parts.push_back("gpus " + std::to_string(*q.gpus));
      if (q.cpu_cores) parts.push_back("cpuCores " + std::to_string(*q.cpu_cores));
      if (q.memory_gib) parts.push_back("memoryGiB " + Money(*q.memory_gib));
      if (q.storage_gib) parts.push_back("storageGiB " + Money(*q.storage_gib));
      if (own) return ProjectLabel(r) + ": quota " + Join(parts, ", ");
      return "quota " + Join(parts, ", ");
    }
  }
  return GroupName(g);
}

std::string ProjectLabel(const Request& r) {
  return "project " + std::string(ProjectName(r.project)) + " of " + r.tenant;
}

std::string CountText(const Request& r) {
  return r.gpus ? Plural(*r.gpus, "GPU") + " requested" : Plural(*r.nodes, "node") + " requested";
}

Conflict DeletionFilter(std::span<const ConstraintGroup> used, const FeasibilityTest& feasible) {
  Conflict out;
  auto test = [&](const ConstraintMask& mask) {
    const Verdict v = feasible(mask);
    if (v == Verdict::kUnknown) out.proven = false;
    return v;
  };
  if (test(OnlyGroups({})) != Verdict::kFeasible) {
    out.availability = true;
    return out;
  }
  for (ConstraintGroup g : used) {
    if (test(OnlyGroups({&g, 1})) == Verdict::kInfeasible) {
      out.groups = {g};
      return out;
    }
  }
  std::vector<ConstraintGroup> kept(used.begin(), used.end());
  for (ConstraintGroup g : used) {
    std::vector<ConstraintGroup> rest;
    for (ConstraintGroup k : kept) {
      if (k != g) rest.push_back(k);
    }
    if (test(OnlyGroups(rest)) != Verdict::kFeasible) {
      kept = std::move(rest);
    } else {
      out.groups.push_back(g);
    }
  }
  return out;
}

FeasibilityBackends FindFeasibilityBackends(const BackendRegistry* registry) {
  if (registry == nullptr) return {};
  // By what the backends can do, not by their names: the first quick search, and the first exact
  // one (preferring one that honours kept nodes, which repair's tests need).
  FeasibilityBackends out;
  for (const Backend* b : registry->All()) {
    const BackendCapabilities c = b->capabilities();
    if (!c.exact) {
      if (out.quick == nullptr) out.quick = b;
    } else if (out.exact == nullptr ||
               (c.honours_keep_current && !out.exact->capabilities().honours_keep_current)) {
      out.exact = b;
    }
  }
  return out;
}

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

std::string Plural(int64_t n, std::string_view one) {
  return std::to_string(n) + " " + std::string(one) + (n == 1 ? "" : "s");
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

}  // namespace topoplace
