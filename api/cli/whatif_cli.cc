#include "api/cli/whatif_cli.h"

#include <algorithm>
#include <ostream>

#include "api/cli/cli_options.h"
#include "api/cli/commands.h"

namespace topoplace {

void AddWhatIfCommands(CLI::App& app, WhatIfCommands& cmds) {
  WhatIfArgs& w = cmds.whatif;
  auto* wi = app.add_subcommand(
      "whatif",
      "What if nodes, racks, leaves, pods or power domains fail, are drained, added or removed, or "
      "quotas change: which allocations lose nodes, their repairs with the fewest moves (or the "
      "preemption that would repair them), capacity and the file's pending requests before and "
      "after. What would placing a request take (--place, --preempt): the fewest evictions, the "
      "placement, or why not. Nothing is changed.\n"
      "Exit codes: 0 every affected allocation repaired and the request placed, 2 bad input, 3 "
      "something not repaired or not placed.");
  wi->add_option("file", w.file, "Scenario YAML file")->required();
  const std::string targets = "node:NAME, rack:NAME, leaf:NAME, pod:NAME or powerDomain:NAME";
  wi->add_option("--fail", w.fail, "Fail a target (repeatable): " + targets);
  wi->add_option("--drain", w.drain,
                 "Drain a target (repeatable): no new placements; current holders stay");
  wi->add_option("--add", w.add,
                 "Add racks (repeatable): racks=N,class=CLASS,pod=POD[,nodes=N][,tags=hipaa+pci]; "
                 "each rack gets its own leaf cabled like the pod's others and A/B power");
  wi->add_option("--remove", w.remove, "Remove a target's nodes from the inventory (repeatable)");
  wi->add_option("--tenant-quota", w.tenant_quota,
                 "Change a quota (repeatable): TENANT:gpus=+64[,nodes=-2][,cpuCores=N|none]");
  wi->add_option("--shape", w.shapes,
                 "Also count copies of this request shape before and after (repeatable), e.g. "
                 "nodes=16,class=h100x8,locality=leaf:required,tenant=nlp-lab");
  wi->add_option("--place", w.place,
                 "A YAML file with one request (as in requests:): what placing it would take, on "
                 "the scenario as it is or, with changes, as they and the repairs leave it");
  wi->add_flag("--preempt", w.preempt,
               "With --place: the request may evict lower-priority allocations of its own tenant "
               "(preemption: {scope: tenant}) unless it says its own preemption:; the report lists "
               "the fewest evictions that make room");
  AddSolverOption(wi, w.solver, "Backend for the pending requests and the request to place");
  AddTimeLimitOption(wi, w.time_limit_seconds, "Seconds per exact solve");
  wi->add_flag("--no-relocate", w.no_relocate,
               "Do not look for whole-allocation relocations when a repair is impossible");
  wi->add_flag("--no-explain", w.no_explain, "Do not explain repairs that are impossible");
  wi->add_flag("--json", w.json, "Print the report as JSON");
  cmds.whatif_cmd = wi;

  CapacityArgs& c = cmds.capacity;
  auto* ca = app.add_subcommand(
      "capacity",
      "How many more copies of a request shape fit now (exact when proven), which domains they "
      "would use, tenant headroom against quota, fragmentation, and forecasts from a demand "
      "history.");
  ca->add_option("file", c.file, "Scenario YAML file")->required();
  ca->add_option("--shape", c.shape,
                 "A request in short form: nodes=16,class=h100x8,locality=leaf:required,"
                 "spread=powerDomain:0.5[,tenant=NAME]");
  ca->add_option("--shape-file", c.shape_file, "A YAML file with one request (as in requests:)");
  ca->add_option("--tenant", c.tenant,
                 "The tenant the shape is for (default: the shape's, else "
                 "the first tenant); without a shape, only this tenant's "
                 "headroom");
  AddSolverOption(ca, c.solver, "Backend per copy (default heuristic)");
  AddTimeLimitOption(ca, c.time_limit_seconds, "Seconds per solve and for the joint proof");
  ca->add_option("--history", c.history,
                 "A trace CSV (as for replay) read as demand history: forecasts of when tenants "
                 "reach quota and classes run out");
  ca->add_option("--max-domains", c.max_domains, "Fragmentation entries listed per level")
      ->check(CLI::Range(1, 1000000));
  ca->add_flag("--json", c.json, "Print the report as JSON");
  cmds.capacity_cmd = ca;

  ReplayArgs& r = cmds.replay;
  auto* re = app.add_subcommand(
      "replay",
      "Replay a trace of cluster requests (arrivals and departures) against the scenario under "
      "several policies in the same run, and compare acceptance, GPU allocation ratio, "
      "fragmentation, span and solve time; writes plots and forecasts.");
  re->add_option("file", r.file, "Scenario YAML file")->required();
  re->add_option("--trace", r.trace, "Trace CSV: time,name,tenant,nodes|gpus,duration,...")
      ->required();
  re->add_option("--policy", r.policies,
                 "Policies, comma separated or repeated: auto, heuristic, first-fit, random "
                 "(default: all four)")
      ->delimiter(',');
  re->add_option("--seed", r.seed, "Seed of the random policy");
  AddTimeLimitOption(re, r.time_limit_seconds,
                     "Seconds per request for the exact solver under auto");
  re->add_option("--plot", r.plot, "Write the plots side by side to this SVG file");
  re->add_option("--table", r.table, "Write the series to this CSV file");
  re->add_flag("--no-timing", r.no_timing, "Leave solve times out (output that diffs cleanly)");
  re->add_flag("--json", r.json, "Print the report as JSON");
  cmds.replay_cmd = re;
}

int RunWhatIfCommand(const WhatIfCommands& cmds, std::ostream& out, std::ostream& err) {
  if (cmds.whatif_cmd != nullptr && cmds.whatif_cmd->parsed())
    return RunWhatIf(cmds.whatif, out, err);
  if (cmds.capacity_cmd != nullptr && cmds.capacity_cmd->parsed())
    return RunCapacity(cmds.capacity, out, err);
  if (cmds.replay_cmd != nullptr && cmds.replay_cmd->parsed())
    return RunReplay(cmds.replay, out, err);
  return -1;
}

Status InputErrors(const std::vector<Status>& failures, std::string reason) {
  std::vector<std::string> messages;
  for (const Status& f : failures)
    messages.insert(messages.end(), f.messages().begin(), f.messages().end());
  if (!failures.empty() && !failures.front().reason().empty()) reason = failures.front().reason();
  Status st(StatusCode::kInvalidArgument, std::move(messages));
  st.SetReason(std::move(reason));
  for (const Status& f : failures) {
    for (const ErrorDetail& d : f.details()) st.AddDetail(d);
  }
  return st;
}

}  // namespace topoplace
