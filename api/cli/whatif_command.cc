// `topoplace whatif`: apply failures, drains, added or removed hardware and quota changes to a
// scenario, repair what is affected, and compare capacity and the pending requests before and
// after; with --place (and --preempt), what placing one request would take. The planning is
// api/whatif.h's; this command reads the flags and the files and prints.
#include <ostream>

#include "api/cli/commands.h"
#include "api/cli/whatif_cli.h"
#include "api/exit_codes.h"
#include "api/whatif.h"
#include "inventory/changes.h"
#include "inventory/scenario_codec.h"
#include "inventory/short_request.h"

namespace topoplace {

int RunWhatIf(const WhatIfArgs& args, std::ostream& out, std::ostream& err) {
  const std::string prefix = "topoplace whatif: ";
  // Changes first: bad flags are reported before any file is read.
  std::vector<Change> changes;
  std::vector<Status> failures;
  auto parse = [&](ChangeKind kind, const std::vector<std::string>& texts) {
    for (const std::string& t : texts) {
      Result<Change> c = ParseChange(kind, t);
      if (c.ok()) {
        changes.push_back(*c);
      } else {
        failures.push_back(c.status());
      }
    }
  };
  parse(ChangeKind::kFail, args.fail);
  parse(ChangeKind::kDrain, args.drain);
  parse(ChangeKind::kAdd, args.add);
  parse(ChangeKind::kRemove, args.remove);
  parse(ChangeKind::kTenantQuota, args.tenant_quota);
  std::vector<Request> shapes;
  for (const std::string& s : args.shapes) {
    Result<Request> r = ParseShortRequest(s, "--shape");
    if (r.ok()) {
      shapes.push_back(*r);
    } else {
      failures.push_back(r.status());
    }
  }
  if (!failures.empty()) {
    return ReportFailure(InputErrors(failures, "bad_value"), args.json, out, err, prefix);
  }
  if (args.preempt && args.place.empty()) {
    Status st = InvalidArgumentError("--preempt needs a request to --place");
    return ReportFailure(st.SetReason("missing_argument"), args.json, out, err, prefix);
  }
  if (changes.empty() && args.place.empty()) {
    Status st = InvalidArgumentError(
        "no change given; expected at least one of --fail, --drain, --add, --remove, "
        "--tenant-quota, or a request to --place (see --help)");
    return ReportFailure(st.SetReason("missing_argument"), args.json, out, err, prefix);
  }
  std::optional<Request> place;
  if (!args.place.empty()) {
    Result<Request> r = LoadRequestFile(args.place);
    if (!r.ok()) {
      return ReportFailure(r.status(), args.json, out, err, "",
                           Json{{"file", args.place}, {"valid", false}});
    }
    place = std::move(r).value();
  }

  Scenario before;
  int exit = kExitOk;
  if (!LoadForCommand(args.file, before, args.json, out, err, exit)) return exit;
  WhatIfInput input;
  input.changes = std::move(changes);
  input.shapes = std::move(shapes);
  input.place = std::move(place);
  input.preempt = args.preempt;
  WhatIfOptions options;
  options.backend = args.solver;
  options.time_limit_seconds = args.time_limit_seconds;
  options.relocate = !args.no_relocate;
  options.explain = !args.no_explain;
  Result<WhatIfReport> report = PlanWhatIf(before, input, options);
  if (!report.ok()) {
    // Input that does not fit the file is the command's to report; anything else, the file's.
    const std::string where =
        report.status().details().empty() ? TerminalText(args.file) + ": " : prefix;
    return ReportFailure(report.status(), args.json, out, err, where);
  }
  const int code = report->satisfied() ? kExitOk : kExitUnsatisfied;
  if (args.json) {
    out << JsonText(WhatIfReportJson(*report, args.file)) << "\n";
  } else {
    PrintWhatIfReport(out, *report, args.file);
  }
  return code;
}

}  // namespace topoplace
