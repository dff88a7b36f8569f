// The placement service behind `topoplace serve`, private to api/.
//
// A Service owns the store, the current view of it (a solver snapshot with the nodes' states and
// generations, rebuilt only when the store's state version moves, so several replicas on one
// database stay in step), the metrics and the token cache. Handlers (routes_*.cc) are plain
// functions from a Call (the HTTP request and the authenticated principal) to a RouteResult: the
// Reply, or a RouteError (a Status and the few problem members a Status cannot say). They do not
// throw; the server renders an error as application/problem+json with a stable `code`, its HTTP
// status from the one table in api/exit_codes.h.
//
// Thread safety: every method may be called from the server's worker threads at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <variant>
#include <vector>

#include "api/http/metrics.h"
#include "api/json_codec.h"
#include "api/request_json.h"
#include "inventory/store.h"
#include "model/cow_vector.h"
#include "model/topology.h"
#include "solver/solver.h"

namespace topoplace {

using Json = nlohmann::ordered_json;

enum class Role { kProviderAdmin, kTenantAdmin, kTenantMember, kAuditor };
std::string_view RoleName(Role role);

struct Principal {
  Role role = Role::kTenantMember;
  std::string tenant;                  // for tenant roles
  std::optional<std::string> project;  // set: the token is bound to this project of `tenant`
  std::string token_id;
  bool sees_all() const { return role == Role::kProviderAdmin || role == Role::kAuditor; }
  // The scope for store queries: every tenant for roles that see all, else the tenant or, for a
  // token bound to a project, that project of it.
  Scope scope() const {
    if (sees_all()) return Scope();
    return project ? Scope::OfProject(tenant, *project) : Scope(tenant);
  }
  Actor actor() const { return {"token:" + token_id, std::string(RoleName(role)), tenant}; }
};

// An error answer: application/problem+json.
struct Problem {
  int status = 500;
  std::string code;
  std::string detail;
  std::string pointer;    // for bad bodies
  std::string parameter;  // for bad query parameters
  std::vector<BodyError> errors;
  Json extra = Json::object();  // more members (explanation, ...)
};
Problem ProblemFromStatus(const Status& status);

// A handler's failure. The Status decides the answer: its code the HTTP status (api/exit_codes.h),
// its reason the problem's `code`, its message the `detail`, its details (one per input error) the
// `pointer` and `errors`. The members here are what a problem may carry beyond that.
struct RouteError {
  RouteError(Status s) : status(std::move(s)) {}  // NOLINT: implicit, a Status is an error
  Status status;
  std::string pointer;          // the one field a detail-less status is about ("/tenant")
  std::string parameter;        // the bad query parameter
  Json extra = Json::object();  // more members (the placement of an infeasible request, ...)
  // The message was written by the service itself and names no driver internals: shown to the
  // client even for an unavailable or internal status (whose messages otherwise go to the log).
  bool message_is_public = false;
};
Problem ProblemFromRouteError(const RouteError& error);

// A value a handler (or a step of one) produced, or the RouteError it is answered with.
template <typename T>
class RouteResultOf {
 public:
  RouteResultOf(T value) : v_(std::move(value)) {}                     // NOLINT
  RouteResultOf(RouteError error) : v_(std::move(error)) {}            // NOLINT
  RouteResultOf(Status status) : v_(RouteError(std::move(status))) {}  // NOLINT: non-OK
  template <typename U = T>
  requires std::is_constructible_v<U, int, Json> RouteResultOf(int status, Json body)
      : v_(T(status, std::move(body))) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  const RouteError& error() const& { return std::get<RouteError>(v_); }
  RouteError&& error() && { return std::get<RouteError>(std::move(v_)); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, RouteError> v_;
};

struct Reply {
  Reply() = default;
  Reply(int s, Json b) : status(s), body(std::move(b)) {}
  int status = 200;
  Json body;
  std::string text;          // used instead of body when content_type is not JSON
  std::string content_type;  // empty = application/json
  std::map<std::string, std::string> headers;
};

using RouteResult = RouteResultOf<Reply>;

struct Call {
  std::string method;
  std::string path;
  std::string body;
  std::map<std::string, std::string> query;
  std::vector<std::string> params;  // regex captures of the route
  std::optional<Principal> who;     // set for authenticated routes
  const Principal& principal() const { return *who; }
};

// The options of `topoplace serve` (api/cli/service_cli.cc documents each one in --help).
struct ServeArgs {
  std::string db;  // empty = ./topoplace.db
  std::string listen = "127.0.0.1:8080";
  std::string scenario;  // seed for an empty store; empty = the built-in moc-small scenario
  std::string solver = "auto";
  double time_limit_seconds = 2.0;
  int64_t max_body_bytes = 1 << 20;
  int threads = 64;
  int db_connections = 16;
  double expiry_interval_seconds = 1.0;
  // The HTTP edge: deadlines, connection caps, TLS, the access log.
  double header_timeout_seconds = 10;  // a request's whole header
  double body_timeout_seconds = 30;    // a request's whole body
  double idle_timeout_seconds = 30;    // a kept-alive connection between requests
  int max_connections = 1024;
  int max_connections_per_client = 32;  // per client IP address
  std::string tls_cert;                 // PEM certificate chain; TLS when set (with tls_key)
  std::string tls_key;                  // PEM private key
  std::string access_log;               // empty = standard error
  std::string config;                   // the --config file the options were read from
  // Solves: at most this many at once (0 = the hardware threads), up to solve_queue more wait a
  // few seconds for a slot; beyond that a solve is answered 503 too_busy.
  int max_concurrent_solves = 0;
  int solve_queue = 16;
  // The longest time limit a tenant-member may give the ilp and auto backends.
  double member_max_time_limit_seconds = 2.0;
  std::string audit_key;  // audit key file; empty = Store::DefaultAuditKeyFile(db)
  std::string executors;  // the executor settings file; empty = plans are not carried out
};

// The state a request is solved against.
struct View {
  int64_t version = 0;
  int64_t audit_seq = 0;
  int64_t inventory_version = 0;
  // The inventory and topology (shared by every view of one inventory version) with the nodes'
  // live states and generations; a new view copies only the blocks of changed nodes.
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<Tenant> tenants;
  // The scenario's cluster templates (shared by every view of one inventory version).
  std::shared_ptr<const std::vector<ClusterTemplate>> cluster_templates;
  CowVector<std::string> holdings;  // per node: the reservation or allocation holding it, or ""
  int TenantIndex(const std::string& name) const;
};

class ServiceExecutors;

class Service {
 public:
  Service(std::unique_ptr<Store> store, ServeArgs args);

  ~Service();
  Store& store() { return *store_; }
  // The plan runner and drivers, when `serve --executors` configured them; else nullptr.
  ServiceExecutors* executors() { return executors_.get(); }
  void SetExecutors(std::unique_ptr<ServiceExecutors> executors);
  Metrics& metrics() { return metrics_; }
  const ServeArgs& args() const { return args_; }

  // The current view; rebuilt when the store moved since the last call.
  Result<std::shared_ptr<const View>> CurrentView();
  // Authenticates a bearer token (cached for a few seconds); kUnauthenticated when it does not.
  Result<Principal> Authenticate(const std::string& authorization_header);
  // Releases expired reservations once; the server calls it every second.
  void ExpireOnce();

  // Nodes this process is holding right now (solved, transaction not yet committed). A hold solves
  // with these marked taken, so the requests of one process do not all pick the same best nodes
  // and then lose the race to each other; replicas still race optimistically through the store.
  class Claims {
   public:
    std::mutex mu;                               // held while solving a hold
    std::unordered_map<std::string, int> nodes;  // node name -> claims in flight
  };
  Claims& claims() { return claims_; }

  // A solve slot: true when one is free (waiting a few seconds in a bounded queue), false when the
  // server is too busy. Every true is matched by one EndSolve.
  bool BeginSolve();
  void EndSolve();

 private:
  std::unique_ptr<Store> store_;
  std::unique_ptr<ServiceExecutors> executors_;  // stopped before the store goes
  ServeArgs args_;
  Metrics metrics_;
  std::mutex view_mu_;
  std::shared_ptr<const View> view_;
  std::shared_ptr<const Snapshot> base_;  // the inventory without states, per inventory version
  std::shared_ptr<const std::vector<ClusterTemplate>> base_templates_;
  int64_t base_version_ = -1;
  struct CachedToken {
    Principal principal;
    std::chrono::steady_clock::time_point until;
  };
  Claims claims_;
  std::mutex token_mu_;
  std::unordered_map<std::string, CachedToken> tokens_;
  std::mutex solve_mu_;
  std::condition_variable solve_cv_;
  int solves_running_ = 0;
  int solves_waiting_ = 0;
};

// The per-role limits on a solve's options (server.cc): a tenant-member may give the ilp and auto
// backends at most ServeArgs::member_max_time_limit_seconds. A default above the cap is lowered to
// it; a time limit the member asked for above it is a 403 problem naming timeLimitSeconds.
RouteResultOf<SolveOptions> EnforceSolveLimits(const Service& service, const Call& call,
                                               SolveOptions options, bool time_limit_given);

// --- routes ------------------------------------------------------------------------------------
using Handler = std::function<RouteResult(Service&, const Call&)>;

struct Route {
  Route(std::string m, std::string pat, std::string p, std::string sum, std::vector<Role> r,
        Handler h, int ok = 200)
      : method(std::move(m)),
        pattern(std::move(pat)),
        path(std::move(p)),
        summary(std::move(sum)),
        roles(std::move(r)),
        handler(std::move(h)),
        success(ok) {}
  std::string method;
  std::string pattern;  // regex over the path
  std::string path;     // OpenAPI path template
  std::string summary;
  std::vector<Role> roles;  // empty = no authentication
  Handler handler;
  int success = 200;
  bool solves = false;         // calls the solver: takes a solve slot (set by AllRoutes)
  bool on_event_loop = false;  // cheap, no store: answered on the event loop (liveness)
};

std::vector<Route> PlacementRoutes();  // routes_placement.cc
std::vector<Route> InfoRoutes();       // routes_info.cc
std::vector<Route> WhatIfRoutes();     // routes_whatif.cc
std::vector<Route> AllRoutes();
// The backend parameter's enum lists `backends`' names and "auto".
Json OpenApiDocument(const std::vector<Route>& routes,
                     const BackendRegistry& backends = BuiltinBackends());  // openapi.cc

// Shared helpers for the handlers.
// The nodes in the racks and leaves of `nodes` (those too), each with what it shares: the store
// re-checks under lock that a hold shares no domain another tenant keeps exclusive.
std::vector<NeighbourNode> NeighboursOf(const Snapshot& snapshot, const std::vector<int>& nodes);
// The `limit` (1-1000, default 100) and `pageToken` query parameters of a list route; a bad one
// is 400 bad_parameter naming it; `list` is the list the token must belong to.
// (routes_placement.cc)
RouteResultOf<PageRequest> PageParams(const Call& c, std::string_view list);
// 400 bad_parameter naming the query parameter `name`: "NAME: DETAIL".
RouteError BadParameter(const std::string& name, const std::string& detail);
// The error for a body's decoding errors: 400, the first one's code and pointer, every one listed.
RouteError BodyErrors(const std::vector<BodyError>& errors);
Json ReservationToJson(const ReservationRecord& r);
// `viewer`: who asks; an evicted allocation names the reservation that evicted it only to a
// provider or to that reservation's tenant.
Json AllocationToJson(const AllocationRecord& a, const Principal* viewer = nullptr);

int RunServe(const ServeArgs& args, std::ostream& out, std::ostream& err);

}  // namespace topoplace
