// The what-if planning commands of the CLI, private to api/: whatif, capacity, replay.
// AddWhatIfCommands registers them on the app; RunWhatIfCommand runs the one that was parsed and
// returns its exit code (exit_codes.h), or -1 when none of them was.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "model/scenario.h"
#include "model/status.h"

namespace topoplace {

struct WhatIfArgs {
  std::string file;
  std::vector<std::string> fail, drain, add, remove, tenant_quota;
  std::vector<std::string> shapes;  // count copies of these before and after
  std::string place;                // a YAML file with one request: what placing it would take
  bool preempt = false;             // --place with `preemption: {scope: tenant}` if it has none
  std::string solver = "auto";      // for the pending requests
  double time_limit_seconds = 10;   // per exact solve
  bool no_relocate = false;
  bool no_explain = false;
  bool json = false;
};
int RunWhatIf(const WhatIfArgs& args, std::ostream& out, std::ostream& err);

struct CapacityArgs {
  std::string file;
  std::string shape;       // short form
  std::string shape_file;  // YAML request
  std::string tenant;
  std::string solver = "heuristic";  // per copy
  double time_limit_seconds = 10;    // per solve, and for the joint proof
  std::string history;               // a trace CSV: demand history for forecasts
  int max_domains = 20;              // fragmentation lines listed per level
  bool json = false;
};
int RunCapacity(const CapacityArgs& args, std::ostream& out, std::ostream& err);

struct ReplayArgs {
  std::string file;
  std::string trace;
  std::vector<std::string> policies;  // auto, heuristic, first-fit, random
  uint64_t seed = 1;
  double time_limit_seconds = 0.2;  // per request for the exact solver under "auto"
  std::string plot;                 // SVG output path
  std::string table;                // CSV of the series
  bool no_timing = false;           // leave solve times out (deterministic output)
  bool json = false;
};
int RunReplay(const ReplayArgs& args, std::ostream& out, std::ostream& err);

struct WhatIfCommands {
  WhatIfArgs whatif;
  CLI::App* whatif_cmd = nullptr;
  CapacityArgs capacity;
  CLI::App* capacity_cmd = nullptr;
  ReplayArgs replay;
  CLI::App* replay_cmd = nullptr;
};

void AddWhatIfCommands(CLI::App& app, WhatIfCommands& cmds);
int RunWhatIfCommand(const WhatIfCommands& cmds, std::ostream& out, std::ostream& err);

// A command's own input errors (bad flags, nothing asked) as one InvalidArgument status: the
// messages of `failures` in order, with the first failure's reason, else `reason`.
Status InputErrors(const std::vector<Status>& failures, std::string reason);

}  // namespace topoplace
