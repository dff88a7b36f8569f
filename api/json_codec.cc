#include "api/json_codec.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

#include "executors/plan_builder.h"  // PlanNodes

namespace topoplace {

std::string IsoTime(int64_t ms, bool millis) {
  if (ms <= 0) return "";
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  if (millis) {
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  } else {
    std::snprintf(out, sizeof out, "%sZ", buf);
  }
  return out;
}

std::string JsonText(const Json& j, int indent) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

Json DomainsUsedToJson(const Topology& topology, const std::vector<int>& nodes) {
  Json j = Json::object();
  for (Level l : kAllLevels) {
    std::set<int> used;
    for (int n : nodes) used.insert(topology.DomainOf(n, l));
    j[std::string(LevelName(l))] = used.size();
  }
  return j;
}

Json PlacementResultToJson(const Snapshot& snapshot, const PlacementResult& r) {
  Json nodes = Json::array();
  for (int n : r.nodes) nodes.push_back(snapshot.inventory.nodes[n].name);
  Json j{{"request", r.request},
         {"status", SolveStatusName(r.status)},
         {"nodes", nodes},
         {"costPerHour", r.cost_per_hour},
         {"objective", r.objective.total},
         {"objectiveTerms",
          {{"costPerHour", r.objective.cost_per_hour},
           {"localityDomains", r.objective.locality_domains},
           {"domainsAbove", r.objective.domains_above},
           {"brokenFreeDomains", r.objective.broken_free_domains},
           {"moves", r.objective.moves}}},
         {"bound", r.bound ? Json(*r.bound) : Json(nullptr)},
         {"gap", r.gap ? Json(*r.gap) : Json(nullptr)},
         {"backend", r.backend},
         {"solveMs", r.solve_ms},
         {"domainsUsed", DomainsUsedToJson(snapshot.topology, r.nodes)},
         {"explanation", nullptr}};
  // Preemption: the evicted allocations' names, and what each one was.
  Json evict = Json::array();
  Json evictions = Json::array();
  auto names = [&](const std::vector<int>& list) {
    Json out = Json::array();
    for (int n : list) out.push_back(snapshot.inventory.nodes[n].name);
    return out;
  };
  for (const Eviction& e : r.evictions) {
    evict.push_back(e.allocation);
    evictions.push_back({{"allocation", e.allocation},
                         {"tenant", e.tenant},
                         {"project", e.project},
                         {"priority", e.priority},
                         {"nodes", names(e.nodes)},
                         {"used", names(e.used)},
                         {"domain", e.domain}});
  }
  j["evict"] = std::move(evict);
  j["evictions"] = std::move(evictions);
  if (r.explanation) {
    Json conflict = Json::array();
    for (const auto& c : r.explanation->conflict) {
      conflict.push_back({{"constraint", c.constraint}, {"detail", c.detail}});
    }
    j["explanation"] = {{"summary", r.explanation->summary},
                        {"conflict", conflict},
                        {"relaxations", r.explanation->relaxations}};
  }
  return j;
}

Json PlanStepsJson(const Plan& plan) {
  Json steps = Json::array();
  for (const PlanStep& st : plan.steps) {
    Json j{{"id", st.id},
           {"layer", st.layer},
           {"driver", st.driver},
           {"action", st.action},
           {"phase", StepPhaseName(st.phase)},
           {"state", StepStateName(st.state)},
           {"attempts", st.attempts},
           {"log", st.log}};
    if (!st.node.empty()) j["node"] = st.node;
    if (st.started_ms > 0) j["startedAt"] = IsoTime(st.started_ms, true);
    if (st.updated_ms > 0) j["updatedAt"] = IsoTime(st.updated_ms, true);
    steps.push_back(std::move(j));
  }
  return steps;
}

Json NetworkJson(const TenantNetwork& net, const std::vector<std::string>& plan_nodes) {
  Json addresses = Json::array();
  for (const NodeAddress& a : net.addresses) {
    if (std::find(plan_nodes.begin(), plan_nodes.end(), a.node) == plan_nodes.end()) continue;
    addresses.push_back(
        {{"node", a.node}, {"port", a.port}, {"mac", a.mac}, {"address", a.address}});
  }
  return Json{{"id", net.id},
              {"vlan", net.vlan},
              {"subnet", net.subnet},
              {"gateway", net.gateway},
              {"addresses", addresses}};
}

void AddPlanProgressJson(const Plan& plan, const TenantNetwork* network, Json& j) {
  j["status"] = PlanStatusName(plan.status);
  Json milestones = Json::array();
  for (const Milestone& m : plan.milestones) {
    milestones.push_back({{"name", m.name}, {"at", IsoTime(m.at_ms, true)}});
  }
  j["milestones"] = milestones;
  j["steps"] = PlanStepsJson(plan);
  if (!plan.error.empty()) j["error"] = plan.error;
  if (network != nullptr) j["network"] = NetworkJson(*network, PlanNodes(plan));
  // How the tenant reaches its cluster (partition and controller; API and console URLs and the
  // kubeconfig's reference): once the hand-over has made the cluster.
  if (!plan.access.empty()) {
    Json access = Json::object();
    for (const auto& [k, v] : plan.access) access[k] = v;
    j["access"] = access;
  }
}

Json PlanToJson(const Plan& plan, const TenantNetwork* network) {
  Json j{{"id", plan.id},
         {"allocation", plan.allocation},
         {"tenant", plan.tenant},
         {"project", std::string(ProjectName(plan.project))},
         {"purpose", plan.purpose}};
  AddPlanProgressJson(plan, network, j);
  j["createdAt"] = IsoTime(plan.created_ms);
  j["updatedAt"] = IsoTime(plan.updated_ms);
  return j;
}

Json PlanSummaryJson(const Plan& plan) {
  const auto done = std::count_if(plan.steps.begin(), plan.steps.end(),
                                  [](const PlanStep& s) { return s.state == StepState::kDone; });
  Json j{{"id", plan.id},
         {"allocation", plan.allocation},
         {"tenant", plan.tenant},
         {"project", std::string(ProjectName(plan.project))},
         {"purpose", plan.purpose},
         {"status", PlanStatusName(plan.status)},
         {"stepsDone", done},
         {"stepsTotal", plan.steps.size()}};
  if (!plan.error.empty()) j["error"] = plan.error;
  j["createdAt"] = IsoTime(plan.created_ms);
  j["updatedAt"] = IsoTime(plan.updated_ms);
  return j;
}

}  // namespace topoplace
