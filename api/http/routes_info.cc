// Health, metrics, the OpenAPI document, nodes, topology, tenant usage and the audit log.
#include <charconv>
#include <cmath>
#include <iostream>
#include <map>
#include <set>

#include "api/exit_codes.h"
#include "api/http/executors_service.h"
#include "api/http/service.h"

namespace topoplace {
namespace {

const std::vector<Role> kReaders = {Role::kProviderAdmin, Role::kTenantAdmin, Role::kTenantMember,
                                    Role::kAuditor};
const std::vector<Role> kOversight = {Role::kProviderAdmin, Role::kAuditor};

// The first query parameter not in `allowed`, as the error to answer with.
std::optional<RouteError> NoQuery(const Call& c,
                                  std::initializer_list<std::string_view> allowed = {}) {
  for (const auto& [k, v] : c.query) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      return BadParameter(k, "unknown query parameter");
    }
  }
  return std::nullopt;
}

// The position after which a page of an in-memory list starts: the index of the last item of the
// page before (-1 for the first page).
RouteResultOf<int64_t> IndexAfter(const PageRequest& page, std::string_view list) {
  if (page.page_token.empty()) return int64_t{-1};
  Result<std::string> key = DecodePageToken(list, page.page_token);
  int64_t v = -1;
  if (key.ok()) {
    const char* b = key->data();
    const char* e = b + key->size();
    auto [end, ec] = std::from_chars(b, e, v);
    if (ec == std::errc() && end == e && v >= 0) return v;
  }
  return BadParameter("pageToken", "not a token this list gave out; start again without it");
}

// Adds `items`, `total` and `nextPageToken` (when more follow `last_index`) to a list answer.
void AddPage(Json& body, const Json& items, int64_t total, bool more, std::string_view list,
             int64_t last_index) {
  body["items"] = items;
  body["total"] = total;
  if (more) body["nextPageToken"] = EncodePageToken(list, std::to_string(last_index));
}

// Alive: answers while the process runs, without touching the store (answered on the event loop).
RouteResult Healthz(Service& s, const Call& c) {
  if (auto e = NoQuery(c)) return *std::move(e);
  return {kHttpOk, Json{{"status", "ok"}, {"store", s.store().kind()}}};
}

// Ready: the store answers. The problem never names the database's address or credentials.
RouteResult Readyz(Service& s, const Call& c) {
  if (auto e = NoQuery(c)) return *std::move(e);
  if (!s.store().Ping().ok()) {
    RouteError e = WithReason(StatusCode::kUnavailable, "store_unavailable",
                              "the " + s.store().kind() + " store cannot be reached");
    e.message_is_public = true;
    return e;
  }
  return {kHttpOk, Json{{"status", "ready"},
                        {"store", s.store().kind()},
                        {"schemaVersion", s.store().schema_version()}}};
}

// Whether the tenant declares its default project itself (with limits of its own); else the
// default project is listed apart, first.
bool HasDeclaredDefault(const Tenant& t) { return FindProject(t, kDefaultProject) != nullptr; }

RouteResult MetricsRoute(Service& s, const Call& c) {
  if (auto e = NoQuery(c)) return *std::move(e);
  std::string extra;
  Result<std::shared_ptr<const View>> current = s.CurrentView();
  if (!current.ok()) return current.status();
  const View* view = current->get();
  const Inventory& inv = view->snapshot->inventory;
  const NodeStates& states = view->snapshot->states;
  const Topology& topo = view->snapshot->topology;
  std::map<std::pair<std::string, std::string>, int64_t> free;  // (class, pod) -> free nodes
  for (size_t i = 0; i < inv.nodes.size(); ++i) {
    const Node& n = inv.nodes[i];
    auto& count =
        free[{n.node_class,
              topo.DomainName(Level::kPod, topo.DomainOf(static_cast<int>(i), Level::kPod))}];
    if (states.free(static_cast<int>(i))) ++count;
  }
  extra +=
      "# HELP topoplace_free_nodes Nodes available and held by no one, by node class and pod.\n";
  extra += "# TYPE topoplace_free_nodes gauge\n";
  for (const auto& [key, n] : free) {
    extra += "topoplace_free_nodes{class=\"" + MetricLabel(key.first) + "\",pod=\"" +
             MetricLabel(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  extra +=
      "# HELP topoplace_tenant_quota_used_ratio Share of a tenant's quota it holds (reserved or "
      "allocated), by resource.\n";
  extra += "# TYPE topoplace_tenant_quota_used_ratio gauge\n";
  std::string used_lines;
  for (const Tenant& t : view->tenants) {
    const TenantUsage u = UsageOf(inv, states, t.name);
    auto ratio = [&](const char* resource, double used, const auto& limit) {
      if (!limit) return;
      const double l = static_cast<double>(*limit);
      extra += "topoplace_tenant_quota_used_ratio{tenant=\"" + MetricLabel(t.name) +
               "\",resource=\"" + resource + "\"} " +
               std::to_string(l > 0 ? used / l : (used > 0 ? 1.0 : 0.0)) + "\n";
    };
    ratio("nodes", static_cast<double>(u.nodes), t.quota.nodes);
    ratio("gpus", static_cast<double>(u.gpus), t.quota.gpus);
    ratio("cpuCores", static_cast<double>(u.cpu_cores), t.quota.cpu_cores);
    ratio("memoryGiB", u.memory_gib, t.quota.memory_gib);
    ratio("storageGiB", u.storage_gib, t.quota.storage_gib);
    ratio("costPerHour", u.cost_per_hour, t.budget_per_hour);
    used_lines += "topoplace_tenant_nodes_held{tenant=\"" + MetricLabel(t.name) + "\"} " +
                  std::to_string(u.nodes) + "\n";
  }
  extra += "# HELP topoplace_tenant_nodes_held Nodes a tenant holds (reserved or allocated).\n";
  extra += "# TYPE topoplace_tenant_nodes_held gauge\n" + used_lines;
  // Per project: what each project of a tenant holds ("" = its default project), from the store
  // (the view keeps holders by tenant only): one query per tenant.
  std::string project_lines;
  for (const Tenant& t : view->tenants) {
    Result<StoredUsage> u = s.store().UsageOf(t.name);
    if (!u.ok()) continue;  // a tenant removed meanwhile: its series simply ends
    std::vector<std::string> names;
    for (const Project& p : t.projects) names.push_back(p.name);
    if (!HasDeclaredDefault(t)) names.insert(names.begin(), std::string(kDefaultProject));
    for (const std::string& name : names) {
      auto held = u->held_by_project.find(StoredProjectName(name));
      project_lines += "topoplace_project_nodes_held{tenant=\"" + MetricLabel(t.name) +
                       "\",project=\"" + MetricLabel(name) + "\"} " +
                       std::to_string(held == u->held_by_project.end() ? 0 : held->second.nodes) +
                       "\n";
    }
  }
  extra +=
      "# HELP topoplace_project_nodes_held Nodes a tenant's project holds (reserved or "
      "allocated); project \"default\" is the tenant's default project.\n";
  extra += "# TYPE topoplace_project_nodes_held gauge\n" + project_lines;
  extra +=
      "# HELP topoplace_store_state_version The store's state version this process last saw.\n";
  extra += "# TYPE topoplace_store_state_version gauge\n";
  extra += "topoplace_store_state_version " + std::to_string(view->version) + "\n";
  if (ServiceExecutors* ex = s.executors()) extra += ex->RenderMetrics();
  Reply r;
  r.text = s.metrics().Render(extra);
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

RouteResult OpenApi(Service&, const Call& c) {
  if (auto e = NoQuery(c)) return *std::move(e);
  return {kHttpOk, OpenApiDocument(AllRoutes())};
}

RouteResult Nodes(Service& s, const Call& c) {
  if (auto e = NoQuery(c, {"state", "class", "pod", "limit", "pageToken"})) return *std::move(e);
  RouteResultOf<PageRequest> page = PageParams(c, "nodes");
  if (!page.ok()) return std::move(page).error();
  RouteResultOf<int64_t> after = IndexAfter(*page, "nodes");
  if (!after.ok()) return std::move(after).error();
  Result<std::shared_ptr<const View>> current = s.CurrentView();
  if (!current.ok()) return current.status();
  const View* view = current->get();
  const Inventory& inv = view->snapshot->inventory;
  const NodeStates& states = view->snapshot->states;
  const Topology& topo = view->snapshot->topology;
  const Principal& who = c.principal();
  auto filter = [&](const char* key) -> std::string {
    auto it = c.query.find(key);
    return it == c.query.end() ? "" : it->second;
  };
  const std::string state = filter("state"), cls = filter("class"), pod = filter("pod");
  Json nodes = Json::array();
  int64_t total = 0, last = -1;
  bool more = false;
  std::map<std::pair<std::string, std::string>, int64_t> free;
  for (size_t i = 0; i < inv.nodes.size(); ++i) {
    const Node& n = inv.nodes[i];
    const int idx = static_cast<int>(i);
    const std::string& node_pod = topo.DomainName(Level::kPod, topo.DomainOf(idx, Level::kPod));
    if (!cls.empty() && n.node_class != cls) continue;
    if (!pod.empty() && node_pod != pod) continue;
    if (!state.empty() && NodeStateName(states.state(idx)) != state) continue;
    const bool own = !who.sees_all() && states.holder(idx) == who.tenant;
    if (states.free(idx)) ++free[{n.node_class, node_pod}];
    if (!who.sees_all() && !own) continue;  // tenants see their own nodes, and free capacity only
    ++total;
    if (static_cast<int64_t>(i) <= *after) continue;
    if (static_cast<int64_t>(nodes.size()) >= page->limit) {
      more = true;
      continue;
    }
    last = static_cast<int64_t>(i);
    Json j{{"name", n.name},
           {"class", n.node_class},
           {"state", NodeStateName(states.state(idx))},
           {"site", topo.DomainName(Level::kSite, topo.DomainOf(idx, Level::kSite))},
           {"pod", node_pod},
           {"rack", n.rack},
           {"leaf", n.leaf},
           {"powerDomain", n.power_domain},
           {"generation", states.generation(idx)}};
    // Its holder keeps this domain to itself.
    if (const auto level = states.exclusive(idx)) j["exclusive"] = LevelName(*level);
    // "holder" in the API is the reservation or allocation holding the node.
    const std::string& holding = view->holdings[idx];
    if (who.sees_all()) {
      j["tenant"] = states.held(idx) ? Json(states.holder(idx)) : Json(nullptr);
      j["holder"] = holding.empty() ? Json(nullptr) : Json(holding);
    } else {
      j["holder"] = holding;
    }
    nodes.push_back(j);
  }
  Json capacity = Json::array();
  for (const auto& [key, n] : free)
    capacity.push_back({{"class", key.first}, {"pod", key.second}, {"free", n}});
  Json body{{"stateVersion", view->version}, {"nodes", nodes}, {"freeCapacity", capacity}};
  AddPage(body, nodes, total, more, "nodes", last);
  return {kHttpOk, body};
}

RouteResult TopologyRoute(Service& s, const Call& c) {
  if (auto e = NoQuery(c)) return *std::move(e);
  Result<std::shared_ptr<const View>> current = s.CurrentView();
  if (!current.ok()) return current.status();
  const View* view = current->get();
  const Inventory& inv = view->snapshot->inventory;
  const Topology& topo = view->snapshot->topology;
  Json levels = Json::object();
  for (Level level : {Level::kSite, Level::kPod, Level::kRow, Level::kSpine, Level::kLeaf,
                      Level::kRack, Level::kPowerDomain}) {
    Json domains = Json::array();
    for (int d = 0; d < topo.DomainCount(level); ++d) {
      int64_t total = 0, free_nodes = 0;
      std::set<std::string> parents;
      for (int n : topo.NodesIn(level, d)) {
        ++total;
        free_nodes += view->snapshot->states.free(n);
      }
      Json j{{"name", topo.DomainName(level, d)}, {"nodes", total}, {"free", free_nodes}};
      for (Level up : LevelsAbove(level)) {
        const int p = topo.ParentDomain(level, d, up);
        if (p >= 0) j[std::string(LevelName(up))] = topo.DomainName(up, p);
      }
      domains.push_back(j);
    }
    levels[std::string(LevelName(level))] = domains;
  }
  Json classes = Json::array();
  for (const NodeClass& k : inv.node_classes) {
    classes.push_back({{"name", k.name},
                       {"gpu", {{"model", k.gpu.model}, {"count", k.gpu.count}}},
                       {"cpuCores", k.cpu.cores},
                       {"memoryGiB", k.memory_gib},
                       {"costPerHour", k.cost_per_hour}});
  }
  return {kHttpOk,
          Json{{"stateVersion", view->version}, {"nodeClasses", classes}, {"levels", levels}}};
}

// Use against limits, resource by resource: what is used (and of it reserved), the limits, the
// fractions used and an alert for each resource whose fraction passed one of `alert_at`.
// `who` names the holder in the alerts' messages.
struct UsageAgainstLimits {
  Json quota = Json::object(), used = Json::object(), reserved = Json::object(),
       fractions = Json::object(), alerts = Json::array();
};
UsageAgainstLimits MeasureUsage(const std::string& who, const Quota& q,
                                const std::optional<double>& budget,
                                const std::vector<double>& alert_at, const TenantUsage& held,
                                const std::optional<TenantUsage>& held_reserved) {
  UsageAgainstLimits out;
  auto num = [](double v) {
    return std::floor(v) == v && std::fabs(v) < 9e15 ? Json(static_cast<int64_t>(v)) : Json(v);
  };
  auto add = [&](const char* resource, double used_v, double reserved_v,
                 const std::optional<double>& limit) {
    out.used[resource] = num(used_v);
    if (held_reserved) out.reserved[resource] = num(reserved_v);
    out.quota[resource] = limit ? num(*limit) : Json(nullptr);
    if (!limit) return;
    const double f = *limit > 0 ? used_v / *limit : (used_v > 0 ? 1.0 : 0.0);
    out.fractions[resource] = f;
    double crossed = -1;
    for (double a : alert_at) {
      if (f + 1e-12 >= a) crossed = std::max(crossed, a);
    }
    if (crossed > 0) {
      out.alerts.push_back(
          {{"resource", resource},
           {"fraction", f},
           {"threshold", crossed},
           {"message", who + " uses " + std::to_string(static_cast<int>(f * 100 + 0.5)) +
                           "% of its " + resource + " quota"}});
    }
  };
  auto opt = [](const auto& v) -> std::optional<double> {
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
  };
  const TenantUsage r = held_reserved.value_or(TenantUsage{});
  add("nodes", static_cast<double>(held.nodes), static_cast<double>(r.nodes), opt(q.nodes));
  add("gpus", static_cast<double>(held.gpus), static_cast<double>(r.gpus), opt(q.gpus));
  add("cpuCores", static_cast<double>(held.cpu_cores), static_cast<double>(r.cpu_cores),
      opt(q.cpu_cores));
  add("memoryGiB", held.memory_gib, r.memory_gib, q.memory_gib);
  add("storageGiB", held.storage_gib, r.storage_gib, q.storage_gib);
  add("costPerHour", held.cost_per_hour, r.cost_per_hour, budget);
  return out;
}

// The tenant's projects, its default project first unless it declares one of that name (the
// default has no limits of its own then), with their use against their own quotas; alerts past
// the project's alertAt, else the tenant's. `only`: just that project (a token bound to it).
Json ProjectsUsageJson(const Tenant& t, const StoredUsage& u,
                       const std::optional<std::string>& only) {
  std::vector<const Project*> projects;
  for (const Project& p : t.projects) projects.push_back(&p);
  if (!HasDeclaredDefault(t)) projects.insert(projects.begin(), nullptr);
  Json list = Json::array();
  for (const Project* p : projects) {
    const std::string name = p ? p->name : std::string(kDefaultProject);
    const std::string stored = StoredProjectName(name);
    if (only && *only != stored) continue;
    auto held = u.held_by_project.find(stored);
    const std::vector<double>& alert_at = p && !p->alert_at.empty() ? p->alert_at : t.alert_at;
    UsageAgainstLimits m = MeasureUsage(
        "project " + name + " of " + t.name, p ? p->quota : Quota{}, std::nullopt, alert_at,
        held == u.held_by_project.end() ? TenantUsage{} : held->second, std::nullopt);
    m.quota.erase("costPerHour");  // a project has no budget of its own
    list.push_back(Json{{"name", name},
                        {"quota", m.quota},
                        {"usage", m.used},
                        {"fractions", m.fractions},
                        {"alertAt", alert_at},
                        {"alerts", m.alerts}});
  }
  return list;
}

Json UsageJson(const Tenant& t, const StoredUsage& u, const std::optional<std::string>& only) {
  UsageAgainstLimits m =
      MeasureUsage(t.name, t.quota, t.budget_per_hour, t.alert_at, u.held, u.reserved);
  return Json{{"tenant", t.name},
              {"quota", m.quota},
              {"used", m.used},
              {"reserved", m.reserved},
              {"fractions", m.fractions},
              {"costPerHour", u.held.cost_per_hour},
              {"budgetPerHour", t.budget_per_hour ? Json(*t.budget_per_hour) : Json(nullptr)},
              {"alertAt", t.alert_at},
              {"alerts", m.alerts},
              {"reservations", u.reservations},
              {"allocations", u.allocations},
              {"projects", ProjectsUsageJson(t, u, only)}};
}

RouteResult TenantUsageRoute(Service& s, const Call& c) {
  if (auto e = NoQuery(c)) return *std::move(e);
  const std::string& tenant = c.params[0];
  const Principal& who = c.principal();
  const Status not_found =
      WithReason(StatusCode::kNotFound, "tenant_not_found", "no tenant \"" + tenant + "\"");
  if (!who.sees_all() && tenant != who.tenant) return not_found;
  Result<std::shared_ptr<const View>> view = s.CurrentView();
  if (!view.ok()) return view.status();
  const int t = (*view)->TenantIndex(tenant);
  if (t < 0) return not_found;
  Result<StoredUsage> usage = s.store().UsageOf(tenant);
  if (!usage.ok()) return usage.status();
  return {kHttpOk, UsageJson((*view)->tenants[t], *usage, who.project)};
}

RouteResult TenantsRoute(Service& s, const Call& c) {
  if (auto e = NoQuery(c, {"limit", "pageToken"})) return *std::move(e);
  RouteResultOf<PageRequest> page = PageParams(c, "tenants");
  if (!page.ok()) return std::move(page).error();
  RouteResultOf<int64_t> after = IndexAfter(*page, "tenants");
  if (!after.ok()) return std::move(after).error();
  Result<std::shared_ptr<const View>> current = s.CurrentView();
  if (!current.ok()) return current.status();
  const View* view = current->get();
  Json list = Json::array();
  int64_t total = 0, last = -1;
  bool more = false;
  for (size_t i = 0; i < view->tenants.size(); ++i) {
    const Tenant& t = view->tenants[i];
    if (!c.principal().sees_all() && t.name != c.principal().tenant) continue;
    ++total;
    if (static_cast<int64_t>(i) <= *after) continue;
    if (static_cast<int64_t>(list.size()) >= page->limit) {
      more = true;
      continue;
    }
    last = static_cast<int64_t>(i);
    list.push_back(
        {{"name", t.name},
         {"compliance", t.compliance},
         {"budgetPerHour", t.budget_per_hour ? Json(*t.budget_per_hour) : Json(nullptr)}});
  }
  Json body{{"tenants", list}};
  AddPage(body, list, total, more, "tenants", last);
  return {kHttpOk, body};
}

RouteResult AuditRoute(Service& s, const Call& c) {
  if (auto e = NoQuery(c, {"after", "limit", "tenant", "pageToken"})) return *std::move(e);
  AuditQuery q;
  auto num = [&](const char* key, int64_t def, int64_t min, int64_t max) -> RouteResultOf<int64_t> {
    auto it = c.query.find(key);
    if (it == c.query.end()) return def;
    const std::string& text = it->second;
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (!text.empty() && ec == std::errc() && end == text.data() + text.size() && v >= min &&
        v <= max) {
      return v;
    }
    return BadParameter(
        key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
  };
  RouteResultOf<int64_t> after = num("after", 0, 0, INT64_MAX / 2);
  if (!after.ok()) return std::move(after).error();
  q.after_seq = *after;
  RouteResultOf<PageRequest> page = PageParams(c, "audit");
  if (!page.ok()) return std::move(page).error();
  // The page token carries the last sequence number seen (as `after` does, which stays).
  if (!page->page_token.empty()) {
    RouteResultOf<int64_t> seen = IndexAfter(*page, "audit");
    if (!seen.ok()) return std::move(seen).error();
    q.after_seq = std::max(q.after_seq, *seen);
  }
  q.limit = page->limit + 1;  // one more tells whether another page follows
  if (auto it = c.query.find("tenant"); it != c.query.end()) q.tenant = it->second;
  Result<std::vector<AuditEntry>> listed = s.store().ListAudit(q);
  if (!listed.ok()) return listed.status();
  std::vector<AuditEntry>& entries = *listed;
  const bool more = static_cast<int64_t>(entries.size()) > page->limit;
  if (more) entries.resize(static_cast<size_t>(page->limit));
  Json list = Json::array();
  int64_t last = q.after_seq;
  for (const AuditEntry& e : entries) {
    auto detail = Json::parse(e.detail, nullptr, false);
    list.push_back({{"seq", e.seq},
                    {"at", IsoTime(e.at_ms)},
                    {"actor", e.actor},
                    {"action", e.action},
                    {"tenant", e.tenant},
                    {"subject", e.subject},
                    {"detail", detail.is_discarded() ? Json(e.detail) : detail},
                    {"prevHash", e.prev_hash},
                    {"hash", e.hash}});
    last = e.seq;
  }
  Json body{{"entries", list}, {"next", last}};
  Result<int64_t> count = s.store().CountAudit(q.tenant);
  if (!count.ok()) return count.status();
  AddPage(body, list, *count, more, "audit", last);
  return {kHttpOk, body};
}

}  // namespace

std::vector<Route> InfoRoutes() {
  return {
      {"GET", "/healthz", "/healthz", "check that the service is alive", {}, Healthz},
      {"GET", "/readyz", "/readyz", "check that the service can reach its store", {}, Readyz},
      {"GET", "/metrics", "/metrics", "read the metrics (Prometheus text format)", kOversight,
       MetricsRoute},
      {"GET",
       "/v1/openapi.json",
       "/v1/openapi.json",
       "read this API's OpenAPI document",
       {},
       OpenApi},
      {"GET", "/v1/nodes", "/v1/nodes", "list nodes", kReaders, Nodes},
      {"GET", "/v1/topology", "/v1/topology", "read the topology", kReaders, TopologyRoute},
      {"GET", "/v1/tenants", "/v1/tenants", "list tenants", kReaders, TenantsRoute},
      {"GET", "/v1/tenants/([A-Za-z0-9_.-]{1,128})/usage", "/v1/tenants/{tenant}/usage",
       "read a tenant's use against quota, cost and alerts", kReaders, TenantUsageRoute},
      {"GET", "/v1/audit", "/v1/audit", "read the audit log", kOversight, AuditRoute},
  };
}

}  // namespace topoplace
