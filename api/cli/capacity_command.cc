// `topoplace capacity`: how many more copies of a request shape fit now (with the proof status),
// which domains they would use, tenant headroom against quota, fragmentation, and, given a demand
// history, forecasts of when quotas and classes run out. The planning is api/whatif.h's; this
// command reads the flags and files and prints.
#include <ostream>

#include "api/cli/commands.h"
#include "api/cli/whatif_cli.h"
#include "api/exit_codes.h"
#include "api/whatif.h"
#include "inventory/scenario_codec.h"
#include "inventory/short_request.h"
#include "inventory/trace_codec.h"

namespace topoplace {

int RunCapacity(const CapacityArgs& args, std::ostream& out, std::ostream& err) {
  const std::string prefix = "topoplace capacity: ";
  if (!args.shape.empty() && !args.shape_file.empty()) {
    Status st = InvalidArgumentError("give --shape or --shape-file, not both");
    return ReportFailure(st.SetReason("bad_arguments"), args.json, out, err, prefix);
  }
  CapacityQuery query;
  query.tenant = args.tenant;
  query.backend = args.solver;
  query.time_limit_seconds = args.time_limit_seconds;
  query.max_domains = static_cast<size_t>(args.max_domains);
  if (!args.shape.empty()) {
    Result<Request> r = ParseShortRequest(args.shape, "--shape");
    if (!r.ok()) {
      return ReportFailure(InputErrors({r.status()}, "bad_value"), args.json, out, err, prefix);
    }
    query.shape = *r;
  } else if (!args.shape_file.empty()) {
    Result<Request> r = LoadRequestFile(args.shape_file);
    if (!r.ok()) {
      return ReportFailure(r.status(), args.json, out, err, "",
                           Json{{"file", args.shape_file}, {"valid", false}});
    }
    query.shape = *r;
  }
  Scenario scenario;
  int exit = kExitOk;
  if (!LoadForCommand(args.file, scenario, args.json, out, err, exit)) return exit;
  if (Status st = ResolveCapacityQuery(scenario.tenants, query); !st.ok()) {
    return ReportFailure(st, args.json, out, err, prefix);
  }
  if (!args.history.empty()) {
    Result<Trace> t = LoadTraceFile(args.history, &scenario);
    if (!t.ok()) {
      return ReportFailure(t.status(), args.json, out, err, "",
                           Json{{"history", args.history}, {"valid", false}});
    }
    query.history = std::move(*t);
  }
  auto snap = MakeSnapshot(scenario.inventory);
  if (!snap.ok()) {
    return ReportFailure(snap.status(), args.json, out, err, TerminalText(args.file) + ": ");
  }
  Result<CapacityReport> report =
      PlanCapacity(PlacementProblem{*snap, scenario.tenants,
                                    ProjectUsages(scenario.inventory, scenario.allocations)},
                   query);
  if (!report.ok()) return ReportFailure(report.status(), args.json, out, err, prefix);
  if (args.json) {
    out << JsonText(CapacityReportJson(*report, args.file)) << "\n";
  } else {
    PrintCapacityReport(out, *report, args.file, args.history);
  }
  return kExitOk;
}

}  // namespace topoplace
