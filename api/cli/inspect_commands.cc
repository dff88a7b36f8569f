// `topoplace validate` and `topoplace show`.
#include <algorithm>
#include <array>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "api/cli/commands.h"
#include "api/exit_codes.h"
#include "inventory/scenario_codec.h"
#include "model/topology.h"

namespace topoplace {

namespace {

// Names from the scenario, safe on a terminal.
std::string T(std::string_view s) { return TerminalText(s); }

std::string Fixed(double v, int digits = 2) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

// Counts of nodes by state, and their GPUs, for one group (class, rack, pod, power domain).
struct StateCounts {
  int total = 0;
  int gpus = 0;
  std::array<int, 5> by_state{};  // indexed by NodeState
  void Add(const Node& node, const NodeClass& c) {
    ++total;
    gpus += c.gpu.count;
    ++by_state[static_cast<int>(node.state)];
  }
  Json ToJson() const {
    Json j{{"nodes", total}, {"gpus", gpus}};
    for (int s = 0; s < 5; ++s)
      j[std::string(NodeStateName(static_cast<NodeState>(s)))] = by_state[s];
    return j;
  }
};

constexpr NodeState kStates[] = {NodeState::kAvailable, NodeState::kAllocated, NodeState::kReserved,
                                 NodeState::kMaintenance, NodeState::kFailed};

void PrintCountTable(std::ostream& out, const std::string& title,
                     const std::vector<std::pair<std::string, StateCounts>>& rows) {
  size_t width = title.size();
  for (const auto& [name, _] : rows) width = std::max(width, T(name).size());
  out << "\n"
      << std::left << std::setw(static_cast<int>(width)) << title << std::right << std::setw(7)
      << "nodes" << std::setw(7) << "gpus";
  for (NodeState s : kStates) out << std::setw(13) << NodeStateName(s);
  out << "\n";
  for (const auto& [name, c] : rows) {
    out << std::left << std::setw(static_cast<int>(width)) << T(name) << std::right << std::setw(7)
        << c.total << std::setw(7) << c.gpus;
    for (NodeState s : kStates) out << std::setw(13) << c.by_state[static_cast<int>(s)];
    out << "\n";
  }
}

std::vector<std::pair<std::string, StateCounts>> CountByLevel(const Inventory& inv,
                                                              const Topology& topo, Level level) {
  std::vector<std::pair<std::string, StateCounts>> rows(topo.DomainCount(level));
  for (int d = 0; d < topo.DomainCount(level); ++d) {
    rows[d].first = topo.DomainName(level, d);
    for (int n : topo.NodesIn(level, d)) rows[d].second.Add(inv.nodes[n], inv.ClassOf(n));
  }
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return rows;
}

struct QuotaLine {
  std::string resource;
  double used;
  std::optional<double> limit;
};

std::vector<QuotaLine> QuotaLines(const Tenant& t, const TenantUsage& u) {
  auto opt = [](const auto& o) -> std::optional<double> {
    if (o) return static_cast<double>(*o);
    return std::nullopt;
  };
  return {{"nodes", static_cast<double>(u.nodes), opt(t.quota.nodes)},
          {"gpus", static_cast<double>(u.gpus), opt(t.quota.gpus)},
          {"cpuCores", static_cast<double>(u.cpu_cores), opt(t.quota.cpu_cores)},
          {"memoryGiB", u.memory_gib, t.quota.memory_gib},
          {"storageGiB", u.storage_gib, t.quota.storage_gib}};
}

// The alert thresholds a use fraction has passed (alertAt values <= fraction).
std::vector<double> PassedAlerts(const Tenant& t, double fraction) {
  std::vector<double> passed;
  for (double a : t.alert_at) {
    if (fraction >= a) passed.push_back(a);
  }
  return passed;
}

// Topology tree: site > spine group > pod > leaf > rack > nodes, collapsed past max_children.
class TreePrinter {
 public:
  TreePrinter(const Inventory& inv, const Topology& topo, int max_children, bool list_nodes)
      : inv_(inv), topo_(topo), max_children_(max_children), list_nodes_(list_nodes) {}

  void Print(std::ostream& out) {
    // Group node ids by the path of domains; std::map keeps the output sorted by name.
    using Path = std::map<
        std::string,
        std::map<
            std::string,
            std::map<std::string, std::map<std::string, std::map<std::string, std::vector<int>>>>>>;
    Path tree;
    for (int n = 0; n < topo_.NodeCount(); ++n) {
      tree[Name(n, Level::kSite)][Name(n, Level::kSpine)][Name(n, Level::kPod)]
          [Name(n, Level::kLeaf)][Name(n, Level::kRack)]
              .push_back(n);
    }
    for (const auto& [site, spines] : Collapse(out, tree, 1, "sites")) {
      const Site& s = inv_.sites[inv_.SiteIndex(site)];
      out << "  site " << T(site) << " (" << T(s.region) << ", " << T(s.jurisdiction) << ")"
          << Summary(spines) << "\n";
      for (const auto& [spine, pods] : Collapse(out, spines, 2, "spine groups")) {
        out << "    spines " << T(spine) << Summary(pods) << "\n";
        for (const auto& [pod, leaves] : Collapse(out, pods, 3, "pods")) {
          out << "      pod " << T(pod) << Summary(leaves) << "\n";
          for (const auto& [leaf, racks] : Collapse(out, leaves, 4, "leaves")) {
            const Switch& sw = inv_.switches[inv_.SwitchIndex(leaf)];
            out << "        leaf " << T(leaf) << " (" << T(sw.vendor) << ")" << Summary(racks)
                << "\n";
            for (const auto& [rack, nodes] : Collapse(out, racks, 5, "racks")) {
              const Rack& r = inv_.racks[inv_.RackIndex(rack)];
              out << "          rack " << T(rack);
              if (!r.tags.empty()) {
                out << " [";
                for (size_t i = 0; i < r.tags.size(); ++i) out << (i ? "," : "") << T(r.tags[i]);
                out << "]";
              }
              out << Summary(nodes) << "\n";
              if (!list_nodes_) continue;
              int shown = 0;
              for (int n : nodes) {
                if (shown++ == max_children_) {
                  out << Indent(6) << "... " << nodes.size() - max_children_ << " more nodes\n";
                  break;
                }
                const Node& node = inv_.nodes[n];
                out << Indent(6) << T(node.name) << "  " << T(node.node_class) << "  "
                    << NodeStateName(node.state) << "  " << T(node.power_domain);
                if (!node.holder.empty()) out << "  held by " << T(node.holder);
                out << "\n";
              }
            }
          }
        }
      }
    }
  }

 private:
  const std::string& Name(int node, Level l) const {
    return topo_.DomainName(l, topo_.DomainOf(node, l));
  }
  static std::string Indent(int depth) { return std::string(2 * depth, ' '); }

  template <typename Map>
  std::vector<std::pair<std::string, typename Map::mapped_type>> Collapse(std::ostream& out,
                                                                          const Map& m, int depth,
                                                                          const char* what) {
    std::vector<std::pair<std::string, typename Map::mapped_type>> shown;
    for (const auto& kv : m) {
      if (static_cast<int>(shown.size()) == max_children_) break;
      shown.push_back(kv);
    }
    if (static_cast<int>(m.size()) > max_children_) {
      out << Indent(depth) << "(" << m.size() - max_children_ << " more " << what
          << " not shown; --max-children raises the limit)\n";
    }
    return shown;
  }

  template <typename T>
  std::string Summary(const T& subtree) const {
    std::vector<int> nodes;
    Collect(subtree, nodes);
    int available = 0;
    for (int n : nodes) available += inv_.nodes[n].state == NodeState::kAvailable;
    return ": " + std::to_string(nodes.size()) + " nodes, " + std::to_string(available) +
           " available";
  }
  static void Collect(const std::vector<int>& v, std::vector<int>& out) {
    out.insert(out.end(), v.begin(), v.end());
  }
  template <typename Map>
  static void Collect(const Map& m, std::vector<int>& out) {
    for (const auto& kv : m) Collect(kv.second, out);
  }

  const Inventory& inv_;
  const Topology& topo_;
  int max_children_;
  bool list_nodes_;
};

}  // namespace

bool LoadForCommand(const std::string& file, Scenario& scenario, bool json, std::ostream& out,
                    std::ostream& err, int& exit) {
  Result<Scenario> loaded = LoadScenarioFile(file);
  if (loaded.ok()) {
    scenario = std::move(loaded).value();
    return true;
  }
  exit = ReportFailure(loaded.status(), json, out, err, "", Json{{"file", file}, {"valid", false}});
  return false;
}

int RunValidate(const ValidateArgs& args, std::ostream& out, std::ostream& err) {
  int exit = kExitOk;
  Json files = Json::array();
  Json first_error;
  for (const auto& file : args.files) {
    Result<Scenario> loaded = LoadScenarioFile(file);
    Json entry{{"file", file}, {"valid", loaded.ok()}};
    if (loaded.ok()) {
      const Scenario& s = *loaded;
      entry["nodes"] = s.inventory.nodes.size();
      entry["tenants"] = s.tenants.size();
      entry["requests"] = s.requests.size();
      if (!s.cluster_templates.empty()) entry["clusterTemplates"] = s.cluster_templates.size();
      if (!args.json) {
        out << T(file) << ": valid (" << s.inventory.nodes.size() << " nodes, " << s.tenants.size()
            << " tenants, " << s.allocations.size() << " allocations, " << s.requests.size()
            << " requests";
        if (!s.cluster_templates.empty())
          out << ", " << s.cluster_templates.size() << " cluster templates";
        out << ")\n";
      }
    } else {
      const Status& st = loaded.status();
      exit = std::max(exit, ExitCodeFor(st.code()));
      entry["error"] = ErrorJson(st);
      entry["errors"] = ErrorsJson(st.messages());
      entry["errorCount"] = st.messages().size();
      if (first_error.is_null()) first_error = entry["error"];
      if (!args.json) {
        PrintErrors(err, st.messages());
        err << T(file) << ": " << st.messages().size() << " error(s)\n";
      }
    }
    files.push_back(std::move(entry));
  }
  if (args.json) {
    Json j{{"valid", exit == kExitOk}};
    if (!first_error.is_null()) j["error"] = first_error;
    j["files"] = std::move(files);
    out << JsonText(j) << "\n";
  }
  return exit;
}

int RunShow(const ShowArgs& args, std::ostream& out, std::ostream& err) {
  Scenario scenario;
  int exit = kExitOk;
  if (!LoadForCommand(args.file, scenario, args.json, out, err, exit)) return exit;
  auto snap = MakeSnapshot(scenario.inventory);
  if (!snap.ok()) return ReportFailure(snap.status(), args.json, out, err, T(args.file) + ": ");
  const Inventory& inv = (*snap)->inventory;
  const Topology& topo = (*snap)->topology;

  std::vector<std::pair<std::string, StateCounts>> by_class;
  for (const auto& c : inv.node_classes) by_class.push_back({c.name, {}});
  for (size_t n = 0; n < inv.nodes.size(); ++n) {
    by_class[inv.NodeClassOf(static_cast<int>(n))].second.Add(inv.nodes[n],
                                                              inv.ClassOf(static_cast<int>(n)));
  }
  const auto by_rack = CountByLevel(inv, topo, Level::kRack);
  const auto by_pod = CountByLevel(inv, topo, Level::kPod);
  const auto by_power = CountByLevel(inv, topo, Level::kPowerDomain);
  StateCounts total;
  for (size_t n = 0; n < inv.nodes.size(); ++n)
    total.Add(inv.nodes[n], inv.ClassOf(static_cast<int>(n)));

  if (args.json) {
    auto table = [](const std::vector<std::pair<std::string, StateCounts>>& rows) {
      Json j = Json::object();
      for (const auto& [name, c] : rows) j[name] = c.ToJson();
      return j;
    };
    Json tenants = Json::array();
    for (const Tenant& t : scenario.tenants) {
      const TenantUsage u = UsageOf(inv, t.name);
      Json use = Json::object();
      Json alerts = Json::array();
      for (const auto& q : QuotaLines(t, u)) {
        use[q.resource] = {{"used", q.used}, {"quota", q.limit ? Json(*q.limit) : Json(nullptr)}};
        if (q.limit && *q.limit > 0) {
          for (double a : PassedAlerts(t, q.used / *q.limit))
            alerts.push_back({{"resource", q.resource}, {"alertAt", a}});
        }
      }
      tenants.push_back(
          {{"name", t.name},
           {"usage", use},
           {"costPerHour", u.cost_per_hour},
           {"budgetPerHour", t.budget_per_hour ? Json(*t.budget_per_hour) : Json(nullptr)},
           {"alerts", alerts}});
    }
    Json j{{"file", args.file},
           {"sites", inv.sites.size()},
           {"pods", topo.DomainCount(Level::kPod)},
           {"racks", inv.racks.size()},
           {"switches", inv.switches.size()},
           {"nodes", total.ToJson()},
           {"byClass", table(by_class)},
           {"byPod", table(by_pod)},
           {"byRack", table(by_rack)},
           {"byPowerDomain", table(by_power)},
           {"tenants", tenants},
           {"allocations", scenario.allocations.size()},
           {"requests", scenario.requests.size()}};
    out << JsonText(j) << "\n";
    return kExitOk;
  }

  out << T(args.file) << ": " << inv.sites.size() << " site(s), " << topo.DomainCount(Level::kPod)
      << " pod(s), " << inv.racks.size() << " racks, " << inv.switches.size() << " switches, "
      << inv.nodes.size() << " nodes (" << total.by_state[0] << " available), " << total.gpus
      << " GPUs, " << scenario.tenants.size() << " tenants, " << scenario.allocations.size()
      << " allocations, " << scenario.requests.size() << " requests\n";
  PrintCountTable(out, "class", by_class);
  PrintCountTable(out, "pod", by_pod);
  // Rows past --max-children collapse into one that sums them, so the column totals still hold.
  auto clip = [&](std::vector<std::pair<std::string, StateCounts>> rows, const char* what) {
    if (static_cast<int>(rows.size()) > args.max_children) {
      const size_t hidden = rows.size() - args.max_children;
      StateCounts rest;
      for (size_t i = args.max_children; i < rows.size(); ++i) {
        rest.total += rows[i].second.total;
        rest.gpus += rows[i].second.gpus;
        for (size_t k = 0; k < rest.by_state.size(); ++k)
          rest.by_state[k] += rows[i].second.by_state[k];
      }
      rows.resize(args.max_children);
      // Appended piece by piece: GCC 12's -Wrestrict misfires on "(" + std::string&& in Release.
      std::string label = "(";
      label += std::to_string(hidden);
      label += " more ";
      label += what;
      label += ")";
      rows.push_back({std::move(label), rest});
    }
    return rows;
  };
  PrintCountTable(out, "rack", clip(by_rack, "racks"));
  PrintCountTable(out, "power domain", clip(by_power, "power domains"));

  if (!scenario.tenants.empty()) {
    out << "\ntenant use against quota\n";
    for (const Tenant& t : scenario.tenants) {
      const TenantUsage u = UsageOf(inv, t.name);
      out << "  " << T(t.name) << ":";
      std::vector<std::string> alerts;
      for (const auto& q : QuotaLines(t, u)) {
        out << "  " << q.resource << " " << Fixed(q.used, 0) << "/"
            << (q.limit ? Fixed(*q.limit, 0) : std::string("-"));
        if (q.limit && *q.limit > 0) {
          const auto passed = PassedAlerts(t, q.used / *q.limit);
          if (!passed.empty()) {
            alerts.push_back(q.resource + " at " + Fixed(100 * q.used / *q.limit, 0) + "% (past " +
                             Fixed(100 * passed.back(), 0) + "%)");
          }
        }
      }
      out << "  cost " << Fixed(u.cost_per_hour) << "/h";
      if (t.budget_per_hour) out << " of " << Fixed(*t.budget_per_hour) << "/h";
      out << "\n";
      for (const auto& a : alerts) out << "    ALERT " << a << "\n";
    }
  }

  out << "\ntopology\n";
  TreePrinter(inv, topo, args.max_children, args.all_nodes || inv.nodes.size() <= 200).Print(out);
  return kExitOk;
}

}  // namespace topoplace
