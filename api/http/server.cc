// `topoplace serve`: the HTTP server around the Service.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "api/exit_codes.h"
#include "api/http/service.h"
#include "inventory/scenario_codec.h"

namespace topoplace {

extern const char* const kDefaultScenarioYaml;  // default_scenario.cc, generated

namespace {

constexpr auto kTokenCacheTtl = std::chrono::seconds(5);

std::string StatusText(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status >= 500 ? "Server Error" : "Client Error";
  }
}

thread_local std::string t_route = "unmatched";
thread_local std::chrono::steady_clock::time_point t_start;

Json ProblemJson(const Problem& p) {
  Json j{{"type", "urn:topoplace:problem:" + p.code},
         {"title", StatusText(p.status)},
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

void WriteProblem(httplib::Response& res, const Problem& p) {
  res.status = p.status;
  res.set_content(ProblemJson(p).dump(), "application/problem+json");
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
    } else if (s[i] == '%' && i + 2 < s.size() + 0 && HexDigit(s[i + 1]) >= 0 &&
               HexDigit(s[i + 2]) >= 0) {
      out += static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The query parameters of the request target only: a form-encoded body is not a query.
std::map<std::string, std::string> QueryOf(const std::string& target) {
  std::map<std::string, std::string> out;
  const size_t q = target.find('?');
  if (q == std::string::npos) return out;
  std::string_view rest(target);
  rest.remove_prefix(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    out[UrlDecode(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : UrlDecode(pair.substr(eq + 1));
  }
  return out;
}

// The HTTP library listens with a backlog of 5: a burst of new connections (16 clients starting
// at once) overflows it and the kernel drops SYNs, which clients retry only after a second. Find
// our listening socket and listen again with a real backlog (Linux updates it in place).
void RaiseListenBacklog(int port) {
  for (int fd = 3; fd < 1024; ++fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage addr{};
    socklen_t alen = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) continue;
    int bound = -1;
    if (addr.ss_family == AF_INET) bound = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (addr.ss_family == AF_INET6)
      bound = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    if (bound == port) ::listen(fd, 1024);
  }
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

void ThrowProblem(int status, std::string code, std::string detail, std::string pointer) {
  Problem p;
  p.status = status;
  p.code = std::move(code);
  p.detail = std::move(detail);
  p.pointer = std::move(pointer);
  throw p;
}

std::string IsoTime(int64_t ms) {
  if (ms <= 0) return "";
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

int View::TenantIndex(const std::string& name) const {
  for (size_t i = 0; i < tenants.size(); ++i) {
    if (tenants[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

Service::Service(std::unique_ptr<Store> store, ServeArgs args)
    : store_(std::move(store)), args_(std::move(args)) {}

namespace {

// Overlays node records (state, holder, generation) on a snapshot and its view.
void ApplyNodes(const std::vector<NodeRecord>& nodes, Snapshot& snapshot, View& view) {
  const size_t n = snapshot.inventory.nodes.size();
  for (size_t k = 0; k < nodes.size(); ++k) {
    const NodeRecord& rec = nodes[k];
    const int i = k < n && snapshot.inventory.nodes[k].name == rec.name
                      ? static_cast<int>(k)
                      : snapshot.inventory.NodeIndex(rec.name);
    if (i < 0) continue;
    Node& node = snapshot.inventory.nodes[i];
    node.state = rec.state;
    node.holder = rec.tenant;
    node.exclusive = rec.exclusive.empty() ? std::nullopt : ParseLevel(rec.exclusive);
    view.generations[i] = rec.generation;
    view.holders[i] = rec.holder;
  }
}

}  // namespace

std::shared_ptr<const View> Service::CurrentView() {
  Result<int64_t> version = store_->StateVersion();
  if (!version.ok()) throw ProblemFromStatus(version.status());
  {
    std::lock_guard lock(view_mu_);
    if (view_ && view_->version == *version) return view_;
  }
  std::lock_guard lock(view_mu_);
  if (view_ && view_->version == *version) return view_;
  // Usually only a few nodes changed: fetch those and patch a copy of the current view.
  StoreState state;
  if (view_ && base_) {
    Result<Store::Changes> changes =
        store_->ChangesSince(view_->audit_seq, view_->inventory_version);
    if (!changes.ok()) throw ProblemFromStatus(changes.status());
    if (!changes->full) {
      auto snapshot = std::make_shared<Snapshot>(*view_->snapshot);
      auto view = std::make_shared<View>(*view_);
      ApplyNodes(changes->state.nodes, *snapshot, *view);
      view->version = changes->state.state_version;
      view->audit_seq = changes->state.audit_seq;
      view->snapshot = std::move(snapshot);
      view->tenants = std::move(changes->state.tenants);
      view_ = view;
      return view;
    }
    state = std::move(changes->state);
  } else {
    Result<StoreState> loaded = store_->LoadState();
    if (!loaded.ok()) throw ProblemFromStatus(loaded.status());
    state = std::move(loaded).value();
  }
  if (state.inventory_version != base_version_ || !base_) {
    int64_t inventory_version = 0;
    Result<std::string> yaml = store_->InventoryYaml(inventory_version);
    if (!yaml.ok()) throw ProblemFromStatus(yaml.status());
    Result<Scenario> doc = LoadScenarioString(*yaml, "store inventory");
    if (!doc.ok()) throw ProblemFromStatus(doc.status());
    auto snap = MakeSnapshot(std::move(doc->inventory));
    if (!snap.ok()) throw ProblemFromStatus(snap.status());
    base_ = *snap;
    base_version_ = inventory_version;
  }
  auto snapshot = std::make_shared<Snapshot>(*base_);
  auto view = std::make_shared<View>();
  const size_t n = snapshot->inventory.nodes.size();
  view->generations.assign(n, 0);
  view->holders.assign(n, "");
  ApplyNodes(state.nodes, *snapshot, *view);
  view->version = state.state_version;
  view->audit_seq = state.audit_seq;
  view->inventory_version = state.inventory_version;
  view->snapshot = std::move(snapshot);
  view->tenants = std::move(state.tenants);
  view_ = view;
  return view;
}

Principal Service::Authenticate(const std::string& header) {
  const std::string prefix = "Bearer ";
  if (header.empty()) {
    ThrowProblem(401, "unauthenticated",
                 "this endpoint needs an API token: Authorization: Bearer TOKEN");
  }
  if (header.size() <= prefix.size() || header.compare(0, prefix.size(), prefix) != 0 ||
      header.size() > 512) {
    ThrowProblem(401, "unauthenticated", "the Authorization header is not \"Bearer TOKEN\"");
  }
  const std::string secret = header.substr(prefix.size());
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
      ThrowProblem(401, "unauthenticated", "unknown or revoked API token");
    }
    throw ProblemFromStatus(rec.status());
  }
  Principal p;
  p.token_id = rec->id;
  p.tenant = rec->tenant;
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

std::vector<Route> AllRoutes() {
  std::vector<Route> routes = PlacementRoutes();
  for (Route& r : InfoRoutes()) routes.push_back(std::move(r));
  return routes;
}

int RunServe(const ServeArgs& args, std::ostream& out, std::ostream& err) {
  std::string host;
  int port = 0;
  if (!ParseListen(args.listen, host, port)) {
    err << "topoplace serve: --listen " << args.listen
        << ": expected HOST:PORT, like 127.0.0.1:8080\n";
    return kExitBadInput;
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

  Service service(std::move(store).value(), args);
  const std::vector<Route> routes = AllRoutes();
  std::vector<std::regex> patterns;
  for (const Route& r : routes) patterns.emplace_back(r.pattern);

  httplib::Server server;
  const int threads = args.threads;
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server.set_payload_max_length(static_cast<size_t>(args.max_body_bytes));
  server.set_keep_alive_max_count(10000);
  server.set_tcp_nodelay(true);  // small JSON answers: no waiting on delayed acknowledgements
  server.set_read_timeout(10, 0);
  server.set_write_timeout(10, 0);

  server.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    t_route = "unmatched";
    t_start = std::chrono::steady_clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_logger([&service](const httplib::Request& req, const httplib::Response& res) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    service.metrics().ObserveRequest(t_route, req.method, res.status, secs);
    t_route = "unmatched";  // requests refused before routing (413) have no route
    t_start = std::chrono::steady_clock::now();
  });
  server.set_error_handler(httplib::Server::HandlerWithResponse([&](const httplib::Request& req,
                                                                    httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    Problem p;
    p.status = res.status;
    if (res.status == 404) {
      std::set<std::string> methods;  // the methods this path does take, for the Allow header
      for (size_t i = 0; i < routes.size(); ++i) {
        if (std::regex_match(req.path, patterns[i])) methods.insert(routes[i].method);
      }
      std::string allowed;
      for (const std::string& m : methods) allowed += (allowed.empty() ? "" : ", ") + m;
      if (!allowed.empty()) {
        p.status = 405;
        p.code = "method_not_allowed";
        p.detail = req.method + " is not allowed on " + req.path + "; allowed: " + allowed;
        res.set_header("Allow", allowed);
      } else {
        p.code = "route_not_found";
        p.detail = "no such endpoint: " + req.method + " " + req.path + " (see /v1/openapi.json)";
      }
    } else if (res.status == 413) {
      p.code = "body_too_large";
      p.detail = "the body exceeds " + std::to_string(args.max_body_bytes) + " bytes";
    } else if (res.status == 400) {
      p.code = "bad_http_request";
      p.detail = "the HTTP request could not be read";
    } else {
      p.code = "http_error";
      p.detail = StatusText(res.status);
    }
    WriteProblem(res, p);
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        Problem p;
        p.status = 500;
        p.code = "internal";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          p.detail = e.what();
        } catch (...) {
          p.detail = "unknown error";
        }
        WriteProblem(res, p);
      });

  for (size_t i = 0; i < routes.size(); ++i) {
    const Route* route = &routes[i];
    auto handler = [route, &service](const httplib::Request& req, httplib::Response& res) {
      t_route = route->path;
      try {
        Call call;
        call.method = req.method;
        call.path = req.path;
        call.body = req.body;
        call.query = QueryOf(req.target);
        for (size_t m = 1; m < req.matches.size(); ++m) call.params.push_back(req.matches[m]);
        if (!route->roles.empty()) {
          call.who = service.Authenticate(req.get_header_value("Authorization"));
          bool allowed = false;
          for (Role r : route->roles) allowed = allowed || r == call.who->role;
          if (!allowed) {
            ThrowProblem(403, "forbidden",
                         "role " + std::string(RoleName(call.who->role)) +
                             " may not do this: " + route->summary);
          }
        }
        if (!req.body.empty()) {
          const std::string type = req.get_header_value("Content-Type");
          if (!type.empty() && type.rfind("application/json", 0) != 0) {
            ThrowProblem(415, "unsupported_media_type",
                         "the body must be application/json, not " + type.substr(0, 80));
          }
        }
        Reply reply = route->handler(service, call);
        res.status = reply.status;
        for (const auto& [k, v] : reply.headers) res.set_header(k, v);
        if (reply.content_type.empty()) {
          res.set_content(reply.body.dump(), "application/json");
        } else {
          res.set_content(reply.text, reply.content_type.c_str());
        }
      } catch (const Problem& p) {
        WriteProblem(res, p);
        if (p.status == 401) res.set_header("WWW-Authenticate", "Bearer");
      }
    };
    const std::string& m = route->method;
    if (m == "GET")
      server.Get(route->pattern, handler);
    else if (m == "POST")
      server.Post(route->pattern, handler);
    else if (m == "DELETE")
      server.Delete(route->pattern, handler);
    else if (m == "PUT")
      server.Put(route->pattern, handler);
  }

  const int bound =
      port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    err << "topoplace serve: cannot listen on " << args.listen << "\n";
    return kExitUnavailable;
  }

  // SIGINT/SIGTERM stop the server gracefully; the signal is waited for on its own thread, so
  // every other thread (started below) blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  RaiseListenBacklog(bound);

  // Expire reservations now (holds that ran out while no server was up) and then every interval.
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  service.ExpireOnce();
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
    if (!stopping.exchange(true)) server.stop();
  });

  out << "topoplace serve: listening on http://"
      << (host.find(':') != std::string::npos ? "[" + host + "]" : host) << ":" << bound << " ("
      << service.store().kind() << " store, schema v" << service.store().schema_version() << ")"
      << std::endl;
  server.listen_after_bind();

  stopping = true;
  stop_cv.notify_all();
  sweeper.join();
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  err << "topoplace serve: stopped\n";
  return kExitOk;
}

}  // namespace topoplace
