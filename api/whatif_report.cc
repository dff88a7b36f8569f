#include "api/whatif_report.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>
#include <set>

#include "model/text.h"

namespace topoplace {

std::vector<std::string> NodeNames(const Snapshot& snapshot, const std::vector<int>& nodes) {
  std::vector<std::string> out;
  out.reserve(nodes.size());
  for (int n : nodes) out.push_back(snapshot.inventory.nodes[n].name);
  return out;
}

std::string NodeListText(const Snapshot& snapshot, const std::vector<int>& nodes,
                         size_t max_names) {
  std::string out;
  for (size_t i = 0; i < nodes.size() && i < max_names; ++i) {
    out += (i ? ", " : "") + TerminalText(snapshot.inventory.nodes[nodes[i]].name);
  }
  if (nodes.size() > max_names) out += ", ... (" + std::to_string(nodes.size()) + " in all)";
  std::set<std::string> leaves;
  for (int n : nodes) leaves.insert(snapshot.inventory.nodes[n].leaf);
  if (!leaves.empty() && leaves.size() <= 4) {
    std::string l;
    for (const auto& name : leaves) l += (l.empty() ? "" : ", ") + TerminalText(name);
    out += " (" + l + ")";
  } else if (!leaves.empty()) {
    out += " (" + std::to_string(leaves.size()) + " leaves)";
  }
  return out;
}

std::string FixedText(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string PercentText(double share) { return FixedText(100 * share, 1) + "%"; }

Json EvictionsJson(const Snapshot& snapshot, const std::vector<Eviction>& evictions) {
  Json out = Json::array();
  for (const Eviction& e : evictions) {
    out.push_back({{"allocation", e.allocation},
                   {"tenant", e.tenant},
                   {"project", e.project},
                   {"priority", e.priority},
                   {"nodes", NodeNames(snapshot, e.nodes)},
                   {"used", NodeNames(snapshot, e.used)},
                   {"domain", e.domain}});
  }
  return out;
}

std::string EvictionText(const Snapshot& snapshot, const Eviction& e) {
  std::string out = TerminalText(e.allocation) + " (tenant " + TerminalText(e.tenant) +
                    ", project " + TerminalText(e.project) + ", priority " +
                    std::to_string(e.priority) + ", " + std::to_string(e.nodes.size()) + " node" +
                    (e.nodes.size() == 1 ? "" : "s") + ": " + NodeListText(snapshot, e.nodes, 6);
  if (!e.domain.empty()) out += "; freed from " + TerminalText(e.domain);
  return out + ")";
}

Json ExplanationJson(const Explanation& e) {
  Json conflict = Json::array();
  for (const auto& c : e.conflict)
    conflict.push_back({{"constraint", c.constraint}, {"detail", c.detail}});
  return {{"summary", e.summary}, {"conflict", conflict}, {"relaxations", e.relaxations}};
}

void PrintExplanation(std::ostream& out, const Explanation& e, const std::string& indent) {
  out << indent << "why: " << TerminalText(e.summary) << "\n";
  for (const auto& c : e.conflict)
    out << indent << "  - " << c.constraint << ": " << TerminalText(c.detail) << "\n";
  for (const auto& r : e.relaxations) out << indent << "would succeed: " << TerminalText(r) << "\n";
}

CapacitySummary SummariseCapacity(const Snapshot& snapshot) {
  CapacitySummary c;
  const Inventory& inv = snapshot.inventory;
  std::map<std::string, int> by_class;
  for (const NodeClass& nc : inv.node_classes) by_class[nc.name] = 0;
  for (size_t i = 0; i < inv.nodes.size(); ++i) {
    const Node& n = inv.nodes[i];
    if (!snapshot.states.free(static_cast<int>(i))) continue;
    ++c.free_nodes;
    c.free_gpus += inv.ClassOf(static_cast<int>(i)).gpu.count;
    ++by_class[n.node_class];
  }
  for (const auto& [cls, n] : by_class) c.free_by_class.emplace_back(cls, n);
  const FragmentationReport f = Fragmentation(snapshot);
  c.free_in_free_leaves = f.free_in_free_leaves;
  c.free_in_free_racks = f.free_in_free_racks;
  return c;
}

Json CapacitySummaryJson(const CapacitySummary& c) {
  Json by_class = Json::object();
  for (const auto& [cls, n] : c.free_by_class) by_class[cls] = n;
  return {{"freeNodes", c.free_nodes},
          {"freeGpus", c.free_gpus},
          {"freeNodesByClass", by_class},
          {"freeInFreeLeaves", c.free_in_free_leaves},
          {"freeInFreeRacks", c.free_in_free_racks}};
}

Json CapacityResultJson(const Snapshot& snapshot, const CapacityResult& r, bool with_nodes) {
  Json j{{"copies", r.copies}, {"upperBound", r.upper_bound}, {"exact", r.exact},
         {"proof", r.proof},   {"domains", r.domains},        {"solveMs", r.solve_ms}};
  if (with_nodes) {
    Json copies = Json::array();
    for (const auto& nodes : r.placements) copies.push_back(NodeNames(snapshot, nodes));
    j["placements"] = copies;
  }
  j["whyNoMore"] = r.why_no_more ? ExplanationJson(*r.why_no_more) : Json(nullptr);
  return j;
}

Json FragmentationJson(const FragmentationReport& f, size_t max_domains) {
  auto domains = [&](const std::vector<DomainFree>& list) {
    Json a = Json::array();
    for (size_t i = 0; i < list.size() && i < max_domains; ++i) {
      a.push_back({{"name", list[i].name},
                   {"free", list[i].free},
                   {"total", list[i].total},
                   {"freeGpus", list[i].free_gpus}});
    }
    return a;
  };
  Json largest = Json::array();
  for (const LargestFit& l : f.largest) {
    largest.push_back(
        {{"class", l.node_class}, {"scope", l.scope}, {"nodes", l.nodes}, {"where", l.where}});
  }
  return {{"freeNodes", f.free_nodes},
          {"totalNodes", f.total_nodes},
          {"freeGpus", f.free_gpus},
          {"totalGpus", f.total_gpus},
          {"freeInFreeLeaves", f.free_in_free_leaves},
          {"freeInFreeRacks", f.free_in_free_racks},
          {"gpuFreeInFreeLeaves", f.gpu_free_in_free_leaves},
          {"pods", domains(f.pods)},
          {"racks", domains(f.racks)},
          {"leaves", domains(f.leaves)},
          {"domainsListed", max_domains},
          {"largest", largest}};
}

Json TenantHeadroomJson(const TenantHeadroom& h) {
  auto opt = [](const auto& v) { return v ? Json(*v) : Json(nullptr); };
  return {{"tenant", h.tenant},
          {"used",
           {{"nodes", h.used.nodes},
            {"gpus", h.used.gpus},
            {"cpuCores", h.used.cpu_cores},
            {"memoryGiB", h.used.memory_gib},
            {"storageGiB", h.used.storage_gib},
            {"costPerHour", h.used.cost_per_hour}}},
          {"headroom",
           {{"nodes", opt(h.nodes)},
            {"gpus", opt(h.gpus)},
            {"cpuCores", opt(h.cpu_cores)},
            {"memoryGiB", opt(h.memory_gib)},
            {"storageGiB", opt(h.storage_gib)},
            {"costPerHour", opt(h.cost_per_hour)}}},
          {"shapeCopies", opt(h.shape_copies)},
          {"limiting", h.limiting}};
}

Json ForecastJson(const Forecast& f) {
  auto opt = [](const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); };
  Json j{{"subject", f.subject},
         {"limit", f.limit},
         {"current", f.current},
         {"now", f.now},
         {"outlook", OutlookName(f.outlook)},
         {"reach", opt(f.reach)},
         {"reachLow", opt(f.reach_low)},
         {"reachHigh", opt(f.reach_high)}};
  if (f.fit) {
    j["fit"] = {
        {"points", f.fit->points}, {"slope", f.fit->slope},      {"slopeSe", f.fit->slope_se},
        {"level", f.fit->level},   {"levelSe", f.fit->level_se}, {"tMean", f.fit->t_mean},
        {"r2", f.fit->r2}};
  } else {
    j["fit"] = nullptr;
  }
  return j;
}

void PrintForecasts(std::ostream& out, const std::vector<Forecast>& forecasts,
                    const std::string& time_unit) {
  if (forecasts.empty()) {
    out << "  (no quotas or classes to forecast)\n";
    return;
  }
  for (const Forecast& f : forecasts) {
    out << "  " << TerminalText(f.subject) << ": " << FixedText(f.current, 0) << " of "
        << FixedText(f.limit, 0);
    switch (f.outlook) {
      case Forecast::Outlook::kReached: out << ", already at the limit"; break;
      case Forecast::Outlook::kTooLittleHistory: out << ", too little history for a trend"; break;
      case Forecast::Outlook::kNotRising:
        out << ", trend " << FixedText(f.fit->slope, 3) << "/" << time_unit
            << " (flat or falling): not reached";
        break;
      case Forecast::Outlook::kRising:
        out << ", trend +" << FixedText(f.fit->slope, 3) << " +/- "
            << FixedText(1.96 * f.fit->slope_se, 3) << "/" << time_unit << ": reaches it at "
            << time_unit << " " << FixedText(*f.reach, 1) << " (95%: " << FixedText(*f.reach_low, 1)
            << " to "
            << (f.reach_high ? FixedText(*f.reach_high, 1) : std::string("possibly never")) << ")";
        break;
    }
    out << "\n";
  }
}

}  // namespace topoplace
