// The OpenAPI 3 document, built from the same route table the server registers, so the document
// and the routes served cannot drift apart.
#include <regex>
#include <set>

#include "api/http/service.h"
#include "api/whatif.h"
#include "model/request_schema.h"
#include "solver/backend.h"

namespace topoplace {
namespace {

Json Ref(const std::string& name) { return Json{{"$ref", "#/components/schemas/" + name}}; }

// The schema of one request field, from the request schema's table (model/request_schema.h).
Json FieldSchema(const RequestField& f) {
  const Json names = Json{
      {"oneOf",
       Json::array(
           {Json{{"type", "string"}, {"minLength", 1}, {"maxLength", kMaxRequestText}},
            Json{{"type", "array"},
                 {"items", {{"type", "string"}, {"minLength", 1}, {"maxLength", kMaxRequestText}}},
                 {"minItems", 1}}})}};
  auto bounded = [&](Json j) {
    if (f.bounds.min_exclusive) {
      j["exclusiveMinimum"] = f.bounds.min;
    } else {
      j["minimum"] = f.bounds.min;
    }
    j["maximum"] = f.bounds.max;
    return j;
  };
  Json j;
  switch (f.type) {
    case FieldType::kObject: {
      j = Json{{"type", "object"}, {"additionalProperties", false}};
      Json properties = Json::object();
      Json required = Json::array();
      for (const RequestField* c : ChildFields(f.path)) {
        properties[std::string(c->key())] = FieldSchema(*c);
        if (c->required) required.push_back(std::string(c->key()));
      }
      if (!required.empty()) j["required"] = required;
      j["properties"] = properties;
      break;
    }
    case FieldType::kInt: j = bounded(Json{{"type", "integer"}}); break;
    case FieldType::kNumber: j = bounded(Json{{"type", "number"}}); break;
    case FieldType::kBool: j = Json{{"type", "boolean"}}; break;
    case FieldType::kString:
      j = Json{{"type", "string"}, {"minLength", 1}, {"maxLength", kMaxRequestText}};
      break;
    case FieldType::kEnum: {
      Json values = Json::array();
      for (std::string_view v : f.values) values.push_back(std::string(v));
      j = Json{{"type", "string"}, {"enum", values}};
      break;
    }
    case FieldType::kStringList: j = f.single_allowed ? names : names["oneOf"][1]; break;
    case FieldType::kPredicate:
      j = Json{{"oneOf",
                Json::array({bounded(Json{{"type", "number"}}),
                             Json{{"type", "string"},
                                  {"pattern", "^\\s*(==|!=|<=|>=|<|>)?\\s*[0-9.eE+-]+\\s*$"}}})}};
      break;
    case FieldType::kLabelMap:
      j = Json{
          {"type", "object"},
          {"additionalProperties",
           {{"oneOf",
             Json::array(
                 {Json{{"type", "string"}},
                  Json{{"type", "array"}, {"items", {{"type", "string"}}}, {"minItems", 1}},
                  Json{
                      {"type", "object"},
                      {"minProperties", 1},
                      {"maxProperties", 1},
                      {"additionalProperties", false},
                      {"properties",
                       {{"in", names}, {"notIn", names}, {"exists", {{"type", "boolean"}}}}}}})}}}};
      break;
  }
  if (!f.doc.empty()) j["description"] = std::string(f.doc);
  if (!f.default_value.empty()) {
    switch (f.type) {
      case FieldType::kInt: j["default"] = std::stoll(std::string(f.default_value)); break;
      case FieldType::kBool: j["default"] = f.default_value == "true"; break;
      default: j["default"] = std::string(f.default_value); break;
    }
  }
  return j;
}

Json RequestSchema() {
  Json properties = Json::object();
  for (const RequestField* f : ChildFields("")) properties[std::string(f->key())] = FieldSchema(*f);
  properties["tenant"]["description"] =
      "the tenant the nodes are for; defaults to the token's tenant";
  if (properties.contains("project")) {
    properties["project"]["description"] =
        "the tenant's project the nodes are for; defaults to the token's project, else the "
        "tenant's default project \"\"; a token bound to a project may name only that one";
  }
  return Json{
      {"type", "object"},
      {"description",
       "One request of the scenario language, as JSON. Exactly one of nodes or gpus; a spread "
       "names at least one of maxPerDomain, maxFraction, minDomains."},
      {"additionalProperties", false},
      {"properties", properties}};
}

Json ProblemSchema() {
  return Json{
      {"type", "object"},
      {"description", "application/problem+json with a stable code"},
      {"required", {"type", "title", "status", "code", "detail"}},
      {"properties",
       {{"type", {{"type", "string"}}},
        {"title", {{"type", "string"}}},
        {"status", {{"type", "integer"}}},
        {"code", {{"type", "string"}, {"example", "generation_conflict"}}},
        {"detail", {{"type", "string"}}},
        {"pointer", {{"type", "string"}, {"description", "JSON pointer of the offending field"}}},
        {"parameter", {{"type", "string"}}},
        {"errors", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};
}

Json ObjectSchema(const std::string& description) {
  return Json{{"type", "object"}, {"description", description}};
}

// The project member of reservations, allocations and placements.
Json ProjectProperty(const std::string& of) {
  return Json{{"type", "string"},
              {"description",
               "the tenant's project " + of + " belongs to (\"\" = the tenant's default project)"}};
}
Json WithProject(Json schema, const std::string& of) {
  schema["properties"]["project"] = ProjectProperty(of);
  return schema;
}

// A holder's use against its limits, resource by resource (nodes, gpus, cpuCores, memoryGiB,
// storageGiB; costPerHour for a tenant).
Json ResourceMap(const std::string& description) {
  return Json{{"type", "object"},
              {"description", description},
              {"additionalProperties", {{"type", "number"}, {"nullable", true}}}};
}

Json TenantUsageSchema() {
  Json alerts = {{"type", "array"},
                 {"items",
                  {{"type", "object"},
                   {"properties",
                    {{"resource", {{"type", "string"}}},
                     {"fraction", {{"type", "number"}}},
                     {"threshold", {{"type", "number"}}},
                     {"message", {{"type", "string"}}}}}}}};
  Json j = ObjectSchema("a tenant's use against its quota and budget, with alerts past alertAt");
  j["properties"] = {
      {"tenant", {{"type", "string"}}},
      {"quota", ResourceMap("limits; null = none")},
      {"used", ResourceMap("held: reserved or allocated")},
      {"reserved", ResourceMap("the part of used that is only reserved")},
      {"fractions", ResourceMap("used / quota, for the limits set")},
      {"alerts", alerts},
      {"projects",
       {{"type", "array"},
        {"description",
         "the tenant's projects (\"\" = its default project, which has no limits of its own; a "
         "token bound to a project sees only that one), each with its own quota, its usage and "
         "alerts past the project's alertAt, else the tenant's"},
        {"items",
         {{"type", "object"},
          {"required", {"name", "quota", "usage", "alerts"}},
          {"properties",
           {{"name", {{"type", "string"}}},
            {"quota", ResourceMap("the project's own limits; null = bounded by the tenant's only")},
            {"usage", ResourceMap("held by the project: reserved or allocated")},
            {"fractions", ResourceMap("usage / quota, for the limits set")},
            {"alertAt", {{"type", "array"}, {"items", {{"type", "number"}}}}},
            {"alerts", alerts}}}}}}}};
  return j;
}

// A solver result. Its status is one of the solver's (solver/solver.h): "infeasible" only with a
// proof, "noSolutionFound" and "timeout" when nothing was placed and nothing proven.
Json PlacementSchema() {
  Json statuses = Json::array();
  for (SolveStatus s : kAllSolveStatuses) statuses.push_back(std::string(SolveStatusName(s)));
  Json j = ObjectSchema(
      "a solver result: status, nodes, costPerHour, objective, bound, gap, backend, explanation "
      "(for a proven infeasible request), and for a request with preemption the allocations "
      "it evicts (evict, evictions)");
  j["required"] = Json::array({"status"});
  const Json names = {{"type", "array"}, {"items", {{"type", "string"}}}};
  Json eviction = ObjectSchema("one allocation evicted whole to make room, and why");
  eviction["required"] =
      Json::array({"allocation", "tenant", "project", "priority", "nodes", "used", "domain"});
  eviction["properties"] = {
      {"allocation", {{"type", "string"}, {"description", "the evicted allocation's name"}}},
      {"tenant", {{"type", "string"}, {"description", "the tenant that held it"}}},
      {"project", ProjectProperty("the evicted allocation")},
      {"priority",
       {{"type", "integer"},
        {"description",
         "its priority (its own, else its request's, else 0): strictly below the "
         "request's"}}},
      {"nodes",
       {{"type", "array"},
        {"items", {{"type", "string"}}},
        {"description", "all of its nodes: an allocation is evicted whole"}}},
      {"used",
       {{"type", "array"},
        {"items", {{"type", "string"}}},
        {"description",
         "the nodes of it the placement uses; empty when it was evicted "
         "for the quota or budget it returns or the domain it kept "
         "closed (exclusivity)"}}},
      {"domain",
       {{"type", "string"},
        {"description",
         "where it was freed from: the domain of the request's "
         "locality level (else leaf) holding most of used, like "
         "\"leaf/leaf-a3\""}}}};
  Json evict = names;
  evict["description"] =
      "the names of the allocations evicted to place the request, sorted; empty when it fits "
      "without evicting. With status optimal their count, then the sum of their priorities, is "
      "proven the least any placement needs";
  j["properties"] = {{"status", {{"type", "string"}, {"enum", statuses}}},
                     {"project", ProjectProperty("the request")},
                     {"evict", evict},
                     {"evictions",
                      {{"type", "array"},
                       {"description", "what each evicted allocation was, in the order of evict"},
                       {"items", eviction}}}};
  return j;
}

std::string OperationId(const Route& r) {
  std::string id = r.method == "GET" ? "get" : r.method == "POST" ? "post" : "delete";
  bool upper = true;
  for (char c : r.path) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      id += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    } else {
      upper = true;
    }
  }
  return id;
}

std::string ResponseSchema(const Route& r) {
  if (r.path.find("placements:solve") != std::string::npos) return "Placement";
  if (r.path.find(":commit") != std::string::npos) return "Allocation";
  if (r.path.rfind("/v1/reservations", 0) == 0) return "Reservation";
  if (r.path.rfind("/v1/allocations", 0) == 0) return "Allocation";
  if (r.path.rfind("/v1/clusters", 0) == 0) return "Cluster";
  if (r.path == "/v1/tenants/{tenant}/usage") return "TenantUsage";
  if (r.path == "/v1/whatif") return "WhatIfReport";
  if (r.path == "/v1/capacity") return "CapacityReport";
  return "";
}

}  // namespace

Json OpenApiDocument(const std::vector<Route>& routes, const BackendRegistry& backends) {
  Json paths = Json::object();
  for (const Route& r : routes) {
    Json op{{"summary", r.summary}, {"operationId", OperationId(r)}};
    Json params = Json::array();
    static const std::regex kParam("\\{([a-z]+)\\}");
    for (auto it = std::sregex_iterator(r.path.begin(), r.path.end(), kParam);
         it != std::sregex_iterator(); ++it) {
      params.push_back({{"name", (*it)[1].str()},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", "string"}}}});
    }
    const bool plans = r.path == "/v1/whatif" || r.path == "/v1/capacity";  // api/whatif.h
    const bool solves = r.method == "POST" && r.path.find("{id}") == std::string::npos && !plans;
    if (plans) {
      op["requestBody"] = {
          {"required", r.path == "/v1/whatif"},
          {"content",
           {{"application/json",
             {{"schema", Ref(r.path == "/v1/whatif" ? "WhatIfBody" : "CapacityBody")}}}}}};
    }
    if (solves) {
      params.push_back({{"name", "backend"},
                        {"in", "query"},
                        {"schema", {{"type", "string"}, {"enum", backends.Choices()}}}});
      params.push_back({{"name", "timeLimitSeconds"},
                        {"in", "query"},
                        {"schema", {{"type", "number"}, {"minimum", 0.001}, {"maximum", 60}}}});
      if (r.path == "/v1/reservations") {
        params.push_back(
            {{"name", "ttlSeconds"},
             {"in", "query"},
             {"schema",
              {{"type", "number"}, {"minimum", 1}, {"maximum", 86400}, {"default", 300}}}});
      }
      Json body = Ref("Request");
      if (r.path == "/v1/clusters") {
        // A cluster is a request (with its purpose and project), or a template ordered by name.
        body = Json{{"oneOf", Json::array({Ref("Request"), Ref("TemplateOrder")})}};
      }
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", body}}}}}};
    }
    if (r.path == "/v1/reservations/{id}:commit") {
      params.push_back({{"name", "resolve"},
                        {"in", "query"},
                        {"schema", {{"type", "boolean"}, {"default", false}}},
                        {"description",
                         "on 409 (deadline passed, nodes moved) solve once more and commit that"}});
    }
    if (r.method == "GET" && (r.path == "/v1/reservations" || r.path == "/v1/allocations")) {
      params.push_back({{"name", "all"},
                        {"in", "query"},
                        {"schema", {{"type", "boolean"}}},
                        {"description", "include finished ones"}});
      params.push_back({{"name", "project"},
                        {"in", "query"},
                        {"schema", {{"type", "string"}}},
                        {"description",
                         "only this project's (\"\" = the default project); a token bound to a "
                         "project may name only its own"}});
    }
    if (r.path == "/v1/audit") {
      params.push_back(
          {{"name", "after"}, {"in", "query"}, {"schema", {{"type", "integer"}, {"minimum", 0}}}});
      params.push_back({{"name", "tenant"}, {"in", "query"}, {"schema", {{"type", "string"}}}});
    }
    // Every list route pages: `items`, `total`, and `nextPageToken` while more follow.
    static const std::set<std::string> kLists = {"/v1/reservations", "/v1/allocations",
                                                 "/v1/clusters",     "/v1/nodes",
                                                 "/v1/tenants",      "/v1/audit"};
    if (r.method == "GET" && kLists.count(r.path)) {
      params.push_back(
          {{"name", "limit"},
           {"in", "query"},
           {"schema", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}, {"default", 100}}}});
      params.push_back({{"name", "pageToken"},
                        {"in", "query"},
                        {"schema", {{"type", "string"}}},
                        {"description", "the nextPageToken of the page before (opaque)"}});
    }
    if (r.path == "/v1/nodes") {
      for (const char* f : {"state", "class", "pod"}) {
        params.push_back({{"name", f}, {"in", "query"}, {"schema", {{"type", "string"}}}});
      }
    }
    if (!params.empty()) op["parameters"] = params;
    Json ok_content;
    if (r.path == "/metrics") {
      ok_content = {{"text/plain", {{"schema", {{"type", "string"}}}}}};
    } else {
      const std::string schema = ResponseSchema(r);
      ok_content = {{"application/json",
                     {{"schema", schema.empty() ? Json{{"type", "object"}} : Ref(schema)}}}};
    }
    Json responses = Json::object();
    responses[std::to_string(r.success)] = {{"description", "success"}, {"content", ok_content}};
    const Json problem = {{"application/problem+json", {{"schema", Ref("Problem")}}}};
    responses["default"] = {{"description", "an error (problem+json with a stable code)"},
                            {"content", problem}};
    op["responses"] = responses;
    if (r.roles.empty()) {
      op["security"] = Json::array();
    } else {
      std::string roles;
      for (Role role : r.roles) roles += (roles.empty() ? "" : ", ") + std::string(RoleName(role));
      op["description"] = "Roles: " + roles + ".";
    }
    std::string method = r.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths[r.path][method] = op;
  }
  return Json{
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "topoplace placement service"},
        {"version", "0.1.0"},
        {"description",
         "Topology-aware placement as a service: dry-run solves, reservations with a deadline, "
         "commits with optimistic concurrency (node generations, 409 generation_conflict), "
         "allocations, tenant usage and an audit log."}}},
      {"paths", paths},
      {"components",
       {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
        {"schemas",
         {{"Request", RequestSchema()},
          {"Problem", ProblemSchema()},
          {"Placement", PlacementSchema()},
          {"Reservation",
           WithProject(ObjectSchema("nodes held for a tenant's project until expiresAt, each with "
                                    "its generation and the rule that admitted it, and its "
                                    "priority; a reservation whose request has `preemption:` "
                                    "also lists the allocations it evicted in the same "
                                    "transaction (`evicted`, each released as DELETE releases "
                                    "it, with its plan's teardown). Scope all is provider-admin "
                                    "only: 403 preemption_not_allowed"),
                       "the reservation")},
          {"Allocation",
           WithProject(ObjectSchema("nodes allocated to a tenant's project, with its priority "
                                    "(what a preempting request compares against) and, once "
                                    "evicted, `evictedBy` (the evicting reservation, shown to "
                                    "the provider and the evicting tenant only)"),
                       "the allocation")},
          {"TenantUsage", TenantUsageSchema()},
          {"Cluster",
           ObjectSchema("an allocation on its way to a cluster: status (PROGRESSING, READY, "
                        "FAILED, DELETING, DELETED), milestones in order with their times, "
                        "steps, nodes, network (vlan, subnet, gateway, addresses) and, once "
                        "handed over, access (slurm: partition, controller; openshift: apiUrl, "
                        "consoleUrl, kubeconfig reference)")},
          {"TemplateOrder",
           Json{{"type", "object"},
                {"description", "a cluster from one of the scenario's cluster templates "
                                "(GET /v1/cluster-templates): every node set placed in one "
                                "solve, all or none"},
                {"required", Json::array({"template"})},
                {"additionalProperties", false},
                {"properties",
                 {{"template", {{"type", "string"}}},
                  {"tenant", {{"type", "string"}}},
                  {"project", ProjectProperty("the cluster")},
                  {"name", {{"type", "string"}}}}}}},
          {"WhatIfBody", WhatIfBodySchema(Ref("Request"))},
          {"CapacityBody", CapacityBodySchema(Ref("Request"))},
          {"WhatIfReport",
           ObjectSchema("the report of `topoplace whatif --json`: changes, affected allocations "
                        "and their repairs (an unrepairable one with `preemption`, the fewest "
                        "lower-priority evictions that would repair it, or `noPreemption` and "
                        "why), capacity and shape copies before and after, and with `place` the "
                        "request's outcome (fits, fitsByEvicting with the evictions, impossible, "
                        "notPlaced); plus stateVersion")},
          {"CapacityReport",
           ObjectSchema("the report of `topoplace capacity --json`: copies of the "
                        "shape, tenant headroom, fragmentation; plus "
                        "stateVersion")}}}}},
      {"security", Json::array({Json{{"bearer", Json::array()}}})}};
}

}  // namespace topoplace
