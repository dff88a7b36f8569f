// Private to solver/: what the two explanations share, the one for an infeasible request
// (explain.h) and the one for an allocation that cannot be repaired in place (repair.h).
//
// A request's constraints fall into groups that a ConstraintMask switches on and off; the count is
// always in force. DeletionFilter() finds a minimal conflicting set among the groups a request
// uses: infeasible together, feasible without any one of them. What "feasible" means is the
// caller's test: place asks whether the request has a placement, repair whether it has one with
// the kept nodes fixed. Both explanations name the groups with the same names and labels, list
// them in the same order, and describe each with the same statement of the rule before the
// numbers of their own, so a person reading both sees one vocabulary.
//
// The one order, kConstraintGroups: tenant-wide limits first (tenant budget, quota, the request's
// budget), then exclusivity, RoCE and spread, then the per-node filters (compliance, select) and
// locality last. The filter tries to drop groups in this order and a group is dropped whenever the
// rest still conflicts, so the groups tried last are the ones that stay: when the request's own
// topology and hardware already explain the conflict, the conflict names them and not a budget
// that would also have been too small.
//
// Thread safety: stateless functions; DeletionFilter() runs the caller's test on the caller's
// thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "solver/backend.h"

namespace topoplace {

// Declared in kConstraintGroups order (GroupName() relies on it).
enum class ConstraintGroup {
  kTenantBudget,
  kQuota,
  kProjectQuota,
  kBudget,
  kExclusive,
  kRoce,
  kSpread,
  kCompliance,
  kSelect,
  kLocality
};

// Every group, in the order the deletion filter tries to drop them and the explanations list them.
inline constexpr std::array<ConstraintGroup, 10> kConstraintGroups = {
    ConstraintGroup::kTenantBudget, ConstraintGroup::kQuota,      ConstraintGroup::kProjectQuota,
    ConstraintGroup::kBudget,       ConstraintGroup::kExclusive,  ConstraintGroup::kRoce,
    ConstraintGroup::kSpread,       ConstraintGroup::kCompliance, ConstraintGroup::kSelect,
    ConstraintGroup::kLocality};

// The mask's switch for `g`.
bool& Enforced(ConstraintMask& mask, ConstraintGroup g);
// A mask with exactly `groups` on.
ConstraintMask OnlyGroups(std::span<const ConstraintGroup> groups);
// Every group on but `g`.
ConstraintMask AllGroupsBut(ConstraintGroup g);

const Tenant* FindTenant(const PlacementProblem& problem, std::string_view name);

// The groups `r` (and its tenant, null when unknown) actually constrain, in kConstraintGroups
// order: preferred locality is an objective, not a constraint, and is not listed.
std::vector<ConstraintGroup> GroupsUsed(const Request& r, const Tenant* tenant);

// The name in ConflictItem::constraint: "tenantBudget", "quota", "projectQuota", "budget",
// "exclusive", "roce",
// "spread", "compliance", "select", "locality".
std::string GroupName(ConstraintGroup g);
// The short form for summaries and relaxations: "hipaa + gdpr", "locality(leaf,1)",
// "spread(powerDomain)", "exclusive(rack)", "budget(300/h)"; the name otherwise.
std::string GroupLabel(const Request& r, ConstraintGroup g);
// The rule as the request or its tenant states it, which each explanation follows with its own
// numbers: "select (class h100x8)", "compliance hipaa", "locality leaf required, maxDomains 1",
// "spread over powerDomain", "roce: one leaf vendor only", "budget 300/h", "tenant budget 200/h",
// "quota nodes 4, gpus 32", "project llm of nlp-lab: quota nodes 8". `tenant` is only read for
// quota, projectQuota and tenantBudget and must then be set.
std::string GroupStatement(const Request& r, const Tenant* tenant, ConstraintGroup g);
// "4 nodes requested" or "40 GPUs requested".
std::string CountText(const Request& r);

// ---------------------------------------------------------------------------------------------
// The deletion filter.

// What one feasibility test decided. kUnknown (a time limit, no exact backend) counts as not
// feasible, and the conflict is then not proven minimal.
enum class Verdict { kFeasible, kInfeasible, kUnknown };
using FeasibilityTest = std::function<Verdict(const ConstraintMask&)>;

struct Conflict {
  // Not feasible even with every group off: only the count and the available nodes remain. The
  // filter stops after that first test, so the caller's last test was the one with every group
  // off.
  bool availability = false;
  std::vector<ConstraintGroup> groups;  // kConstraintGroups order; empty with availability
  bool proven = true;                   // false when some test came back kUnknown
};

// What both explanations append to their summary when the conflict is not proven minimal.
inline constexpr std::string_view kMinimalityNotProven =
    " (minimality not proven: exact checks timed out or are unavailable)";

// Finds a minimal conflicting set among `used` (kConstraintGroups order). Groups outside `used`
// stay off in every mask tested. First every group off (availability); then each group alone,
// since a group that fails on its own is the smallest conflict there is (only a proven kInfeasible
// counts here); otherwise, starting from all of `used`, each group in turn is dropped for good
// when the rest is still not feasible. The caller has already found the request itself not
// feasible.
Conflict DeletionFilter(std::span<const ConstraintGroup> used, const FeasibilityTest& feasible);

// ---------------------------------------------------------------------------------------------
// The backends the feasibility tests solve with, taken from the caller's registry: a quick one
// that finds placements but proves nothing about their absence, and an exact one that decides.
// Either is null when the registry lacks it (or `registry` is null). The one place that knows
// which registered backend plays which part.
struct FeasibilityBackends {
  const Backend* quick = nullptr;
  const Backend* exact = nullptr;
};
FeasibilityBackends FindFeasibilityBackends(const BackendRegistry* registry);

// ---------------------------------------------------------------------------------------------
// Numbers in explanations.

// 1,573.12 / 1,600: two decimals when there is a fraction, thousands separated.
std::string Money(double x);
// "1 node", "3 nodes".
std::string Plural(int64_t n, std::string_view one);
std::string Join(const std::vector<std::string>& items, std::string_view sep);
// "project llm of nlp-lab": the request's project as explanations name it.
std::string ProjectLabel(const Request& r);

}  // namespace topoplace
