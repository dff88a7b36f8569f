#include "api/json_codec.h"

#include <cstdio>
#include <ctime>
#include <set>

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

}  // namespace topoplace
