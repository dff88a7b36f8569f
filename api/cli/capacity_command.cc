// `topoplace capacity`: how many more copies of a request shape fit now (with the proof status),
// which domains they would use, tenant headroom against quota, fragmentation, and, given a demand
// history, forecasts of when quotas and classes run out.
#include <algorithm>
#include <ostream>

#include "api/cli/commands.h"
#include "api/exit_codes.h"
#include "api/cli/whatif_cli.h"
#include "api/whatif_report.h"
#include "inventory/scenario_codec.h"
#include "inventory/short_request.h"
#include "inventory/trace_codec.h"
#include "solver/capacity.h"
#include "solver/forecast.h"
#include "solver/replay.h"

namespace topoplace {

namespace {

std::string Limit(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : std::string("unlimited");
}
std::string Limit(const std::optional<double>& v) {
  return v ? FixedText(*v, 0) : std::string("unlimited");
}

}  // namespace

int RunCapacity(const CapacityArgs& args, std::ostream& out, std::ostream& err) {
  if (!args.shape.empty() && !args.shape_file.empty()) {
    err << "topoplace capacity: give --shape or --shape-file, not both\n";
    return kExitBadInput;
  }
  std::optional<Request> shape;
  if (!args.shape.empty()) {
    Result<Request> r = ParseShortRequest(args.shape, "--shape");
    if (!r.ok()) {
      for (const auto& m : r.status().messages()) err << "topoplace capacity: " << m << "\n";
      return kExitBadInput;
    }
    shape = *r;
  } else if (!args.shape_file.empty()) {
    Result<Request> r = LoadRequestFile(args.shape_file);
    if (!r.ok()) {
      for (const auto& m : r.status().messages()) err << m << "\n";
      return ExitCodeFor(r.status().code());
    }
    shape = *r;
  }
  Scenario scenario;
  int exit = kExitOk;
  if (!LoadForCommand(args.file, scenario, args.json, out, err, exit)) return exit;
  if (shape) {
    if (!args.tenant.empty()) shape->tenant = args.tenant;
    if (shape->tenant.empty()) {
      if (scenario.tenants.empty()) {
        err << "topoplace capacity: the scenario has no tenants; give a shape with tenant=\n";
        return kExitBadInput;
      }
      shape->tenant = scenario.tenants.front().name;
    }
    if (shape->name.empty()) shape->name = "shape";
  } else if (!args.tenant.empty() && scenario.TenantIndex(args.tenant) < 0) {
    err << "topoplace capacity: --tenant: no tenant named \"" << args.tenant << "\"\n";
    return kExitBadInput;
  }
  std::optional<Trace> history;
  if (!args.history.empty()) {
    Result<Trace> t = LoadTraceFile(args.history, &scenario);
    if (!t.ok()) {
      for (const auto& m : t.status().messages()) err << m << "\n";
      return ExitCodeFor(t.status().code());
    }
    history = std::move(*t);
  }
  auto snap = MakeSnapshot(scenario.inventory);
  if (!snap.ok()) {
    for (const auto& m : snap.status().messages()) err << args.file << ": " << m << "\n";
    return ExitCodeFor(snap.status().code());
  }
  const PlacementProblem problem{*snap, scenario.tenants};

  std::optional<CapacityResult> count;
  if (shape) {
    Status v = ValidateRequest(problem, *shape);
    if (!v.ok()) {
      for (const auto& m : v.messages()) err << "topoplace capacity: shape: " << m << "\n";
      return kExitBadInput;
    }
    CapacityOptions co;
    co.solve.backend = args.solver;
    co.solve.time_limit_seconds = args.time_limit_seconds;
    co.proof_time_limit_seconds = args.time_limit_seconds;
    Result<CapacityResult> r = CountCopies(problem, *shape, co);
    if (!r.ok()) {
      for (const auto& m : r.status().messages()) err << "topoplace capacity: " << m << "\n";
      return ExitCodeFor(r.status().code());
    }
    count = *r;
  }
  std::vector<TenantHeadroom> headroom;
  if (shape) {
    headroom = TenantHeadrooms(problem, &*shape);
  } else {
    for (TenantHeadroom& h : TenantHeadrooms(problem)) {
      if (args.tenant.empty() || h.tenant == args.tenant) headroom.push_back(std::move(h));
    }
  }
  const FragmentationReport frag = Fragmentation(**snap);
  std::optional<int> largest;
  if (shape) {
    SolveOptions so;
    so.backend = args.solver;
    so.time_limit_seconds = args.time_limit_seconds;
    largest = LargestShapeThatFits(problem, *shape, so);
  }
  std::vector<Forecast> forecasts;
  if (history) {
    const UsageHistory usage = DemandHistory(*history, scenario.inventory);
    forecasts = ForecastExhaustion(usage, scenario.inventory, scenario.tenants);
  }

  if (args.json) {
    Json j{{"file", args.file}};
    if (shape) {
      j["shape"] = {{"request", ShortRequestText(*shape)}, {"tenant", shape->tenant}};
      j["count"] = CapacityResultJson(**snap, *count, true);
      j["largestThatFits"] = largest ? Json(*largest) : Json(nullptr);
    }
    Json h = Json::array();
    for (const TenantHeadroom& t : headroom) h.push_back(TenantHeadroomJson(t));
    j["tenants"] = h;
    j["fragmentation"] = FragmentationJson(frag, static_cast<size_t>(args.max_domains));
    if (history) {
      Json f = Json::array();
      for (const Forecast& x : forecasts) f.push_back(ForecastJson(x));
      j["forecasts"] = f;
    }
    out << j.dump(2) << "\n";
    return kExitOk;
  }

  out << "capacity of " << args.file << "\n";
  if (shape) {
    out << "\nshape: " << ShortRequestText(*shape) << " (tenant " << shape->tenant << ")\n";
    out << "  " << count->copies << " more cop" << (count->copies == 1 ? "y" : "ies") << " fit";
    if (count->exact) {
      out << " (exact: no more than " << count->upper_bound << " by " << count->proof << ")\n";
    } else {
      out << " (at least; " << count->proof << ")\n";
    }
    for (const char* level : {"pod", "rack", "leaf", "powerDomain"}) {
      auto it = count->domains.find(level);
      if (it == count->domains.end()) continue;
      const std::string plural = std::string(level) == "leaf" ? "leaves" : std::string(level) + "s";
      out << "  " << plural << " used: " << it->second.size();
      std::vector<std::pair<int, std::string>> top;
      for (const auto& [name, n] : it->second) top.emplace_back(-n, name);
      std::sort(top.begin(), top.end());
      out << " (";
      for (size_t i = 0; i < top.size() && i < 6; ++i)
        out << (i ? ", " : "") << top[i].second << " " << -top[i].first;
      out << (top.size() > 6 ? ", ..." : "") << ")\n";
    }
    if (count->why_no_more) {
      out << "  the next copy does not fit:\n";
      PrintExplanation(out, *count->why_no_more, "    ");
    }
    if (largest) {
      out << "  the largest such request that fits now: nodes=" << *largest << "\n";
    } else {
      out << "  not even one node of this shape fits now\n";
    }
  }
  out << "\ntenant headroom (quota left; unlimited when no quota)\n";
  for (const TenantHeadroom& h : headroom) {
    out << "  " << h.tenant << ": nodes " << Limit(h.nodes) << ", gpus " << Limit(h.gpus)
        << ", cpuCores " << Limit(h.cpu_cores) << ", memoryGiB " << Limit(h.memory_gib)
        << ", budget/h " << Limit(h.cost_per_hour);
    if (shape) {
      out << "; copies of the shape its quota allows: "
          << (h.shape_copies ? std::to_string(*h.shape_copies) + " (by " + h.limiting + ")"
                             : std::string("unlimited"));
    }
    out << "\n";
  }
  out << "\nfragmentation: " << frag.free_nodes << " of " << frag.total_nodes << " nodes free ("
      << frag.free_gpus << " of " << frag.total_gpus << " GPUs)\n";
  out << "  free nodes in fully free leaves " << PercentText(frag.free_in_free_leaves)
      << ", in fully free racks " << PercentText(frag.free_in_free_racks)
      << "; free GPUs in fully free leaves " << PercentText(frag.gpu_free_in_free_leaves) << "\n";
  auto list = [&](const char* what, const std::vector<DomainFree>& domains) {
    out << "  free nodes by " << what << ":";
    int shown = 0;
    for (const DomainFree& d : domains) {
      if (shown == args.max_domains) {
        out << " ... (" << domains.size() << " in all)";
        break;
      }
      out << " " << d.name << " " << d.free << "/" << d.total;
      ++shown;
    }
    out << "\n";
  };
  list("pod", frag.pods);
  list("rack", frag.racks);
  list("leaf", frag.leaves);
  out << "  largest request that fits, per class (nodes=N in one leaf / rack / pod / anywhere):\n";
  std::map<std::string, std::vector<const LargestFit*>> by_class;
  for (const LargestFit& l : frag.largest) by_class[l.node_class].push_back(&l);
  for (const auto& [cls, fits] : by_class) {
    out << "    " << cls << ":";
    for (const LargestFit* l : fits) {
      out << " " << l->scope << " " << l->nodes;
      if (!l->where.empty()) out << " (" << l->where << ")";
      out << (l == fits.back() ? "" : ",");
    }
    out << "\n";
  }
  if (history) {
    out << "\nforecasts from the demand in " << args.history << " (hours; linear trend over the "
        << "recent half)\n";
    PrintForecasts(out, forecasts, "h");
  }
  return kExitOk;
}

}  // namespace topoplace
