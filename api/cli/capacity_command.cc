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
  if (!args.shape.empty() && !args.shape_file.empty()) {
    err << "topoplace capacity: give --shape or --shape-file, not both\n";
    return kExitBadInput;
  }
  CapacityQuery query;
  query.tenant = args.tenant;
  query.backend = args.solver;
  query.time_limit_seconds = args.time_limit_seconds;
  query.max_domains = static_cast<size_t>(args.max_domains);
  if (!args.shape.empty()) {
    Result<Request> r = ParseShortRequest(args.shape, "--shape");
    if (!r.ok()) {
      for (const auto& m : r.status().messages()) err << "topoplace capacity: " << m << "\n";
      return kExitBadInput;
    }
    query.shape = *r;
  } else if (!args.shape_file.empty()) {
    Result<Request> r = LoadRequestFile(args.shape_file);
    if (!r.ok()) {
      for (const auto& m : r.status().messages()) err << m << "\n";
      return ExitCodeFor(r.status().code());
    }
    query.shape = *r;
  }
  Scenario scenario;
  int exit = kExitOk;
  if (!LoadForCommand(args.file, scenario, args.json, out, err, exit)) return exit;
  if (Status st = ResolveCapacityQuery(scenario.tenants, query); !st.ok()) {
    for (const auto& m : st.messages()) err << "topoplace capacity: " << m << "\n";
    return kExitBadInput;
  }
  if (!args.history.empty()) {
    Result<Trace> t = LoadTraceFile(args.history, &scenario);
    if (!t.ok()) {
      for (const auto& m : t.status().messages()) err << m << "\n";
      return ExitCodeFor(t.status().code());
    }
    query.history = std::move(*t);
  }
  auto snap = MakeSnapshot(scenario.inventory);
  if (!snap.ok()) {
    for (const auto& m : snap.status().messages()) err << args.file << ": " << m << "\n";
    return ExitCodeFor(snap.status().code());
  }
  Result<CapacityReport> report = PlanCapacity(PlacementProblem{*snap, scenario.tenants}, query);
  if (!report.ok()) {
    for (const auto& m : report.status().messages()) err << "topoplace capacity: " << m << "\n";
    return ExitCodeFor(report.status().code());
  }
  if (args.json) {
    out << CapacityReportJson(*report, args.file).dump(2) << "\n";
  } else {
    PrintCapacityReport(out, *report, args.file, args.history);
  }
  return kExitOk;
}

}  // namespace topoplace
