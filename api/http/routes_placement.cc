// Solve (dry run), reservations, allocations and clusters.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "api/exit_codes.h"
#include "api/http/executors_service.h"
#include "api/http/service.h"
#include "api/json_codec.h"
#include "executors/plan_builder.h"
#include "inventory/scenario_codec.h"
#include "model/request_schema.h"
#include "model/text.h"
#include "solver/backend.h"
#include "solver/verifier.h"

namespace topoplace {
namespace {

constexpr int64_t kDefaultTtlMs = 300'000;
constexpr double kMaxTtlSeconds = 86'400;

const std::vector<Role> kWriters = {Role::kProviderAdmin, Role::kTenantAdmin};
const std::vector<Role> kSolvers = {Role::kProviderAdmin, Role::kTenantAdmin, Role::kTenantMember};
const std::vector<Role> kReaders = {Role::kProviderAdmin, Role::kTenantAdmin, Role::kTenantMember,
                                    Role::kAuditor};

// A decoded solve, reservation or cluster call. Its request is validated once: its fields by
// DecodeRequestJson (ParseSolveCall), against the current state by ValidateAgainst, which every
// route runs before solving; the solver is told so (options.requests_validated).
struct SolveCall {
  Request request;
  SolveOptions options;
  int64_t ttl_ms = kDefaultTtlMs;
  nlohmann::json body;
  // A request with `preemption:` (DESIGN.md section 8): whose allocations it may evict (its
  // tenant's, or one project of it for a project-bound token; every tenant's for scope all, which
  // only a provider-admin may ask for), and the provider's consent to scope all.
  Scope evict_scope;
  bool across_tenants = false;
};

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// A query parameter that must be a finite number within [min, max]; `def` when absent.
RouteResultOf<double> NumberParam(const Call& c, const std::string& name, double def, double min,
                                  double max) {
  auto it = c.query.find(name);
  if (it == c.query.end()) return def;
  const std::string& text = it->second;
  double v = 0;
  const char* end = text.data() + text.size();
  const auto [used, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || used != end || !std::isfinite(v) || v < min || v > max) {
    return BadParameter(name, QuotedText(text, 40) + " is not a number from " + FormatNumber(min) +
                                  " to " + FormatNumber(max));
  }
  return v;
}

// The first query parameter not in `allowed`, as the error to answer with.
std::optional<RouteError> CheckQuery(const Call& c,
                                     std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : c.query) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      return BadParameter(k, "unknown query parameter");
    }
  }
  return std::nullopt;
}

RouteError TenantNotFound(const std::string& tenant) {
  RouteError e =
      WithReason(StatusCode::kNotFound, "tenant_not_found", "no tenant \"" + tenant + "\"");
  e.pointer = "/tenant";
  return e;
}

// A token bound to one project asked for another: 403, as for any act its scope does not allow.
RouteError OtherProject(const Principal& who, const std::string& project, std::string_view act) {
  return WithReason(StatusCode::kPermissionDenied, "forbidden",
                    "this token acts for project " + QuotedText(who.project.value_or(""), 64) +
                        " of tenant " + QuotedText(who.tenant, 64) + " only; it may not " +
                        std::string(act) + " project " + QuotedText(project, 64));
}

// Decodes the body and query of a solve/reservation/cluster call, scoped to the caller.
RouteResultOf<SolveCall> ParseSolveCall(Service& s, const Call& c, bool holds) {
  const std::optional<RouteError> unknown =
      holds ? CheckQuery(c, {"backend", "timeLimitSeconds", "ttlSeconds"})
            : CheckQuery(c, {"backend", "timeLimitSeconds"});
  if (unknown) return *unknown;
  SolveCall out;
  out.options.backend = s.args().solver;
  out.options.time_limit_seconds = s.args().time_limit_seconds;
  if (auto it = c.query.find("backend"); it != c.query.end()) {
    if (!out.options.backends->Accepts(it->second)) {
      std::string expected;
      for (const std::string& name : out.options.backends->Choices())
        expected += (expected.empty() ? "" : ", ") + name;
      return BadParameter("backend",
                          "\"" + it->second.substr(0, 40) + "\"; expected one of " + expected);
    }
    out.options.backend = it->second;
  }
  RouteResultOf<double> time_limit =
      NumberParam(c, "timeLimitSeconds", out.options.time_limit_seconds, 0.001, 60);
  if (!time_limit.ok()) return std::move(time_limit).error();
  out.options.time_limit_seconds = *time_limit;
  RouteResultOf<SolveOptions> limited =
      EnforceSolveLimits(s, c, out.options, c.query.count("timeLimitSeconds") > 0);
  if (!limited.ok()) return std::move(limited).error();
  out.options = *limited;
  if (holds) {
    RouteResultOf<double> ttl =
        NumberParam(c, "ttlSeconds", kDefaultTtlMs / 1000.0, 1, kMaxTtlSeconds);
    if (!ttl.ok()) return std::move(ttl).error();
    out.ttl_ms = static_cast<int64_t>(1000 * *ttl);
  }
  std::vector<BodyError> errors;
  if (c.body.empty()) {
    errors.push_back({"empty_body", "", "the body must be a request object (JSON)"});
  } else {
    out.body = ParseJsonBody(c.body, errors);
  }
  if (errors.empty()) {
    DecodedRequest d = DecodeRequestJson(out.body);
    errors = std::move(d.errors);
    out.request = std::move(d.request);
    if (errors.empty()) {
      const Principal& who = c.principal();
      if (!who.sees_all()) {
        if (!d.has_tenant) {
          out.request.tenant = who.tenant;
        } else if (out.request.tenant != who.tenant) {
          // Another tenant is indistinguishable from one that does not exist.
          return TenantNotFound(out.request.tenant);
        }
      } else if (!d.has_tenant) {
        RouteError e = WithReason(StatusCode::kInvalidArgument, "missing_field",
                                  "a provider must name the tenant the request is for");
        e.pointer = "/tenant";
        return e;
      }
      if (who.project) {
        // A token bound to a project places for that project; naming another is not allowed.
        if (!out.body.contains("project")) {
          out.request.project = *who.project;
        } else if (StoredProjectName(out.request.project) != *who.project) {
          RouteError e = OtherProject(who, out.request.project, "place for");
          e.pointer = "/project";
          return e;
        }
      }
      if (!d.has_name) out.request.name = "request";
      if (out.request.preemption) {
        // Other tenants' allocations are the provider's to give: scope all is provider-admin only.
        const bool all = out.request.preemption->scope == PreemptionScope::kAll;
        if (all && who.role != Role::kProviderAdmin) {
          RouteError e = WithReason(
              StatusCode::kPermissionDenied, "preemption_not_allowed",
              "preemption scope all evicts other tenants' allocations, which only a "
              "provider-admin may ask for; expected scope tenant (this tenant's own allocations)");
          e.pointer = "/preemption/scope";
          return e;
        }
        out.across_tenants = who.role == Role::kProviderAdmin;
        out.evict_scope = all           ? Scope()
                          : who.project ? Scope::OfProject(out.request.tenant, *who.project)
                                        : Scope(out.request.tenant);
      }
      out.options.requests_validated = true;  // fields here, the rest by ValidateAgainst
    }
  }
  if (!errors.empty()) return BodyErrors(errors);
  return out;
}

// Checks the request against the current state (the tenant, node classes, compliance the tenant
// may ask for), with pointers into the body. Its fields were checked when it was decoded, so this
// and the decoding are the request's one validation; the solver does not repeat it.
std::optional<RouteError> ValidateAgainst(const View& view, const SolveCall& call) {
  const Request& r = call.request;
  const int tenant = view.TenantIndex(r.tenant);
  if (tenant < 0) return TenantNotFound(r.tenant);
  if (Status project = CheckProjectOf(view.tenants[tenant], r.project); !project.ok()) {
    RouteError e(std::move(project));
    e.pointer = "/project";
    return e;
  }
  PlacementProblem problem{view.snapshot, view.tenants};
  problem.preempt_across_tenants = call.across_tenants;
  const Status st = ValidateRequestAgainst(problem, r);
  if (st.ok()) return std::nullopt;
  std::vector<BodyError> errors;
  for (const ErrorDetail& d : st.details()) {
    std::string pointer = KeyPathToPointer(d.path);
    // "class": "h100x8" written as one name: point at it, not at an item of a list.
    const size_t slash = pointer.rfind('/');
    if (d.path.ends_with("]") && slash != std::string::npos) {
      const nlohmann::json::json_pointer parent(pointer.substr(0, slash));
      if (!call.body.contains(parent) || !call.body[parent].is_array()) pointer.resize(slash);
    }
    errors.push_back({d.code, pointer, d.message});
  }
  if (errors.empty()) return RouteError(st);
  return BodyErrors(errors);
}

bool Placed(const PlacementResult& r) { return HasPlacement(r.status); }

// The problem a view poses to the solver for `tenant`: with its projects' holdings, for the
// solver's per-project headroom (the view keeps holders by tenant only); the store checks again
// when holding. For a request with `preemption:` (`call`), also the allocations it may evict:
// those in its eviction scope below its priority, read only then (a request without it pays
// nothing for them).
RouteResultOf<PlacementProblem> ProblemOf(Service& s, const View& view, const std::string& tenant,
                                          const SolveCall* call = nullptr) {
  PlacementProblem problem{view.snapshot, view.tenants};
  Result<std::map<std::string, TenantUsage>> held = s.store().HeldByProject(tenant);
  if (!held.ok()) return held.status();
  for (const auto& [project, usage] : *held) {
    problem.project_usage.push_back({tenant, std::string(ProjectName(project)), usage});
  }
  if (call != nullptr && call->request.preemption) {
    problem.preempt_across_tenants = call->across_tenants;
    Result<std::vector<HoldingRecord>> holdings =
        s.store().Holdings(call->evict_scope, call->request.priority);
    if (!holdings.ok()) return holdings.status();
    const Inventory& inv = view.snapshot->inventory;
    for (const HoldingRecord& r : *holdings) {
      Holding h;
      h.name = r.id;  // ids: names of allocations need not be unique
      h.tenant = r.tenant;
      h.project = std::string(ProjectName(r.project));
      h.priority = r.priority;
      for (const std::string& name : r.nodes) {
        if (const int n = inv.NodeIndex(name); n >= 0) h.nodes.push_back(n);
      }
      std::sort(h.nodes.begin(), h.nodes.end());
      problem.holdings.push_back(std::move(h));
    }
    // Another tenant's usage returns to it when evicted: its projects' holdings, as for ours.
    std::set<std::string> others;
    for (const Holding& h : problem.holdings) {
      if (h.tenant != tenant) others.insert(h.tenant);
    }
    for (const std::string& other : others) {
      Result<std::map<std::string, TenantUsage>> theirs = s.store().HeldByProject(other);
      if (!theirs.ok()) return theirs.status();
      for (const auto& [project, usage] : *theirs) {
        problem.project_usage.push_back({other, std::string(ProjectName(project)), usage});
      }
    }
  }
  return problem;
}

RouteResultOf<PlacementResult> SolveWith(Service& s, const View& view, const SolveCall& call) {
  RouteResultOf<PlacementProblem> posed = ProblemOf(s, view, call.request.tenant, &call);
  if (!posed.ok()) return std::move(posed).error();
  const PlacementProblem& problem = *posed;
  auto results = Solve(problem, {call.request}, call.options);
  if (!results.ok()) return results.status();
  PlacementResult r = std::move((*results)[0]);
  s.metrics().ObserveSolve(r.backend, r.solve_ms / 1000.0);
  if (Placed(r)) {
    // Defence in depth: nothing leaves the service that the independent verifier rejects (with
    // its evictions: each a legal victim, and the placement valid once they are gone).
    auto violations = VerifyResult(problem, call.request, r);
    if (!violations.empty()) {
      RouteError e = WithReason(StatusCode::kInternal, "placement_failed_verification",
                                violations.front().constraint + ": " + violations.front().detail);
      e.message_is_public = true;  // the verifier's words about our own placement
      return e;
    }
  }
  return r;
}

// A request with no placement: 422, why in words, and the solver's answer with its explanation.
RouteError Unplaceable(const View& view, const PlacementResult& r) {
  // "infeasible" only with a proof; a solve that decided nothing says which way it stopped.
  std::string code = r.status == SolveStatus::kInfeasible ? "infeasible"
                     : r.status == SolveStatus::kTimeout  ? "timeout"
                                                          : "no_solution_found";
  std::string detail;
  if (r.explanation) {
    for (const auto& c : r.explanation->conflict) {
      if (c.constraint == "quota" || c.constraint == "projectQuota") code = "quota_exceeded";
      if (c.constraint == "tenantBudget" && code == "infeasible") code = "budget_exceeded";
    }
    detail = r.explanation->summary;
  } else {
    detail = "no placement found (" + std::string(SolveStatusName(r.status)) + ")";
  }
  RouteError e = WithReason(StatusCode::kFailedPrecondition, code, detail);
  e.extra["placement"] = PlacementResultToJson(*view.snapshot, r);
  return e;
}

// Why each node was admitted, in words an auditor can check against the inventory.
std::string AdmissionRule(const View& view, const Request& r, int node) {
  const Inventory& inv = view.snapshot->inventory;
  const Topology& topo = view.snapshot->topology;
  const Node& n = inv.nodes[node];
  std::string rule = "available " + n.node_class + " node";
  if (!r.select.empty()) rule += " matching select";
  for (const std::string& c : r.compliance) {
    const Rack& rack = inv.racks[inv.RackOf(node)];
    if (c == "gdpr") {
      rule += "; gdpr: site " + inv.sites[inv.SiteOfRack(inv.RackOf(node))].name + " (" +
              inv.sites[inv.SiteOfRack(inv.RackOf(node))].jurisdiction + ")";
    } else {
      rule += "; " + c + ": rack " + rack.name + " tagged " + c;
    }
  }
  if (r.locality) {
    rule += "; locality " + std::string(LevelName(r.locality->level)) + " " +
            topo.DomainName(r.locality->level, topo.DomainOf(node, r.locality->level));
  }
  if (r.spread) {
    rule += "; spread " + std::string(LevelName(r.spread->level)) + " " +
            topo.DomainName(r.spread->level, topo.DomainOf(node, r.spread->level));
  }
  if (r.exclusive) rule += "; exclusive " + std::string(LevelName(*r.exclusive));
  rule += "; within tenant " + r.tenant + "'s quota and budget";
  return rule;
}

HoldRequest MakeHold(const View& view, const SolveCall& call, const PlacementResult& r) {
  HoldRequest h;
  h.tenant = call.request.tenant;
  h.project = call.request.project;
  h.name = call.request.name;
  h.request = EncodeRequestJson(call.request).dump();
  h.cost_per_hour = r.cost_per_hour;
  h.now_ms = NowMillis();
  h.ttl_ms = call.ttl_ms;
  h.priority = call.request.priority;
  if (call.request.exclusive) h.exclusive = std::string(LevelName(*call.request.exclusive));
  // The victims, each with every node at the generation this solve saw: the store evicts them in
  // the hold's transaction, or refuses when any moved.
  for (const Eviction& e : r.evictions) {
    EvictionClaim claim{e.allocation, {}};
    for (int n : e.nodes) {
      claim.nodes.push_back(
          {view.snapshot->inventory.nodes[n].name, view.snapshot->states.generation(n), "evicted"});
    }
    h.evictions.push_back(std::move(claim));
  }
  h.eviction_rights = {call.request.priority, call.evict_scope};
  for (int n : r.nodes) {
    h.nodes.push_back({view.snapshot->inventory.nodes[n].name, view.snapshot->states.generation(n),
                       AdmissionRule(view, call.request, n)});
  }
  // The racks and leaves the nodes land in: the store re-checks exclusivity there under lock.
  h.neighbours = NeighboursOf(*view.snapshot, r.nodes);
  return h;
}

Json SolveReply(const View& view, const SolveCall& call, const PlacementResult& r) {
  Json j = PlacementResultToJson(*view.snapshot, r);
  j["tenant"] = call.request.tenant;
  j["project"] = std::string(ProjectName(call.request.project));
  j["verified"] = Placed(r);
  Json gens = Json::object();
  for (int n : r.nodes)
    gens[view.snapshot->inventory.nodes[n].name] = view.snapshot->states.generation(n);
  j["generations"] = gens;
  j["stateVersion"] = view.version;
  return j;
}

Json NodesJson(const std::vector<HeldNode>& nodes, bool with_generation) {
  Json list = Json::array();
  for (const auto& n : nodes) {
    Json j{{"name", n.node}, {"rule", n.rule}};
    if (with_generation) j["generation"] = n.generation;
    list.push_back(j);
  }
  return list;
}

// A recorded request as JSON: as a client sent it, or from the scenario YAML an import recorded;
// null when none was recorded.
Json RecordedRequest(const std::string& text) {
  if (text.empty()) return nullptr;
  auto j = Json::parse(text, nullptr, false);
  if (!j.is_discarded()) return j;
  if (Result<Request> r = LoadRequestString(text, "recorded request"); r.ok()) {
    return EncodeRequestJson(*r);
  }
  return Json(text);
}

Json ParsedOrText(const std::string& text) {
  auto j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json(text) : j;
}

Json ClusterToJson(const ClusterRecord& k) {
  return Json{{"id", k.id},
              {"tenant", k.tenant},
              {"project", std::string(ProjectName(k.project))},
              {"name", k.name},
              {"purpose", k.purpose},
              {"status", k.status},
              {"allocation", k.allocation_id},
              {"steps", ParsedOrText(k.steps)},
              {"createdAt", IsoTime(k.created_ms)},
              {"updatedAt", IsoTime(k.updated_ms)}};
}

// Solves and holds, re-solving once by itself when a concurrent holder won the race.
// A view whose snapshot shows the nodes other requests of this process are holding as taken.
std::shared_ptr<const View> WithClaims(const std::shared_ptr<const View>& view,
                                       const Service::Claims& claims) {
  if (claims.nodes.empty()) return view;
  NodeStates states = view->snapshot->states;  // shares every block no claim touches
  for (const auto& [name, count] : claims.nodes) {
    const int i = view->snapshot->inventory.NodeIndex(name);
    if (i < 0 || count <= 0) continue;
    if (states.state(i) == NodeState::kAvailable) states.SetState(i, NodeState::kReserved);
  }
  auto copy = std::make_shared<View>(*view);
  copy->snapshot = view->snapshot->WithStates(std::move(states));
  return copy;
}

// What one solve found for a hold: the hold to take and the placement to show beside it.
struct Solved {
  HoldRequest hold;
  Json placement;
};

// Solves (under the claims lock, against the view with this process's other claims taken) and
// holds, re-solving once by itself when a concurrent holder won the race. `solve` answers a view
// with the hold to take, or the error to reply with.
template <typename SolveFn, typename HoldFn>
RouteResult SolveAndHoldWith(Service& s, const Call& c, const char* what, SolveFn solve,
                             HoldFn hold) {
  Service::Claims& claims = s.claims();
  for (int attempt = 0;; ++attempt) {
    Solved solved;
    std::vector<std::string> claimed;
    {
      std::lock_guard lock(claims.mu);
      Result<std::shared_ptr<const View>> current = s.CurrentView();
      if (!current.ok()) return current.status();
      std::shared_ptr<const View> view = WithClaims(*current, claims);
      RouteResultOf<Solved> got = solve(*view);
      if (!got.ok()) return std::move(got).error();
      solved = std::move(got).value();
      for (const NodeClaim& n : solved.hold.nodes) {
        claimed.push_back(n.node);
        ++claims.nodes[claimed.back()];
      }
    }
    auto release_claims = [&] {
      std::lock_guard lock(claims.mu);
      for (const auto& name : claimed) {
        if (--claims.nodes[name] <= 0) claims.nodes.erase(name);
      }
    };
    Result<Json> held = Status(StatusCode::kInternal, "unset");
    try {
      held = hold(solved.hold, c.principal().actor());
    } catch (...) {
      release_claims();
      throw;
    }
    release_claims();
    if (held.ok()) {
      Reply reply;
      reply.status = kHttpCreated;
      reply.body = held.value();
      reply.body["placement"] = std::move(solved.placement);
      reply.body["resolvedAfterConflict"] = attempt > 0;
      return reply;
    }
    if (held.status().code() == StatusCode::kAborted) s.metrics().CountConflict(what);
    if (held.status().code() != StatusCode::kAborted || attempt >= 1) return held.status();
  }
}

// SolveAndHoldWith for one request.
template <typename HoldFn>
RouteResult SolveAndHold(Service& s, const Call& c, const SolveCall& call, const char* what,
                         HoldFn hold) {
  return SolveAndHoldWith(
      s, c, what,
      [&](const View& view) -> RouteResultOf<Solved> {
        if (auto e = ValidateAgainst(view, call)) return *std::move(e);
        RouteResultOf<PlacementResult> solved = SolveWith(s, view, call);
        if (!solved.ok()) return std::move(solved).error();
        const PlacementResult& r = *solved;
        if (!Placed(r)) return Unplaceable(view, r);
        return Solved{MakeHold(view, call, r), PlacementResultToJson(*view.snapshot, r)};
      },
      hold);
}

RouteResult SolveRoute(Service& s, const Call& c) {
  RouteResultOf<SolveCall> call = ParseSolveCall(s, c, false);
  if (!call.ok()) return std::move(call).error();
  Result<std::shared_ptr<const View>> view = s.CurrentView();
  if (!view.ok()) return view.status();
  if (auto e = ValidateAgainst(**view, *call)) return *std::move(e);
  RouteResultOf<PlacementResult> r = SolveWith(s, **view, *call);
  if (!r.ok()) return std::move(r).error();
  return {kHttpOk, SolveReply(**view, *call, *r)};
}

// Tears down the plans of allocations a preempting hold evicted (the store released them in the
// hold's transaction), as a release of an allocation a plan carried out does: power off, ports to
// quarantine, addresses released. The answer's `evicted`, each as the caller may see it.
Json EvictedJson(Service& s, const Principal& who, const std::vector<AllocationRecord>& evicted) {
  Json list = Json::array();
  for (const AllocationRecord& a : evicted) {
    Json j = AllocationToJson(a, &who);
    if (ServiceExecutors* ex = s.executors()) {
      Result<bool> torn = ex->TeardownAllocation(a.id);
      if (!torn.ok()) {
        j["teardown"] =
            "not started: " + torn.status().message() + " (started again when the server restarts)";
      } else if (*torn) {
        j["teardown"] = "running: its nodes are powered off and put back in quarantine";
      }
    }
    list.push_back(std::move(j));
  }
  return list;
}

RouteResult CreateReservation(Service& s, const Call& c) {
  RouteResultOf<SolveCall> call = ParseSolveCall(s, c, true);
  if (!call.ok()) return std::move(call).error();
  return SolveAndHold(s, c, *call, "reserve",
                      [&](const HoldRequest& h, const Actor& a) -> Result<Json> {
                        auto r = s.store().Reserve(h, a);
                        if (!r.ok()) return r.status();
                        Json j = ReservationToJson(*r);
                        if (call->request.preemption) {
                          j["evicted"] = EvictedJson(s, c.principal(), r->evicted);
                        }
                        return j;
                      });
}

// Commits a held reservation. When its deadline passed or its nodes moved (409) and the caller
// allows it with ?resolve=true, the service solves the reservation's request once more and holds
// and commits the new placement in its place.
RouteResult CommitReservation(Service& s, const Call& c) {
  if (auto e = CheckQuery(c, {"resolve"})) return *std::move(e);
  bool resolve = false;
  if (auto it = c.query.find("resolve"); it != c.query.end()) {
    if (it->second != "true" && it->second != "false")
      return BadParameter("resolve", "expected true or false");
    resolve = it->second == "true";
  }
  const std::string& id = c.params[0];
  auto a = s.store().Commit(id, c.principal().scope(), c.principal().actor(), NowMillis());
  if (a.ok()) return {kHttpOk, AllocationToJson(*a)};
  if (a.status().code() != StatusCode::kAborted) return a.status();
  s.metrics().CountConflict("commit");
  if (!resolve) return a.status();
  Result<ReservationRecord> reservation = s.store().GetReservation(id, c.principal().scope());
  if (!reservation.ok()) return reservation.status();
  const ReservationRecord& old = *reservation;
  SolveCall call;
  call.options.backend = s.args().solver;
  call.options.time_limit_seconds = s.args().time_limit_seconds;
  call.ttl_ms = 60'000;
  call.body = nlohmann::json::parse(old.request, nullptr, false);
  DecodedRequest d = DecodeRequestJson(call.body);
  if (!d.errors.empty()) return a.status();
  call.request = std::move(d.request);
  call.request.project = old.project;
  // A re-solve at commit takes free nodes only: it never evicts, whatever the request allowed.
  call.request.preemption.reset();
  Result<std::shared_ptr<const View>> current = s.CurrentView();
  if (!current.ok()) return current.status();
  const View& view = **current;
  RouteResultOf<PlacementResult> solved = SolveWith(s, view, call);
  if (!solved.ok()) return std::move(solved).error();
  const PlacementResult& r = *solved;
  if (!Placed(r)) return Unplaceable(view, r);
  if (old.status == ReservationStatus::kHeld)
    s.store().Cancel(id, c.principal().scope(), c.principal().actor(), NowMillis());
  Result<ReservationRecord> fresh =
      s.store().Reserve(MakeHold(view, call, r), c.principal().actor());
  if (!fresh.ok()) return fresh.status();
  Result<AllocationRecord> committed =
      s.store().Commit(fresh->id, c.principal().scope(), c.principal().actor(), NowMillis());
  if (!committed.ok()) return committed.status();
  Json j = AllocationToJson(*committed);
  j["resolvedAfterConflict"] = true;
  j["replaces"] = id;
  return {kHttpOk, j};
}

// A store record as a 200 answer.
template <typename T, typename ToJson>
RouteResult RecordReply(const Result<T>& record, ToJson to_json) {
  if (!record.ok()) return record.status();
  return {kHttpOk, to_json(*record)};
}

RouteResult CancelReservation(Service& s, const Call& c) {
  if (auto e = CheckQuery(c, {})) return *std::move(e);
  return RecordReply(
      s.store().Cancel(c.params[0], c.principal().scope(), c.principal().actor(), NowMillis()),
      ReservationToJson);
}

RouteResultOf<bool> AllParam(const Call& c) {
  if (auto e = CheckQuery(c, {"all", "limit", "pageToken", "project"})) return *std::move(e);
  auto it = c.query.find("all");
  if (it == c.query.end()) return false;
  if (it->second == "true") return true;
  if (it->second == "false") return false;
  return BadParameter("all", "expected true or false");
}

// The caller's scope narrowed to the `project` query parameter when given; a token bound to
// another project may not list this one (403).
RouteResultOf<Scope> ListScope(const Call& c) {
  Scope scope = c.principal().scope();
  auto it = c.query.find("project");
  if (it == c.query.end()) return scope;
  const std::string project = StoredProjectName(it->second);
  if (scope.project && *scope.project != project) {
    RouteError e = OtherProject(c.principal(), it->second, "list");
    e.parameter = "project";
    return e;
  }
  scope.project = project;
  return scope;
}

// A list answer: `items`, the list's own key (older clients read it; the same page), the token of
// the next page (absent on the last) and the count over all pages.
template <typename T, typename ToJson>
RouteResult PageReply(const Result<Page<T>>& result, const char* key, ToJson to_json) {
  if (!result.ok() && result.status().reason() == "bad_page_token") {
    return BadParameter("pageToken", "not a token this list gave out; start again without it");
  }
  if (!result.ok()) return result.status();
  const Page<T>& page = *result;
  Json list = Json::array();
  for (const T& x : page.items) list.push_back(to_json(x));
  Json body{{"items", list}, {key, list}, {"total", page.total}};
  if (!page.next_page_token.empty()) body["nextPageToken"] = page.next_page_token;
  return {kHttpOk, body};
}

RouteResult ListReservations(Service& s, const Call& c) {
  RouteResultOf<bool> all = AllParam(c);
  if (!all.ok()) return std::move(all).error();
  RouteResultOf<PageRequest> page = PageParams(c, "reservations");
  if (!page.ok()) return std::move(page).error();
  RouteResultOf<Scope> scope = ListScope(c);
  if (!scope.ok()) return std::move(scope).error();
  return PageReply(s.store().ListReservationsPage(*scope, *all, *page), "reservations",
                   ReservationToJson);
}

RouteResult GetReservation(Service& s, const Call& c) {
  if (auto e = CheckQuery(c, {})) return *std::move(e);
  return RecordReply(s.store().GetReservation(c.params[0], c.principal().scope()),
                     ReservationToJson);
}

RouteResult ListAllocations(Service& s, const Call& c) {
  RouteResultOf<bool> all = AllParam(c);
  if (!all.ok()) return std::move(all).error();
  RouteResultOf<PageRequest> page = PageParams(c, "allocations");
  if (!page.ok()) return std::move(page).error();
  RouteResultOf<Scope> scope = ListScope(c);
  if (!scope.ok()) return std::move(scope).error();
  return PageReply(s.store().ListAllocationsPage(*scope, *all, *page), "allocations",
                   [&](const AllocationRecord& a) { return AllocationToJson(a, &c.principal()); });
}

RouteResult GetAllocation(Service& s, const Call& c) {
  if (auto e = CheckQuery(c, {})) return *std::move(e);
  return RecordReply(
      s.store().GetAllocation(c.params[0], c.principal().scope()),
      [&](const AllocationRecord& a) { return AllocationToJson(a, &c.principal()); });
}

RouteResult ReleaseAllocation(Service& s, const Call& c) {
  if (auto e = CheckQuery(c, {})) return *std::move(e);
  if (ServiceExecutors* ex = s.executors()) {
    // An allocation a plan carried out is torn down first (power off, ports to quarantine,
    // addresses released); the runner releases it when that is done.
    Result<AllocationRecord> alloc = s.store().GetAllocation(c.params[0], c.principal().scope());
    if (!alloc.ok()) return alloc.status();
    if (alloc->status == AllocationStatus::kActive) {
      Result<bool> torn = ex->TeardownAllocation(alloc->id);
      if (!torn.ok()) return torn.status();
      if (*torn) {
        Json j = AllocationToJson(*alloc);
        j["teardown"] = "running: released when every node is off and back in quarantine";
        return {kHttpAccepted, j};
      }
    }
  }
  return RecordReply(
      s.store().Release(c.params[0], c.principal().scope(), c.principal().actor(), NowMillis()),
      [&](const AllocationRecord& a) { return AllocationToJson(a, &c.principal()); });
}

// The cluster with what its plan says: status, milestones, steps, network and any error.
Json ClusterJson(Service& s, const ClusterRecord& k, const Plan* known_plan = nullptr) {
  Json j = ClusterToJson(k);
  auto alloc = s.store().GetAllocation(k.allocation_id, "");
  if (alloc.ok()) j["nodes"] = NodesJson(alloc->nodes, false);
  Result<Plan> plan =
      known_plan ? Result<Plan>(*known_plan) : s.store().PlanOfAllocation(k.allocation_id);
  if (!plan.ok()) return j;
  j["plan"] = plan->id;
  std::optional<TenantNetwork> net;
  if (!plan->network.empty()) {
    if (Result<TenantNetwork> got = s.store().GetNetwork(plan->network); got.ok()) net = *got;
  }
  AddPlanProgressJson(*plan, net ? &*net : nullptr, j);
  return j;
}

// Records a placed cluster (its allocation, and its plan when this server carries plans out) and
// starts the plan: the hold step of every way to create a cluster.
Result<Json> HoldCluster(Service& s, const std::string& purpose, const std::string& project,
                         const HoldRequest& h, const Actor& a) {
  ServiceExecutors* ex = s.executors();
  std::optional<Plan> plan;
  if (ex != nullptr) {
    std::vector<std::string> nodes;
    for (const NodeClaim& n : h.nodes) nodes.push_back(n.node);
    std::shared_ptr<const Inventory> inv = ex->CurrentInventory();
    if (!inv) return UnavailableError("the inventory cannot be read");
    Result<Plan> built = ex->BuildPlan(*inv, purpose, project, nodes);
    if (!built.ok()) return built.status();
    plan = std::move(built).value();
  }
  Json steps = Json::array();
  if (!plan) {
    steps.push_back({{"name", "place"},
                     {"state", "done"},
                     {"detail", std::to_string(h.nodes.size()) + " nodes allocated"}});
    steps.push_back({{"name", "hand-over:" + purpose},
                     {"state", "pending"},
                     {"detail", "this server carries nothing out (serve --executors)"}});
  }
  auto k = s.store().CreateCluster(h, purpose, steps.dump(), a, plan ? &*plan : nullptr);
  if (!k.ok()) return k.status();
  if (plan && ex != nullptr) {
    Result<Plan> stored = s.store().GetPlan(k->plan_id, "");
    if (!stored.ok()) return stored.status();
    if (Status st = ex->Run(*stored); !st.ok()) return st;
    return ClusterJson(s, *k, &*stored);
  }
  return ClusterJson(s, *k);
}

// POST /v1/clusters {"template": NAME, "tenant": T, "project": P, "name": N}: every node set of
// the scenario's cluster template placed in one solve (SolveTemplate), all or none, and held as
// one cluster of the template's purpose.
RouteResult CreateTemplateCluster(Service& s, const Call& c, const nlohmann::json& body) {
  if (auto e = CheckQuery(c, {"backend", "timeLimitSeconds"})) return *std::move(e);
  std::vector<BodyError> errors;
  for (const auto& [key, value] : body.items()) {
    if (key != "template" && key != "tenant" && key != "project" && key != "name") {
      errors.push_back({"unknown_field", "/" + key,
                        "unknown field; a cluster from a template takes template, tenant, "
                        "project and name"});
    } else if (!value.is_string() || value.get<std::string>().empty() ||
               value.get<std::string>().size() > 253) {
      errors.push_back({"bad_value", "/" + key, "expected a name (a non-empty string)"});
    }
  }
  if (!errors.empty()) return BodyErrors(errors);
  const std::string template_name = body.at("template").get<std::string>();
  const Principal& who = c.principal();
  std::string tenant = body.value("tenant", "");
  if (!who.sees_all()) {
    if (tenant.empty()) tenant = who.tenant;
    if (tenant != who.tenant) return TenantNotFound(tenant);
  } else if (tenant.empty()) {
    RouteError e = WithReason(StatusCode::kInvalidArgument, "missing_field",
                              "a provider must name the tenant the cluster is for");
    e.pointer = "/tenant";
    return e;
  }
  std::string project = body.value("project", "");
  if (who.project) {
    // A token bound to a project orders for that project only.
    if (!body.contains("project")) {
      project = *who.project;
    } else if (StoredProjectName(project) != *who.project) {
      RouteError e = OtherProject(who, project, "place for");
      e.pointer = "/project";
      return e;
    }
  }
  const std::string name = body.value("name", template_name);
  SolveOptions options;
  options.backend = s.args().solver;
  options.time_limit_seconds = s.args().time_limit_seconds;
  if (auto it = c.query.find("backend"); it != c.query.end()) {
    if (!options.backends->Accepts(it->second)) {
      return BadParameter("backend", "\"" + it->second.substr(0, 40) + "\" is not a backend");
    }
    options.backend = it->second;
  }
  RouteResultOf<double> time_limit =
      NumberParam(c, "timeLimitSeconds", options.time_limit_seconds, 0.001, 60);
  if (!time_limit.ok()) return std::move(time_limit).error();
  options.time_limit_seconds = *time_limit;
  RouteResultOf<SolveOptions> limited =
      EnforceSolveLimits(s, c, options, c.query.count("timeLimitSeconds") > 0);
  if (!limited.ok()) return std::move(limited).error();
  options = *limited;

  std::string purpose;
  return SolveAndHoldWith(
      s, c, "cluster",
      [&](const View& view) -> RouteResultOf<Solved> {
        if (view.TenantIndex(tenant) < 0) return TenantNotFound(tenant);
        const ClusterTemplate* t = nullptr;
        std::string known;
        if (view.cluster_templates) {
          for (const ClusterTemplate& x : *view.cluster_templates) {
            if (x.name == template_name) t = &x;
            known += (known.empty() ? "" : ", ") + x.name;
          }
        }
        if (t == nullptr) {
          RouteError e = WithReason(StatusCode::kNotFound, "template_not_found",
                                    "no cluster template \"" + template_name.substr(0, 80) +
                                        "\"; the scenario has " +
                                        (known.empty() ? std::string("none") : known));
          e.pointer = "/template";
          return e;
        }
        purpose = std::string(PurposeName(t->purpose));
        RouteResultOf<PlacementProblem> posed = ProblemOf(s, view, tenant);
        if (!posed.ok()) return std::move(posed).error();
        const PlacementProblem& problem = *posed;
        Result<TemplateResult> placed = SolveTemplate(problem, *t, name, tenant, project, options);
        if (!placed.ok()) return RouteError(placed.status());
        const TemplateResult& r = *placed;
        const std::vector<Request> sets = ExpandTemplate(*t, name, tenant, project);
        if (r.failed_set >= 0 || r.nodes.empty()) {
          const int failed = std::max(0, r.failed_set);
          RouteError e = Unplaceable(view, r.sets.at(failed));
          e.extra["nodeSet"] = t->node_sets.at(failed).name;
          return e;
        }
        Solved out;
        HoldRequest& h = out.hold;
        h.tenant = tenant;
        h.project = project;
        h.name = name;
        h.request =
            Json{{"template", t->name}, {"tenant", tenant}, {"project", project}, {"name", name}}
                .dump();
        h.cost_per_hour = r.cost_per_hour;
        h.now_ms = NowMillis();
        if (t->exclusive) h.exclusive = std::string(LevelName(*t->exclusive));
        Json placement{{"template", t->name},
                       {"purpose", purpose},
                       {"costPerHour", r.cost_per_hour},
                       {"nodeSets", Json::array()}};
        for (size_t i = 0; i < r.sets.size(); ++i) {
          // Defence in depth, as for one request: each set's nodes pass the verifier.
          auto violations = VerifyPlacement(problem, sets[i], r.sets[i].nodes);
          if (!violations.empty()) {
            RouteError e =
                WithReason(StatusCode::kInternal, "placement_failed_verification",
                           violations.front().constraint + ": " + violations.front().detail);
            e.message_is_public = true;
            return e;
          }
          for (int n : r.sets[i].nodes) {
            h.nodes.push_back(
                {view.snapshot->inventory.nodes[n].name, view.snapshot->states.generation(n),
                 "node set " + t->node_sets[i].name + ": " + AdmissionRule(view, sets[i], n)});
          }
          Json set = PlacementResultToJson(*view.snapshot, r.sets[i]);
          set["nodeSet"] = t->node_sets[i].name;
          placement["nodeSets"].push_back(std::move(set));
        }
        h.neighbours = NeighboursOf(*view.snapshot, r.nodes);
        out.placement = std::move(placement);
        return out;
      },
      [&](const HoldRequest& h, const Actor& a) { return HoldCluster(s, purpose, project, h, a); });
}

RouteResult CreateCluster(Service& s, const Call& c) {
  {
    // A cluster from a template names it; any other body is a request (section 3).
    std::vector<BodyError> errors;
    const nlohmann::json body = c.body.empty() ? nlohmann::json() : ParseJsonBody(c.body, errors);
    if (errors.empty() && body.is_object() && body.contains("template")) {
      return CreateTemplateCluster(s, c, body);
    }
  }
  RouteResultOf<SolveCall> parsed = ParseSolveCall(s, c, false);
  if (!parsed.ok()) return std::move(parsed).error();
  const SolveCall& call = *parsed;
  if (call.request.preemption) {
    // A new cluster's plan would start on nodes the victims' plans are still tearing down.
    RouteError e = WithReason(StatusCode::kInvalidArgument, "preemption_not_supported",
                              "a cluster does not evict; reserve with preemption "
                              "(POST /v1/reservations), commit, then order the cluster");
    e.pointer = "/preemption";
    return e;
  }
  const std::string purpose(PurposeName(call.request.purpose));
  return SolveAndHold(s, c, call, "cluster", [&](const HoldRequest& h, const Actor& a) {
    return HoldCluster(s, purpose, call.request.project, h, a);
  });
}

RouteResult GetCluster(Service& s, const Call& c) {
  if (auto e = CheckQuery(c, {})) return *std::move(e);
  Result<ClusterRecord> cluster = s.store().GetCluster(c.params[0], c.principal().scope());
  if (!cluster.ok()) return cluster.status();
  return {kHttpOk, ClusterJson(s, *cluster)};
}

// Tears a cluster down through the runner (202: DELETING, then DELETED and the allocation
// released); a cluster without a plan is released at once.
RouteResult DeleteCluster(Service& s, const Call& c) {
  if (auto e = CheckQuery(c, {})) return *std::move(e);
  Result<ClusterRecord> cluster = s.store().GetCluster(c.params[0], c.principal().scope());
  if (!cluster.ok()) return cluster.status();
  Result<Plan> plan = s.store().PlanOfAllocation(cluster->allocation_id);
  if (plan.ok()) {
    if (s.executors() == nullptr) {
      return WithReason(StatusCode::kFailedPrecondition, "executors_not_configured",
                        "this cluster was carried out by executors this server does not run "
                        "(serve --executors)");
    }
    if (plan->status != PlanStatus::kDeleted) {
      if (Status st = s.executors()->runner().Teardown(*plan); !st.ok()) return st;
    }
    Result<ClusterRecord> again = s.store().GetCluster(c.params[0], c.principal().scope());
    if (!again.ok()) return again.status();
    return {kHttpAccepted, ClusterJson(s, *again)};
  }
  Result<AllocationRecord> released = s.store().Release(
      cluster->allocation_id, c.principal().scope(), c.principal().actor(), NowMillis());
  if (!released.ok() && released.status().reason() != "allocation_not_active") {
    return released.status();
  }
  Result<ClusterRecord> again = s.store().GetCluster(c.params[0], c.principal().scope());
  if (!again.ok()) return again.status();
  return {kHttpOk, ClusterJson(s, *again)};
}

// The scenario's cluster templates: what a tenant can order by name (POST /v1/clusters).
RouteResult ListClusterTemplates(Service& s, const Call& c) {
  if (auto e = CheckQuery(c, {})) return *std::move(e);
  Result<std::shared_ptr<const View>> view = s.CurrentView();
  if (!view.ok()) return view.status();
  Json list = Json::array();
  if ((*view)->cluster_templates) {
    for (const ClusterTemplate& t : *(*view)->cluster_templates) {
      Json sets = Json::array();
      int nodes = 0;
      for (const NodeSet& n : t.node_sets) {
        sets.push_back({{"name", n.name}, {"class", n.node_class}, {"size", n.size}});
        nodes += n.size;
      }
      list.push_back({{"name", t.name},
                      {"description", t.description},
                      {"purpose", PurposeName(t.purpose)},
                      {"nodes", nodes},
                      {"nodeSets", sets}});
    }
  }
  return {kHttpOk, Json{{"templates", list}}};
}

RouteResult ListClusters(Service& s, const Call& c) {
  if (auto e = CheckQuery(c, {"limit", "pageToken"})) return *std::move(e);
  RouteResultOf<PageRequest> page = PageParams(c, "clusters");
  if (!page.ok()) return std::move(page).error();
  return PageReply(s.store().ListClustersPage(c.principal().scope(), *page), "clusters",
                   [&](const ClusterRecord& k) { return ClusterJson(s, k); });
}

}  // namespace

std::vector<NeighbourNode> NeighboursOf(const Snapshot& snapshot, const std::vector<int>& nodes) {
  const Topology& topo = snapshot.topology;
  std::map<int, NeighbourNode> near;
  for (int n : nodes) {
    for (const Level level : {Level::kRack, Level::kLeaf}) {
      for (int other : topo.NodesIn(level, topo.DomainOf(n, level))) {
        NeighbourNode& x = near[other];
        x.node = snapshot.inventory.nodes[other].name;
        (level == Level::kRack ? x.same_rack : x.same_leaf) = true;
      }
    }
  }
  std::vector<NeighbourNode> out;
  for (auto& [index, x] : near) out.push_back(std::move(x));
  return out;
}

RouteResultOf<PageRequest> PageParams(const Call& c, std::string_view list) {
  PageRequest page;
  RouteResultOf<double> limit = NumberParam(c, "limit", 100, 1, kMaxPageLimit);
  if (!limit.ok()) return std::move(limit).error();
  page.limit = static_cast<int>(*limit);
  if (page.limit != *limit) {
    return BadParameter("limit",
                        "expected a whole number from 1 to " + std::to_string(kMaxPageLimit));
  }
  if (auto it = c.query.find("pageToken"); it != c.query.end()) {
    // Checked before any query: a forged, garbled or another list's token is the client's mistake.
    if (!DecodePageToken(list, it->second).ok()) {
      return BadParameter("pageToken", "not a token this list gave out; start again without it");
    }
    page.page_token = it->second;
  }
  return page;
}

Json ReservationToJson(const ReservationRecord& r) {
  Json j{{"id", r.id},
         {"tenant", r.tenant},
         {"project", std::string(ProjectName(r.project))},
         {"name", r.name},
         {"status", ReservationStatusName(r.status)},
         {"createdAt", IsoTime(r.created_ms)},
         {"expiresAt", IsoTime(r.expires_ms)},
         {"costPerHour", r.cost_per_hour},
         {"nodes", NodesJson(r.nodes, true)},
         {"allocation", r.allocation_id.empty() ? Json(nullptr) : Json(r.allocation_id)},
         {"request", RecordedRequest(r.request)},
         {"createdBy", r.created_by},
         {"priority", r.priority}};
  return j;
}

Json AllocationToJson(const AllocationRecord& a, const Principal* viewer) {
  Json j{{"id", a.id},
         {"tenant", a.tenant},
         {"project", std::string(ProjectName(a.project))},
         {"name", a.name},
         {"status", AllocationStatusName(a.status)},
         {"createdAt", IsoTime(a.created_ms)},
         {"releasedAt", a.released_ms ? Json(IsoTime(a.released_ms)) : Json(nullptr)},
         {"reservation", a.reservation_id.empty() ? Json(nullptr) : Json(a.reservation_id)},
         {"costPerHour", a.cost_per_hour},
         {"nodes", NodesJson(a.nodes, true)},
         {"request", RecordedRequest(a.request)},
         {"createdBy", a.created_by},
         {"priority", a.priority}};
  if (!a.evicted_by.empty()) {
    // Who took its nodes: the reservation, to those who may see it (a provider, or its tenant).
    const bool may_see =
        viewer != nullptr && (viewer->sees_all() || viewer->tenant == a.evicted_by_tenant);
    j["evictedBy"] = may_see ? Json{{"reservation", a.evicted_by}} : Json{{"reservation", nullptr}};
  }
  return j;
}

std::vector<Route> PlacementRoutes() {
  const std::string id = "([A-Za-z0-9_.-]{1,64})";
  return {
      {"POST", "/v1/placements:solve", "/v1/placements:solve",
       "solve a request without holding anything (dry run)", kSolvers, SolveRoute},
      {"POST", "/v1/reservations", "/v1/reservations",
       "solve a request and hold its nodes until a deadline", kWriters, CreateReservation,
       kHttpCreated},
      {"GET", "/v1/reservations", "/v1/reservations", "list reservations", kReaders,
       ListReservations},
      {"GET", "/v1/reservations/" + id, "/v1/reservations/{id}", "get a reservation", kReaders,
       GetReservation},
      {"POST", "/v1/reservations/" + id + ":commit", "/v1/reservations/{id}:commit",
       "commit a held reservation into an allocation", kWriters, CommitReservation},
      {"DELETE", "/v1/reservations/" + id, "/v1/reservations/{id}", "cancel a held reservation",
       kWriters, CancelReservation},
      {"GET", "/v1/allocations", "/v1/allocations", "list allocations", kReaders, ListAllocations},
      {"GET", "/v1/allocations/" + id, "/v1/allocations/{id}", "get an allocation", kReaders,
       GetAllocation},
      {"DELETE", "/v1/allocations/" + id, "/v1/allocations/{id}", "release an allocation", kWriters,
       ReleaseAllocation},
      {"POST", "/v1/clusters", "/v1/clusters", "place and allocate a cluster", kWriters,
       CreateCluster, kHttpCreated},
      {"GET", "/v1/clusters", "/v1/clusters", "list clusters", kReaders, ListClusters},
      {"GET", "/v1/cluster-templates", "/v1/cluster-templates",
       "the cluster templates a cluster can be ordered from", kReaders, ListClusterTemplates},
      {"GET", "/v1/clusters/" + id, "/v1/clusters/{id}", "get a cluster and its steps", kReaders,
       GetCluster},
      {"DELETE", "/v1/clusters/" + id, "/v1/clusters/{id}",
       "tear a cluster down (power off, ports to quarantine, addresses released) and release it",
       kWriters, DeleteCluster, kHttpAccepted},
  };
}

}  // namespace topoplace
