// What-if planning over HTTP: POST /v1/whatif and POST /v1/capacity answer what `topoplace whatif
// --json` and `topoplace capacity --json` answer on an export of the service's state (api/whatif.h
// does the work for both front ends). Nothing is written: no node, allocation or audit entry
// changes.
//
// /v1/whatif is for those who see every tenant (provider-admin, auditor): its answer names every
// affected allocation, the preemption that would repair one that cannot be repaired, and, for a
// request to place (`place`, `preempt`), the evictions that would make room (scope all only for a
// provider-admin). /v1/capacity is for every role; a tenant's token counts copies for its own
// tenant only and sees its own headroom, never another tenant's (naming one is 404
// tenant_not_found, as on the other routes), plus the anonymous free capacity.
//
// A what-if copies the inventory and may solve for a while: both routes take one of the server's
// solve slots (--max-concurrent-solves, server.cc), as placements do; each exact solve is bounded
// by the server's --time-limit.

#include "api/exit_codes.h"
#include "api/http/service.h"
#include "api/whatif.h"
#include "model/text.h"

namespace topoplace {
namespace {

const std::vector<Role> kOversight = {Role::kProviderAdmin, Role::kAuditor};
const std::vector<Role> kReaders = {Role::kProviderAdmin, Role::kTenantAdmin, Role::kTenantMember,
                                    Role::kAuditor};

constexpr int kStateReadAttempts = 5;

RouteError TenantNotFound(const std::string& tenant, const std::string& pointer) {
  RouteError e =
      WithReason(StatusCode::kNotFound, "tenant_not_found", "no tenant " + QuotedText(tenant));
  e.pointer = pointer;
  return e;
}

std::optional<RouteError> NoQuery(const Call& c) {
  if (c.query.empty()) return std::nullopt;
  const std::string& k = c.query.begin()->first;
  RouteError e =
      WithReason(StatusCode::kInvalidArgument, "bad_parameter",
                 QuotedText(k, 64) + ": unknown query parameter; this endpoint takes none");
  e.parameter = k;
  return e;
}

// The body as JSON; an empty body is `{}` when `empty_ok`.
RouteResultOf<nlohmann::json> Body(const Call& c, bool empty_ok) {
  std::vector<BodyError> errors;
  if (c.body.empty()) {
    if (empty_ok) return nlohmann::json::object();
    return BodyErrors({{"empty_body", "", "the body must be a JSON object"}});
  }
  nlohmann::json body = ParseJsonBody(c.body, errors);
  if (!errors.empty()) return BodyErrors(errors);
  return body;
}

struct StateScenario {
  Scenario scenario;
  int64_t version = 0;
};

// The service's state as a scenario: the current view and the active allocations, read as of one
// state version (read again when a write slipped in between).
Result<StateScenario> CurrentScenario(Service& s) {
  for (int attempt = 0; attempt < kStateReadAttempts; ++attempt) {
    Result<std::shared_ptr<const View>> view = s.CurrentView();
    if (!view.ok()) return view.status();
    Result<std::vector<AllocationRecord>> allocations = s.store().ListAllocations("", false);
    if (!allocations.ok()) return allocations.status();
    Result<int64_t> version = s.store().StateVersion();
    if (!version.ok()) return version.status();
    if (*version != (*view)->version) continue;
    Result<Scenario> scenario =
        ScenarioOfState(*(*view)->snapshot, (*view)->tenants, (*view)->holdings, *allocations);
    if (!scenario.ok()) return scenario.status();
    return StateScenario{std::move(scenario).value(), (*view)->version};
  }
  return WithReason(StatusCode::kUnavailable, "state_moving",
                    "the state kept changing while it was read; try again");
}

RouteResult WhatIfRoute(Service& s, const Call& c) {
  if (auto e = NoQuery(c)) return *std::move(e);
  RouteResultOf<nlohmann::json> body = Body(c, false);
  if (!body.ok()) return std::move(body).error();
  DecodedWhatIf d = DecodeWhatIfJson(*body);
  if (!d.errors.empty()) return BodyErrors(d.errors);
  Result<StateScenario> state = CurrentScenario(s);
  if (!state.ok()) return state.status();
  WhatIfOptions options;
  options.backend = s.args().solver;
  options.time_limit_seconds = s.args().time_limit_seconds;
  // Over HTTP the provider-admin's word is the provider's consent to a request to place with
  // `preemption: {scope: all}` (repairs answer as the command on an export).
  d.input.place_across_tenants = c.principal().role == Role::kProviderAdmin;
  Result<WhatIfReport> report = PlanWhatIf(state->scenario, d.input, options);
  if (!report.ok()) return report.status();
  Json j = WhatIfReportJson(*report, "store");
  j["stateVersion"] = state->version;
  return {kHttpOk, j};
}

RouteResult CapacityRoute(Service& s, const Call& c) {
  if (auto e = NoQuery(c)) return *std::move(e);
  RouteResultOf<nlohmann::json> body = Body(c, true);
  if (!body.ok()) return std::move(body).error();
  DecodedCapacity d = DecodeCapacityJson(*body);
  if (!d.errors.empty()) return BodyErrors(d.errors);
  CapacityQuery query;
  query.tenant_label = "/tenant";
  query.shape_label = "/shape";
  query.time_limit_seconds = s.args().time_limit_seconds;
  if (d.shape) query.shape = d.shape->request;
  if (d.tenant) query.tenant = *d.tenant;
  const Principal& who = c.principal();
  if (!who.sees_all()) {
    // Another tenant is indistinguishable from one that does not exist.
    if (d.tenant && *d.tenant != who.tenant) return TenantNotFound(*d.tenant, "/tenant");
    if (d.shape && d.shape->has_tenant && d.shape->request.tenant != who.tenant) {
      return TenantNotFound(d.shape->request.tenant, d.shape->tenant_pointer);
    }
    query.tenant = who.tenant;  // the shape's tenant, and the only headroom shown
  }
  Result<std::shared_ptr<const View>> current = s.CurrentView();
  if (!current.ok()) return current.status();
  const View& view = **current;
  if (!query.tenant.empty() && view.TenantIndex(query.tenant) < 0) {
    return TenantNotFound(query.tenant, d.tenant ? "/tenant" : "");
  }
  if (query.tenant.empty() && d.shape && d.shape->has_tenant &&
      view.TenantIndex(d.shape->request.tenant) < 0) {
    return TenantNotFound(d.shape->request.tenant, d.shape->tenant_pointer);
  }
  Result<CapacityReport> report =
      PlanCapacity(PlacementProblem{view.snapshot, view.tenants}, std::move(query));
  if (!report.ok()) return report.status();
  Json j = CapacityReportJson(*report, "store");
  j["stateVersion"] = view.version;
  return {kHttpOk, j};
}

}  // namespace

std::vector<Route> WhatIfRoutes() {
  return {
      {"POST", "/v1/whatif", "/v1/whatif",
       "what if nodes, racks, leaves, pods or power domains fail, are drained, added or removed, "
       "or quotas change: the allocations hit, their repairs with the fewest moves, and capacity "
       "before and after (nothing is changed)",
       kOversight, WhatIfRoute},
      {"POST", "/v1/capacity", "/v1/capacity",
       "how many more copies of a request shape fit now, tenant headroom and fragmentation "
       "(a tenant sees its own headroom only)",
       kReaders, CapacityRoute},
  };
}

}  // namespace topoplace
