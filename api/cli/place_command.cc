// `topoplace place`: solve the scenario's requests and print the placements.
#include <algorithm>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

#include "api/cli/commands.h"
#include "api/exit_codes.h"
#include "api/json_codec.h"
#include "model/text.h"

namespace topoplace {

namespace {

// Names and text from the scenario, safe on a terminal.
std::string T(std::string_view s) { return TerminalText(s); }

std::string Money(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << v;
  return s.str();
}

// A placement that evicts: the names on one line, then what each victim was.
void PrintEvictions(std::ostream& out, const PlacementResult& r) {
  if (r.evictions.empty()) return;
  out << "  evict:";
  for (size_t i = 0; i < r.evictions.size(); ++i)
    out << (i ? ", " : " ") << T(r.evictions[i].allocation);
  out << "\n";
  for (const Eviction& e : r.evictions) {
    out << "    - " << T(e.allocation) << ": tenant " << T(e.tenant) << ", priority " << e.priority
        << ", " << e.nodes.size() << (e.nodes.size() == 1 ? " node" : " nodes") << ", from "
        << T(e.domain.empty() ? std::string("-") : e.domain) << "\n";
  }
}

void PrintResult(std::ostream& out, const Snapshot& snap, const Request& request,
                 const PlacementResult& r) {
  const Topology& topo = snap.topology;
  out << "request " << T(r.request) << " (tenant " << T(request.tenant);
  if (!request.project.empty()) out << ", project " << T(request.project);
  out << "): " << SolveStatusName(r.status);
  if (HasPlacement(r.status)) {
    out << ", " << r.nodes.size() << " nodes, " << Money(r.cost_per_hour) << "/h\n";
    // Nodes grouped by pod, then leaf and rack.
    std::map<std::string, std::map<std::string, std::vector<std::string>>> groups;
    for (int n : r.nodes) {
      const std::string where =
          "leaf " + topo.DomainName(Level::kLeaf, topo.DomainOf(n, Level::kLeaf)) + " / rack " +
          topo.DomainName(Level::kRack, topo.DomainOf(n, Level::kRack));
      groups[topo.DomainName(Level::kPod, topo.DomainOf(n, Level::kPod))][where].push_back(
          snap.inventory.nodes[n].name);
    }
    for (const auto& [pod, wheres] : groups) {
      out << "  pod " << T(pod) << "\n";
      for (const auto& [where, names] : wheres) {
        out << "    " << T(where) << ":";
        for (const auto& name : names) out << " " << T(name);
        out << "\n";
      }
    }
    const Json used = DomainsUsedToJson(topo, r.nodes);
    std::string domains;
    for (const auto& [level, count] : used.items()) {
      domains += (domains.empty() ? " " : ", ") + level + " " + std::to_string(count.get<int>());
    }
    out << "  domains used:" << domains << "\n";
    const ObjectiveTerms& t = r.objective;
    out << "  objective " << Money(t.total) << " (cost " << Money(t.cost_per_hour)
        << "/h, locality domains " << t.locality_domains << ", domains above " << t.domains_above
        << ", broken free racks/leaves " << t.broken_free_domains;
    if (t.moves) out << ", moves " << t.moves;
    out << ")\n";
    out << "  bound " << (r.bound ? Money(*r.bound) : std::string("-")) << ", gap "
        << (r.gap ? Money(100 * *r.gap) + "%" : std::string("-")) << ", backend " << r.backend
        << ", " << Money(r.solve_ms) << " ms\n";
    PrintEvictions(out, r);
  } else {
    out << " (" << r.backend << ", " << Money(r.solve_ms) << " ms)\n";
    if (r.explanation) {
      out << "  why: " << T(r.explanation->summary) << "\n";
      for (const auto& c : r.explanation->conflict) {
        // Details usually start with their constraint's name already.
        out << "    - " << T(c.detail.rfind(c.constraint, 0) == 0 ? "" : c.constraint + ": ")
            << T(c.detail) << "\n";
      }
      for (const auto& x : r.explanation->relaxations) out << "  would succeed: " << T(x) << "\n";
    }
  }
}

// `place --template`: one cluster of a template, every node set or none.
int RunPlaceTemplate(const PlaceArgs& args, const Scenario& scenario,
                     const std::shared_ptr<const Snapshot>& snap, const PlacementProblem& problem,
                     const SolveOptions& options, std::ostream& out, std::ostream& err) {
  const ClusterTemplate* chosen = nullptr;
  std::string known;
  for (const ClusterTemplate& t : scenario.cluster_templates) {
    if (t.name == args.template_name) chosen = &t;
    known += (known.empty() ? "" : ", ") + QuotedText(t.name);
  }
  if (chosen == nullptr) {
    Status st = InvalidArgumentError(
        args.file + ": --template: no cluster template named " + QuotedText(args.template_name) +
        (known.empty() ? "; the scenario declares none (clusterTemplates:)"
                       : "; expected one of " + known));
    st.SetReason("unknown_template");
    return ReportFailure(st, args.json, out, err);
  }
  if (args.tenant.empty()) {
    Status st = InvalidArgumentError("--template needs --tenant: the tenant the cluster is for");
    st.SetReason("missing_field");
    return ReportFailure(st, args.json, out, err);
  }
  const std::string cluster = chosen->name;
  Result<TemplateResult> placed =
      SolveTemplate(problem, *chosen, cluster, args.tenant, args.project, options);
  if (!placed.ok()) return ReportFailure(placed.status(), args.json, out, err, T(args.file) + ": ");
  const std::vector<Request> requests = ExpandTemplate(*chosen, cluster, args.tenant, args.project);
  const bool ok = HasPlacement(placed->status);
  const int code = ok                                           ? kExitOk
                   : placed->status == SolveStatus::kInfeasible ? kExitUnsatisfied
                                                                : kExitUndecided;
  if (args.json) {
    Json sets = Json::array();
    for (const PlacementResult& r : placed->sets) sets.push_back(PlacementResultToJson(*snap, r));
    Json answer{{"file", args.file},
                {"template", chosen->name},
                {"tenant", args.tenant},
                {"project", std::string(ProjectName(args.project))},
                {"status", std::string(SolveStatusName(placed->status))},
                {"nodes", placed->nodes.size()},
                {"costPerHour", placed->cost_per_hour},
                {"sets", sets}};
    if (placed->explanation) {
      answer["why"] = placed->explanation->summary;
      answer["failedSet"] = chosen->node_sets[placed->failed_set].name;
    }
    out << JsonText(answer) << "\n";
    return code;
  }
  out << "template " << T(chosen->name) << " (tenant " << T(args.tenant) << ", project "
      << T(ProjectName(args.project)) << "): " << SolveStatusName(placed->status);
  if (ok) out << ", " << placed->nodes.size() << " nodes, " << Money(placed->cost_per_hour) << "/h";
  out << "\n";
  if (ok) {
    for (size_t i = 0; i < placed->sets.size(); ++i) {
      out << "\n";
      PrintResult(out, *snap, requests[i], placed->sets[i]);
    }
    return code;
  }
  const int failed = placed->failed_set;
  out << "  nothing placed: node set " << T(chosen->node_sets[failed].name)
      << " could not be placed\n";
  PrintResult(out, *snap, requests[failed], placed->sets[failed]);
  return code;
}

}  // namespace

int RunPlace(const PlaceArgs& args, std::ostream& out, std::ostream& err) {
  Scenario scenario;
  int exit = kExitOk;
  if (!LoadForCommand(args.file, scenario, args.json, out, err, exit)) return exit;

  std::vector<Request> requests;
  if (args.requests.empty()) {
    requests = scenario.requests;
  } else {
    for (const auto& name : args.requests) {
      const int i = scenario.RequestIndex(name);
      if (i < 0) {
        std::string message = args.file + ": --request: no request named " + QuotedText(name);
        if (!scenario.requests.empty()) {
          message += "; expected one of";
          for (size_t k = 0; k < scenario.requests.size() && k < 20; ++k)
            message += (k ? ", " : " ") + QuotedText(scenario.requests[k].name);
          if (scenario.requests.size() > 20) message += ", ...";
        }
        Status st = InvalidArgumentError(std::move(message));
        st.SetReason("unknown_request");
        return ReportFailure(st, args.json, out, err);
      }
      requests.push_back(scenario.requests[i]);
    }
  }

  auto snap = MakeSnapshot(scenario.inventory);
  if (!snap.ok()) return ReportFailure(snap.status(), args.json, out, err, T(args.file) + ": ");
  PlacementProblem problem{*snap, scenario.tenants,
                           ProjectUsages(scenario.inventory, scenario.allocations)};
  // A request with `preemption:` chooses its victims among the scenario's allocations.
  problem.holdings = HoldingsOf((*snap)->inventory, scenario.allocations);
  problem.preempt_across_tenants = scenario.policy.preempt_across_tenants;
  SolveOptions options;
  options.backend = args.solver;
  options.time_limit_seconds = args.time_limit_seconds;
  if (!args.template_name.empty()) {
    if (!args.requests.empty()) {
      Status st = InvalidArgumentError("--template and --request: give one of them");
      st.SetReason("conflicting_fields");
      return ReportFailure(st, args.json, out, err);
    }
    return RunPlaceTemplate(args, scenario, *snap, problem, options, out, err);
  }
  auto results =
      args.independent ? Solve(problem, requests, options) : SolveBatch(problem, requests, options);
  if (!results.ok())
    return ReportFailure(results.status(), args.json, out, err, T(args.file) + ": ");

  // 3 only when a request is proven unsatisfiable; an undecided one (noSolutionFound, timeout)
  // is 5: the request may fit, given more time or an exact backend.
  int placed = 0, infeasible = 0;
  for (const auto& r : *results) {
    placed += HasPlacement(r.status) ? 1 : 0;
    infeasible += r.status == SolveStatus::kInfeasible ? 1 : 0;
  }
  const int code = placed == static_cast<int>(results->size()) ? kExitOk
                   : infeasible > 0                            ? kExitUnsatisfied
                                                               : kExitUndecided;
  if (args.json) {
    Json list = Json::array();
    for (const auto& r : *results) list.push_back(PlacementResultToJson(**snap, r));
    out << JsonText(Json{{"file", args.file},
                         {"mode", args.independent ? "independent" : "batch"},
                         {"placed", placed},
                         {"results", list}})
        << "\n";
    return code;
  }
  if (results->empty()) out << T(args.file) << ": no requests to place\n";
  for (size_t i = 0; i < results->size(); ++i) {
    if (i) out << "\n";
    PrintResult(out, **snap, requests[i], (*results)[i]);
  }
  out << "\n"
      << placed << " of " << results->size() << " requests placed"
      << (args.independent ? " (each against the current state)" : " (jointly, by priority)")
      << "\n";
  return code;
}

}  // namespace topoplace
