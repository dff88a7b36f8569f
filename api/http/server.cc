// `topoplace serve`: the glue between the HTTP transport (http_server.h) and the Service: route
// matching, authentication and role checks on a request's head, problem answers, the solve slots,
// the access log and the process around it (store, seeding, sweeper, signals).
#include <malloc.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <variant>

#include "api/exit_codes.h"
#include "api/http/executors_service.h"
#include "api/http/http_server.h"
#include "api/http/service.h"
#include "executors/drivers.h"
#include "inventory/executors_codec.h"
#include "inventory/scenario_codec.h"
#include "model/text.h"

namespace topoplace {

extern const char* const kDefaultScenarioYaml;  // default_scenario.cc, generated

namespace {

constexpr auto kTokenCacheTtl = std::chrono::seconds(5);
constexpr auto kSolveQueueWait = std::chrono::seconds(10);  // longest wait for a solve slot

Json ProblemJson(const Problem& p) {
  Json j{{"type", "urn:topoplace:problem:" + p.code},
         {"title", HttpReasonPhrase(p.status)},
         {"status", p.status},
         {"code", p.code},
         {"detail", p.detail}};
  if (!p.pointer.empty() || !p.errors.empty()) j["pointer"] = p.pointer;
  if (!p.parameter.empty()) j["parameter"] = p.parameter;
  if (!p.errors.empty()) {
    Json list = Json::array();
    for (const auto& e : p.errors) {
      list.push_back({{"code", e.code}, {"pointer", e.pointer}, {"detail", e.detail}});
    }
    j["errors"] = list;
  }
  for (const auto& [k, v] : p.extra.items()) j[k] = v;
  return j;
}

// JSON text that never throws: bytes that are not UTF-8 become U+FFFD (input that should have been
// rejected or escaped earlier must not turn an answer into a 500).
std::string DumpJson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

HttpAnswer ProblemAnswer(const Problem& p) {
  HttpAnswer a;
  a.status = p.status;
  a.content_type = "application/problem+json";
  a.body = DumpJson(ProblemJson(p));
  if (p.status == kHttpUnauthorized) a.headers.emplace_back("WWW-Authenticate", "Bearer");
  if (p.status == kHttpMethodNotAllowed && p.extra.contains("allow")) {
    a.headers.emplace_back("Allow", p.extra["allow"].get<std::string>());
  }
  if (p.status == kHttpServiceUnavailable || p.status == kHttpTooManyRequests) {
    a.headers.emplace_back("Retry-After", "1");
  }
  return a;
}

bool ParseListen(const std::string& listen, std::string& host, int& port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  try {
    size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) return false;
  } catch (...) {
    return false;
  }
  return !host.empty() && port >= 0 && port <= 65535;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string UrlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 &&
               HexDigit(s[i + 2]) >= 0) {
      out += static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Problem BadQuery(const std::string& name, std::string detail) {
  Problem p;
  p.status = kHttpBadRequest;
  p.code = "bad_parameter";
  p.parameter = PrintableText(name, 64);
  p.detail = std::move(detail);
  return p;
}

// The query parameters of the request target, or the problem with one. Names and values must be
// UTF-8 once decoded: the handlers quote them in their answers.
std::variant<std::map<std::string, std::string>, Problem> QueryOf(std::string_view query) {
  std::map<std::string, std::string> out;
  std::string_view rest = query;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string name = UrlDecode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : UrlDecode(pair.substr(eq + 1));
    if (!IsValidUtf8(name) || name.find('\0') != std::string::npos) {
      return BadQuery(name, "the query parameter name " + QuotedText(name) + " is not UTF-8 text");
    }
    if (!IsValidUtf8(value) || value.find('\0') != std::string::npos) {
      return BadQuery(name,
                      "the value of query parameter " + QuotedText(name) + " is not UTF-8 text");
    }
    out[std::move(name)] = std::move(value);
  }
  return out;
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kProviderAdmin: return "provider-admin";
    case Role::kTenantAdmin: return "tenant-admin";
    case Role::kTenantMember: return "tenant-member";
    case Role::kAuditor: return "auditor";
  }
  return "?";
}

// The problem for a status: `code` its reason (or the code's name), the HTTP status from the one
// table. Unavailable and internal failures carry the driver's words (database addresses,
// connection strings): those go to the log, the client gets a generic detail.
Problem ProblemFromStatus(const Status& status) {
  Problem p;
  p.status = HttpStatusFor(status.code());
  p.code = status.ReasonOrCodeName();
  if (status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kInternal) {
    std::cerr << "topoplace serve: " << p.code << ": " << status.message() << "\n";
    p.detail = status.code() == StatusCode::kUnavailable
                   ? "the store is unavailable; retry"
                   : "an internal error occurred; the server log has the details";
    return p;
  }
  p.detail = status.message();
  return p;
}

// The problem for a handler's error: ProblemFromStatus, then the status's details as `pointer`
// and `errors` (never those of an unavailable or internal status, which may quote a driver) and
// the members the error carries beside its status.
Problem ProblemFromRouteError(const RouteError& error) {
  const Status& st = error.status;
  Problem p = ProblemFromStatus(st);
  const bool hidden = st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kInternal;
  if (hidden && error.message_is_public) p.detail = st.message();
  if (!st.details().empty() && !hidden) {
    const ErrorDetail& first = st.details().front();
    p.code = first.code;
    p.pointer = first.path;
    p.detail = (first.path.empty() ? "" : first.path + ": ") + first.message;
    for (const ErrorDetail& d : st.details()) p.errors.push_back({d.code, d.path, d.message});
  } else {
    p.pointer = error.pointer;
  }
  p.parameter = error.parameter;
  p.extra = error.extra;
  return p;
}

RouteError BadParameter(const std::string& name, const std::string& detail) {
  RouteError e = WithReason(StatusCode::kInvalidArgument, "bad_parameter", name + ": " + detail);
  e.parameter = name;
  return e;
}

RouteError BodyErrors(const std::vector<BodyError>& errors) {
  Status st(StatusCode::kInvalidArgument,
            errors.empty() ? std::string("the body is not valid") : errors.front().detail);
  st.SetReason(errors.empty() ? "bad_body" : errors.front().code);
  for (const BodyError& e : errors) st.AddDetail({e.pointer, e.code, e.detail});
  return st;
}

int View::TenantIndex(const std::string& name) const {
  for (size_t i = 0; i < tenants.size(); ++i) {
    if (tenants[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

Service::Service(std::unique_ptr<Store> store, ServeArgs args)
    : store_(std::move(store)), args_(std::move(args)) {}

Service::~Service() {
  if (executors_) executors_->Stop();
}

void Service::SetExecutors(std::unique_ptr<ServiceExecutors> executors) {
  executors_ = std::move(executors);
}

namespace {

// Overlays node records (state, holder, exclusivity, generation, holding) on node states and a
// view's holdings: O(records), whatever the size of the data centre.
void ApplyNodes(const std::vector<NodeRecord>& nodes, const Inventory& inventory,
                NodeStates& states, CowVector<std::string>& holdings) {
  const size_t n = inventory.nodes.size();
  for (size_t k = 0; k < nodes.size(); ++k) {
    const NodeRecord& rec = nodes[k];
    const int i = k < n && inventory.nodes[k].name == rec.name ? static_cast<int>(k)
                                                               : inventory.NodeIndex(rec.name);
    if (i < 0) continue;
    states.Set(i, rec.state, rec.tenant,
               rec.exclusive.empty() ? std::nullopt : ParseLevel(rec.exclusive));
    states.SetGeneration(i, rec.generation);
    holdings.Set(i, rec.holding);
  }
}

// Parses the stored inventory document into its snapshot. Parsing builds a YAML tree many times
// the size of the inventory; if it shared the heap with what the server keeps, the holes it leaves
// between long-lived blocks could never be handed back. So the document is parsed on a thread of
// its own (a heap arena of its own), only the finished inventory is copied into the server's heap,
// and everything the parse touched is freed and returned in one piece.
Result<std::shared_ptr<const Snapshot>> SnapshotOfDocument(
    const std::string& yaml, std::vector<ClusterTemplate>& templates) {
  Result<Inventory> parsed = InternalError("not parsed");
  std::thread parser([&] {
    Result<Scenario> doc = LoadStoredScenario(yaml);
    if (doc.ok()) {
      parsed = std::move(doc->inventory);
      templates = std::move(doc->cluster_templates);
    } else {
      parsed = doc.status();
    }
  });
  parser.join();
  if (!parsed.ok()) return parsed.status();
  Inventory kept = *parsed;  // allocated here, by this thread
  parsed = InternalError("released");
  ::malloc_trim(0);
  return MakeSnapshot(std::move(kept));
}

}  // namespace

Result<std::shared_ptr<const View>> Service::CurrentView() {
  Result<int64_t> version = store_->StateVersion();
  if (!version.ok()) return version.status();
  {
    std::lock_guard lock(view_mu_);
    if (view_ && view_->version == *version) return std::shared_ptr<const View>(view_);
  }
  std::lock_guard lock(view_mu_);
  if (view_ && view_->version == *version) return std::shared_ptr<const View>(view_);
  // Usually only a few nodes changed: fetch those and patch a copy of the current view, which
  // shares the inventory, the topology and every block of node state that did not change.
  StoreState state;
  if (view_ && base_) {
    Result<Store::Changes> changes =
        store_->ChangesSince(view_->audit_seq, view_->inventory_version);
    if (!changes.ok()) return changes.status();
    if (!changes->full) {
      auto view = std::make_shared<View>(*view_);
      NodeStates states = view_->snapshot->states;
      ApplyNodes(changes->state.nodes, view_->snapshot->inventory, states, view->holdings);
      view->version = changes->state.state_version;
      view->audit_seq = changes->state.audit_seq;
      view->snapshot = view_->snapshot->WithStates(std::move(states));
      view->tenants = std::move(changes->state.tenants);
      view_ = view;
      return std::shared_ptr<const View>(view);
    }
    state = std::move(changes->state);
  } else {
    Result<StoreState> loaded = store_->LoadState();
    if (!loaded.ok()) return loaded.status();
    state = std::move(loaded).value();
  }
  if (state.inventory_version != base_version_ || !base_) {
    int64_t inventory_version = 0;
    Result<std::string> yaml = store_->InventoryYaml(inventory_version);
    if (!yaml.ok()) return yaml.status();
    std::vector<ClusterTemplate> templates;
    auto snap = SnapshotOfDocument(*yaml, templates);
    if (!snap.ok()) return snap.status();
    base_ = *snap;
    base_templates_ = std::make_shared<const std::vector<ClusterTemplate>>(std::move(templates));
    base_version_ = inventory_version;
  }
  auto view = std::make_shared<View>();
  const int n = static_cast<int>(base_->inventory.nodes.size());
  NodeStates states(n);
  view->holdings.Assign(n, std::string());
  ApplyNodes(state.nodes, base_->inventory, states, view->holdings);
  view->version = state.state_version;
  view->audit_seq = state.audit_seq;
  view->inventory_version = state.inventory_version;
  view->snapshot = base_->WithStates(std::move(states));
  view->tenants = std::move(state.tenants);
  view->cluster_templates = base_templates_;
  view_ = view;
  return std::shared_ptr<const View>(view);
}

Result<Principal> Service::Authenticate(const std::string& header) {
  auto unauthenticated = [](std::string message) {
    return WithReason(StatusCode::kUnauthenticated, "unauthenticated", std::move(message));
  };
  if (header.empty()) {
    return unauthenticated("this endpoint needs an API token: Authorization: Bearer TOKEN");
  }
  // The scheme is case-insensitive (RFC 9110 11.1); one or more spaces separate it from the token.
  constexpr std::string_view kScheme = "bearer";
  bool bearer = header.size() > kScheme.size() + 1 && header.size() <= 512 &&
                (header[kScheme.size()] == ' ' || header[kScheme.size()] == '\t');
  for (size_t i = 0; bearer && i < kScheme.size(); ++i) {
    bearer = std::tolower(static_cast<unsigned char>(header[i])) == kScheme[i];
  }
  const size_t begin = bearer ? header.find_first_not_of(" \t", kScheme.size()) : 0;
  const size_t last = header.find_last_not_of(" \t");
  if (!bearer || begin == std::string::npos || last < begin) {
    return unauthenticated("the Authorization header is not \"Bearer TOKEN\"");
  }
  const std::string secret = header.substr(begin, last + 1 - begin);
  const std::string key = Sha256Hex(secret);  // never keep secrets in memory longer than needed
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(token_mu_);
    auto it = tokens_.find(key);
    if (it != tokens_.end() && it->second.until > now) return it->second.principal;
  }
  Result<TokenRecord> rec = store_->LookupToken(secret);
  if (!rec.ok()) {
    if (rec.status().code() == StatusCode::kNotFound) {
      return unauthenticated("unknown or revoked API token");
    }
    return rec.status();
  }
  Principal p;
  p.token_id = rec->id;
  p.tenant = rec->tenant;
  p.project = rec->project;
  if (rec->role == "provider-admin")
    p.role = Role::kProviderAdmin;
  else if (rec->role == "tenant-admin")
    p.role = Role::kTenantAdmin;
  else if (rec->role == "auditor")
    p.role = Role::kAuditor;
  else
    p.role = Role::kTenantMember;
  // Cached a few seconds (a revoked token is refused within kTokenCacheTtl), never past expiry.
  auto until = now + kTokenCacheTtl;
  if (rec->expires_ms != 0) {
    until = std::min(until, now + std::chrono::milliseconds(rec->expires_ms - NowMillis()));
  }
  std::lock_guard lock(token_mu_);
  if (tokens_.size() > 10000) tokens_.clear();
  tokens_[key] = {p, until};
  return p;
}

void Service::ExpireOnce() {
  Result<int> n = store_->ExpireReservations(NowMillis());
  if (!n.ok()) {
    std::cerr << "topoplace serve: expiring reservations failed: " << n.status().message() << "\n";
    return;
  }
  if (*n > 0) metrics_.CountExpired(*n);
}

bool Service::BeginSolve() {
  std::unique_lock lock(solve_mu_);
  const int cap = std::max(1, args_.max_concurrent_solves);
  if (solves_running_ < cap) {
    ++solves_running_;
    return true;
  }
  if (solves_waiting_ >= args_.solve_queue) return false;
  ++solves_waiting_;
  const bool got = solve_cv_.wait_for(lock, kSolveQueueWait, [&] { return solves_running_ < cap; });
  --solves_waiting_;
  if (got) ++solves_running_;
  return got;
}

void Service::EndSolve() {
  {
    std::lock_guard lock(solve_mu_);
    --solves_running_;
  }
  solve_cv_.notify_one();
}

RouteResultOf<SolveOptions> EnforceSolveLimits(const Service& service, const Call& call,
                                               SolveOptions options, bool time_limit_given) {
  if (!call.who || call.who->role != Role::kTenantMember || options.backend == "heuristic") {
    return options;
  }
  const double cap = service.args().member_max_time_limit_seconds;
  if (options.time_limit_seconds <= cap) return options;
  if (!time_limit_given) {  // the server's default is above what a member may ask: use the cap
    options.time_limit_seconds = cap;
    return options;
  }
  char cap_text[32];
  std::snprintf(cap_text, sizeof cap_text, "%g", cap);
  RouteError e = WithReason(StatusCode::kPermissionDenied, "parameter_not_allowed",
                            std::string("timeLimitSeconds: role tenant-member may give the ") +
                                options.backend + " backend at most " + cap_text +
                                " seconds; ask for less or use backend=heuristic");
  e.parameter = "timeLimitSeconds";
  return e;
}

std::vector<Route> AllRoutes() {
  std::vector<Route> routes = PlacementRoutes();
  for (Route& r : InfoRoutes()) routes.push_back(std::move(r));
  for (Route& r : WhatIfRoutes()) routes.push_back(std::move(r));
  for (Route& r : routes) {
    // The routes that call the solver take a solve slot; liveness answers on the event loop.
    r.solves = r.method == "POST" &&
               (r.path == "/v1/placements:solve" || r.path == "/v1/reservations" ||
                r.path == "/v1/clusters" || r.path == "/v1/whatif" || r.path == "/v1/capacity");
    r.on_event_loop = r.method == "GET" && r.path == "/healthz";
  }
  return routes;
}

namespace {

// One line per answer: time, client, method, route pattern (never the raw path, which may carry
// ids), status, milliseconds, token id (never the token) and request id.
class AccessLog {
 public:
  explicit AccessLog(std::ostream& out) : out_(out) {}
  void Write(const HttpHead* head, const HttpAnswer& a, double seconds) {
    const auto now = std::chrono::system_clock::now();
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "%.1f", seconds * 1000);
    std::string line = IsoTime(ms) + " " + (head ? head->peer : std::string("-")) + " " +
                       (head ? PrintableText(head->method, 16) : std::string("-")) + " " + a.route +
                       " " + std::to_string(a.status) + " " + elapsed +
                       "ms token=" + (a.token_id.empty() ? "-" : a.token_id) +
                       " request=" + (head ? head->request_id : std::string("-")) + "\n";
    std::lock_guard lock(mu_);
    out_ << line << std::flush;
  }

 private:
  std::mutex mu_;
  std::ostream& out_;
};

// The service as the transport sees it.
class ServiceApp : public HttpApplication {
 public:
  ServiceApp(Service& service, std::vector<Route> routes, AccessLog& log)
      : service_(service), routes_(std::move(routes)), log_(log) {
    for (const Route& r : routes_) patterns_.emplace_back(r.pattern);
  }

  Admission Admit(const HttpHead& head) override {
    Admission out;
    try {
      std::optional<topoplace::Problem> refused;
      size_t index = 0;
      std::variant<Call, topoplace::Problem> prepared = Prepare(head, index);
      if (auto* p = std::get_if<topoplace::Problem>(&prepared)) {
        refused = std::move(*p);
      } else {
        refused = Refusal(routes_[index], head, std::get<Call>(prepared));
      }
      if (refused) {
        out.answer = ProblemAnswer(*refused);
        out.answer->route = RouteLabel(head);
        return out;
      }
      out.handle = [this, route = &routes_[index], call = std::get<Call>(std::move(prepared)),
                    rid = head.request_id](std::string body) mutable {
        call.body = std::move(body);
        return Run(*route, call, rid);
      };
    } catch (const std::exception& e) {
      out.answer = Internal(e.what(), head.request_id);
    } catch (...) {
      out.answer = Internal("unknown exception", head.request_id);
    }
    return out;
  }

  std::optional<HttpAnswer> AnswerOnEventLoop(const HttpHead& head) override {
    if (head.method != "GET" && head.method != "HEAD") return std::nullopt;
    for (size_t i = 0; i < routes_.size(); ++i) {
      if (!routes_[i].on_event_loop || !std::regex_match(head.path, patterns_[i])) continue;
      size_t index = 0;
      std::variant<Call, topoplace::Problem> prepared = Prepare(head, index);
      if (auto* p = std::get_if<topoplace::Problem>(&prepared)) {
        HttpAnswer a = ProblemAnswer(*p);
        a.route = routes_[i].path;
        return a;
      }
      return Run(routes_[index], std::get<Call>(prepared), head.request_id);
    }
    return std::nullopt;
  }

  HttpAnswer Problem(int status, std::string_view code, std::string_view detail) override {
    topoplace::Problem p;
    p.status = status;
    p.code = std::string(code);
    p.detail = std::string(detail);
    return ProblemAnswer(p);
  }

  void Log(const HttpHead* head, const HttpAnswer& a, double seconds) override {
    static const std::set<std::string> kMethods = {"GET",    "HEAD",  "POST",   "PUT",
                                                   "DELETE", "PATCH", "OPTIONS"};
    const std::string method = head && kMethods.count(head->method) ? head->method : "OTHER";
    service_.metrics().ObserveRequest(a.route, method, a.status, seconds);
    log_.Write(head, a, seconds);
  }

 private:
  // Authenticates the caller (setting call.who) and checks its role and the body's media type:
  // the problem to answer with, or nullopt to go on.
  std::optional<topoplace::Problem> Refusal(const Route& route, const HttpHead& head, Call& call) {
    if (!route.roles.empty()) {
      Result<Principal> who = service_.Authenticate(head.Field("Authorization"));
      if (!who.ok()) return ProblemFromStatus(who.status());
      call.who = std::move(who).value();
      bool allowed = false;
      for (Role r : route.roles) allowed = allowed || r == call.who->role;
      if (!allowed) {
        return ProblemFromStatus(WithReason(StatusCode::kPermissionDenied, "forbidden",
                                            "role " + std::string(RoleName(call.who->role)) +
                                                " may not do this: " + route.summary));
      }
    }
    if (head.has_body) {
      const std::string type = head.Field("Content-Type");
      if (!type.empty() && LowerAscii(type).rfind("application/json", 0) != 0) {
        topoplace::Problem p;
        p.status = kHttpUnsupportedMediaType;
        p.code = "unsupported_media_type";
        p.detail = "the body must be application/json, not " + QuotedText(type);
        return p;
      }
    }
    return std::nullopt;
  }

  // Matches the route (HEAD as GET) and decodes the query: the call, or a 404/405/400 problem.
  std::variant<Call, topoplace::Problem> Prepare(const HttpHead& head, size_t& index) {
    const std::string method = head.method == "HEAD" ? "GET" : head.method;
    std::set<std::string> methods;  // the methods this path does take, for the Allow header
    std::smatch match;
    bool found = false;
    for (size_t i = 0; i < routes_.size() && !found; ++i) {
      if (!std::regex_match(head.path, match, patterns_[i])) continue;
      methods.insert(routes_[i].method);
      if (routes_[i].method == method) {
        index = i;
        found = true;
      }
    }
    if (!found) {
      topoplace::Problem p;
      std::string allowed;
      for (const std::string& m : methods) allowed += (allowed.empty() ? "" : ", ") + m;
      if (!allowed.empty()) {
        p.status = kHttpMethodNotAllowed;
        p.code = "method_not_allowed";
        p.detail = PrintableText(head.method, 32) + " is not allowed on " +
                   PrintableText(head.path, 200) + "; allowed: " + allowed;
        p.extra["allow"] = allowed;
      } else {
        p.status = kHttpNotFound;
        p.code = "route_not_found";
        p.detail = "no such endpoint: " + PrintableText(head.method, 32) + " " +
                   PrintableText(head.path, 200) + " (see /v1/openapi.json)";
      }
      return p;
    }
    Call call;
    call.method = method;
    call.path = head.path;
    auto query = QueryOf(head.query);
    if (auto* p = std::get_if<topoplace::Problem>(&query)) return std::move(*p);
    call.query = std::get<std::map<std::string, std::string>>(std::move(query));
    for (size_t m = 1; m < match.size(); ++m) call.params.push_back(match[m]);
    return call;
  }

  std::string RouteLabel(const HttpHead& head) const {
    const std::string method = head.method == "HEAD" ? "GET" : head.method;
    for (size_t i = 0; i < routes_.size(); ++i) {
      if (routes_[i].method == method && std::regex_match(head.path, patterns_[i])) {
        return routes_[i].path;
      }
    }
    return "unmatched";
  }

  HttpAnswer Run(const Route& route, const Call& call, const std::string& request_id) {
    HttpAnswer answer = Answer(route, call, request_id);
    answer.route = route.path;
    if (call.who) answer.token_id = call.who->token_id;
    return answer;
  }

  // The handler's answer (in a solve slot for the routes that solve), its error rendered as a
  // problem. Handlers do not throw; an exception that escapes one is a bug, answered 500.
  HttpAnswer Answer(const Route& route, const Call& call, const std::string& request_id) {
    if (route.solves && !service_.BeginSolve()) {
      topoplace::Problem p;
      p.status = kHttpServiceUnavailable;
      p.code = "too_busy";
      p.detail = "the server is running as many solves as it may; try again shortly";
      return ProblemAnswer(p);
    }
    HttpAnswer answer;
    try {
      RouteResult result = route.handler(service_, call);
      if (result.ok()) {
        Reply& reply = result.value();
        answer.status = reply.status;
        for (const auto& [k, v] : reply.headers) answer.headers.emplace_back(k, v);
        if (reply.content_type.empty()) {
          answer.content_type = "application/json";
          answer.body = DumpJson(reply.body);
        } else {
          answer.content_type = reply.content_type;
          answer.body = std::move(reply.text);
        }
      } else {
        answer = ProblemAnswer(ProblemFromRouteError(result.error()));
      }
    } catch (const std::exception& e) {
      answer = Internal(e.what(), request_id);
    } catch (...) {
      answer = Internal("unknown exception", request_id);
    }
    if (route.solves) service_.EndSolve();
    return answer;
  }

  // A genuine internal error: the client learns the request id, the log learns what happened.
  HttpAnswer Internal(const std::string& what, const std::string& request_id) {
    std::cerr << "topoplace serve: internal error in request " << request_id << ": "
              << PrintableText(what, 500) << std::endl;
    topoplace::Problem p;
    p.status = kHttpInternalError;
    p.code = "internal";
    p.detail = "internal error (request " + request_id + "); the server log has the details";
    return ProblemAnswer(p);
  }

  Service& service_;
  std::vector<Route> routes_;
  std::vector<std::regex> patterns_;
  AccessLog& log_;
};

}  // namespace

int RunServe(const ServeArgs& args, std::ostream& out, std::ostream& err) {
  std::string host;
  int port = 0;
  if (!ParseListen(args.listen, host, port)) {
    err << "topoplace serve: --listen " << QuotedText(args.listen)
        << ": expected HOST:PORT, like 127.0.0.1:8080\n";
    return kExitBadInput;
  }
  std::ofstream access_file;
  if (!args.access_log.empty()) {
    access_file.open(args.access_log, std::ios::app);
    if (!access_file) {
      err << "topoplace serve: --access-log " << QuotedText(args.access_log)
          << ": cannot open for appending\n";
      return kExitUnavailable;
    }
  }
  // The executor settings are read before anything is opened or written: a bad file is exit 2
  // with its errors.
  std::optional<ExecutorSettings> executor_settings;
  if (!args.executors.empty()) {
    Result<ExecutorSettings> settings = LoadExecutorSettings(args.executors);
    if (!settings.ok()) {
      for (const auto& m : settings.status().messages()) err << m << "\n";
      return ExitCodeFor(settings.status().code());
    }
    executor_settings = std::move(settings).value();
  }

  StoreOptions store_options;  // creates the store and its audit key when missing
  store_options.pool_size = args.db_connections;
  store_options.audit_key_file = args.audit_key;
  auto store = Store::Open(args.db, store_options);
  if (!store.ok()) {
    err << "topoplace serve: " << store.status().message() << "\n";
    return ExitCodeFor(store.status().code());
  }
  // First start: seed the store from the scenario.
  Result<bool> has = (*store)->HasInventory();
  if (!has.ok()) {
    err << "topoplace serve: " << has.status().message() << "\n";
    return ExitCodeFor(has.status().code());
  }
  if (!*has) {
    Result<Scenario> seed =
        args.scenario.empty() ? LoadScenarioString(kDefaultScenarioYaml, "scenarios/moc-small.yaml")
                              : LoadScenarioFile(args.scenario);
    if (!seed.ok()) {
      for (const auto& m : seed.status().messages()) err << m << "\n";
      return ExitCodeFor(seed.status().code());
    }
    Status st = (*store)->Import(*seed, Actor{"serve", "system", ""}, NowMillis(), false);
    if (!st.ok() && !(*store)->HasInventory().value()) {  // another replica may have seeded it
      err << "topoplace serve: seeding the store failed: " << st.message() << "\n";
      return ExitCodeFor(st.code());
    }
    err << "topoplace serve: seeded the " << (*store)->kind() << " store from "
        << (args.scenario.empty() ? "the built-in scenario moc-small" : args.scenario) << "\n";
  }
  Result<int64_t> tokens = (*store)->TokenCount();
  if (tokens.ok() && *tokens == 0) {
    Result<std::string> secret =
        (*store)->CreateToken("", "provider-admin", Actor{"serve", "system", ""}, NowMillis());
    if (secret.ok()) {
      err << "topoplace serve: no API tokens yet; created a provider-admin token (shown once):\n  "
          << *secret << "\n";
    }
  }

  ServeArgs effective = args;
  if (effective.max_concurrent_solves <= 0) {
    effective.max_concurrent_solves =
        static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  Service service(std::move(store).value(), effective);
  if (executor_settings) {
    auto executors = ServiceExecutors::Create(service, *executor_settings, BuiltinDrivers());
    if (!executors.ok()) {
      err << "topoplace serve: --executors " << QuotedText(args.executors) << ": "
          << executors.status().message() << "\n";
      return ExitCodeFor(executors.status().code());
    }
    service.SetExecutors(std::move(executors).value());
  }
  AccessLog access_log(args.access_log.empty() ? err : access_file);
  ServiceApp app(service, AllRoutes(), access_log);

  HttpServerOptions options;
  options.host = host;
  options.port = port;
  options.tls_cert_file = args.tls_cert;
  options.tls_key_file = args.tls_key;
  options.max_body_bytes = args.max_body_bytes;
  options.header_timeout_seconds = args.header_timeout_seconds;
  options.body_timeout_seconds = args.body_timeout_seconds;
  options.idle_timeout_seconds = args.idle_timeout_seconds;
  options.max_connections = args.max_connections;
  options.max_connections_per_client = args.max_connections_per_client;
  options.worker_threads = args.threads;
  HttpServer server(options, app);
  if (Status st = server.Listen(); !st.ok()) {
    err << "topoplace serve: " << st.message() << "\n";
    return ExitCodeFor(st.code());
  }

  // SIGINT/SIGTERM stop the server gracefully; the signal is waited for on its own thread, so
  // every other thread (started below) blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Expire reservations now (holds that ran out while no server was up) and then every interval.
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  service.ExpireOnce();
  // Build the view (inventory, topology, node states) before the first request needs it, so the
  // first answer after a start is as fast as any other. A store that cannot be read now is
  // retried by the first request, which then reports it.
  (void)service.CurrentView();
  // Seeding and parsing the inventory left large freed blocks behind (the YAML tree of every
  // node); hand them back so the resident size is what the view really holds.
  ::malloc_trim(0);
  // Plans a previous process left unfinished (a crash, a restart) go on from their journal.
  if (service.executors() != nullptr) {
    // A node whose BMC names a credential set the settings lack would fail its power steps:
    // say so now (the inventory may still be replaced by an import, so it does not stop the start).
    if (std::shared_ptr<const Inventory> inv = service.executors()->CurrentInventory()) {
      if (Status st = CheckCredentialRefs(*inv, *executor_settings); !st.ok()) {
        for (const auto& m : st.messages()) err << "topoplace serve: warning: " << m << "\n";
      }
    }
    if (Status st = service.executors()->Start(); !st.ok()) {
      err << "topoplace serve: cannot resume plans: " << st.message() << "\n";
      return ExitCodeFor(st.code());
    }
    // Allocations a preempting hold evicted are released in the hold's transaction and their
    // plans torn down right after it; a process that stopped in between left those plans up.
    Result<std::vector<std::string>> evicted = service.store().EvictedWithLivePlans();
    if (!evicted.ok()) {
      err << "topoplace serve: warning: cannot read evicted allocations: "
          << evicted.status().message() << "\n";
    } else {
      for (const std::string& id : *evicted) {
        if (Result<bool> torn = service.executors()->TeardownAllocation(id); !torn.ok()) {
          err << "topoplace serve: warning: tearing down evicted allocation " << id << ": "
              << torn.status().message() << "\n";
        }
      }
    }
  }
  std::thread sweeper([&] {
    const auto interval = std::chrono::duration<double>(args.expiry_interval_seconds);
    std::unique_lock lock(stop_mu);
    while (!stop_cv.wait_for(lock, interval, [&] { return stopping.load(); })) {
      lock.unlock();
      service.ExpireOnce();
      lock.lock();
    }
  });

  std::thread signal_waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (!stopping.exchange(true)) server.Stop();
  });

  out << "topoplace serve: listening on " << (server.tls() ? "https" : "http") << "://"
      << (host.find(':') != std::string::npos ? "[" + host + "]" : host) << ":" << server.port()
      << " (" << service.store().kind() << " store, schema v" << service.store().schema_version()
      << ")" << std::endl;
  server.Run();

  {
    std::lock_guard lock(stop_mu);
    stopping = true;
  }
  stop_cv.notify_all();
  sweeper.join();
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  if (service.executors() != nullptr) service.executors()->Stop();
  err << "topoplace serve: stopped\n";
  return kExitOk;
}

}  // namespace topoplace
