// `topoplace replay`: replay a trace of cluster requests against a scenario's inventory under
// several placement policies, and compare them (table, series, SVG plots, forecasts).
#include <algorithm>
#include <ostream>
#include <set>
#include <sstream>

#include "api/cli/commands.h"
#include "api/cli/svg_plot.h"
#include "api/cli/whatif_cli.h"
#include "api/exit_codes.h"
#include "api/whatif_report.h"
#include "inventory/trace_codec.h"
#include "model/text.h"
#include "solver/forecast.h"
#include "solver/replay.h"

namespace topoplace {

namespace {

std::string T(std::string_view s) { return TerminalText(s); }

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s += std::string(width - s.size(), ' ');
  return s + " ";
}

}  // namespace

int RunReplay(const ReplayArgs& args, std::ostream& out, std::ostream& err) {
  std::vector<ReplayPolicy> policies;
  std::vector<std::string> names = args.policies;
  if (names.empty()) names = {"auto", "heuristic", "first-fit", "random"};
  std::set<std::string> seen;
  for (const std::string& n : names) {
    std::optional<ReplayPolicy> p = ParseReplayPolicy(n);
    if (!p) {
      Status st = InvalidArgumentError("--policy: unknown policy " + QuotedText(n) +
                                       "; expected one of auto, heuristic, first-fit, random");
      return ReportFailure(st.SetReason("bad_value"), args.json, out, err, "topoplace replay: ");
    }
    if (!seen.insert(n).second) {
      Status st = InvalidArgumentError("--policy: " + QuotedText(n) + " given twice");
      return ReportFailure(st.SetReason("bad_value"), args.json, out, err, "topoplace replay: ");
    }
    policies.push_back(*p);
  }
  Scenario scenario;
  int exit = kExitOk;
  if (!LoadForCommand(args.file, scenario, args.json, out, err, exit)) return exit;
  Result<Trace> trace = LoadTraceFile(args.trace, &scenario);
  if (!trace.ok()) {
    return ReportFailure(trace.status(), args.json, out, err, "",
                         Json{{"trace", args.trace}, {"valid", false}});
  }
  auto snap = MakeSnapshot(scenario.inventory);
  if (!snap.ok()) return ReportFailure(snap.status(), args.json, out, err, T(args.file) + ": ");
  const PlacementProblem problem{*snap, scenario.tenants,
                                 ProjectUsages(scenario.inventory, scenario.allocations)};
  ReplayOptions ro;
  ro.seed = args.seed;
  ro.time_limit_seconds = args.time_limit_seconds;
  Result<std::vector<PolicyReport>> reports = Replay(problem, *trace, policies, ro);
  if (!reports.ok()) return ReportFailure(reports.status(), args.json, out, err);
  const std::vector<Forecast> forecasts =
      reports->empty()
          ? std::vector<Forecast>{}
          : ForecastExhaustion(reports->front().usage, scenario.inventory, scenario.tenants);
  const double t0 = trace->entries.empty() ? 0 : trace->entries.front().time;
  double t1 = t0;
  for (const TraceEntry& e : trace->entries) t1 = std::max(t1, e.time);

  // Output files: each whole or not at all; a path that cannot be written is bad input (exit 2).
  if (!args.plot.empty()) {
    Status st = WriteOutputFile(
        args.plot, ReplayPlotSvg(*reports, "replay of " + args.trace + " on " + args.file),
        "--plot");
    if (!st.ok()) return ReportFailure(st, args.json, out, err, "topoplace replay: ");
  }
  if (!args.table.empty()) {
    std::ostringstream f;
    f << "policy,time,gpuRatio,fragmentation,running,accepted,rejected\n";
    for (const PolicyReport& r : *reports) {
      for (const ReplaySample& s : r.series) {
        f << ReplayPolicyName(r.policy) << "," << FixedText(s.time, 4) << ","
          << FixedText(s.gpu_ratio, 6) << "," << FixedText(s.fragmentation, 6) << "," << s.running
          << "," << s.accepted << "," << s.rejected << "\n";
      }
    }
    Status st = WriteOutputFile(args.table, f.str(), "--table");
    if (!st.ok()) return ReportFailure(st, args.json, out, err, "topoplace replay: ");
  }

  if (args.json) {
    Json list = Json::array();
    for (const PolicyReport& r : *reports) {
      Json series = Json::array();
      for (const ReplaySample& s : r.series) {
        series.push_back({{"time", s.time},
                          {"gpuRatio", s.gpu_ratio},
                          {"fragmentation", s.fragmentation},
                          {"running", s.running},
                          {"accepted", s.accepted},
                          {"rejected", s.rejected}});
      }
      Json j{{"policy", ReplayPolicyName(r.policy)},
             {"accepted", r.accepted},
             {"rejected", r.rejected},
             {"rejectedRequests", r.rejected_requests},
             {"gpusAccepted", r.gpus_accepted},
             {"meanGpuRatio", r.mean_gpu_ratio},
             {"meanFragmentation", r.mean_fragmentation},
             {"meanLeafSpan", r.mean_leaf_span},
             {"meanRackSpan", r.mean_rack_span}};
      if (!args.no_timing) {
        j["solveMsTotal"] = r.solve_ms_total;
        j["solveMsMean"] = r.solve_ms_mean;
        j["solveMsMax"] = r.solve_ms_max;
        j["wallMs"] = r.wall_ms;
      }
      j["series"] = series;
      list.push_back(j);
    }
    Json f = Json::array();
    for (const Forecast& x : forecasts) f.push_back(ForecastJson(x));
    out << JsonText(Json{
               {"file", args.file},
               {"trace", args.trace},
               {"requests", trace->entries.size()},
               {"seed", args.seed},
               {"policies", list},
               {"forecastsFrom", reports->empty() ? "" : ReplayPolicyName(reports->front().policy)},
               {"forecasts", f}})
        << "\n";
    return kExitOk;
  }

  out << "replay of " << T(args.trace) << " (" << trace->entries.size() << " requests, hours "
      << FixedText(t0, 1) << " to " << FixedText(t1, 1) << ") on " << T(args.file) << ", seed "
      << args.seed << "\n\n";
  // Rows padded to columns; no trailing blanks, so the table diffs cleanly.
  auto line = [&](const std::vector<std::pair<std::string, size_t>>& cells) {
    std::string row;
    for (const auto& [text, width] : cells) row += Pad(text, width);
    while (!row.empty() && row.back() == ' ') row.pop_back();
    out << row << "\n";
  };
  std::vector<std::pair<std::string, size_t>> head = {
      {"policy", 10},   {"accepted", 8},  {"rejected", 8},  {"GPUs held", 9},
      {"GPU ratio", 9}, {"fragment.", 9}, {"leaf span", 9}, {"rack span", 9}};
  if (!args.no_timing) {
    head.emplace_back("solve ms mean/max", 17);
    head.emplace_back("wall s", 0);
  }
  line(head);
  for (const PolicyReport& r : *reports) {
    std::vector<std::pair<std::string, size_t>> row = {
        {std::string(ReplayPolicyName(r.policy)), 10},
        {std::to_string(r.accepted), 8},
        {std::to_string(r.rejected), 8},
        {std::to_string(r.gpus_accepted), 9},
        {PercentText(r.mean_gpu_ratio), 9},
        {PercentText(r.mean_fragmentation), 9},
        {FixedText(r.mean_leaf_span, 2), 9},
        {FixedText(r.mean_rack_span, 2), 9}};
    if (!args.no_timing) {
      row.emplace_back(FixedText(r.solve_ms_mean, 2) + "/" + FixedText(r.solve_ms_max, 1), 17);
      row.emplace_back(FixedText(r.wall_ms / 1000, 2), 0);
    }
    line(row);
  }
  out << "(GPU ratio and fragmentation: time-weighted means from the first to the last arrival; "
         "spans: distinct leaves and racks per accepted request)\n";
  if (reports->size() > 1) {
    auto best = [&](auto key) {
      const PolicyReport* b = &reports->front();
      for (const PolicyReport& r : *reports) {
        if (key(r) > key(*b) + 1e-12) b = &r;
      }
      return std::string(ReplayPolicyName(b->policy));
    };
    out << "\nmost accepted: " << best([](const PolicyReport& r) { return r.accepted; })
        << "; highest mean GPU ratio: "
        << best([](const PolicyReport& r) { return r.mean_gpu_ratio; }) << "; least fragmented: "
        << best([](const PolicyReport& r) { return -r.mean_fragmentation; })
        << "; most compact (leaf span): "
        << best([](const PolicyReport& r) { return -r.mean_leaf_span; }) << "\n";
  }
  out << "\nrejected requests:\n";
  for (const PolicyReport& r : *reports) {
    out << "  " << Pad(std::string(ReplayPolicyName(r.policy)) + ":", 10);  // never the last cell
    if (r.rejected_requests.empty()) out << "none";
    for (size_t i = 0; i < r.rejected_requests.size() && i < 12; ++i)
      out << (i ? ", " : "") << T(r.rejected_requests[i]);
    if (r.rejected_requests.size() > 12) out << ", ... (" << r.rejected_requests.size() << ")";
    out << "\n";
  }
  if (!reports->empty()) {
    out << "\nforecasts at the current trend (from the "
        << ReplayPolicyName(reports->front().policy) << " replay's usage; hours)\n";
    PrintForecasts(out, forecasts, "h");
  }
  if (!args.plot.empty()) out << "\nplots: " << T(args.plot) << "\n";
  if (!args.table.empty()) out << "series: " << T(args.table) << "\n";
  return kExitOk;
}

}  // namespace topoplace
