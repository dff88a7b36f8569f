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

void PrintResult(std::ostream& out, const Snapshot& snap, const Request& request,
                 const PlacementResult& r) {
  const Topology& topo = snap.topology;
  out << "request " << T(r.request) << " (tenant " << T(request.tenant)
      << "): " << SolveStatusName(r.status);
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
  PlacementProblem problem{*snap, scenario.tenants};
  SolveOptions options;
  options.backend = args.solver;
  options.time_limit_seconds = args.time_limit_seconds;
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
